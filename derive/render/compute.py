r"""Derive every number of an example step, check it against torch and against the book.

:func:`compute_step` turns a :class:`derive.specs.StepSpec` into a :class:`StepResult`: the
output-shape formula per axis (symbolic, then with the numbers), the highlighted elements as
symbols and as written-out arithmetic, the full result, the torch line and the outcome of
running it through torch. Facts quoted from the book (the spec's ``book`` table) are asserted
equal to the computed values; any disagreement, with torch or with the book, raises
:class:`derive.specs.BuildError` and nothing is written.

The shape formula keeps a symbol for every parameter that is not at its default, so a plain
cross-correlation shows $n_h - k_h + 1$ and a padded, strided one
$\lfloor (n_h + 2 p_h - k_h)/s_h \rfloor + 1$.
"""

from __future__ import annotations

import contextlib
import warnings
from collections import Counter
from collections.abc import Iterator
from typing import Any

import sympy as sp

from derive.conv import conv2d, conv2d_terms
from derive.errors import ShapeError
from derive.params import padding_2d, pair
from derive.pool import avg_pool2d, max_pool2d, pool2d_windows
from derive.render import latex
from derive.render.results import (
    Check,
    Element,
    Geometry,
    StepResult,
    format_params,
    free_symbols,
    probe_value,
    step_error,
    subs_all,
)
from derive.render.sizes import AXES, axis_formula, book_formula, shape_step
from derive.shapes import resolve_conv_padding
from derive.specs import BuildError, ExampleSpec, StepSpec
from derive.tensors import read_tensor, symbol_array
from derive.transpose import conv_transpose2d, conv_transpose2d_terms

__all__ = ["compute_step", "compute_example", "single_threaded_torch", "torch_line"]


class _Case:
    """One elements/matmul step made uniform: (C, H, W) input, 4-D weight, derive kwargs."""

    def __init__(self, spec: ExampleSpec, step: StepSpec) -> None:
        self.spec, self.step = spec, step
        self.matrix = step.op == "corr2d"
        self.op = "conv2d" if self.matrix else step.op
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

    def run(self, x: Any, w: Any, b: Any) -> sp.Array:
        p = self.params
        if self.op == "conv2d":
            return conv2d(x, w, b, **p)
        if self.op == "conv_transpose2d":
            return conv_transpose2d(x, w, b, **p)
        if self.op == "max_pool2d":
            return max_pool2d(x, **p)
        return avg_pool2d(x, **p)

    # -- geometry -------------------------------------------------------------------------
    def pads(self, kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int]):
        raw = self.params.get("padding", 0)
        pads = padding_2d(raw)
        if isinstance(pads, str) and self.op.endswith("pool2d"):
            pads = ((0, 0), (0, 0)) if pads == "valid" else pads  # as derive.pool reads it
        if isinstance(pads, str):
            pads = tuple(
                resolve_conv_padding(pads, kernel[a], stride[a], dilation[a]) for a in range(2)
            )
        return tuple((int(lo), int(hi)) for lo, hi in pads)

    def geometry(self, output: list) -> Geometry:
        x, w, _ = self.numeric()
        p = self.params
        if self.op.endswith("pool2d"):
            kernel = tuple(int(v) for v in pair(p["kernel_size"], "kernel_size"))
            stride_raw = p.get("stride")
            stride = (
                kernel if stride_raw is None else tuple(int(v) for v in pair(stride_raw, "stride"))
            )
        else:
            kernel = (len(w[0][0]), len(w[0][0][0]))
            stride = tuple(int(v) for v in pair(p.get("stride", 1), "stride"))
        dilation = tuple(int(v) for v in pair(p.get("dilation", 1), "dilation"))
        pads = self.pads(kernel, stride, dilation)
        kind = (
            "pool"
            if self.op.endswith("pool2d")
            else ("transpose" if self.op == "conv_transpose2d" else "conv")
        )
        geo = Geometry(
            kind,
            x,
            w if kind != "pool" else None,
            output,
            pads,
            kernel,
            stride,
            dilation,
            int(p.get("groups", 1)),
        )
        if kind == "pool":
            geo.label = "max" if self.op == "max_pool2d" else "mean"
            h, wd = len(x[0]), len(x[0][0])
            over = []
            for a, n in enumerate((h, wd)):
                n_out = len(output[0]) if a == 0 else len(output[0][0])
                reach = (n_out - 1) * stride[a] + dilation[a] * (kernel[a] - 1) + 1
                over.append(max(0, reach - (n + pads[a][0] + pads[a][1])))
            geo.overhang = (over[0], over[1])
        return geo


def _conv_elements(case: _Case, geo: Geometry, index: tuple[int, int, int], sym_in) -> Element:
    """Spell out a conv2d element, padding products included, from :func:`derive.conv2d_terms`."""
    x, w, b = case.numeric()
    xs, ws, bs = sym_in
    o, i, j = index
    terms = {t[2]: t for t in conv2d_terms(x, w, index, **case.params)}
    sterms = {t[2]: t for t in conv2d_terms(xs, ws, index, **case.params)}
    c_in = len(x)
    c_group = len(w[0])
    group = o // (len(w) // (c_in // c_group))
    groups_num, groups_sym = [], []
    cells, kcells = [], []
    padded = 0
    for c in range(c_group):
        row_num, row_sym = [], []
        for a in range(geo.kernel[0]):
            for e in range(geo.kernel[1]):
                key = (o, c, a, e)
                r = i * geo.stride[0] + a * geo.dilation[0]
                q = j * geo.stride[1] + e * geo.dilation[1]
                cells.append((group * c_group + c, r, q))
                kcells.append((c, a, e))
                if key in terms:
                    _, xv, _, wv = terms[key]
                    row_num.append((xv, wv))
                    row_sym.append((sterms[key][1], sterms[key][3]))
                else:
                    padded += 1
                    row_num.append((sp.Integer(0), w[o][c][a][e]))
        groups_num.append(row_num)
        groups_sym.append(row_sym)
    value = sum((xv * wv for g in groups_num for xv, wv in g), sp.Integer(0))
    sym_value = sum((xv * wv for g in groups_sym for xv, wv in g), sp.Integer(0))
    numeric = latex.grouped_sum(groups_num)
    symbolic = latex.grouped_sum(groups_sym, " \\, ")
    if b is not None:
        value += b[o]
        sym_value += bs[o]
        numeric += f" + {latex.factor(b[o])}"
        symbolic += f" + {latex.expr(bs[o])}"
    note = ""
    if padded:
        note = (
            f"{padded} of the {len(cells)} products fall on the padding, whose zeros add nothing."
        )
    pairs = [pr for g in groups_num for pr in g]
    return Element(
        index, index, symbolic, numeric, value, padded, 0, note, cells, kcells, pairs
    ), sym_value


def _pool_elements(case: _Case, geo: Geometry, index: tuple[int, int, int], sym_in) -> Element:
    x = case.numeric()[0]
    xs = sym_in[0]
    p = case.params
    c, i, j = index
    shape = (len(x), len(x[0]), len(x[0][0]))
    (oh, ow), windows = pool2d_windows(
        shape,
        p["kernel_size"],
        p.get("stride"),
        p.get("padding", 0),
        p.get("dilation", 1) if case.op == "max_pool2d" else 1,
        p.get("ceil_mode", False),
    )
    rows, cols, area = windows[i * ow + j]
    (pt, _), (pl, _) = geo.pads
    height, width = shape[1:]
    cells, padded, outside = [], 0, 0
    for a in range(geo.kernel[0]):
        for e in range(geo.kernel[1]):
            r = i * geo.stride[0] + a * geo.dilation[0]
            q = j * geo.stride[1] + e * geo.dilation[1]
            cells.append((c, r, q))
            ri, qi = r - pt, q - pl
            if not (0 <= ri < height and 0 <= qi < width):
                if ri < height + geo.pads[0][1] and qi < width + geo.pads[1][1]:
                    padded += 1
                else:
                    outside += 1
    vals = [x[c][r][q] for r in rows for q in cols]
    svals = [xs[c][r][q] for r in rows for q in cols]
    notes = []
    if case.op == "max_pool2d":
        value = max(vals) if all(v.is_number for v in vals) else sp.Max(*vals)
        sym_value = sp.Max(*svals, evaluate=False)
        symbolic = "\\max\\left(" + ", ".join(latex.expr(v) for v in svals) + "\\right)"
        numeric = "\\max\\left(" + ", ".join(latex.number(v) for v in vals) + "\\right)"
        if padded:
            notes.append(f"{padded} window cells lie on the padding, which never wins.")
    else:
        if p.get("divisor_override") is not None:
            divisor = int(p["divisor_override"])
            why = "the divisor_override"
        elif p.get("count_include_pad", True):
            divisor = area
            why = "the window's cells on the input and its padding"
        else:
            divisor = len(vals)
            why = "the window's cells on the input"
        value = sp.Add(*vals) / divisor
        sym_value = sp.Add(*svals) / divisor
        symbolic = f"\\frac{{{' + '.join(latex.expr(v) for v in svals)}}}{{{divisor}}}"
        numeric = f"\\frac{{{' + '.join(latex.factor(v) for v in vals)}}}{{{divisor}}}"
        notes.append(f"The divisor {divisor} counts {why}.")
        if padded and p.get("count_include_pad", True):
            notes.append(f"{padded} of them are padding zeros.")
    if outside:
        notes.append(
            f"{outside} window cells reach past the padding (ceil_mode) and count for nothing."
        )
    return Element(
        index, index, symbolic, numeric, value, padded, outside, " ".join(notes), cells, []
    ), sym_value


def _transpose_elements(case: _Case, geo: Geometry, index, sym_in) -> Element:
    x, w, b = case.numeric()
    xs, ws, bs = sym_in
    terms = conv_transpose2d_terms(x, w, index, **case.params)
    sterms = conv_transpose2d_terms(xs, ws, index, **case.params)
    pairs = [(t[1], t[3]) for t in terms]
    spairs = [(t[1], t[3]) for t in sterms]
    value = sum((a * c for a, c in pairs), sp.Integer(0))
    sym_value = sum((a * c for a, c in spairs), sp.Integer(0))
    numeric = latex.product_sum(pairs)
    symbolic = latex.product_sum(spairs, " \\, ")
    o = index[0]
    if b is not None:
        value += b[o]
        sym_value += bs[o]
        numeric += f" + {latex.factor(b[o])}"
        symbolic += f" + {latex.expr(bs[o])}"
    cells = [t[0] for t in terms]
    kcells = [(t[2][0], t[2][2], t[2][3]) for t in terms]
    note = f"{len(terms)} input entries scatter a kernel entry onto this output cell."
    return Element(
        index, index, symbolic, numeric, value, 0, 0, note, cells, kcells, pairs
    ), sym_value


def _index_ok(index: tuple[int, ...], shape: tuple[int, ...]) -> bool:
    return len(index) == len(shape) and all(0 <= i < n for i, n in zip(index, shape))


def torch_line(step: StepSpec, case: _Case | None = None) -> str:
    """The PyTorch call that computes the same output, with ``tensor`` and ``F`` of the notebook."""
    op = step.op
    params = dict(step.params)
    names = [step.input, step.weight, step.bias]
    if op == "corr2d":
        args = [f"tensor([{step.input}])", f"tensor([[{step.weight}]])"]
        if step.bias:
            args.append(f"tensor({step.bias})")
        return f"F.conv2d({', '.join(args)})"
    fn = "conv2d" if step.kind == "matmul" else op
    x = f"tensor({names[0]})"
    pad = params.get("padding")
    if isinstance(pad, tuple) and any(isinstance(v, tuple) for v in pad):
        (t, b), (left, right) = pad
        x = f"F.pad({x}, ({left}, {right}, {t}, {b}))"
        params.pop("padding")
    args = [x]
    if fn.startswith("conv"):
        args.append(f"tensor({names[1]})")
        if names[2]:
            args.append(f"tensor({names[2]})")
    shown = format_params(params)
    return f"F.{fn}({', '.join(args)}{', ' if shown else ''}{shown})"


def _torch_check(case: _Case, output: sp.Array) -> Check:
    """Run the step through torch (float64) and compare every element."""
    from derive.torch_check import check_elements
    from derive.transpose import check_conv_transpose2d

    x, w, b = case.numeric()
    free = free_symbols(x) | free_symbols(w or []) | free_symbols(b or [])
    if free:
        subs = {s: probe_value(s) for s in sorted(free, key=lambda s: s.name)}
        x, w, b = subs_all(x, subs), subs_all(w, subs), subs_all(b, subs)
        output = case.run(x, w, b)
    params = dict(case.params)
    if case.op == "conv_transpose2d":
        result = check_conv_transpose2d(output, x, w, b, **params)
    elif case.op == "conv2d":
        result = check_elements(output, "conv2d", x, w, b, **params)
    else:
        pad = params.get("padding", 0)
        if isinstance(pad, tuple) and any(isinstance(v, tuple) for v in pad):
            raise ShapeError("torch pooling has no ((top, bottom), (left, right)) padding to check")
        result = check_elements(output, case.op, x, **params)
    count = len(read_tensor(output, "output")[0])
    return Check(result.ok, result.max_abs_diff, count, result.call)


def _assert_book(
    spec: ExampleSpec, step: StepSpec, case: _Case, out3: sp.Array, shown: list, stated: list
) -> None:
    """Compare each fact the spec quotes from the book with the computed value."""
    book = step.book
    flat3, shape3 = read_tensor(out3, "output")
    shown_shape = tuple(sp.Array(shown).shape) if isinstance(shown, list) else shape3

    def same_shape(stated_shape: tuple[int, ...]) -> bool:
        return stated_shape in (shown_shape, shape3) or (
            shape3[0] == 1 and stated_shape == shape3[1:]
        )

    if "output" in book:
        values, shape = book["output"]
        if not same_shape(shape) or [latex.as_basic(v) for v in values] != list(flat3):
            raise step_error(
                spec,
                step,
                "book.output",
                f"the book's output {values} (shape {shape}) is not derive's {shown}",
            )
        stated.append("the full output")
    if "shape" in book:
        if not same_shape(book["shape"]):
            raise step_error(
                spec,
                step,
                "book.shape",
                f"the book's shape {book['shape']} is not derive's {shown_shape}",
            )
        stated.append("the output shape")
    if "elements" in book:
        for k, (idx, val) in enumerate(book["elements"]):
            arr = sp.Array(shown) if isinstance(shown, list) else out3
            if not _index_ok(idx, tuple(arr.shape)):
                raise step_error(
                    spec, step, f"book.elements[{k}].index", f"{idx} is outside {arr.shape}"
                )
            if arr[idx] != val:
                raise step_error(
                    spec,
                    step,
                    f"book.elements[{k}]",
                    f"the book's Y{list(idx)} = {val}, derive computes {arr[idx]}",
                )
        stated.append("the values of the stated elements")
    if "distinct" in book:
        got = sorted(set(flat3), key=sp.default_sort_key)
        if got != book["distinct"]:
            raise step_error(
                spec, step, "book.distinct", f"the book's values {book['distinct']}, derive's {got}"
            )
        stated.append("the values that occur")
    if "constant" in book:
        if any(v != book["constant"] for v in flat3):
            raise step_error(
                spec,
                step,
                "book.constant",
                f"not every element is {book['constant']}: {sorted(set(flat3), key=str)}",
            )
        stated.append("that every element is the same")
    if "keeps_channels" in book:
        channels = len(case.numeric()[0])
        if shape3[0] != channels:
            raise step_error(
                spec,
                step,
                "book.keeps_channels",
                f"the output has {shape3[0]} channels, the input {channels}",
            )
        stated.append("that the output keeps the input's channel count")
    if "weight_shape" in book:
        if case.W is None or case.W.shape != book["weight_shape"]:
            raise step_error(
                spec,
                step,
                "book.weight_shape",
                f"the weight has shape "
                f"{None if case.W is None else case.W.shape}, not {book['weight_shape']}",
            )
        stated.append("the weight shape")
    if "same_as" in book:
        other = dict(case.params)
        other.update(book["same_as"])
        saved = case.params
        case.params = other
        try:
            again = case.run(*case.numeric())
        except ShapeError as exc:
            raise step_error(spec, step, "book.same_as", str(exc)) from None
        finally:
            case.params = saved
        if again != out3:
            raise step_error(
                spec,
                step,
                "book.same_as",
                f"with {format_params(book['same_as'])} "
                f"derive computes {again.tolist()}, not {out3.tolist()}",
            )
        stated.append(f"that {format_params(book['same_as'])} gives the same output")


def _assert_products(spec, step, elements: list[Element], stated: list) -> None:
    if "products" not in step.book:
        return
    pairs_of = {el.index: el.pairs for el in elements if el.pairs}
    for k, (idx, pairs) in enumerate(step.book["products"]):
        if idx not in pairs_of:
            raise step_error(
                spec,
                step,
                f"book.products[{k}].index",
                f"{list(idx)} is not a highlighted convolution element",
            )
        got = Counter((latex.as_basic(a), latex.as_basic(b)) for a, b in pairs_of[idx])
        want = Counter(pairs)
        if got != want:
            raise step_error(
                spec,
                step,
                f"book.products[{k}]",
                f"the book's products {pairs} are not derive's {pairs_of[idx]}",
            )
    stated.append("the products of the stated elements, padding zeros included")


def _elements_step(spec: ExampleSpec, step: StepSpec) -> StepResult:
    case = _Case(spec, step)
    try:
        x, w, b = case.numeric()
        out3 = case.run(x, w, b)
        sym_in = case.symbolic()
        # symbolic max pooling is slow (SymPy compares every pair of Max arguments) and
        # pooling windows come straight from derive.pool.pool2d_windows: only convolutions
        # are compared symbolically element by element
        pool = case.op.endswith("pool2d")
        wanted = step.symbolic_output or (step.highlight and not pool)
        sym_out = case.run(*sym_in) if wanted else None
    except ShapeError as exc:
        raise step_error(spec, step, "params", str(exc)) from None
    out_list = out3.tolist()
    shown = out_list[0] if case.matrix else out_list
    geo = case.geometry(out_list)
    result = StepResult(step, [], tuple(sp.Array(shown).shape), shown, geometry=geo)
    result.tensors = {
        n: spec.tensors[n] for n in (step.input, step.weight, step.bias) if n is not None
    }
    # shapes
    p = case.params
    height, width = len(x[0]), len(x[0][0])
    for a, (axis, n) in enumerate(zip(AXES, (height, width))):
        stride = p.get("stride")
        stride_a = (
            None
            if stride is None and case.op.endswith("pool2d")
            else int(pair(1 if stride is None else stride, "stride")[a])
        )
        result.shapes.append(
            axis_formula(
                case.op,
                axis,
                n,
                geo.kernel[a],
                stride_a,
                geo.pads[a],
                geo.dilation[a],
                bool(p.get("ceil_mode", False)),
                int(pair(p.get("output_padding", 0), "output_padding")[a]),
            )
        )
        got = out3.shape[1 + a]
        if result.shapes[-1].value != got:
            raise step_error(
                spec,
                step,
                "params",
                f"shape formula gives {result.shapes[-1].value}, elements give {got}",
            )
    # highlighted elements
    for k, idx in enumerate(step.highlight):
        full = (0, *idx) if case.matrix else idx
        if not _index_ok(idx, result.output_shape):
            raise step_error(
                spec,
                step,
                f"highlight[{k}]",
                f"{list(idx)} is outside the output of shape {result.output_shape}",
            )
        if case.op == "conv2d":
            el, sym_value = _conv_elements(case, geo, full, sym_in)
        elif case.op == "conv_transpose2d":
            el, sym_value = _transpose_elements(case, geo, full, sym_in)
        else:
            el, sym_value = _pool_elements(case, geo, full, sym_in)
        el.index = idx
        # the written-out forms must be derive's elements, exactly
        if sym_out is not None and sp.expand(sym_value - sym_out[full]) != 0:
            raise step_error(
                spec,
                step,
                f"highlight[{k}]",
                f"spelled-out form {sym_value} is not derive's element {sym_out[full]}",
            )
        if sp.simplify(el.value - out3[full]) != 0:
            raise step_error(
                spec,
                step,
                f"highlight[{k}]",
                f"arithmetic gives {el.value}, derive's element is {out3[full]}",
            )
        el.value = out3[full]
        result.elements.append(el)
    if step.symbolic_output:
        spell = {"conv2d": _conv_elements, "conv_transpose2d": _transpose_elements}.get(case.op)
        c_out, h_out, w_out = out3.shape
        texts = []
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
                        raise step_error(
                            spec,
                            step,
                            "symbolic_output",
                            f"spelled-out {sym_value} is not derive's element {sym_out[o, i, j]}",
                        )
                    row.append(el.symbolic)
                plane.append(row)
            texts.append(plane)
        result.symbolic_output = texts[0] if case.matrix else texts
    stated: list[str] = []
    _assert_book(spec, step, case, out3, shown, stated)
    _assert_products(spec, step, result.elements, stated)
    stated += book_formula(spec, step, result.shapes)
    result.book = stated
    result.torch_line = torch_line(step, case)
    try:
        result.check = _torch_check(case, out3)
    except ShapeError as exc:
        raise step_error(spec, step, "params", f"cannot check against torch: {exc}") from None
    except (RuntimeError, TypeError, ValueError) as exc:  # torch rejects what derive accepted
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise step_error(
            spec, step, "params", f"derive accepts this but torch rejects it: {first}"
        ) from None
    if not result.check.ok:
        raise step_error(spec, step, "", f"torch disagrees: {result.check}")
    return result


def _map(values: Any, fn) -> Any:
    if isinstance(values, list):
        return [_map(v, fn) for v in values]
    return fn(values)


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
    conv_sym = case.run(xs, ws, None)
    flat_conv = read_tensor(conv_sym, "y")[0]
    if any(sp.expand(a - b) != 0 for a, b in zip(flat_conv, list(prod_sym))):
        raise step_error(spec, step, "", "the 1x1 convolution is not the matrix product W X")
    flat_num = read_tensor(case.run(x, w, None), "y")[0]
    if list(prod) != flat_num:
        raise step_error(spec, step, "", "numerically the 1x1 convolution is not W X")
    import torch

    tw = torch.tensor([[float(v) for v in row] for row in Wm.tolist()], dtype=torch.float64)
    tx = torch.tensor([[float(v) for v in row] for row in Xm.tolist()], dtype=torch.float64)
    worst = float(
        (
            tw @ tx
            - torch.tensor([float(v) for v in flat_num], dtype=torch.float64).reshape(c_out, h * wd)
        )
        .abs()
        .max()
    )
    if worst > 1e-9:
        raise step_error(spec, step, "", f"torch's W @ X differs from conv2d by {worst}")
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
    except BuildError:
        raise
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
