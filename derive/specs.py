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
import math
import re
from collections.abc import Callable
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
from derive.ops import (
    AVG_POOL,
    CONV,
    CONV_TRANSPOSE,
    CORR2D,
    MAX_POOL,
    Correlation,
    Op,
    TransposedConvolution,
)
from derive.tensors import flatten

__all__ = [
    "BuildError",
    "TensorSpec",
    "Written",
    "StepSpec",
    "ExampleSpec",
    "OPS",
    "SHAPE_OPS",
    "MATMUL_OPS",
    "spelling",
    "load_spec",
    "load_specs",
    "parse_spec",
    "tensor_shape",
]


class BuildError(Exception):
    """A spec or build problem: a malformed spec, a failed check, a file in the way.

    Not a :class:`derive.ShapeError`: that one means "torch rejects this layer", this one
    "the example cannot be built as written". ``derive build`` reports it in one line.
    """


def spelling(op: Op) -> str:
    """How a spec names ``op``: torch's two-dimensional function, and the book's ``corr2d``.

    >>> spelling(MAX_POOL), spelling(CORR2D)
    ('max_pool2d', 'corr2d')
    """
    return op.name if isinstance(op, Correlation) else op.torch_function(2)


def _by_spelling(*ops: Op) -> dict[str, Op]:
    return {spelling(op): op for op in ops}


#: operations of ``elements`` steps, by their spelling in specs
OPS: dict[str, Op] = _by_spelling(CORR2D, CONV, MAX_POOL, AVG_POOL, CONV_TRANSPOSE)
#: operations of ``shape`` steps (sizes only, no tensors)
SHAPE_OPS: dict[str, Op] = {s: op for s, op in OPS.items() if not isinstance(op, Correlation)}
#: the operation of ``matmul`` steps (a 1x1 convolution as a matrix product)
MATMUL_OPS: dict[str, Op] = _by_spelling(CONV)
KINDS = ("elements", "shape", "matmul")
_STEP_OPS = {"elements": OPS, "shape": SHAPE_OPS, "matmul": MATMUL_OPS}
_STEP_KEYS = {
    "elements": ("input", "weight", "bias", "highlight", "animate", "symbolic_output"),
    "matmul": ("input", "weight", "highlight"),
    "shape": ("size",),
}
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
_PAD_STRINGS = ("same", "valid")


@dataclass(frozen=True)
class TensorSpec:
    """A named tensor: nested lists of SymPy integers or expressions, plus its symbol name."""

    name: str
    values: list
    shape: tuple[int, ...]
    symbol: str


@dataclass(frozen=True)
class Written:
    """A step's numbers as the spec writes them, validated: pairs as tuples, size expressions
    as their text (``"2*m + 1"``). Generated code quotes these, so a reader of a notebook sees
    the spec's own spelling; every decision is taken on the parsed values."""

    params: dict[str, Any] = field(default_factory=dict)
    size: tuple[Any, ...] = ()
    formula: tuple[Any, ...] = ()
    where: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StepSpec:
    """One section of an example page (see the module docstring for the kinds).

    ``op`` is the operation (:mod:`derive.ops`); ``spelling`` is its name as the spec wrote it.
    """

    index: int
    id: str
    kind: str
    title: str
    text: str
    after: str
    op: Op
    spelling: str
    input: str | None = None
    weight: str | None = None
    bias: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    highlight: tuple[tuple[int, ...], ...] = ()
    animate: bool = False
    symbolic_output: bool = False
    size: tuple[sp.Expr, ...] = ()
    book: dict[str, Any] = field(default_factory=dict)
    written: Written = field(default_factory=Written)

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


def _at(where: str, key: str | int) -> str:
    """The path of ``key`` below ``where``: ``steps[0].params``, ``size[1]``."""
    if isinstance(key, int):
        return f"{where}[{key}]"
    return f"{where}.{key}" if where else key


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
                    _at(where, key), f"unknown key; expected one of {', '.join(allowed)}"
                )
        for key in required:
            if key not in table:
                raise self.error(_at(where, key), "is required")

    def text(self, table: dict, key: str, where: str, default: str | None = None) -> str:
        if key not in table:
            if default is None:
                raise self.error(_at(where, key), "is required")
            return default
        value = table[key]
        if not isinstance(value, str):
            raise self.error(_at(where, key), f"must be a string, got {value!r}")
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
            raise self.error(_at(where, key), f"must be true or false, got {value!r}")
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
        if math.prod(dims) > _MAX_ENTRIES:
            raise self.error(where, f"has {math.prod(dims)} entries, more than {_MAX_ENTRIES}")
        return dims

    def nonempty(self, value: Any, where: str, what: str) -> list:
        """A non-empty list (``what`` says of what, for the message)."""
        if not isinstance(value, list) or not value:
            raise self.error(where, f"must be a non-empty list{what}, got {value!r}")
        return value

    def nested(self, value: Any, where: str) -> tuple[list[sp.Expr], tuple[int, ...]]:
        """A regular nested list of sizes: its entries, flat, and its shape."""
        if not isinstance(value, list):
            raise self.error(where, f"must be a nested list, got {value!r}")
        try:
            shape = tensor_shape(value)
        except ValueError as exc:
            raise self.error(where, str(exc)) from None
        return [self.size(v, where) for v in flatten(value)], shape


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


def _tupled(value: Any) -> Any:
    """TOML lists as tuples, all the way down."""
    return tuple(_tupled(v) for v in value) if isinstance(value, list) else value


# -- tensors --------------------------------------------------------------------------------
_SOURCES = ("values", "fill", "arange", "random", "stack", "transpose")
#: the keys beside its source that each kind of tensor takes
_SOURCE_KEYS = {"fill": ("shape", "set"), "random": ("shape",), "arange": ("start",)}


def _tensor_source(r: _Reader, name: str, t: dict) -> tuple[str, str]:
    """Which one generator the tensor table uses, and its symbol; the other keys checked."""
    where = f"tensors.{name}"
    r.keys(t, where, _SOURCES + ("shape", "set", "start", "symbol"))
    given = [s for s in _SOURCES if s in t]
    if len(given) != 1:
        raise r.error(where, f"give exactly one of {', '.join(_SOURCES)}, got {given or 'none'}")
    source = given[0]
    symbol = t.get("symbol", name.lower())
    if not isinstance(symbol, str) or not re.fullmatch(r"[A-Za-z]\w*", symbol):
        raise r.error(f"{where}.symbol", f"must be a name like x or w, got {symbol!r}")
    takes = _SOURCE_KEYS.get(source, ())
    if "set" in t and "set" not in takes:
        raise r.error(f"{where}.set", "only applies to a fill tensor")
    if "start" in t and "start" not in takes:
        raise r.error(f"{where}.start", "only applies to an arange tensor")
    if "shape" in t and "shape" not in takes:
        raise r.error(f"{where}.shape", f"does not apply to a {source} tensor")
    if "shape" in takes and "shape" not in t:
        raise r.error(f"{where}.shape", f"is required for a {source} tensor")
    return source, symbol


#: a generator reads (reader, tensor name, its table, the tensors declared before it)
Source = Callable[[_Reader, str, dict, dict], tuple[list, tuple[int, ...]]]


def _values(r: _Reader, name: str, t: dict, done: dict) -> tuple[list, tuple[int, ...]]:
    where = f"tensors.{name}"
    flat, shape = r.nested(t["values"], f"{where}.values")
    if len(flat) > _MAX_ENTRIES:
        raise r.error(f"{where}.values", f"has more than {_MAX_ENTRIES} entries")
    return flat, shape


def _fill(r: _Reader, name: str, t: dict, done: dict) -> tuple[list, tuple[int, ...]]:
    where = f"tensors.{name}"
    shape = r.shape(t["shape"], f"{where}.shape")
    flat = [r.size(t["fill"], f"{where}.fill")] * math.prod(shape)
    boxes = t.get("set", [])
    if not isinstance(boxes, list):
        raise r.error(f"{where}.set", f"must be a list of tables, got {boxes!r}")
    for b, box in enumerate(boxes):
        flat = _apply_box(r, f"{where}.set[{b}]", box, flat, shape)
    return flat, shape


def _random(r: _Reader, name: str, t: dict, done: dict) -> tuple[list, tuple[int, ...]]:
    where = f"tensors.{name}"
    shape = r.shape(t["shape"], f"{where}.shape")
    rnd = r.table(t["random"], f"{where}.random")
    r.keys(rnd, f"{where}.random", ("seed", "low", "high"), ("seed", "low", "high"))
    seed = r.integer(rnd["seed"], f"{where}.random.seed", 0)
    low = r.integer(rnd["low"], f"{where}.random.low")
    high = r.integer(rnd["high"], f"{where}.random.high", low)
    count = math.prod(shape)
    return [sp.Integer(_deterministic_int(seed, i, low, high)) for i in range(count)], shape


def _arange(r: _Reader, name: str, t: dict, done: dict) -> tuple[list, tuple[int, ...]]:
    where = f"tensors.{name}"
    shape = r.shape(t["arange"], f"{where}.arange")
    start = r.integer(t.get("start", 0), f"{where}.start")
    return [sp.Integer(start + i) for i in range(math.prod(shape))], shape


def _declared(r: _Reader, where: str, of: Any, done: dict, name: str) -> TensorSpec:
    other = done.get(of) if isinstance(of, str) else None
    if other is None:
        raise r.error(where, f"names no tensor declared before {name}: {of!r}")
    return other


def _stack(r: _Reader, name: str, t: dict, done: dict) -> tuple[list, tuple[int, ...]]:
    where = f"tensors.{name}"
    items = r.nonempty(t["stack"], f"{where}.stack", " of tables")
    flat: list = []
    shape: tuple[int, ...] = ()
    for i, item in enumerate(items):
        iw = f"{where}.stack[{i}]"
        item = r.table(item, iw)
        r.keys(item, iw, ("of", "add"), ("of",))
        other = _declared(r, f"{iw}.of", item["of"], done, name)
        if i and other.shape != shape:
            raise r.error(f"{iw}.of", f"{item['of']} has shape {other.shape}, not {shape}")
        shape = other.shape
        add = r.size(item.get("add", 0), f"{iw}.add")
        flat.extend(v + add for v in flatten(other.values))
    return flat, (len(items),) + shape


def _transpose(r: _Reader, name: str, t: dict, done: dict) -> tuple[list, tuple[int, ...]]:
    where = f"tensors.{name}"
    other = _declared(r, f"{where}.transpose", t["transpose"], done, name)
    if len(other.shape) != 2:
        raise r.error(f"{where}.transpose", f"{t['transpose']} is not a matrix: {other.shape}")
    rows, cols = other.shape
    return [other.values[i][j] for j in range(cols) for i in range(rows)], (cols, rows)


_GENERATORS: dict[str, Source] = {
    "values": _values,
    "fill": _fill,
    "random": _random,
    "arange": _arange,
    "stack": _stack,
    "transpose": _transpose,
}


def _read_tensor(r: _Reader, name: str, raw: Any, done: dict[str, TensorSpec]) -> TensorSpec:
    where = f"tensors.{name}"
    if not name.isidentifier() or name.startswith("_"):
        raise r.error(where, "tensor names must be Python identifiers not starting with '_'")
    t = r.table(raw, where)
    source, symbol = _tensor_source(r, name, t)
    flat, shape = _GENERATORS[source](r, name, t, done)
    if not shape:
        raise r.error(where, "must be a tensor, not a single number")
    return TensorSpec(name, _nested(flat, shape), shape, symbol)


def _deterministic_int(seed: int, index: int, low: int, high: int) -> int:
    digest = hashlib.sha256(f"derive-random:{seed}:{index}".encode()).digest()
    return low + int.from_bytes(digest[:8], "big") % (high - low + 1)


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


# -- parameters -----------------------------------------------------------------------------
def _read_param(r: _Reader, op: Op, key: str, value: Any, where: str, shape: bool) -> Any:
    """A layer parameter, read as its kind in the registry says: a flag, a count, a divisor,
    or sizes (an int, a pair; for padding also 'same'/'valid' and ((t, b), (l, r)))."""
    kind = op.param(key, shape).kind
    if kind == "flag":
        if not isinstance(value, bool):
            raise r.error(where, f"must be true or false, got {value!r}")
        return value
    if kind == "divisor":
        return r.integer(value, where)
    if kind == "count":
        return r.integer(value, where, 1)
    if kind == "padding" and isinstance(value, str) and value in _PAD_STRINGS:
        return value
    if not isinstance(value, list):
        return _read_dim(r, value, where, shape)
    if len(value) != 2:
        raise r.error(where, f"must be a number or a pair, got {value!r}")
    if kind == "padding" and any(isinstance(v, list) for v in value):
        return tuple(_read_side(r, side, f"{where}[{i}]", shape) for i, side in enumerate(value))
    return tuple(_read_dim(r, v, f"{where}[{i}]", shape) for i, v in enumerate(value))


def _read_dim(r: _Reader, value: Any, where: str, symbolic: bool) -> Any:
    """One number of a parameter: a size expression in shape steps, an integer elsewhere."""
    if symbolic:
        return r.size(value, where)
    if isinstance(value, str):
        raise r.error(
            where, f"must be an integer here (symbols belong in shape steps), got {value!r}"
        )
    return r.integer(value, where)


def _read_side(r: _Reader, side: Any, where: str, symbolic: bool) -> tuple[Any, Any]:
    if not isinstance(side, list) or len(side) != 2:
        raise r.error(where, f"must be a (before, after) pair, got {side!r}")
    return tuple(_read_dim(r, v, f"{where}[{i}]", symbolic) for i, v in enumerate(side))


def _read_params(r: _Reader, op: Op, raw: Any, where: str, shape: bool) -> dict[str, Any]:
    """The ``params`` table: only the operation's own parameters, each read by its kind."""
    table = r.table(raw, where)
    allowed = op.shape_params if shape else op.element_params
    r.keys(table, where, tuple(p.name for p in allowed))
    return {k: _read_param(r, op, k, v, f"{where}.{k}", shape) for k, v in table.items()}


# -- facts quoted from the book -------------------------------------------------------------
#: a book reader reads (reader, the value, its field, the step's operation)
Book = Callable[[_Reader, Any, str, Op], Any]


def _book_output(r: _Reader, value: Any, w: str, op: Op) -> Any:
    return r.nested(value, w)


def _book_shape(r: _Reader, value: Any, w: str, op: Op) -> Any:
    return r.shape(value, w)


def _book_distinct(r: _Reader, value: Any, w: str, op: Op) -> Any:
    values = r.nonempty(value, w, "")
    return sorted({r.size(v, w) for v in values}, key=sp.default_sort_key)


def _book_constant(r: _Reader, value: Any, w: str, op: Op) -> Any:
    return r.size(value, w)


def _book_formula(r: _Reader, value: Any, w: str, op: Op) -> Any:
    if not isinstance(value, list) or not value:
        raise r.error(w, f"must be a list of formulas, one per axis, got {value!r}")
    return tuple(r.size(v, f"{w}[{i}]") for i, v in enumerate(value))


def _book_where(r: _Reader, value: Any, w: str, op: Op) -> Any:
    subs = {}
    for name, expr in r.table(value, w).items():
        sym = r.size(name, f"{w}.{name}")
        if not sym.is_Symbol:
            raise r.error(f"{w}.{name}", "must be a plain name")
        subs[sym] = r.size(expr, f"{w}.{name}")
    return subs


def _book_index(r: _Reader, item: Any, iw: str, second: str) -> tuple[dict, tuple[int, ...]]:
    """One ``{index, <second>}`` table of a list of elements or products."""
    item = r.table(item, iw)
    r.keys(item, iw, ("index", second), ("index", second))
    index = item["index"]
    if not isinstance(index, list) or not index:
        raise r.error(f"{iw}.index", f"must be a list of integers, got {index!r}")
    return item, tuple(r.integer(v, f"{iw}.index", 0) for v in index)


def _book_elements(r: _Reader, value: Any, w: str, op: Op) -> Any:
    out = []
    for i, item in enumerate(r.nonempty(value, w, " of tables")):
        item, idx = _book_index(r, item, f"{w}[{i}]", "value")
        out.append((idx, r.size(item["value"], f"{w}[{i}].value")))
    return out


def _book_products(r: _Reader, value: Any, w: str, op: Op) -> Any:
    out = []
    for i, item in enumerate(r.nonempty(value, w, " of tables")):
        iw = f"{w}[{i}]"
        item, idx = _book_index(r, item, iw, "pairs")
        pairs = item["pairs"]
        if not isinstance(pairs, list) or not all(
            isinstance(p, list) and len(p) == 2 for p in pairs
        ):
            raise r.error(f"{iw}.pairs", f"must be a list of [input, kernel] pairs, got {pairs!r}")
        out.append((idx, [(r.size(a, f"{iw}.pairs"), r.size(b, f"{iw}.pairs")) for a, b in pairs]))
    return out


def _book_keeps_channels(r: _Reader, value: Any, w: str, op: Op) -> Any:
    if value is not True:
        raise r.error(w, f"can only be true, got {value!r}")
    return True


def _book_same_as(r: _Reader, value: Any, w: str, op: Op) -> Any:
    return _read_params(r, op, value, w, False)


_BOOK: dict[str, Book] = {
    "output": _book_output,
    "shape": _book_shape,
    "weight_shape": _book_shape,
    "distinct": _book_distinct,
    "constant": _book_constant,
    "formula": _book_formula,
    "where": _book_where,
    "elements": _book_elements,
    "products": _book_products,
    "keeps_channels": _book_keeps_channels,
    "same_as": _book_same_as,
}


def _read_book(r: _Reader, raw: Any, where: str, kind: str, op: Op) -> dict[str, Any]:
    """Facts quoted from the book; the build asserts each one equal to the computed value."""
    book = r.table(raw, where)
    r.keys(book, where, BOOK_KEYS[kind])
    out = {key: _BOOK[key](r, value, f"{where}.{key}", op) for key, value in book.items()}
    if "where" in out and "formula" not in out:
        raise r.error(f"{where}.where", "only applies together with formula")
    return out


# -- steps ----------------------------------------------------------------------------------
def _step_header(r: _Reader, where: str, s: dict, seen: set[str]) -> tuple[str, str, str, Op]:
    """A step's kind, id, the op as written and the operation it names."""
    kind = s.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        raise r.error(f"{where}.kind", f"must be one of {', '.join(KINDS)}, got {kind!r}")
    common = ("id", "kind", "title", "text", "after", "op", "params", "book")
    r.keys(s, where, common + _STEP_KEYS[kind], ("id", "kind", "title", "op"))
    step_id = s["id"]
    if not isinstance(step_id, str) or not _ID.match(step_id):
        raise r.error(f"{where}.id", f"must be lower-case letters, digits and '-', got {step_id!r}")
    if step_id in seen:
        raise r.error(f"{where}.id", f"{step_id!r} is used by an earlier step")
    seen.add(step_id)
    allowed = _STEP_OPS[kind]
    written = s["op"]
    if not isinstance(written, str) or written not in allowed:
        raise r.error(f"{where}.op", f"must be one of {', '.join(allowed)}, got {written!r}")
    return kind, step_id, written, allowed[written]


def _shape_fields(r: _Reader, where: str, s: dict, params: dict) -> dict[str, Any]:
    if "kernel_size" not in params:
        raise r.error(f"{where}.params.kernel_size", "is required for a shape step")
    size = s.get("size")
    if not isinstance(size, list) or len(size) not in (1, 2):
        raise r.error(f"{where}.size", f"must be a list of one or two sizes, got {size!r}")
    return {"size": tuple(r.size(v, f"{where}.size[{i}]") for i, v in enumerate(size))}


def _tensor_roles(
    r: _Reader, where: str, s: dict, op: Op, written: str, tensors: dict[str, TensorSpec]
) -> dict[str, Any]:
    """The tensors a step names: an input, and a weight (and bias) when ``op`` takes one."""
    fields: dict[str, Any] = {}
    for role in ("input", "weight", "bias"):
        name = s.get(role)
        if name is None:
            if role == "input" or (role == "weight" and op.weighted):
                raise r.error(f"{where}.{role}", f"is required for {written}")
            continue
        if role != "input" and not op.weighted:
            raise r.error(f"{where}.{role}", f"{written} takes no {role}")
        if not isinstance(name, str) or name not in tensors:
            raise r.error(
                f"{where}.{role}", f"names no declared tensor: {name!r} (have {sorted(tensors)})"
            )
        fields[role] = name
    return fields


def _highlight(r: _Reader, where: str, s: dict, op: Op) -> tuple[tuple[int, ...], ...]:
    highlight = s.get("highlight", [])
    if not isinstance(highlight, list):
        raise r.error(f"{where}.highlight", f"must be a list of output indices, got {highlight!r}")
    rank = 2 if isinstance(op, Correlation) else 3
    out = []
    for i, idx in enumerate(highlight):
        if not isinstance(idx, list) or len(idx) != rank:
            raise r.error(
                f"{where}.highlight[{i}]",
                f"must be an output index of {rank} integers, got {idx!r}",
            )
        out.append(tuple(r.integer(v, f"{where}.highlight[{i}]", 0) for v in idx))
    return tuple(out)


def _tensor_fields(
    r: _Reader, where: str, s: dict, kind: str, op: Op, written: str, params: dict, tensors: dict
) -> dict[str, Any]:
    """The fields of an elements or matmul step: tensors, highlights, figures."""
    fields = _tensor_roles(r, where, s, op, written, tensors)
    if not op.weighted and "kernel_size" not in params:
        raise r.error(f"{where}.params.kernel_size", f"is required for {written}")
    _check_ranks(r, where, op, written, kind, fields, tensors)
    fields["highlight"] = _highlight(r, where, s, op)
    if kind == "elements":
        fields["animate"] = r.boolean(s, "animate", where)
        if fields["animate"] and isinstance(op, TransposedConvolution):
            raise r.error(f"{where}.animate", "applies to convolution and pooling steps only")
        fields["symbolic_output"] = r.boolean(s, "symbolic_output", where)
    return fields


def _written(s: dict) -> Written:
    book = s.get("book", {})
    return Written(
        params={k: _tupled(v) for k, v in s.get("params", {}).items()},
        size=_tupled(s.get("size", [])),
        formula=_tupled(book.get("formula", [])),
        where=dict(book.get("where", {})),
    )


def _read_step(
    r: _Reader, index: int, raw: Any, tensors: dict[str, TensorSpec], seen: set[str]
) -> StepSpec:
    where = f"steps[{index}]"
    s = r.table(raw, where)
    kind, step_id, written, op = _step_header(r, where, s, seen)
    params = _read_params(r, op, s.get("params", {}), f"{where}.params", kind == "shape")
    if kind == "shape":
        fields = _shape_fields(r, where, s, params)
    else:
        fields = _tensor_fields(r, where, s, kind, op, written, params, tensors)
    book = _read_book(r, s.get("book", {}), f"{where}.book", kind, op)
    return StepSpec(
        index=index,
        id=step_id,
        kind=kind,
        title=r.text(s, "title", where),
        text=r.text(s, "text", where, ""),
        after=r.text(s, "after", where, ""),
        op=op,
        spelling=written,
        params=params,
        book=book,
        written=_written(s),
        **fields,
    )


_SHOWN_RANK = {2: "a matrix", 3: "(C, H, W)", 4: "(C_out, C_in, kH, kW)", 1: "a vector"}


def _check_ranks(
    r: _Reader, where: str, op: Op, written: str, kind: str, fields: dict, tensors: dict
) -> None:
    matrices = isinstance(op, Correlation)
    ranks = (
        {"input": 2, "weight": 2, "bias": 1} if matrices else {"input": 3, "weight": 4, "bias": 1}
    )
    for role, rank in ranks.items():
        name = fields.get(role)
        if name is None:
            continue
        shape = tensors[name].shape
        if len(shape) != rank:
            raise r.error(
                f"{where}.{role}",
                f"{written} needs {_SHOWN_RANK[rank]}, but {name} has shape {shape}",
            )
    if matrices and "bias" in fields and tensors[fields["bias"]].shape != (1,):
        raise r.error(f"{where}.bias", f"{written} takes a single bias, a list of one number")
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
