r"""Worked examples declared as data: reading and validating ``examples/<slug>.toml``.

A spec names an example, declares its tensors and lists its steps; the build derives every
number from them. Nothing in a spec is evaluated as code: TOML is read with :mod:`tomllib`
and size expressions with :func:`derive.grammar.parse_size`. Every problem is reported as a
:class:`BuildError` naming the file, the example and the field, e.g.
``examples/05-stride.toml: example '05-stride', field steps[0].params.stride: ...``.

A spec looks like this::

    title = "Cross-correlation"
    summary = "A 3x3 kernel slides over a 5x5 input."   # one line, for the index
    intro = "Prose before the first step."               # optional; also outro

    [tensors.X]
    values = [[3, 3, 2], [0, 0, 1], [3, 1, 2]]

    [tensors.K]
    values = [[0, 1], [2, 2]]

    [[steps]]
    id = "slide"                  # lower-case, digits and '-'; names the figures
    title = "Sliding the kernel"
    kind = "elements"             # or "shape", or "matmul" (a 1x1 conv2d as W X)
    op = "corr2d"                 # conv2d, max_pool2d, avg_pool2d, conv_transpose2d
    input = "X"
    weight = "K"                  # bias = "b" optional
    params = {}                   # torch.nn.functional keyword arguments of op
    highlight = [[0, 0]]          # output elements to spell out, one figure each
    animate = true                # an animated figure of the sliding window
    text = "Prose before the step."   # also after = "..."

    [steps.book]                  # facts quoted from the book, asserted at build time
    output = [[12, 12], [10, 17]]

Tensors: ``values`` (nested lists of integers or size expressions) or one generator:
``fill`` (with ``shape`` and optional ``set`` boxes ``{rows = [a, b], cols = [c, d],
value = v}``), ``arange`` (a shape, entries $0, 1, 2, \dots$ from ``start``), ``random``
(with ``shape``; deterministic integers from ``seed``, ``low``, ``high``), ``stack`` (a list
of ``{of = "name", add = c}``, tensors declared earlier) or ``transpose`` (of a matrix);
``symbol`` names the entries in symbolic forms (default: the name in lower case).
``corr2d`` takes matrices (and a one-entry bias); the other operations take torch's
``(C, H, W)`` input and 4-D weight.

Shape steps give ``size`` (one or two sizes) and ``params`` with ``kernel_size``; sizes and
parameters may be size expressions such as ``"2*m + 1"``. Book facts: ``output``, ``shape``,
``elements`` (``{index, value}``), ``products`` (``{index, pairs}``, the ``[input, kernel]``
pairs of an element, padding zeros included, in any order), ``distinct`` (the values that
occur), ``constant``, ``keeps_channels``, ``weight_shape``, ``same_as`` (parameters giving
the same output) and ``formula`` (per axis, in the grammar, with ``where`` substitutions;
SymPy must simplify the difference with derive's formula to zero).

>>> spec = parse_spec('''
... title = "T"
... summary = "S"
... [tensors.X]
... arange = [2, 3]
... [[steps]]
... id = "s"
... title = "Same size"
... kind = "shape"
... op = "conv2d"
... size = ["n_h", 8]
... params = { kernel_size = 3, padding = 1 }
... ''', "t.toml")
>>> spec.tensors["X"].values
[[0, 1, 2], [3, 4, 5]]
>>> spec.steps[0].size
(n_h, 8)
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

__all__ = [
    "BuildError",
    "TensorSpec",
    "StepSpec",
    "ExampleSpec",
    "OPS",
    "load_spec",
    "load_specs",
    "parse_spec",
    "tensor_shape",
]


class BuildError(ShapeError):
    """A spec or build problem; a :class:`derive.ShapeError`, so the CLI reports it in one line."""


#: element operations and the parameters each accepts (names as in torch.nn.functional)
OPS: dict[str, tuple[str, ...]] = {
    "corr2d": (),
    "conv2d": ("stride", "padding", "dilation", "groups"),
    "max_pool2d": ("kernel_size", "stride", "padding", "dilation", "ceil_mode"),
    "avg_pool2d": (
        "kernel_size",
        "stride",
        "padding",
        "ceil_mode",
        "count_include_pad",
        "divisor_override",
    ),
    "conv_transpose2d": ("stride", "padding", "output_padding", "groups", "dilation"),
}
#: operations of ``shape`` steps (sizes only, no tensors)
SHAPE_OPS: dict[str, tuple[str, ...]] = {
    "conv2d": ("kernel_size", "stride", "padding", "dilation"),
    "max_pool2d": ("kernel_size", "stride", "padding", "dilation", "ceil_mode"),
    "avg_pool2d": ("kernel_size", "stride", "padding", "ceil_mode"),
    "conv_transpose2d": ("kernel_size", "stride", "padding", "output_padding", "dilation"),
}
KINDS = ("elements", "shape", "matmul")
BOOLEAN_PARAMS = ("ceil_mode", "count_include_pad")
BOOK_KEYS = {
    "elements": (
        "output",
        "shape",
        "elements",
        "products",
        "distinct",
        "constant",
        "formula",
        "where",
        "same_as",
        "weight_shape",
        "keeps_channels",
    ),
    "shape": ("shape", "formula", "where"),
    "matmul": ("output", "shape", "weight_shape"),
}
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_MAX_ENTRIES = 4096


@dataclass(frozen=True)
class TensorSpec:
    """A named tensor: nested lists of SymPy integers or expressions, plus its symbol name."""

    name: str
    values: list
    shape: tuple[int, ...]
    symbol: str


@dataclass(frozen=True)
class StepSpec:
    """One section of an example page (see the module docstring for the kinds)."""

    index: int
    id: str
    kind: str
    title: str
    text: str
    after: str
    op: str
    input: str | None = None
    weight: str | None = None
    bias: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    highlight: tuple[tuple[int, ...], ...] = ()
    animate: bool = False
    symbolic_output: bool = False
    size: tuple[sp.Expr, ...] = ()
    book: dict[str, Any] = field(default_factory=dict)
    #: the step's TOML table as written (size expressions as text, for generated code)
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"steps[{self.index}]"


@dataclass(frozen=True)
class ExampleSpec:
    """A parsed, validated example spec."""

    slug: str
    path: str
    title: str
    summary: str
    intro: str
    outro: str
    tensors: dict[str, TensorSpec]
    steps: tuple[StepSpec, ...]
    digest: str

    @property
    def figures(self) -> list[tuple[str, str, int | None]]:
        """``(file name, step id, highlight number or None for the animation)`` per figure.

        Known from the spec alone, so the build tells what is missing without computing.
        """
        out: list[tuple[str, str, int | None]] = []
        for step in self.steps:
            if step.kind == "shape":
                continue
            for k in range(len(step.highlight)):
                out.append((f"{self.slug}-{step.id}-{k + 1}.svg", step.id, k))
            if step.animate:
                out.append((f"{self.slug}-{step.id}-animated.svg", step.id, None))
        return out


class _Reader:
    """Field access that names the file, the example and the field in every error."""

    def __init__(self, path: str, slug: str) -> None:
        self.path, self.slug = path, slug

    def error(self, where: str, message: str) -> BuildError:
        return BuildError(f"{self.path}: example {self.slug!r}, field {where}: {message}")

    def table(self, value: Any, where: str) -> dict:
        if not isinstance(value, dict):
            raise self.error(where, f"must be a table, got {value!r}")
        return value

    def keys(self, table: dict, where: str, allowed: tuple[str, ...], required=()) -> None:
        for key in table:
            if key not in allowed:
                raise self.error(
                    f"{where}.{key}" if where else key,
                    f"unknown key; expected one of {', '.join(allowed)}",
                )
        for key in required:
            if key not in table:
                raise self.error(f"{where}.{key}" if where else key, "is required")

    def text(self, table: dict, key: str, where: str, default: str | None = None) -> str:
        path = f"{where}.{key}" if where else key
        if key not in table:
            if default is None:
                raise self.error(path, "is required")
            return default
        value = table[key]
        if not isinstance(value, str):
            raise self.error(path, f"must be a string, got {value!r}")
        return value.strip()

    def integer(self, value: Any, where: str, minimum: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(where, f"must be an integer, got {value!r}")
        if minimum is not None and value < minimum:
            raise self.error(where, f"must be at least {minimum}, got {value!r}")
        return value

    def boolean(self, table: dict, key: str, where: str) -> bool:
        value = table.get(key, False)
        if not isinstance(value, bool):
            raise self.error(f"{where}.{key}", f"must be true or false, got {value!r}")
        return value

    def size(self, value: Any, where: str) -> sp.Expr:
        """An integer or a size expression in derive's grammar."""
        if isinstance(value, str):
            try:
                return parse_size(value, where)
            except ShapeError as exc:
                raise self.error(where, str(exc)) from None
        return sp.Integer(self.integer(value, where))

    def shape(self, value: Any, where: str) -> tuple[int, ...]:
        if not isinstance(value, list) or not value:
            raise self.error(where, f"must be a non-empty list of positive integers, got {value!r}")
        dims = tuple(self.integer(v, f"{where}[{i}]", 1) for i, v in enumerate(value))
        total = 1
        for d in dims:
            total *= d
        if total > _MAX_ENTRIES:
            raise self.error(where, f"has {total} entries, more than {_MAX_ENTRIES}")
        return dims


def tensor_shape(values: Any) -> tuple[int, ...]:
    """The shape of a regular nested list (``()`` for a scalar); raises ValueError if ragged."""
    if not isinstance(values, list):
        return ()
    if not values:
        raise ValueError("has an empty axis")
    inner = [tensor_shape(v) for v in values]
    if any(s != inner[0] for s in inner):
        raise ValueError(f"is ragged: sub-lists of shapes {sorted(set(inner))}")
    return (len(values),) + inner[0]


def _nested(flat: list, shape: tuple[int, ...]) -> list:
    if len(shape) == 1:
        return list(flat)
    step = len(flat) // shape[0]
    return [_nested(flat[i * step : (i + 1) * step], shape[1:]) for i in range(shape[0])]


def _flat(values: Any) -> list:
    if isinstance(values, list):
        return [v for item in values for v in _flat(item)]
    return [values]


def _deterministic_int(seed: int, index: int, low: int, high: int) -> int:
    digest = hashlib.sha256(f"derive-random:{seed}:{index}".encode()).digest()
    return low + int.from_bytes(digest[:8], "big") % (high - low + 1)


def _read_tensor(r: _Reader, name: str, raw: Any, done: dict[str, TensorSpec]) -> TensorSpec:
    where = f"tensors.{name}"
    if not name.isidentifier() or name.startswith("_"):
        raise r.error(where, "tensor names must be Python identifiers not starting with '_'")
    t = r.table(raw, where)
    sources = ("values", "fill", "arange", "random", "stack", "transpose")
    r.keys(t, where, sources + ("shape", "set", "start", "symbol"))
    given = [s for s in sources if s in t]
    if len(given) != 1:
        raise r.error(where, f"give exactly one of {', '.join(sources)}, got {given or 'none'}")
    source = given[0]
    symbol = t.get("symbol", name.lower())
    if not isinstance(symbol, str) or not re.fullmatch(r"[A-Za-z]\w*", symbol):
        raise r.error(f"{where}.symbol", f"must be a name like x or w, got {symbol!r}")
    if source != "fill" and "set" in t:
        raise r.error(f"{where}.set", "only applies to a fill tensor")
    if "start" in t and source != "arange":
        raise r.error(f"{where}.start", "only applies to an arange tensor")
    if "shape" in t and source not in ("fill", "random"):
        raise r.error(f"{where}.shape", f"does not apply to a {source} tensor")

    if source == "values":
        values = t["values"]
        if not isinstance(values, list):
            raise r.error(f"{where}.values", f"must be a nested list, got {values!r}")
        try:
            shape = tensor_shape(values)
        except ValueError as exc:
            raise r.error(f"{where}.values", str(exc)) from None
        flat = [r.size(v, f"{where}.values") for v in _flat(values)]
        if len(flat) > _MAX_ENTRIES:
            raise r.error(f"{where}.values", f"has more than {_MAX_ENTRIES} entries")
    elif source in ("fill", "random"):
        if "shape" not in t:
            raise r.error(f"{where}.shape", f"is required for a {source} tensor")
        shape = r.shape(t["shape"], f"{where}.shape")
        count = 1
        for d in shape:
            count *= d
        if source == "fill":
            fill = r.size(t["fill"], f"{where}.fill")
            flat = [fill] * count
            boxes = t.get("set", [])
            if not isinstance(boxes, list):
                raise r.error(f"{where}.set", f"must be a list of tables, got {boxes!r}")
            for b, box in enumerate(boxes):
                flat = _apply_box(r, f"{where}.set[{b}]", box, flat, shape)
        else:
            rnd = r.table(t["random"], f"{where}.random")
            r.keys(rnd, f"{where}.random", ("seed", "low", "high"), ("seed", "low", "high"))
            seed = r.integer(rnd["seed"], f"{where}.random.seed", 0)
            low = r.integer(rnd["low"], f"{where}.random.low")
            high = r.integer(rnd["high"], f"{where}.random.high", low)
            flat = [sp.Integer(_deterministic_int(seed, i, low, high)) for i in range(count)]
    elif source == "arange":
        shape = r.shape(t["arange"], f"{where}.arange")
        start = r.integer(t.get("start", 0), f"{where}.start")
        count = 1
        for d in shape:
            count *= d
        flat = [sp.Integer(start + i) for i in range(count)]
    elif source == "stack":
        items = t["stack"]
        if not isinstance(items, list) or not items:
            raise r.error(f"{where}.stack", f"must be a non-empty list of tables, got {items!r}")
        flat, shape = [], ()
        for i, item in enumerate(items):
            iw = f"{where}.stack[{i}]"
            item = r.table(item, iw)
            r.keys(item, iw, ("of", "add"), ("of",))
            other = done.get(item["of"]) if isinstance(item["of"], str) else None
            if other is None:
                raise r.error(f"{iw}.of", f"names no tensor declared before {name}: {item['of']!r}")
            if i and other.shape != shape:
                raise r.error(f"{iw}.of", f"{item['of']} has shape {other.shape}, not {shape}")
            shape = other.shape
            add = r.size(item.get("add", 0), f"{iw}.add")
            flat.extend(v + add for v in _flat(other.values))
        shape = (len(items),) + shape
    else:  # transpose
        other = done.get(t["transpose"]) if isinstance(t["transpose"], str) else None
        if other is None:
            raise r.error(
                f"{where}.transpose", f"names no tensor declared before {name}: {t['transpose']!r}"
            )
        if len(other.shape) != 2:
            raise r.error(f"{where}.transpose", f"{t['transpose']} is not a matrix: {other.shape}")
        rows, cols = other.shape
        flat = [other.values[i][j] for j in range(cols) for i in range(rows)]
        shape = (cols, rows)
    if not shape:
        raise r.error(where, "must be a tensor, not a single number")
    return TensorSpec(name, _nested(flat, shape), shape, symbol)


def _apply_box(r: _Reader, where: str, box: Any, flat: list, shape: tuple[int, ...]) -> list:
    """``{rows = [a, b], cols = [c, d], value = v}``: rows a..b-1, cols c..d-1 of each matrix."""
    box = r.table(box, where)
    r.keys(box, where, ("rows", "cols", "value"), ("value",))
    if len(shape) < 2:
        raise r.error(where, "needs a tensor of at least two axes")
    height, width = shape[-2:]
    spans = []
    for key, limit in (("rows", height), ("cols", width)):
        span = box.get(key, [0, limit])
        if (
            not isinstance(span, list)
            or len(span) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in span)
            or not 0 <= span[0] < span[1] <= limit
        ):
            raise r.error(
                f"{where}.{key}", f"must be [start, stop] within 0..{limit}, got {span!r}"
            )
        spans.append(span)
    value = r.size(box["value"], f"{where}.value")
    out = list(flat)
    planes = len(flat) // (height * width)
    for p in range(planes):
        for i in range(*spans[0]):
            for j in range(*spans[1]):
                out[(p * height + i) * width + j] = value
    return out


def _read_param(r: _Reader, key: str, value: Any, where: str, symbolic: bool) -> Any:
    """A layer parameter: an int, a pair, ((t, b), (l, r)) padding, 'same'/'valid' or a bool."""
    if key in BOOLEAN_PARAMS:
        if not isinstance(value, bool):
            raise r.error(where, f"must be true or false, got {value!r}")
        return value
    if key == "divisor_override":
        return r.integer(value, where)
    if key == "groups":
        return r.integer(value, where, 1)

    def one(v: Any, w: str) -> Any:
        if symbolic:
            return r.size(v, w)
        if isinstance(v, str):
            raise r.error(w, f"must be an integer here (symbols belong in shape steps), got {v!r}")
        return r.integer(v, w)

    if key == "padding" and isinstance(value, str) and value in ("same", "valid"):
        return value
    if isinstance(value, list):
        if len(value) != 2:
            raise r.error(where, f"must be a number or a pair, got {value!r}")
        if key == "padding" and any(isinstance(v, list) for v in value):
            out = []
            for i, side in enumerate(value):
                if not isinstance(side, list) or len(side) != 2:
                    raise r.error(f"{where}[{i}]", f"must be a (before, after) pair, got {side!r}")
                out.append((one(side[0], f"{where}[{i}][0]"), one(side[1], f"{where}[{i}][1]")))
            return tuple(out)
        return (one(value[0], f"{where}[0]"), one(value[1], f"{where}[1]"))
    return one(value, where)


def _read_book(r: _Reader, raw: Any, where: str, kind: str) -> dict[str, Any]:
    """Facts quoted from the book; the build asserts each one equal to the computed value."""
    book = r.table(raw, where)
    r.keys(book, where, BOOK_KEYS[kind])
    out: dict[str, Any] = {}
    for key, value in book.items():
        w = f"{where}.{key}"
        if key in ("output",):
            if not isinstance(value, list):
                raise r.error(w, f"must be a nested list, got {value!r}")
            try:
                tensor_shape(value)
            except ValueError as exc:
                raise r.error(w, str(exc)) from None
            out[key] = [r.size(v, w) for v in _flat(value)], tensor_shape(value)
        elif key in ("shape", "weight_shape"):
            out[key] = r.shape(value, w)
        elif key == "distinct":
            if not isinstance(value, list) or not value:
                raise r.error(w, f"must be a non-empty list, got {value!r}")
            out[key] = sorted({r.size(v, w) for v in value}, key=sp.default_sort_key)
        elif key == "constant":
            out[key] = r.size(value, w)
        elif key == "formula":
            if not isinstance(value, list) or not value:
                raise r.error(w, f"must be a list of formulas, one per axis, got {value!r}")
            out[key] = tuple(r.size(v, f"{w}[{i}]") for i, v in enumerate(value))
        elif key == "where":
            table = r.table(value, w)
            subs = {}
            for name, expr in table.items():
                sym = r.size(name, f"{w}.{name}")
                if not sym.is_Symbol:
                    raise r.error(f"{w}.{name}", "must be a plain name")
                subs[sym] = r.size(expr, f"{w}.{name}")
            out[key] = subs
        elif key in ("elements", "products"):
            if not isinstance(value, list) or not value:
                raise r.error(w, f"must be a non-empty list of tables, got {value!r}")
            items = []
            for i, item in enumerate(value):
                iw = f"{w}[{i}]"
                item = r.table(item, iw)
                need = ("index", "value") if key == "elements" else ("index", "pairs")
                r.keys(item, iw, need, need)
                index = item["index"]
                if not isinstance(index, list) or not index:
                    raise r.error(f"{iw}.index", f"must be a list of integers, got {index!r}")
                idx = tuple(r.integer(v, f"{iw}.index", 0) for v in index)
                if key == "elements":
                    items.append((idx, r.size(item["value"], f"{iw}.value")))
                else:
                    pairs = item["pairs"]
                    if not isinstance(pairs, list) or not all(
                        isinstance(p, list) and len(p) == 2 for p in pairs
                    ):
                        raise r.error(
                            f"{iw}.pairs", f"must be a list of [input, kernel] pairs, got {pairs!r}"
                        )
                    items.append(
                        (
                            idx,
                            [
                                (r.size(a, f"{iw}.pairs"), r.size(b, f"{iw}.pairs"))
                                for a, b in pairs
                            ],
                        )
                    )
            out[key] = items
        elif key == "keeps_channels":
            if value is not True:
                raise r.error(w, f"can only be true, got {value!r}")
            out[key] = True
        elif key == "same_as":
            table = r.table(value, w)
            out[key] = {k: _read_param(r, k, v, f"{w}.{k}", False) for k, v in table.items()}
    if "where" in out and "formula" not in out:
        raise r.error(f"{where}.where", "only applies together with formula")
    return out


def _read_step(
    r: _Reader, index: int, raw: Any, tensors: dict[str, TensorSpec], seen: set[str]
) -> StepSpec:
    where = f"steps[{index}]"
    s = r.table(raw, where)
    common = ("id", "kind", "title", "text", "after", "op", "params", "book")
    kind = s.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        raise r.error(f"{where}.kind", f"must be one of {', '.join(KINDS)}, got {kind!r}")
    extra = {
        "elements": ("input", "weight", "bias", "highlight", "animate", "symbolic_output"),
        "matmul": ("input", "weight", "highlight"),
        "shape": ("size",),
    }[kind]
    r.keys(s, where, common + extra, ("id", "kind", "title", "op"))
    step_id = s["id"]
    if not isinstance(step_id, str) or not _ID.match(step_id):
        raise r.error(f"{where}.id", f"must be lower-case letters, digits and '-', got {step_id!r}")
    if step_id in seen:
        raise r.error(f"{where}.id", f"{step_id!r} is used by an earlier step")
    seen.add(step_id)
    op = s["op"]
    allowed_ops = SHAPE_OPS if kind == "shape" else OPS if kind == "elements" else {"conv2d": ()}
    if not isinstance(op, str) or op not in allowed_ops:
        raise r.error(f"{where}.op", f"must be one of {', '.join(allowed_ops)}, got {op!r}")
    params_raw = r.table(s.get("params", {}), f"{where}.params")
    r.keys(params_raw, f"{where}.params", allowed_ops[op])
    params = {
        k: _read_param(r, k, v, f"{where}.params.{k}", kind == "shape")
        for k, v in params_raw.items()
    }
    fields: dict[str, Any] = {}
    if kind == "shape":
        if "kernel_size" not in params:
            raise r.error(f"{where}.params.kernel_size", "is required for a shape step")
        size = s.get("size")
        if not isinstance(size, list) or len(size) not in (1, 2):
            raise r.error(f"{where}.size", f"must be a list of one or two sizes, got {size!r}")
        fields["size"] = tuple(r.size(v, f"{where}.size[{i}]") for i, v in enumerate(size))
    else:
        for role in ("input", "weight", "bias"):
            if role not in extra:
                continue
            name = s.get(role)
            needed = role == "input" or (role == "weight" and not op.endswith("pool2d"))
            if name is None:
                if needed:
                    raise r.error(f"{where}.{role}", f"is required for {op}")
                continue
            if role != "input" and op.endswith("pool2d"):
                raise r.error(f"{where}.{role}", f"{op} takes no {role}")
            if not isinstance(name, str) or name not in tensors:
                raise r.error(
                    f"{where}.{role}",
                    f"names no declared tensor: {name!r} (have {sorted(tensors)})",
                )
            fields[role] = name
        if op.endswith("pool2d") and "kernel_size" not in params:
            raise r.error(f"{where}.params.kernel_size", f"is required for {op}")
        _check_ranks(r, where, op, kind, fields, tensors)
        highlight = s.get("highlight", [])
        if not isinstance(highlight, list):
            raise r.error(
                f"{where}.highlight", f"must be a list of output indices, got {highlight!r}"
            )
        rank = 2 if op == "corr2d" else 3
        hl = []
        for i, idx in enumerate(highlight):
            if not isinstance(idx, list) or len(idx) != rank:
                raise r.error(
                    f"{where}.highlight[{i}]",
                    f"must be an output index of {rank} integers, got {idx!r}",
                )
            hl.append(tuple(r.integer(v, f"{where}.highlight[{i}]", 0) for v in idx))
        fields["highlight"] = tuple(hl)
        if kind == "elements":
            fields["animate"] = r.boolean(s, "animate", where)
            if fields["animate"] and op == "conv_transpose2d":
                raise r.error(f"{where}.animate", "applies to convolution and pooling steps only")
            fields["symbolic_output"] = r.boolean(s, "symbolic_output", where)
    book = _read_book(r, s.get("book", {}), f"{where}.book", kind)
    return StepSpec(
        index=index,
        id=step_id,
        kind=kind,
        title=r.text(s, "title", where),
        text=r.text(s, "text", where, ""),
        after=r.text(s, "after", where, ""),
        op=op,
        params=params,
        book=book,
        raw=s,
        **fields,
    )


def _check_ranks(
    r: _Reader, where: str, op: str, kind: str, fields: dict, tensors: dict[str, TensorSpec]
) -> None:
    ranks = (
        {"input": 2, "weight": 2, "bias": 1}
        if op == "corr2d"
        else {"input": 3, "weight": 4, "bias": 1}
    )
    for role, rank in ranks.items():
        name = fields.get(role)
        if name is None:
            continue
        shape = tensors[name].shape
        if len(shape) != rank:
            what = {2: "a matrix", 3: "(C, H, W)", 4: "(C_out, C_in, kH, kW)", 1: "a vector"}[rank]
            raise r.error(f"{where}.{role}", f"{op} needs {what}, but {name} has shape {shape}")
    if op == "corr2d" and "bias" in fields and tensors[fields["bias"]].shape != (1,):
        raise r.error(f"{where}.bias", "corr2d takes a single bias, a list of one number")
    if kind == "matmul":
        shape = tensors[fields["weight"]].shape
        if shape[2:] != (1, 1):
            raise r.error(f"{where}.weight", f"a matmul step needs a 1x1 kernel, got shape {shape}")


def parse_spec(text: str | bytes, path: str, slug: str | None = None) -> ExampleSpec:
    """Parse and validate one spec; ``path`` and ``slug`` only name it in errors."""
    raw_bytes = text.encode() if isinstance(text, str) else text
    slug = slug or Path(path).stem
    r = _Reader(path, slug)
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", slug):
        raise r.error("(file name)", f"slugs are lower-case letters, digits and '-', got {slug!r}")
    try:
        data = tomllib.loads(raw_bytes.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise r.error("(file)", f"is not UTF-8: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise r.error("(file)", f"is not valid TOML: {exc}") from None
    r.keys(
        data,
        "",
        ("title", "summary", "intro", "outro", "tensors", "steps"),
        ("title", "summary", "steps"),
    )
    summary = r.text(data, "summary", "")
    if "\n" in summary:
        raise r.error("summary", "must be one line")
    tensors: dict[str, TensorSpec] = {}
    for name, raw in r.table(data.get("tensors", {}), "tensors").items():
        tensors[name] = _read_tensor(r, name, raw, tensors)
    steps_raw = data["steps"]
    if not isinstance(steps_raw, list) or not steps_raw:
        raise r.error("steps", "must be a non-empty array of tables ([[steps]])")
    seen: set[str] = set()
    steps = tuple(_read_step(r, i, s, tensors, seen) for i, s in enumerate(steps_raw))
    return ExampleSpec(
        slug=slug,
        path=path,
        title=r.text(data, "title", ""),
        summary=summary,
        intro=r.text(data, "intro", "", ""),
        outro=r.text(data, "outro", "", ""),
        tensors=tensors,
        steps=steps,
        digest=hashlib.sha256(raw_bytes).hexdigest(),
    )


def load_spec(path: Path, label: str | None = None) -> ExampleSpec:
    """Read and validate ``path``; ``label`` is how errors name the file (default: the path)."""
    label = label or str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise BuildError(f"{label}: cannot read the spec: {exc.strerror}") from None
    return parse_spec(data, label, Path(path).stem)


def load_specs(directory: Path, root: Path | None = None) -> list[ExampleSpec]:
    """Every ``*.toml`` spec in ``directory``, sorted by file name."""
    out = []
    for path in sorted(Path(directory).glob("*.toml")):
        label = str(path.relative_to(root)) if root is not None else str(path)
        out.append(load_spec(path, label))
    return out
