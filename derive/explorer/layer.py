"""One explorer configuration (a layer and the input it is shown on) and its URL.

A :class:`Layer` holds what the explorer page lets a reader set: the operation (a registry
entry of :mod:`derive.ops`), one value per axis for the input size, kernel, stride, padding,
dilation and output padding (one axis for 1-D, height then width for 2-D), the flags
``ceil_mode`` and ``count_include_pad``, the channels and groups of a convolution (plain or
transposed), and the input the output elements are computed on.

The configuration travels in the query string of the explorer's URL. The fields, their
spellings and defaults are listed once, in :data:`FIELDS`; the page reads the same table
(it is generated into the page's engine module), so Python and the page encode alike.

>>> layer = Layer("conv", size=(8, 8), kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))
>>> layer.query()
'op=conv&size=8,8&kernel_size=3,3&stride=2,2&padding=1,1'
>>> Layer.from_query(layer.query()) == layer
True
>>> explorer_url(layer, base="https://example.org/derive/")
'https://example.org/derive/explorer/?op=conv&size=8,8&kernel_size=3,3&stride=2,2&padding=1,1'
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields, replace
from typing import Literal
from urllib.parse import parse_qsl, quote

from derive.errors import ShapeError
from derive.ops import AVG_POOL, CONV, CONV_TRANSPOSE, MAX_POOL, Op, TransposedConvolution

__all__ = [
    "EXPLORER_OPS",
    "INPUTS",
    "FIELDS",
    "Field",
    "Layer",
    "explorer_url",
    "explorer_link",
    "EXPLORER_PAGE",
]

#: the operations the explorer shows, by registry name
EXPLORER_OPS: dict[str, Op] = {op.name: op for op in (CONV, CONV_TRANSPOSE, MAX_POOL, AVG_POOL)}
#: the inputs an output element can be computed on
INPUTS = ("ramp", "random", "edge")
#: where the explorer lives in the site (its Markdown source under docs/)
EXPLORER_PAGE = "explorer.md"

AxisValue = int | tuple[int, int]
FieldKind = Literal["choice", "axes", "padding", "flag", "int"]


@dataclass(frozen=True)
class Field:
    """One setting of the explorer: its name (torch's), kind, default and the ops it applies to."""

    name: str
    kind: FieldKind
    default: object
    ops: tuple[str, ...] = tuple(EXPLORER_OPS)
    choices: tuple[str, ...] = ()
    #: for these operations the default is the value of another setting, ``(ops, name)``
    #: (torch's pooling: ``stride=None`` means the kernel size)
    follows: tuple[tuple[str, ...], str] | None = None


_ALL = tuple(EXPLORER_OPS)
_WEIGHTED = tuple(name for name, op in EXPLORER_OPS.items() if op.weighted)


def _taking(param: str) -> tuple[str, ...]:
    """The explorer's operations that take ``param`` (for their shape or their elements).

    >>> _taking("dilation"), _taking("count_include_pad")
    (('conv', 'conv_transpose', 'max_pool'), ('avg_pool',))
    """
    return tuple(
        name for name, op in EXPLORER_OPS.items()
        if op.takes(param) or op.takes(param, shape=True)
    )  # fmt: skip


def _none_default(param: str) -> tuple[str, ...]:
    """The explorer's operations whose registry default for ``param`` is None (derived).

    >>> _none_default("stride")
    ('max_pool', 'avg_pool')
    """
    return tuple(
        name for name, op in EXPLORER_OPS.items()
        if any(p.name == param and p.default is None for p in op.shape_params)
    )  # fmt: skip


#: every setting in URL order; ``axes`` fields hold one value per axis
FIELDS: tuple[Field, ...] = (
    Field("op", "choice", CONV.name, _ALL, tuple(EXPLORER_OPS)),
    Field("size", "axes", (5, 5)),
    Field("kernel_size", "axes", (3, 3)),
    Field("stride", "axes", (1, 1), follows=(_none_default("stride"), "kernel_size")),
    Field("padding", "padding", (0, 0)),
    Field("dilation", "axes", (1, 1), _taking("dilation")),
    Field("output_padding", "axes", (0, 0), _taking("output_padding")),
    Field("ceil_mode", "flag", False, _taking("ceil_mode")),
    Field("count_include_pad", "flag", True, _taking("count_include_pad")),
    Field("in_channels", "int", 1, _WEIGHTED),
    Field("out_channels", "int", 1, _WEIGHTED),
    Field("groups", "int", 1, _taking("groups")),
    Field("input", "choice", "ramp", _ALL, INPUTS),
    Field("seed", "int", 0),
)
_BY_NAME = {f.name: f for f in FIELDS}
#: written in every URL, so a link says what it shows
_ALWAYS = ("op", "size", "kernel_size")


@dataclass(frozen=True)
class Layer:
    """An explorer configuration; per-axis fields are tuples (one entry per axis).

    ``padding`` is a tuple with an int or a ``(before, after)`` pair per axis, or the string
    ``'same'`` or ``'valid'`` for every axis (torch's string forms). ``stride`` left out is
    torch's default: 1, or for pooling the kernel size.

    >>> Layer("max_pool", size=(6, 6), kernel_size=(2, 3)).stride
    (2, 3)
    """

    op: str = CONV.name
    size: tuple[int, ...] = (5, 5)
    kernel_size: tuple[int, ...] = (3, 3)
    stride: tuple[int, ...] | None = None
    padding: tuple[AxisValue, ...] | str = (0, 0)
    dilation: tuple[int, ...] = (1, 1)
    output_padding: tuple[int, ...] = (0, 0)
    ceil_mode: bool = False
    count_include_pad: bool = True
    in_channels: int = 1
    out_channels: int = 1
    groups: int = 1
    input: str = "ramp"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.op not in EXPLORER_OPS:
            raise ShapeError(f"op must be one of {', '.join(EXPLORER_OPS)}, got op={self.op!r}")
        if len(self.size) not in (1, 2):
            raise ShapeError(f"the explorer shows 1-D or 2-D layers, got size={self.size}")
        for f in FIELDS:
            value = getattr(self, f.name)
            if value is None and f.follows is not None:  # left out: torch's default
                value = self.default_of(f)
                object.__setattr__(self, f.name, value)
            if f.kind in ("axes", "padding") and self.dims == 1 and value == f.default:
                value = _default(f, 1)  # a setting left at its default has one value per axis
                object.__setattr__(self, f.name, value)
            if self.op not in f.ops and value != self.default_of(f):
                value = self.default_of(f)  # a setting the operation does not take
                object.__setattr__(self, f.name, value)
            if f.kind == "axes" and len(value) != self.dims:
                raise ShapeError(f"{f.name} needs {self.dims} values, got {f.name}={value}")
        transposed = isinstance(self.operation, TransposedConvolution)
        if transposed and any(not isinstance(p, int) for p in self.padding):
            raise ShapeError(
                "the explorer's transposed convolution takes one int padding per axis, as "
                "torch's conv_transpose2d does (it crops that many entries from both ends), "
                f"got padding={self.padding!r}"
            )
        if self.input not in INPUTS:
            raise ShapeError(f"input must be one of {', '.join(INPUTS)}, got input={self.input!r}")

    @property
    def dims(self) -> int:
        """1 or 2."""
        return len(self.size)

    @property
    def operation(self) -> Op:
        """The registry entry."""
        return EXPLORER_OPS[self.op]

    def default_of(self, f: Field) -> object:
        """The value setting ``f`` has when left out (it may follow another setting)."""
        if f.follows is not None and self.op in f.follows[0]:
            return getattr(self, f.follows[1])
        return _default(f, self.dims)

    def applies(self, name: str) -> bool:
        """Whether the setting ``name`` means something for this layer's operation."""
        return self.op in _BY_NAME[name].ops

    def query(self) -> str:
        """The URL query of this layer (settings at their default are left out)."""
        parts = []
        for f in FIELDS:
            value = getattr(self, f.name)
            if f.name not in _ALWAYS and (
                not self.applies(f.name) or value == self.default_of(f)
            ):
                continue
            parts.append(f"{f.name}={quote(_encode(f, value), safe=',:')}")
        return "&".join(parts)

    @classmethod
    def from_query(cls, query: str) -> Layer:
        """The layer a URL query describes (missing settings at their default)."""
        raw = dict(parse_qsl(query.lstrip("?"), keep_blank_values=True))
        dims = len(raw["size"].split(",")) if raw.get("size") else 2
        values: dict[str, object] = {}
        for f in FIELDS:
            if f.name in raw:
                values[f.name] = _decode(f, raw[f.name])
            else:
                values[f.name] = None if f.follows is not None else _default(f, dims)
        return cls(**values)  # type: ignore[arg-type]

    def with_(self, **changes: object) -> Layer:
        """A copy with some settings changed."""
        return replace(self, **changes)  # type: ignore[arg-type]


def _default(f: Field, dims: int) -> object:
    if f.kind in ("axes", "padding"):
        return tuple(f.default)[:1] * dims if dims == 1 else f.default  # type: ignore[arg-type]
    return f.default


def _encode(f: Field, value: object) -> str:
    if f.kind == "flag":
        return "1" if value else "0"
    if f.kind == "padding" and isinstance(value, str):
        return value
    if f.kind in ("axes", "padding"):
        return ",".join(
            f"{v[0]}:{v[1]}" if isinstance(v, tuple) else str(v)
            for v in value  # type: ignore[attr-defined]
        )
    return str(value)


_INT = re.compile(r"-?\d{1,6}\Z")


def _int(text: str, name: str) -> int:
    if not _INT.match(text.strip()):
        raise ShapeError(f"{name} must be an integer in the explorer's URL, got {name}={text!r}")
    return int(text)


def _decode(f: Field, text: str) -> object:
    if f.kind == "choice":
        if text not in f.choices:
            raise ShapeError(f"{f.name} must be one of {', '.join(f.choices)}, got {text!r}")
        return text
    if f.kind == "flag":
        return text not in ("0", "false", "")
    if f.kind == "int":
        return _int(text, f.name)
    if f.kind == "padding" and text in ("same", "valid"):
        return text
    out: list[AxisValue] = []
    for part in text.split(","):
        if f.kind == "padding" and ":" in part:
            lo, hi = part.split(":", 1)
            out.append((_int(lo, f.name), _int(hi, f.name)))
        else:
            out.append(_int(part, f.name))
    return tuple(out)


def site_base() -> str:
    """The site's address: ``DERIVE_SITE_URL`` if set, else the local ``make serve`` server."""
    base = os.environ.get("DERIVE_SITE_URL") or "http://127.0.0.1:8000/"
    return base if base.endswith("/") else base + "/"


def explorer_url(layer: Layer, base: str | None = None) -> str:
    """The explorer's address showing ``layer`` (``base``: the site's root URL).

    >>> explorer_url(Layer("max_pool", size=(6,), kernel_size=(2,), stride=(1,)), base="/")
    '/explorer/?op=max_pool&size=6&kernel_size=2&stride=1'
    """
    root = site_base() if base is None else base
    return f"{root}explorer/?{layer.query()}"


def explorer_link(layer: Layer, from_page: str) -> str:
    """A relative Markdown link to the explorer showing ``layer``, from the docs page ``from_page``.

    ``from_page`` is the page's path under ``docs/`` (``concepts/padding.md``); the link
    names the explorer's Markdown source, as MkDocs wants, with the layer in its query.

    >>> explorer_link(Layer(size=(8,), kernel_size=(3,), stride=(2,), padding=(1,)),
    ...               "concepts/stride.md")
    '../explorer.md?op=conv&size=8&kernel_size=3&stride=2&padding=1'
    """
    depth = from_page.count("/")
    return "../" * depth + f"{EXPLORER_PAGE}?{layer.query()}"


_FIELD_NAMES = {f.name for f in fields(Layer)}
assert _FIELD_NAMES == set(_BY_NAME), "Layer and FIELDS must list the same settings"
