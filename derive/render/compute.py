r"""Derive every number of an example step, check it against torch and against the book.

:func:`compute_step` turns a :class:`derive.specs.StepSpec` into a :class:`StepResult`: the
output-shape formula per axis (symbolic, then with the numbers), the highlighted elements as
symbols and as written-out arithmetic, the full result, the torch line and the outcome of
running it through torch. Facts quoted from the book (the spec's ``book`` table) are asserted
equal to the computed values (:mod:`derive.render.book`); any disagreement, with torch or with
the book, raises :class:`derive.specs.BuildError` and nothing is written.

Which engine functions run, and how an element is spelled out, follows the step's operation
(:mod:`derive.ops`): its family (convolution, pooling, transposed convolution) and fields.

The shape formula keeps a symbol for every parameter that is not at its default, so a plain
cross-correlation shows $n_h - k_h + 1$ and a padded, strided one
$\lfloor (n_h + 2 p_h - k_h)/s_h \rfloor + 1$.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import sympy as sp

from derive.errors import ShapeError, first_line
from derive.ops import Correlation, Op, Pooling, TransposedConvolution
from derive.params import int_pair
from derive.render import latex
from derive.render.book import Derived, assert_book, book_formula
from derive.render.results import (
    Check,
    Element,
    Geometry,
    StepResult,
    format_params,
    free_symbols,
    index_ok,
    probe_value,
    step_error,
    subs_all,
)
from derive.render.sizes import AXES, axis_formula, shape_step
from derive.specs import ExampleSpec, StepSpec
from derive.tensors import read_tensor, symbol_array
from derive.windows import Windows2d

__all__ = ["compute_step", "compute_example", "single_threaded_torch", "torch_line"]


class _Case:
    """One elements/matmul step made uniform: (C, H, W) input, 4-D weight, derive kwargs."""

    def __init__(self, spec: ExampleSpec, step: StepSpec) -> None:
        self.spec, self.step = spec, step
        self.matrix = isinstance(step.op, Correlation)
        self.op = step.op.runs_as
        self.X = spec.tensors[step.input]
        self.W = spec.tensors[step.weight] if step.weight else None
        self.B = spec.tensors[step.bias] if step.bias else None
        self.params = dict(step.params)

    def lift(self, x: Any, w: Any, b: Any) -> tuple[Any, Any, Any]:
        """corr2d's matrices as a one-channel conv2d."""
        if self.matrix:
            return [x], (None if w is None else [[w]]), b
        return x, w, b

    def numeric(self) -> tuple[Any, Any, Any]:
        return self.lift(
            self.X.values, self.W.values if self.W else None, self.B.values if self.B else None
        )

    def symbolic(self) -> tuple[Any, Any, Any]:
        x = symbol_array(self.X.symbol, self.X.shape).tolist()
        w = symbol_array(self.W.symbol, self.W.shape).tolist() if self.W else None
        b = None
        if self.B is not None:
            if self.matrix:
                b = [sp.Symbol(self.B.symbol)]
            else:
                b = symbol_array(self.B.symbol, self.B.shape).tolist()
        return self.lift(x, w, b)

    def run(self, x: Any, w: Any, b: Any, params: dict[str, Any] | None = None) -> sp.Array:
        """The operation's elements (with ``params`` instead of the step's, if given)."""
        p = self.params if params is None else params
        if self.op.weighted:
            return self.op.elements(x, w, b, **p)
        return self.op.elements(x, **p)

    # -- geometry: the engine's window plan ------------------------------------------------
    def plan(self) -> Windows2d:
        """The engine's window plan of this step (:mod:`derive.windows`), from the registry."""
        x, w, _ = self.numeric()
        xshape = read_tensor(x, "input")[1]
        if not self.op.weighted:
            shape = {k: v for k, v in self.params.items() if self.op.takes(k, shape=True)}
            return self.op.plan(xshape, **shape)
        plan = self.op.plan(xshape, read_tensor(w, "weight")[1], **self.params)
        # a transposed convolution is planned as the convolution whose shape map it inverts
        return plan.windows if isinstance(self.op, TransposedConvolution) else plan

    def geometry(self, output: list) -> Geometry:
        x, w, _ = self.numeric()
        weight = w if self.op.weighted else None
        return Geometry(self.op, x, weight, output, self.plan(), int(self.params.get("groups", 1)))


# -- one element, spelled out ---------------------------------------------------------------
Spelled = tuple[Element, sp.Expr]


def _products(groups: list, sym_groups: list, b: Any, bs: Any, o: int) -> tuple:
    """Value, symbolic value and the two written forms of a sum of products (plus a bias)."""
    value = sum((xv * wv for g in groups for xv, wv in g), sp.Integer(0))
    sym_value = sum((xv * wv for g in sym_groups for xv, wv in g), sp.Integer(0))
    numeric = latex.grouped_sum(groups)
    symbolic = latex.grouped_sum(sym_groups, " \\, ")
    if b is not None:
        value += b[o]
        sym_value += bs[o]
        numeric += f" + {latex.factor(b[o])}"
        symbolic += f" + {latex.expr(bs[o])}"
    return value, sym_value, numeric, symbolic


def _conv_element(case: _Case, geo: Geometry, index: tuple[int, int, int], sym_in) -> Spelled:
    """A convolution element, padding products included, from the operation's terms."""
    x, w, b = case.numeric()
    xs, ws, bs = sym_in
    o, i, j = index
    terms = {t[2]: t for t in case.op.terms(x, w, index, **case.params)}
    sterms = {t[2]: t for t in case.op.terms(xs, ws, index, **case.params)}
    c_group = len(w[0])
    group = o // (len(w) // (len(x) // c_group))
    groups, sym_groups, cells, kcells = [], [], [], []
    padded = 0
    for c in range(c_group):
        cells += [(group * c_group + c, r, q) for r, q in geo.plan.padded(i, j)]
        keys = [(o, c, a, e) for a in range(geo.plan.kernel[0]) for e in range(geo.plan.kernel[1])]
        kcells += [key[1:] for key in keys]
        padded += sum(key not in terms for key in keys)
        zero = sp.Integer(0)
        groups.append([terms[k][1::2] if k in terms else (zero, w[o][c][k[2]][k[3]]) for k in keys])
        sym_groups.append([sterms[k][1::2] for k in keys if k in terms])
    value, sym_value, numeric, symbolic = _products(groups, sym_groups, b, bs, o)
    note = ""
    if padded:
        note = (
            f"{padded} of the {len(cells)} products fall on the padding, whose zeros add nothing."
        )
    pairs = [pr for g in groups for pr in g]
    element = Element(index, index, symbolic, numeric, value, padded, 0, note, cells, kcells, pairs)
    return element, sym_value


def _transpose_element(case: _Case, geo: Geometry, index: tuple[int, int, int], sym_in) -> Spelled:
    """A transposed-convolution element: the input entries that scatter onto it."""
    x, w, b = case.numeric()
    xs, ws, bs = sym_in
    terms = case.op.terms(x, w, index, **case.params)
    pairs = [(t[1], t[3]) for t in terms]
    spairs = [(t[1], t[3]) for t in case.op.terms(xs, ws, index, **case.params)]
    value, sym_value, numeric, symbolic = _products([pairs], [spairs], b, bs, index[0])
    cells = [t[0] for t in terms]
    kcells = [(t[2][0], t[2][2], t[2][3]) for t in terms]
    note = f"{len(terms)} input entries scatter a kernel entry onto this output cell."
    element = Element(index, index, symbolic, numeric, value, 0, 0, note, cells, kcells, pairs)
    return element, sym_value


def _max_form(vals: list, svals: list, padded: int) -> tuple:
    value = max(vals) if all(v.is_number for v in vals) else sp.Max(*vals)
    symbolic = "\\max\\left(" + ", ".join(latex.expr(v) for v in svals) + "\\right)"
    numeric = "\\max\\left(" + ", ".join(latex.number(v) for v in vals) + "\\right)"
    notes = [f"{padded} window cells lie on the padding, which never wins."] if padded else []
    return value, sp.Max(*svals, evaluate=False), symbolic, numeric, notes


def _mean_form(vals: list, svals: list, padded: int, area: int, p: dict) -> tuple:
    include_pad = p.get("count_include_pad", True)
    if p.get("divisor_override") is not None:
        divisor, why = int(p["divisor_override"]), "the divisor_override"
    elif include_pad:
        divisor, why = area, "the window's cells on the input and its padding"
    else:
        divisor, why = len(vals), "the window's cells on the input"
    symbolic = f"\\frac{{{' + '.join(latex.expr(v) for v in svals)}}}{{{divisor}}}"
    numeric = f"\\frac{{{' + '.join(latex.factor(v) for v in vals)}}}{{{divisor}}}"
    notes = [f"The divisor {divisor} counts {why}."]
    if padded and include_pad:
        notes.append(f"{padded} of them are padding zeros.")
    return sp.Add(*vals) / divisor, sp.Add(*svals) / divisor, symbolic, numeric, notes


def _pool_element(case: _Case, geo: Geometry, index: tuple[int, int, int], sym_in) -> Spelled:
    """A pooling element: the window of the engine's plan (:mod:`derive.windows`), reduced."""
    x, xs, p = case.numeric()[0], sym_in[0], case.params
    c, i, j = index
    plan = geo.plan
    rows, cols = [r for _, r in plan.rows.taps(i)], [q for _, q in plan.cols.taps(j)]
    cells = [(c, r, q) for r, q in plan.padded(i, j)]
    padded, outside, area = plan.padding_count(i, j), plan.past_count(i, j), plan.divisor(i, j)
    vals = [x[c][r][q] for r in rows for q in cols]
    svals = [xs[c][r][q] for r in rows for q in cols]
    if case.op.reduction == "max":
        value, sym_value, symbolic, numeric, notes = _max_form(vals, svals, padded)
    else:
        value, sym_value, symbolic, numeric, notes = _mean_form(vals, svals, padded, area, p)
    if outside:
        notes.append(
            f"{outside} window cells reach past the padding (ceil_mode) and count for nothing."
        )
    note = " ".join(notes)
    return Element(
        index, index, symbolic, numeric, value, padded, outside, note, cells, []
    ), sym_value


def _speller(op: Op) -> Callable[..., Spelled]:
    """How an element of ``op`` is spelled out (by its family)."""
    if isinstance(op, TransposedConvolution):
        return _transpose_element
    if isinstance(op, Pooling):
        return _pool_element
    return _conv_element


# -- the torch side -------------------------------------------------------------------------
def torch_line(step: StepSpec) -> str:
    """The PyTorch call that computes the same output, with ``tensor`` and ``F`` of the notebook."""
    fn = step.op.torch_function(2)
    if isinstance(step.op, Correlation):
        args = [f"tensor([{step.input}])", f"tensor([[{step.weight}]])"]
        if step.bias:
            args.append(f"tensor({step.bias})")
        return f"F.{fn}({', '.join(args)})"
    params = dict(step.params)
    x = f"tensor({step.input})"
    pad = params.get("padding")
    if isinstance(pad, tuple) and any(isinstance(v, tuple) for v in pad):
        (t, b), (left, right) = pad
        x = f"F.pad({x}, ({left}, {right}, {t}, {b}))"
        params.pop("padding")
    args = [x]
    if step.op.weighted:
        args += [f"tensor({name})" for name in (step.weight, step.bias) if name]
    shown = format_params(params)
    return f"F.{fn}({', '.join(args)}{', ' if shown else ''}{shown})"


def _torch_check(case: _Case, output: sp.Array) -> Check:
    """Run the step through torch (float64) and compare every element."""
    from derive.torch_check import check_elements

    x, w, b = case.numeric()
    free = free_symbols(x) | free_symbols(w or []) | free_symbols(b or [])
    if free:
        subs = {s: probe_value(s) for s in sorted(free, key=lambda s: s.name)}
        x, w, b = subs_all(x, subs), subs_all(w, subs), subs_all(b, subs)
        output = case.run(x, w, b)
    params = dict(case.params)
    fn = case.op.torch_function(2)
    if case.op.weighted:  # convolution and transposed convolution
        result = check_elements(output, fn, x, w, b, **params)
    else:
        pad = params.get("padding", 0)
        if isinstance(pad, tuple) and any(isinstance(v, tuple) for v in pad):
            raise ShapeError("torch pooling has no ((top, bottom), (left, right)) padding to check")
        result = check_elements(output, fn, x, **params)
    count = len(read_tensor(output, "output")[0])
    return Check(result.ok, result.max_abs_diff, count, result.call)


def _checked_with_torch(spec: ExampleSpec, step: StepSpec, case: _Case, out3: sp.Array) -> Check:
    """:func:`_torch_check`, its refusals and disagreements as errors naming the step."""
    try:
        check = _torch_check(case, out3)
    except ShapeError as exc:
        raise step_error(spec, step, "params", f"cannot check against torch: {exc}") from None
    except (RuntimeError, TypeError, ValueError) as exc:  # torch rejects what derive accepted
        raise step_error(
            spec, step, "params", f"derive accepts this but torch rejects it: {first_line(exc)}"
        ) from None
    if not check.ok:
        raise step_error(spec, step, "", f"torch disagrees: {check}")
    return check


# -- an elements step -----------------------------------------------------------------------
def _run(spec: ExampleSpec, step: StepSpec, case: _Case) -> tuple[sp.Array, Any, Any]:
    """The numeric output, the symbolic inputs and (when needed) the symbolic output."""
    try:
        out3 = case.run(*case.numeric())
        sym_in = case.symbolic()
        # symbolic max pooling is slow (SymPy compares every pair of Max arguments) and
        # pooling windows come straight from the engine's window plan: only convolutions
        # are compared symbolically element by element
        pool = isinstance(case.op, Pooling)
        wanted = step.symbolic_output or (step.highlight and not pool)
        sym_out = case.run(*sym_in) if wanted else None
    except ShapeError as exc:
        raise step_error(spec, step, "params", str(exc)) from None
    return out3, sym_in, sym_out


def _axis_shapes(spec: ExampleSpec, step: StepSpec, case: _Case, geo: Geometry, out3) -> list:
    """The size formula along each axis, checked against the elements' shape."""
    p = case.params
    x = geo.input
    stride = p.get("stride")
    shapes = []
    for a, (axis, n) in enumerate(zip(AXES, (len(x[0]), len(x[0][0])))):
        stride_a = None if stride is None and isinstance(case.op, Pooling) else geo.plan.stride[a]
        shape = axis_formula(
            case.op,
            axis,
            n,
            geo.plan.kernel[a],
            stride_a,
            geo.plan.padding[a],
            geo.plan.dilation[a],
            bool(p.get("ceil_mode", False)),
            int_pair(p.get("output_padding", 0), "output_padding")[a],
        )
        if shape.value != out3.shape[1 + a]:
            message = f"shape formula gives {shape.value}, elements give {out3.shape[1 + a]}"
            raise step_error(spec, step, "params", message)
        shapes.append(shape)
    return shapes


def _highlighted(spec, step, case: _Case, result: StepResult, out3, sym_in, sym_out) -> None:
    """Spell out each highlighted element; both forms must be derive's element exactly."""
    spell = _speller(case.op)
    for k, idx in enumerate(step.highlight):
        full = (0, *idx) if case.matrix else idx
        if not index_ok(idx, result.output_shape):
            message = f"{list(idx)} is outside the output of shape {result.output_shape}"
            raise step_error(spec, step, f"highlight[{k}]", message)
        el, sym_value = spell(case, result.geometry, full, sym_in)
        el.index = idx
        if sym_out is not None and sp.expand(sym_value - sym_out[full]) != 0:
            message = f"spelled-out form {sym_value} is not derive's element {sym_out[full]}"
            raise step_error(spec, step, f"highlight[{k}]", message)
        if sp.simplify(el.value - out3[full]) != 0:
            message = f"arithmetic gives {el.value}, derive's element is {out3[full]}"
            raise step_error(spec, step, f"highlight[{k}]", message)
        el.value = out3[full]
        result.elements.append(el)


def _symbolic_output(spec, step, case: _Case, geo: Geometry, out3, sym_in, sym_out) -> list:
    """Every element as LaTeX: spelled out for sums of products, as derived for pooling."""
    spell = None if isinstance(case.op, Pooling) else _speller(case.op)
    c_out, h_out, w_out = out3.shape
    planes = []
    for o in range(c_out):
        plane = []
        for i in range(h_out):
            row = []
            for j in range(w_out):
                if spell is None:
                    row.append(latex.expr(sym_out[o, i, j]))
                    continue
                el, sym_value = spell(case, geo, (o, i, j), sym_in)
                if sp.expand(sym_value - sym_out[o, i, j]) != 0:
                    message = f"spelled-out {sym_value} is not derive's element {sym_out[o, i, j]}"
                    raise step_error(spec, step, "symbolic_output", message)
                row.append(el.symbolic)
            plane.append(row)
        planes.append(plane)
    return planes[0] if case.matrix else planes


def _elements_step(spec: ExampleSpec, step: StepSpec) -> StepResult:
    case = _Case(spec, step)
    out3, sym_in, sym_out = _run(spec, step, case)
    out_list = out3.tolist()
    shown = out_list[0] if case.matrix else out_list
    geo = case.geometry(out_list)
    result = StepResult(step, [], tuple(sp.Array(shown).shape), shown, geometry=geo)
    result.tensors = {
        n: spec.tensors[n] for n in (step.input, step.weight, step.bias) if n is not None
    }
    result.shapes = _axis_shapes(spec, step, case, geo, out3)
    _highlighted(spec, step, case, result, out3, sym_in, sym_out)
    if step.symbolic_output:
        result.symbolic_output = _symbolic_output(spec, step, case, geo, out3, sym_in, sym_out)
    result.book = assert_book(spec, step, _derived(case, out3, shown, result.elements))
    result.book += book_formula(spec, step, result.shapes)
    result.torch_line = torch_line(step)
    result.check = _checked_with_torch(spec, step, case, out3)
    return result


def _derived(case: _Case, out3: sp.Array, shown: list, elements: list[Element]) -> Derived:
    """What the book's facts are checked on (the rerun takes other parameters)."""

    def rerun(changes: dict[str, Any]) -> sp.Array:
        return case.run(*case.numeric(), params={**case.params, **changes})

    weight_shape = None if case.W is None else case.W.shape
    return Derived(out3, shown, elements, len(case.numeric()[0]), weight_shape, rerun)


# -- a matmul step --------------------------------------------------------------------------
def _torch_matmul_difference(Wm: sp.Matrix, Xm: sp.Matrix, flat: list, shape: tuple) -> float:
    """The largest difference between torch's ``W @ X`` and the convolution (float64)."""
    import torch

    def tensor(rows: list) -> Any:
        return torch.tensor([[float(v) for v in row] for row in rows], dtype=torch.float64)

    conv = torch.tensor([float(v) for v in flat], dtype=torch.float64).reshape(*shape)
    return float((tensor(Wm.tolist()) @ tensor(Xm.tolist()) - conv).abs().max())


def _matmul_step(spec: ExampleSpec, step: StepSpec) -> StepResult:
    """A 1x1 convolution as the matrix product W X: equal symbolically and numerically."""
    result = _elements_step(spec, step)
    case = _Case(spec, step)
    x, w, _ = case.numeric()
    xs, ws, _ = case.symbolic()
    c_out, c_in = len(w), len(w[0])
    h, wd = len(x[0]), len(x[0][0])

    def as_matrices(xv, wv):
        Wm = sp.Matrix(c_out, c_in, [wv[o][c][0][0] for o in range(c_out) for c in range(c_in)])
        Xm = sp.Matrix(c_in, h * wd, [v for ch in xv for row in ch for v in row])
        return Wm, Xm

    Wm, Xm = as_matrices(x, w)
    Wsym, Xsym = as_matrices(xs, ws)
    prod, prod_sym = Wm * Xm, Wsym * Xsym
    flat_conv = read_tensor(case.run(xs, ws, None), "y")[0]
    if any(sp.expand(a - b) != 0 for a, b in zip(flat_conv, list(prod_sym))):
        raise step_error(spec, step, "", "the 1x1 convolution is not the matrix product W X")
    flat_num = read_tensor(case.run(x, w, None), "y")[0]
    if list(prod) != flat_num:
        raise step_error(spec, step, "", "numerically the 1x1 convolution is not W X")
    worst = _torch_matmul_difference(Wm, Xm, flat_num, (c_out, h * wd))
    if worst > 1e-9:
        fn = case.op.torch_function(2)
        raise step_error(spec, step, "", f"torch's W @ X differs from {fn} by {worst}")
    result.extra = {
        "W": Wm.tolist(),
        "X": Xm.tolist(),
        "WX": prod.tolist(),
        "W_sym": Wsym.tolist(),
        "X_sym": Xsym.tolist(),
        "c_out": c_out,
        "c_in": c_in,
        "hw": (h, wd),
        "matmul_diff": worst,
        "matmul_line": f"(tensor({step.weight}).reshape({c_out}, {c_in}) @ "
        f"tensor({step.input}).reshape({c_in}, {h * wd})).reshape({c_out}, {h}, {wd})",
    }
    return result


def compute_step(spec: ExampleSpec, step: StepSpec) -> StepResult:
    """Derive and check one step (see the module docstring)."""
    try:
        if step.kind == "shape":
            return shape_step(spec, step)
        if step.kind == "matmul":
            return _matmul_step(spec, step)
        return _elements_step(spec, step)
    except ShapeError as exc:  # the engine rejects the step's configuration
        raise step_error(spec, step, "params", str(exc)) from None


def compute_example(spec: ExampleSpec) -> list[StepResult]:
    """Every step of ``spec``, derived and checked."""
    with single_threaded_torch():
        return [compute_step(spec, step) for step in spec.steps]


@contextlib.contextmanager
def single_threaded_torch() -> Iterator[None]:
    """Run torch on one thread: the checks use tiny tensors, for which starting a thread
    pool costs far more than the arithmetic. The previous setting is restored."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with warnings.catch_warnings():
            # torch's note that padding='same' with an even kernel copies the input
            warnings.filterwarnings("ignore", message="Using padding='same'")
            yield
    finally:
        torch.set_num_threads(before)
