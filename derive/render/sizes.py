r"""Output sizes of a step: the formula per axis, the book's form of it, and torch's sizes.

An elements step shows the size formula with a symbol for every parameter not at its default
(:func:`axis_formula`): a plain cross-correlation gives $n_h - k_h + 1$, a padded, strided one
$\lfloor (n_h + 2 p_h - k_h)/s_h \rfloor + 1$. A shape step (:func:`shape_step`) takes sizes
and parameters that may themselves be expressions, and is checked against torch at the
numbers, or on a grid of the values of its symbols: where torch accepts, the formula, derive's
numeric call and torch agree; where torch rejects, derive raises too.

Every size is the operation's own size function (:attr:`derive.ops.Op.size`), called with the
operation's shape parameters (a parameter not given takes its default).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import sympy as sp

from derive.errors import ShapeError
from derive.grammar import size_symbol
from derive.ops import Op, Pooling, TransposedConvolution
from derive.render import latex, md
from derive.render.book import book_formula
from derive.render.pycode import spelled
from derive.render.results import AxisShape, Check, StepResult, step_error
from derive.specs import ExampleSpec, StepSpec

__all__ = [
    "AXES",
    "axis_formula",
    "shape_step",
    "per_axis",
    "axis_params",
    "output_size",
    "out_symbol",
    "shape_block",
]

AXES = ("h", "w")
_PAD_NAMES = {"h": ("t", "b"), "w": ("l", "r")}


def output_size(op: Op, size: Any, given: dict[str, Any]) -> sp.Expr:
    """``op``'s output size along one axis; a shape parameter not in ``given`` (or None) takes
    its default, and what ``op`` does not take is left out.

    >>> from derive.ops import CONV, MAX_POOL
    >>> output_size(CONV, 8, {"kernel_size": 3, "stride": None, "ceil_mode": True})
    6
    >>> output_size(MAX_POOL, 8, {"kernel_size": 3, "stride": None, "ceil_mode": True})
    3
    """
    kwargs = {
        p.name: p.default if given.get(p.name) is None else given[p.name] for p in op.shape_params
    }
    return op.size(size, **kwargs)


def out_symbol(axis: str) -> str:
    r"""The output size's name along ``axis`` (``"h"``, ``"w"``, or ``"out"`` for one axis).

    >>> out_symbol("h"), out_symbol("out")
    ('h_\\text{out}', 'n_\\text{out}')
    """
    return "n_\\text{out}" if axis == "out" else f"{axis}_\\text{{out}}"


def shape_block(shapes: Sequence[AxisShape]) -> str:
    r"""The size formula of each axis as people write it (:func:`derive.render.latex.formula`),
    then its value and the values put in, as a display of aligned rows.

    >>> n, k = size_symbol("n_h"), size_symbol("k_h")
    >>> print(shape_block([AxisShape("h", n - k + 1, [(n, 5), (k, 3)], sp.Integer(3))]))
    $$
    \begin{aligned}
    h_\text{out} &= n_{h} - k_{h} + 1 = 3 &&\text{with } n_{h} = 5,\ k_{h} = 3
    \end{aligned}
    $$
    """
    rows = []
    for s in shapes:
        formula, value = latex.formula(s.formula), latex.formula(s.value)
        given = ",\\ ".join(f"{latex.expr(sym)} = {latex.number(v)}" for sym, v in s.given)
        rhs = f"{formula} = {value}" if formula != value else value
        row = f"{out_symbol(s.label)} &= {rhs}"
        rows.append(f"{row} &&\\text{{with }} {given}" if given else row)
    return md.aligned(rows)


def _padding_symbols(axis: str, pads: tuple[int, int], given: list) -> Any:
    """0, ``(p, p)`` or ``(p_t, p_b)``: symbols for the padding, their values put in ``given``."""
    lo, hi = pads
    if lo == hi == 0:
        return 0
    if lo == hi:
        P = size_symbol(f"p_{axis}")
        given.append((P, sp.Integer(lo)))
        return (P, P)
    first, second = (size_symbol(f"p_{side}") for side in _PAD_NAMES[axis])
    given += [(first, sp.Integer(lo)), (second, sp.Integer(hi))]
    return (first, second)


def axis_formula(
    op: Op,
    axis: str,
    n: int,
    kernel: int,
    stride: int | None,
    pads: tuple[int, int],
    dilation: int,
    ceil_mode: bool = False,
    output_padding: int = 0,
) -> AxisShape:
    """The output size along one axis with a symbol for each non-default parameter."""
    N, K = size_symbol(f"n_{axis}"), size_symbol(f"k_{axis}")
    given: list[tuple[sp.Symbol, sp.Expr]] = [(N, sp.Integer(n)), (K, sp.Integer(kernel))]

    def named(base: str, value: int, shown: bool) -> sp.Expr:
        if not shown:
            return sp.Integer(value)
        symbol = size_symbol(f"{base}_{axis}")
        given.append((symbol, sp.Integer(value)))
        return symbol

    pool = isinstance(op, Pooling)
    s_val = kernel if stride is None else stride
    S = named("s", s_val, pool or s_val != 1)
    P = _padding_symbols(axis, pads, given)
    D = named("d", dilation, dilation != 1)
    O = named("o", output_padding, bool(output_padding))
    args = [str(N), str(K)]
    if S != 1 or pool:
        args.append(f"stride={S}")
    if P != 0:
        args.append(f"padding={P[0]}" if P[0] == P[1] else f"padding=({P[0]}, {P[1]})")
    if D != 1:
        args.append(f"dilation={D}")
    if O != 0:
        args.append(f"output_padding={O}")
    if pool and ceil_mode:
        args.append("ceil_mode=True")
    padding = P
    if isinstance(op, TransposedConvolution) and P != 0:
        if P[0] != P[1]:
            raise ShapeError("transposed convolution takes one padding per axis")
        padding = P[0]
    values = dict(stride=S, padding=padding, dilation=D, output_padding=O, ceil_mode=ceil_mode)
    formula = output_size(op, N, {"kernel_size": K, **values})
    code = f"{spelled(op.size_function)[0]}({', '.join(args)})"
    return AxisShape(axis, formula, given, formula.subs(dict(given)), code)


# -- shape steps ----------------------------------------------------------------------------
def per_axis(spec, step, key: str, value: Any, axes: int) -> list[Any]:
    """A parameter as one value per axis.

    A pair means (h, w) for two axes and (before, after) padding for one.
    """
    if value is None:
        return [None] * axes
    if key == "padding":
        if isinstance(value, str):
            return [value] * axes
        if axes == 1:
            return [value]
        if isinstance(value, tuple):
            return list(value)
        return [value, value]
    if isinstance(value, tuple):
        if axes == 1:
            raise step_error(
                spec, step, f"params.{key}", f"a one-axis step takes one {key}, got {value}"
            )
        return list(value)
    return [value] * axes


def axis_params(spec: ExampleSpec, step: StepSpec, params: dict[str, Any]) -> dict[str, list]:
    """Each of the operation's size parameters (not its flags), one value per axis."""
    axes = len(step.size)
    return {
        p.name: per_axis(spec, step, p.name, params.get(p.name), axes)
        for p in step.op.shape_params
        if p.kind != "flag"
    }


def shape_step(spec: ExampleSpec, step: StepSpec) -> StepResult:
    axes = len(step.size)
    per = axis_params(spec, step, step.params)
    ceil_mode = bool(step.params.get("ceil_mode", False))
    labels = AXES if axes == 2 else ("out",)
    try:
        values = [
            output_size(step.op, step.size[a], {**_at_axis(per, a), "ceil_mode": ceil_mode})
            for a in range(axes)
        ]
    except ShapeError as exc:
        raise step_error(spec, step, "params", str(exc)) from None
    shapes = [AxisShape(labels[a], value, [], value) for a, value in enumerate(values)]
    result = StepResult(step, shapes)
    result.output_shape = tuple(values)
    stated: list[str] = []
    if "shape" in step.book:
        if tuple(step.book["shape"]) != tuple(result.output_shape):
            message = f"the book's shape {step.book['shape']} is not derive's {result.output_shape}"
            raise step_error(spec, step, "book.shape", message)
        stated.append("the output shape")
    stated += book_formula(spec, step, shapes)
    result.book = stated
    result.check, result.extra["grid"] = _torch_shape_check(spec, step, per, ceil_mode, shapes)
    return result


def _at_axis(per: dict[str, list], a: int) -> dict[str, Any]:
    return {key: values[a] for key, values in per.items()}


#: grid side per number of symbols: at most ~150 points per axis
_GRID_TOP = {0: 1, 1: 12, 2: 7, 3: 4, 4: 3}


def _axis_symbols(step: StepSpec, per: dict, a: int) -> list[sp.Symbol]:
    free = set(step.size[a].free_symbols)
    for values in per.values():
        v = values[a]
        for item in v if isinstance(v, tuple) else (v,):
            if isinstance(item, sp.Basic):
                free |= item.free_symbols
    return sorted(free, key=lambda s: s.name)


def _at(v: Any, subs: dict) -> Any:
    if v is None or isinstance(v, (str, bool)):
        return v
    if isinstance(v, tuple):
        return tuple(int(x.xreplace(subs)) for x in v)
    return int(v.xreplace(subs)) if subs else int(v)


def _compare(spec, step, n: int, args: dict, ceil_mode: bool, where: str) -> tuple | None:
    """derive's numeric size and torch's at one point, or None where both reject (derive
    accepting what torch rejects, or the other way round, is an error naming the point)."""
    from derive.torch_check import TorchRejected, torch_output_size

    dilation = args.get("dilation") or 1
    try:
        ours = int(output_size(step.op, n, {**args, "dilation": dilation, "ceil_mode": ceil_mode}))
    except ShapeError:
        ours = None
    try:
        theirs = torch_output_size(
            step.op.name,
            n,
            args["kernel_size"],
            args.get("stride"),
            0 if args.get("padding") is None else args["padding"],
            dilation,
            ceil_mode,
            args.get("output_padding") or 0,
        )
    except ShapeError as exc:
        raise step_error(spec, step, "params", f"cannot check against torch: {exc}") from None
    if isinstance(theirs, TorchRejected):
        if ours is not None and ours > 0:
            message = f"{where} torch rejects ({theirs.message}) but derive gives {ours}"
            raise step_error(spec, step, "", message)
        return None
    if ours is None:
        raise step_error(spec, step, "", f"{where} derive rejects but torch gives {theirs}")
    return ours, theirs


def _grid_axis(spec, step, per: dict, ceil_mode: bool, shape: AxisShape, a: int) -> dict:
    """Compare along axis ``a`` at every point of the grid of its symbols."""
    symbols = _axis_symbols(step, per, a)
    top = _GRID_TOP.get(len(symbols), 2)
    compared = rejected = 0
    accepted: list[dict[str, int]] = []
    for point in itertools.product(range(1, top + 1), repeat=len(symbols)):
        subs = dict(zip(symbols, point))
        args = {k: _at(v, subs) for k, v in _at_axis(per, a).items()}
        where = f"at {subs}" if subs else "at the given sizes"
        sizes = _compare(spec, step, _at(step.size[a], subs), args, ceil_mode, where)
        if sizes is None:
            rejected += 1
            continue
        ours, theirs = sizes
        at_point = shape.formula.xreplace(subs) if subs else shape.formula
        if at_point != ours or ours != theirs:
            message = (
                f"{where} the formula gives {at_point}, the numeric call {ours}, torch {theirs}"
            )
            raise step_error(spec, step, "", message)
        compared += 1
        if subs:
            accepted.append({str(k): v for k, v in subs.items()})
    if compared == 0:
        raise step_error(spec, step, "size", f"torch rejects every point checked along axis {a}")
    pick = sorted({0, len(accepted) // 2, len(accepted) - 1}) if accepted else []
    return {
        "axis": shape.label,
        "symbols": [s.name for s in symbols],
        "top": top,
        "compared": compared,
        "rejected": rejected,
        "sample": [accepted[k] for k in pick],
    }


def _torch_shape_check(spec, step, per, ceil_mode, shapes) -> tuple[Check, list[dict]]:
    """Compare derive's size with torch's along each axis: at the numbers, or on a grid of
    the values of that axis' symbols (where torch rejects, derive must reject too)."""
    grids = [_grid_axis(spec, step, per, ceil_mode, shapes[a], a) for a in range(len(step.size))]
    total = sum(g["compared"] for g in grids)
    return Check(True, 0.0, total, f"torch.nn.functional.{step.op.torch_function(1)}"), grids
