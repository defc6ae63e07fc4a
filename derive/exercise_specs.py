r"""The chapter's exercises as data: reading and validating ``exercises/<slug>.toml``.

An exercise spec states the question in words and lists the *parts* of its answer; every
number and formula of the answer is derived when the page is built
(:mod:`derive.render.exercises`), never written in the spec. Nothing is evaluated: TOML is
read with :mod:`tomllib` and sizes with :func:`derive.grammar.parse_size`. Problems are
reported as :class:`derive.specs.BuildError` naming the file and the field::

    title = "Cost of a multi-channel convolution"
    summary = "Multiplications, additions and memory, forward and backward."
    source = "Multiple input and output channels"   # the chapter's section
    question = "What is the computational cost ...?"

    [[parts]]
    kind = "conv-cost"          # one of KINDS: how this part is derived and checked
    text = "Prose before the derived answer."
    after = "Prose after it."   # optional
    [parts.params]              # the kind's parameters (sizes in derive's grammar)
    in_channels = "c_i"

>>> spec = parse_exercise('''
... title = "T"
... summary = "S"
... source = "Padding and stride"
... question = "Q?"
... [[parts]]
... kind = "shape-table"
... text = "Some prose."
... [parts.params]
... size = 8
... ''', "t.toml")
>>> spec.parts[0].kind, spec.parts[0].params
('shape-table', {'size': 8})
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:  # Python >= 3.11
    import tomllib
except ImportError:  # pragma: no cover - Python 3.10 with tomli installed
    import tomli as tomllib  # type: ignore[no-redef]

import sympy as sp

from derive.errors import ShapeError
from derive.grammar import parse_size
from derive.specs import BuildError

__all__ = ["KINDS", "PartSpec", "ExerciseSpec", "parse_exercise", "load_exercises", "size"]

#: every kind of answer part (each has a derivation in derive.render.exercises)
KINDS = (
    "conv-cost",
    "conv-as-matmul",
    "stacked",
    "converse",
    "avg-as-conv",
    "max-not-linear",
    "max-via-relu",
    "solve-size",
    "size-identity",
    "shape-table",
    "gradient",
    "edges",
)

_TOP = {"title", "summary", "source", "question", "parts"}
_PART = {"kind", "text", "after", "params"}
_SLUG = re.compile(r"^[0-9]{2}-[a-z0-9-]+$")


@dataclass(frozen=True)
class PartSpec:
    """One part of an answer: its kind, prose around it and the kind's parameters."""

    kind: str
    text: str
    after: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    where: str = ""

    def fail(self, message: str) -> BuildError:
        """A :class:`BuildError` naming this part."""
        return BuildError(f"{self.where}: {message}")


@dataclass(frozen=True)
class ExerciseSpec:
    slug: str
    title: str
    summary: str
    source: str
    question: str
    parts: tuple[PartSpec, ...]
    digest: str


def _string(data: dict, key: str, where: str, required: bool = True) -> str:
    value = data.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise BuildError(f"{where}: field {key} must be a non-empty string")
    return value.strip()


def _part(data: Any, where: str) -> PartSpec:
    if not isinstance(data, dict):
        raise BuildError(f"{where}: each part must be a table")
    unknown = set(data) - _PART
    if unknown:
        raise BuildError(f"{where}: unknown fields {sorted(unknown)}")
    kind = data.get("kind")
    if kind not in KINDS:
        raise BuildError(f"{where}: field kind must be one of {', '.join(KINDS)}, got {kind!r}")
    params = data.get("params", {})
    if not isinstance(params, dict):
        raise BuildError(f"{where}: field params must be a table")
    return PartSpec(kind, _string(data, "text", where), _string(data, "after", where, False),
                    params, where)  # fmt: skip


def parse_exercise(text: str, name: str) -> ExerciseSpec:
    """One exercise from TOML ``text`` (``name`` is the file name, for messages)."""
    slug = Path(name).stem
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BuildError(f"{name}: not valid TOML: {exc}") from None
    where = f"{name}: exercise {slug!r}"
    unknown = set(data) - _TOP
    if unknown:
        raise BuildError(f"{where}: unknown fields {sorted(unknown)}")
    parts = data.get("parts")
    if not isinstance(parts, list) or not parts:
        raise BuildError(f"{where}: field parts must list at least one part")
    return ExerciseSpec(
        slug,
        _string(data, "title", where),
        _string(data, "summary", where),
        _string(data, "source", where),
        _string(data, "question", where),
        tuple(_part(p, f"{where}, field parts[{i}]") for i, p in enumerate(parts)),
        hashlib.sha256(text.encode()).hexdigest(),
    )


def load_exercises(folder: Path) -> list[ExerciseSpec]:
    """Every ``NN-name.toml`` in ``folder``, sorted by name."""
    out = []
    for path in sorted(Path(folder).glob("*.toml")):
        if not _SLUG.match(path.stem):
            raise BuildError(f"{path.name}: exercise files are named NN-lower-case.toml")
        out.append(parse_exercise(path.read_text(encoding="utf-8"), path.name))
    return out


def size(part: PartSpec, key: str, value: Any = None) -> sp.Expr:
    """Parameter ``key`` of ``part`` read as a size: an int or a formula in derive's grammar.

    >>> p = PartSpec("conv-cost", "t", params={"h": "2*m + 1"})
    >>> size(p, "h")
    2*m + 1
    """
    raw = part.params.get(key) if value is None else value
    if isinstance(raw, bool) or not isinstance(raw, (int, str)):
        raise part.fail(f"field params.{key} must be an int or a size formula, got {raw!r}")
    try:
        return sp.Integer(raw) if isinstance(raw, int) else parse_size(raw, key)
    except ShapeError as exc:
        raise part.fail(f"field params.{key}: {exc}") from None
