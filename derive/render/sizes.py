r"""Output sizes of a step: the formula per axis, the book's form of it, and torch's sizes.

An elements step shows the size formula with a symbol for every parameter not at its default
(:func:`axis_formula`): a plain cross-correlation gives $n_h - k_h + 1$, a padded, strided one
$\lfloor (n_h + 2 p_h - k_h)/s_h \rfloor + 1$. A shape step (:func:`shape_step`) takes sizes
and parameters that may themselves be expressions, and is checked against torch at the
numbers, or on a grid of the values of its symbols: where torch accepts, the formula, derive's
numeric call and torch agree; where torch rejects, derive raises too.
"""

from __future__ import annotations

import itertools
from typing import Any

import sympy as sp

from derive.errors import ShapeError
from derive.grammar import size_symbol
from derive.render.results import AxisShape, Check, StepResult, step_error
from derive.shapes import conv_output_size, conv_transpose_output_size, pool_output_size
from derive.specs import ExampleSpec, StepSpec

__all__ = ["AXES", "axis_formula", "book_formula", "shape_step", "per_axis"]

AXES = ("h", "w")
_PAD_NAMES = {"h": ("t", "b"), "w": ("l", "r")}


def axis_formula(
    op: str,
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
    sym = lambda base: size_symbol(f"{base}_{axis}")  # noqa: E731
    N, K = sym("n"), sym("k")
    given: list[tuple[sp.Symbol, sp.Expr]] = [(N, sp.Integer(n)), (K, sp.Integer(kernel))]
    pool = op.endswith("pool2d")
    s_val = kernel if stride is None else stride
    if pool or s_val != 1:
        S = sym("s")
        given.append((S, sp.Integer(s_val)))
    else:
        S = sp.Integer(1)
    lo, hi = pads
    if lo == hi == 0:
        P: Any = 0
    elif lo == hi:
        P = sym("p")
        given.append((P, sp.Integer(lo)))
        P = (P, P)
    else:
        first, second = (size_symbol(f"p_{n_}") for n_ in _PAD_NAMES[axis])
        given += [(first, sp.Integer(lo)), (second, sp.Integer(hi))]
        P = (first, second)
    if dilation != 1:
        D = sym("d")
        given.append((D, sp.Integer(dilation)))
    else:
        D = sp.Integer(1)
    args = [str(N), str(K)]
    if S != 1 or pool:
        args.append(f"stride={S}")
    if P != 0:
        args.append(f"padding={P[0]}" if P[0] == P[1] else f"padding=({P[0]}, {P[1]})")
    if D != 1:
        args.append(f"dilation={D}")
    if op == "conv_transpose2d":
        if output_padding:
            O = sym("o")
            given.append((O, sp.Integer(output_padding)))
            args.append(f"output_padding={O}")
        else:
            O = sp.Integer(0)
        if P != 0 and P[0] != P[1]:
            raise ShapeError("transposed convolution takes one padding per axis")
        formula = conv_transpose_output_size(N, K, S, 0 if P == 0 else P[0], O, D)
        fn = "conv_transpose_output_size"
    elif pool:
        if ceil_mode:
            args.append("ceil_mode=True")
        formula = pool_output_size(N, K, S, P, D, ceil_mode)
        fn = "pool_output_size"
    else:
        formula = conv_output_size(N, K, S, P, D)
        fn = "conv_output_size"
    value = formula.subs(dict(given))
    return AxisShape(axis, formula, given, value, f"derive.{fn}({', '.join(args)})")


def book_formula(spec: ExampleSpec, step: StepSpec, shapes: list[AxisShape]) -> list[str]:
    book = step.book
    if "formula" not in book:
        return []
    formulas = book["formula"]
    if len(formulas) != len(shapes):
        raise step_error(
            spec, step, "book.formula", f"gives {len(formulas)} axes, the step has {len(shapes)}"
        )
    where = book.get("where", {})
    for axis, (stated, shape) in enumerate(zip(formulas, shapes)):
        stated_here = stated.subs(where)
        if sp.simplify(shape.formula - stated_here) != 0:
            raise step_error(
                spec,
                step,
                f"book.formula[{axis}]",
                f"the book's formula {stated} (with {where or 'nothing'} substituted) is not "
                f"derive's {shape.formula}",
            )
    return ["the shape formula (SymPy simplifies the difference to zero)"]


# -- shape steps ----------------------------------------------------------------------------
_TORCH_OP = {
    "conv2d": "conv",
    "max_pool2d": "max_pool",
    "avg_pool2d": "avg_pool",
    "conv_transpose2d": "conv_transpose",
}


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


def _shape_value(op: str, size, k, s, pad, d, ceil_mode, out_pad) -> sp.Expr:
    if op == "conv2d":
        return conv_output_size(size, k, 1 if s is None else s, 0 if pad is None else pad, d)
    if op == "conv_transpose2d":
        return conv_transpose_output_size(size, k, 1 if s is None else s, pad or 0, out_pad or 0, d)
    return pool_output_size(size, k, s, 0 if pad is None else pad, d, ceil_mode)


def shape_step(spec: ExampleSpec, step: StepSpec) -> StepResult:
    axes = len(step.size)
    p = step.params
    per = {
        key: per_axis(spec, step, key, p.get(key), axes)
        for key in ("kernel_size", "stride", "padding", "dilation", "output_padding")
    }
    ceil_mode = bool(p.get("ceil_mode", False))
    shapes = []
    labels = AXES if axes == 2 else ("out",)
    try:
        for a in range(axes):
            value = _shape_value(
                step.op,
                step.size[a],
                per["kernel_size"][a],
                per["stride"][a],
                per["padding"][a],
                1 if per["dilation"][a] is None else per["dilation"][a],
                ceil_mode,
                per["output_padding"][a],
            )
            shapes.append(AxisShape(labels[a], value, [], value))
    except ShapeError as exc:
        raise step_error(spec, step, "params", str(exc)) from None
    result = StepResult(step, shapes)
    result.output_shape = tuple(shapes[a].value for a in range(axes))
    stated: list[str] = []
    if "shape" in step.book:
        if tuple(step.book["shape"]) != tuple(result.output_shape):
            raise step_error(
                spec,
                step,
                "book.shape",
                f"the book's shape {step.book['shape']} is not derive's {result.output_shape}",
            )
        stated.append("the output shape")
    stated += book_formula(spec, step, shapes)
    result.book = stated
    result.check, result.extra["grid"] = _torch_shape_check(spec, step, per, ceil_mode, shapes)
    return result


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


def _torch_shape_check(spec, step, per, ceil_mode, shapes) -> tuple[Check, list[dict]]:
    """Compare derive's size with torch's along each axis: at the numbers, or on a grid of
    the values of that axis' symbols (where torch rejects, derive must reject too)."""
    from derive.torch_check import TorchRejected, torch_output_size

    op1d = _TORCH_OP[step.op]
    call = f"torch.nn.functional.{step.op[:-2]}1d"
    grids, total = [], 0
    for a in range(len(step.size)):
        symbols = _axis_symbols(step, per, a)
        top = _GRID_TOP.get(len(symbols), 2)
        compared = rejected = 0
        accepted: list[dict[str, int]] = []
        for point in itertools.product(range(1, top + 1), repeat=len(symbols)):
            subs = dict(zip(symbols, point))
            args = {k: _at(per[k][a], subs) for k in per}
            n = _at(step.size[a], subs)
            where = f"at {subs}" if subs else "at the given sizes"
            try:
                ours = int(
                    _shape_value(
                        step.op,
                        n,
                        args["kernel_size"],
                        args["stride"],
                        args["padding"],
                        args["dilation"] or 1,
                        ceil_mode,
                        args["output_padding"],
                    )
                )
            except ShapeError:
                ours = None
            try:
                theirs = torch_output_size(
                    op1d,
                    n,
                    args["kernel_size"],
                    args["stride"],
                    0 if args["padding"] is None else args["padding"],
                    args["dilation"] or 1,
                    ceil_mode,
                    args["output_padding"] or 0,
                )
            except ShapeError as exc:
                raise step_error(
                    spec, step, "params", f"cannot check against torch: {exc}"
                ) from None
            if isinstance(theirs, TorchRejected):
                if ours is not None and ours > 0:
                    raise step_error(
                        spec,
                        step,
                        "",
                        f"{where} torch rejects ({theirs.message}) but derive gives {ours}",
                    )
                rejected += 1
                continue
            if ours is None:
                raise step_error(spec, step, "", f"{where} derive rejects but torch gives {theirs}")
            at_point = shapes[a].formula.xreplace(subs) if subs else shapes[a].formula
            if at_point != ours or ours != theirs:
                raise step_error(
                    spec,
                    step,
                    "",
                    f"{where} the formula gives {at_point}, the numeric "
                    f"call {ours}, torch {theirs}",
                )
            compared += 1
            if subs:
                accepted.append({str(k): v for k, v in subs.items()})
        if compared == 0:
            raise step_error(
                spec, step, "size", f"torch rejects every point checked along axis {a}"
            )
        total += compared
        pick = sorted({0, len(accepted) // 2, len(accepted) - 1}) if accepted else []
        grids.append(
            {
                "axis": shapes[a].label,
                "symbols": [s.name for s in symbols],
                "top": top,
                "compared": compared,
                "rejected": rejected,
                "sample": [accepted[k] for k in pick],
            }
        )
    return Check(True, 0.0, total, call), grids
