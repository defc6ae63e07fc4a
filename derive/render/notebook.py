r"""Example notebooks: the code a reader runs to recompute an example.

:func:`example_notebook` writes the cells from the parsed spec and what the build derived:
prose from the spec, and code that calls derive and torch for each step. Which functions the
code calls follows the step's operation (:mod:`derive.ops`); parameters and size expressions
are quoted as the spec writes them (:class:`derive.specs.Written`), through
:mod:`derive.render.pycode`. :mod:`derive.render.kernel` executes the notebooks.

Cells have fixed ids and the notebook's metadata carries no timestamps or versions: two
builds write the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from derive.ops import Correlation, Op, Pooling, TransposedConvolution
from derive.render.compute import torch_line
from derive.render.pycode import call, param_code, params_code, py_value, spelled
from derive.render.results import StepResult
from derive.render.sizes import axis_params, shape_block
from derive.specs import ExampleSpec, StepSpec
from derive.tensors import flatten

__all__ = ["example_notebook", "LANGUAGE_INFO", "KERNELSPEC"]

LANGUAGE_INFO = {
    "codemirror_mode": {"name": "ipython", "version": 3},
    "file_extension": ".py",
    "mimetype": "text/x-python",
    "name": "python",
    "nbconvert_exporter": "python",
    "pygments_lexer": "ipython3",
}
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}

#: functions the generated code calls that the registry does not name: pooling's window plan
#: and the torch check of a transposed convolution
POOL_WINDOWS = "derive.pool:pool2d_windows"
TRANSPOSED_CHECK = "derive.torch_check:check_conv_transpose2d"
CHECK = "check_elements"


def _functions(op: Op) -> list[str]:
    """Every function (``module:name``) the cells of a step of ``op`` may call."""
    out = [op.elements_function, op.runs_as.elements_function]
    if op.terms_function is not None:
        out.append(op.terms_function)
    if isinstance(op, Pooling):
        out.append(POOL_WINDOWS)
    if isinstance(op, TransposedConvolution):
        out.append(TRANSPOSED_CHECK)
    return out


class _Cells:
    def __init__(self, slug: str) -> None:
        self.slug = slug
        self.cells: list[Any] = []

    def _id(self) -> str:
        return f"{self.slug[:40]}-{len(self.cells):03d}"

    def md(self, text: str) -> None:
        from nbformat.v4 import new_markdown_cell

        self.cells.append(new_markdown_cell(text.strip("\n"), id=self._id()))

    def code(self, text: str) -> None:
        from nbformat.v4 import new_code_cell

        self.cells.append(new_code_cell(text.strip("\n"), id=self._id()))


def _symbolic_entries(spec: ExampleSpec, name: str) -> bool:
    """Whether tensor ``name`` holds symbols (which torch cannot take)."""
    return any(not getattr(v, "is_Integer", True) for v in flatten(spec.tensors[name].values))


def _names(step: StepSpec) -> list[str]:
    return [n for n in (step.input, step.weight, step.bias) if n is not None]


def _imports(spec: ExampleSpec) -> list[str]:
    """``from derive.<module> import ...`` lines for what the cells call, by module."""
    shape = any(s.kind == "shape" for s in spec.steps)
    lines = []
    if any(_symbolic_entries(spec, n) for s in spec.steps for n in _names(s)):
        lines.append("from derive.grammar import parse_size")
    if shape:
        lines.append("from derive.grammar import parse_size as P")
    modules: dict[str, set[str]] = {"derive.torch_check": {CHECK}}
    if shape:
        modules["derive.torch_check"].add("torch_output_size")
    for target in (t for s in spec.steps for t in _functions(s.op)):
        name, module = spelled(target)
        if module is not None:
            modules.setdefault(module, set()).add(name)
    for module in sorted(modules):
        lines.append(f"from {module} import {', '.join(sorted(modules[module]))}")
    return lines


def _setup(spec: ExampleSpec) -> str:
    same = any(s.params.get("padding") == "same" for s in spec.steps)
    lines = ["import warnings", ""] if same else []
    lines += ["import sympy as sp", "import torch", "import torch.nn.functional as F", ""]
    lines += ["import derive", *_imports(spec)]
    if same:
        lines += [
            "",
            "# torch notes that padding='same' with an even kernel copies the input: harmless here",
            'warnings.filterwarnings("ignore", message="Using padding=\'same\'")',
        ]
    lines += [
        "",
        "",
        "def tensor(values):",
        '    """A float64 torch tensor from nested lists of numbers."""',
        "    return torch.tensor(values, dtype=torch.float64)",
    ]
    return "\n".join(lines)


def _formula_md(cells: _Cells, result: StepResult) -> None:
    """The size formulas as the page writes them, above the cell that computes them."""
    if any(s.formula.free_symbols for s in result.shapes):
        cells.md(
            "The output size along each axis, as people write it (derive's formula, proved "
            "equal to what the next cell computes):\n\n" + shape_block(result.shapes)
        )


def _shape_cells(cells: _Cells, result: StepResult) -> None:
    names = [str(sym) for s in result.shapes for sym, _ in s.given]
    unique = list(dict.fromkeys(names))
    lines = [
        f'{", ".join(unique)} = sp.symbols("{" ".join(unique)}", integer=True, positive=True)'
        if len(unique) > 1
        else f'{unique[0]} = sp.Symbol("{unique[0]}", integer=True, positive=True)'
    ]
    outs = []
    for s in result.shapes:
        lines.append(f"{s.label}_out = {s.code}")
        outs.append(f"{s.label}_out")
    lines.append(", ".join(outs))
    cells.code("\n".join(lines))
    subs = [
        f"{s.label}_out.subs({{{', '.join(f'{sym}: {int(v)}' for sym, v in s.given)}}})"
        for s in result.shapes
    ]
    cells.code(", ".join(subs))


def _elements_code(step: StepSpec) -> tuple[str, str]:
    """(numeric call, symbolic call) of an elements step."""
    p = params_code(step.written.params)
    fn = spelled(step.op.elements_function)[0]
    bias = [step.bias] if step.bias else []
    sbias = ["b_sym"] if step.bias else []
    if isinstance(step.op, Correlation):
        if not step.bias:
            return f"{fn}({step.input}, {step.weight})", f"{fn}(x_sym, k_sym)"
        conv = spelled(step.op.runs_as.elements_function)[0]
        return (
            f"{conv}([{step.input}], [[{step.weight}]], bias={step.bias})",
            f"{conv}(x_sym.reshape(1, *x_sym.shape), "
            "k_sym.reshape(1, 1, *k_sym.shape), bias=[b_sym])",
        )
    if step.op.weighted:
        return (
            call(fn, [step.input, step.weight, *bias], p),
            call(fn, ["x_sym", "k_sym", *sbias], p),
        )
    return call(fn, [step.input], p), call(fn, ["x_sym"], p)


def _symbol_cell(spec: ExampleSpec, step: StepSpec) -> str:
    matrix = isinstance(step.op, Correlation)
    lines = []
    for var, name in (("x_sym", step.input), ("k_sym", step.weight), ("b_sym", step.bias)):
        if name is None:
            continue
        t = spec.tensors[name]
        if var == "b_sym" and matrix:
            lines.append(f'b_sym = sp.Symbol("{t.symbol}")')
        else:
            lines.append(f'{var} = derive.symbol_array("{t.symbol}", {tuple(t.shape)})')
    lines.append(f"Y_sym = {_elements_code(step)[1]}")
    if step.symbolic_output:
        lines.append("Y_sym")
    else:
        full = matrix and step.bias
        picks = [
            "Y_sym[" + ", ".join(str(i) for i in ((0, *idx) if full else idx)) + "]"
            for idx in step.highlight
        ]
        lines.append(", ".join(picks) + ("," if len(picks) == 1 else ""))
    return "\n".join(lines)


def _terms_cell(step: StepSpec, result: StepResult) -> str:
    op = step.op
    matrix = isinstance(op, Correlation)
    idx = [(0, *i) if matrix else i for i in step.highlight]
    if op.terms_function is not None:
        x, w = (f"[{step.input}]", f"[[{step.weight}]]") if matrix else (step.input, step.weight)
        terms = call(
            spelled(op.terms_function)[0], [x, w, "index"], params_code(step.written.params)
        )
        return (
            "{\n"
            f'    index: " + ".join(f"{{x}}*{{w}}" for _, x, _, w in {terms})\n'
            f"    for index in {idx!r}\n"
            "}"
        )
    # the window plan takes the shape parameters only (not the reduction's own, such as
    # average pooling's divisor)
    shape_params = {p.name for p in op.shape_params}
    skip = [name for name in step.written.params if name not in shape_params]
    x = result.geometry.input
    shape = (len(x), len(x[0]), len(x[0][0]))
    win = call(spelled(POOL_WINDOWS)[0], [repr(shape)], params_code(step.written.params, skip))
    return (
        f"(h_out, w_out), windows = {win}\n"
        "{\n"
        f"    (c, i, j): [{step.input}[c][r][q] for r in windows[i * w_out + j][0]"
        " for q in windows[i * w_out + j][1]]\n"
        f"    for c, i, j in {idx!r}\n"
        "}"
    )


def _check_cell(step: StepSpec) -> str:
    p = params_code(step.written.params)
    fn = f'"{step.op.torch_function(2)}"'
    bias = [step.bias] if step.bias else []
    if isinstance(step.op, Correlation):
        output = "Y" if step.bias else "[Y.tolist()]"
        return call(CHECK, [output, fn, f"[{step.input}]", f"[[{step.weight}]]", *bias])
    if isinstance(step.op, TransposedConvolution):
        return call(spelled(TRANSPOSED_CHECK)[0], ["Y", step.input, step.weight, *bias], p)
    if step.op.weighted:
        return call(CHECK, ["Y", fn, step.input, step.weight, *bias], p)
    return call(CHECK, ["Y", fn, step.input], p)


def _matmul_cells(cells: _Cells, spec: ExampleSpec, result: StepResult) -> None:
    step, e = result.step, result.extra
    c_out, c_in = e["c_out"], e["c_in"]
    hw = e["hw"][0] * e["hw"][1]
    cells.md(
        "The same numbers as a matrix product: the weight as a "
        f"{c_out}×{c_in} matrix times the input as a {c_in}×{hw} matrix."
    )
    cells.code(
        f"Wm = sp.Array({step.weight}).reshape({c_out}, {c_in}).tomatrix()\n"
        f"Xm = sp.Array({step.input}).reshape({c_in}, {hw}).tomatrix()\n"
        f"Wm * Xm == sp.Array(Y).reshape({c_out}, {hw}).tomatrix()"
    )
    x, w = spec.tensors[step.input], spec.tensors[step.weight]
    conv = spelled(step.op.elements_function)[0]
    cells.code(
        f'x_sym = derive.symbol_array("{x.symbol}", {tuple(x.shape)})\n'
        f'w_sym = derive.symbol_array("{w.symbol}", {tuple(w.shape)})\n'
        f"difference = w_sym.reshape({c_out}, {c_in}).tomatrix() * "
        f"x_sym.reshape({c_in}, {hw}).tomatrix() - "
        f"{conv}(x_sym, w_sym).reshape({c_out}, {hw}).tomatrix()\n"
        f"difference.expand() == sp.zeros({c_out}, {hw})"
    )
    cells.code(e["matmul_line"])


def _elements_cells(cells: _Cells, spec: ExampleSpec, result: StepResult) -> None:
    step = result.step
    _formula_md(cells, result)
    _shape_cells(cells, result)
    cells.code(f"Y = {_elements_code(step)[0]}\nY")
    if step.highlight or step.symbolic_output:
        cells.code(_symbol_cell(spec, step))
    if step.highlight:
        cells.code(_terms_cell(step, result))
    if step.kind == "matmul":
        _matmul_cells(cells, spec, result)
    if any(_symbolic_entries(spec, n) for n in result.tensors):
        cells.md(
            "The inputs hold symbols, which torch cannot take; the build checked this step "
            "against torch with small integers put in for them."
        )
        return
    cells.md("The same computation in PyTorch, and derive's comparison of the two:")
    cells.code(torch_line(step))
    cells.code(_check_cell(step))


def _shape_step_cells(cells: _Cells, spec: ExampleSpec, result: StepResult) -> None:
    step = result.step
    written = step.written
    per = axis_params(spec, step, written.params)
    labels = ["n" if s.label == "out" else s.label for s in result.shapes]
    fn = spelled(step.op.size_function)[0]
    lines, torch_args = [], []
    for a, label in enumerate(labels):
        args = [param_code(written.size[a]), param_code(per["kernel_size"][a])]
        args += [
            f"{k}={param_code(v[a])}"
            for k, v in per.items()
            if k != "kernel_size" and v[a] is not None
        ]
        if written.params.get("ceil_mode"):
            args.append("ceil_mode=True")
        lines.append(f"{label}_out = {fn}({', '.join(args)})")
        torch_args.append(f'torch_output_size("{step.op.name}", {", ".join(args)})')
    lines.append(", ".join(f"{label}_out" for label in labels))
    _formula_md(cells, result)
    cells.code("\n".join(lines))
    if written.formula:
        subs = ", ".join(f"P({k!r}): P({v!r})" for k, v in written.where.items())
        checks = [
            f"sp.simplify({labels[a]}_out - P({formula!r})"
            + (f".subs({{{subs}}})" if subs else "")
            + ")"
            for a, formula in enumerate(written.formula)
        ]
        cells.md("The book's form of the formula; the difference simplifies to zero:")
        cells.code(", ".join(checks) + ("," if len(checks) == 1 else ""))
    _torch_size_cells(cells, result, labels, torch_args)


def _torch_size_cells(cells: _Cells, result: StepResult, labels: list, torch_args: list) -> None:
    grids = result.extra.get("grid", [])
    if not any(g["symbols"] for g in grids):
        cells.code(", ".join(torch_args) + ("," if len(labels) == 1 else ""))
        return
    cells.md("derive's formula next to torch's size, at a few values of the symbols:")
    for label, g, torch_call in zip(labels, grids, torch_args):
        cells.code(
            f"def compare_{label}(**values):\n"
            '    """derive\'s size and torch\'s at these values of the symbols."""\n'
            "    at = {P(name): value for name, value in values.items()}\n"
            f"    return int({label}_out.subs(at)), {_subs_torch(torch_call)}\n"
            "\n\n"
            + ", ".join(
                f"compare_{label}(" + ", ".join(f"{k}={v}" for k, v in pt.items()) + ")"
                for pt in g["sample"]
            )
        )


def _subs_torch(text: str) -> str:
    """Evaluate every ``P("...")`` of a torch_output_size call at ``at``."""
    out, rest = [], text
    while 'P("' in rest:
        head, tail = rest.split('P("', 1)
        inner, rest = tail.split('")', 1)
        out.append(f'{head}int(P("{inner}").subs(at))')
    return "".join(out) + rest


def example_notebook(
    spec: ExampleSpec, results: Sequence[StepResult], metadata: dict[str, Any]
) -> Any:
    """The (unexecuted) notebook of ``spec``; ``metadata`` goes under ``metadata.derive``."""
    from nbformat.v4 import new_notebook

    cells = _Cells(spec.slug)
    intro = f"# {spec.title}\n\n{spec.intro}\n\n" if spec.intro else f"# {spec.title}\n\n"
    cells.md(
        intro + "This notebook recomputes the example with derive and checks it against "
        "PyTorch. It needs `derive` and `torch` installed; run it from top to bottom."
    )
    cells.code(_setup(spec))
    used = [n for n in spec.tensors if any(n in _names(s) for s in spec.steps)]
    if used:
        cells.code("\n".join(f"{n} = {py_value(spec.tensors[n].values, 0)}" for n in used))
    for result in results:
        step = result.step
        cells.md(f"## {step.title}\n\n{step.text}" if step.text else f"## {step.title}")
        if step.kind == "shape":
            _shape_step_cells(cells, spec, result)
        else:
            _elements_cells(cells, spec, result)
        if step.after:
            cells.md(step.after)
    if spec.outro:
        cells.md(spec.outro)
    nb = new_notebook(cells=cells.cells)
    nb.metadata = {
        "kernelspec": dict(KERNELSPEC),
        "language_info": dict(LANGUAGE_INFO),
        "derive": metadata,
    }
    return nb
