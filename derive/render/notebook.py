r"""Example notebooks: the code a reader runs to recompute an example, and its execution.

:func:`example_notebook` writes the cells (prose from the spec, code that calls derive and
torch); :class:`SharedKernel` executes many notebooks with nbclient in *one* IPython kernel,
so the kernel starts, and torch is imported, once per build instead of once per notebook.
Between notebooks the kernel's namespace, output history, warning registries and execution
counter are reset, so each notebook's stored outputs are what a fresh kernel gives; the test
suite re-executes every notebook in its own kernel and compares.

Cells have fixed ids and the notebook's metadata carries no timestamps or versions: two
builds write the same bytes.
"""

from __future__ import annotations

import asyncio
import queue
import subprocess
import threading
from collections.abc import Sequence
from typing import Any

from derive.render import latex
from derive.render.compute import torch_line
from derive.render.results import StepResult, flatten
from derive.render.sizes import per_axis
from derive.specs import BuildError, ExampleSpec, StepSpec

__all__ = ["example_notebook", "SharedKernel", "normalise", "py_value", "LANGUAGE_INFO"]

LANGUAGE_INFO = {
    "codemirror_mode": {"name": "ipython", "version": 3},
    "file_extension": ".py",
    "mimetype": "text/x-python",
    "name": "python",
    "nbconvert_exporter": "python",
    "pygments_lexer": "ipython3",
}
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
#: run silently before the first notebook: what every notebook imports
WARM_UP = """\
import sympy, torch, torch.nn.functional
import derive, derive.grammar, derive.pool, derive.torch_check, derive.transpose
torch.nn.functional.conv2d(torch.zeros(1, 1, 1, 1), torch.zeros(1, 1, 1, 1))
import gc
gc.freeze()  # what is loaded now stays: each reset's garbage collection skips it
del gc
"""
#: run silently between notebooks: a fresh namespace, history, warnings and counter
RESET = """\
get_ipython().run_line_magic("reset", "-f")
import sys as _sys
for _m in list(_sys.modules.values()):
    _r = getattr(_m, "__warningregistry__", None)
    if isinstance(_r, dict):
        _r.clear()
import warnings as _w
_w._filters_mutated()
del _sys, _m, _r, _w
get_ipython().execution_count = 1
"""


def py_value(value: Any, indent: int = 0) -> str:
    """Nested lists of integers (or size expressions) as readable Python source.

    >>> print(py_value([[1, 2], [3, 4]]))
    [[1, 2], [3, 4]]
    >>> print(py_value([[[0] * 12] * 2, [[1] * 12] * 2]))
    [
        [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]],
        [[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]],
    ]
    """
    if not isinstance(value, list):
        v = latex.as_basic(value)
        if v.is_Integer:
            return str(int(v))
        return f'parse_size("{v}")'
    flat = "[" + ", ".join(py_value(v) for v in value) + "]"
    if len(flat) + indent <= 88 or not isinstance(value[0], list):
        return flat
    pad = " " * (indent + 4)
    inner = ",\n".join(pad + py_value(v, indent + 4) for v in value)
    return "[\n" + inner + ",\n" + " " * indent + "]"


def _raw(value: Any) -> str:
    """A TOML parameter as Python: ints plain, text through parse_size, lists as tuples."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        if value in ("same", "valid"):
            return repr(value)
        return f'P("{value}")'
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(_raw(v) for v in value) + ")"
    return repr(value)


def _tupled(value: Any) -> Any:
    return tuple(_tupled(v) for v in value) if isinstance(value, list) else value


def _params_code(params: dict[str, Any], skip: Sequence[str] = ()) -> str:
    return ", ".join(f"{k}={_raw(v)}" for k, v in params.items() if k not in skip)


def _call(fn: str, args: Sequence[str], params: str) -> str:
    return f"{fn}({', '.join(args)}{', ' if params else ''}{params})"


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


def _uses(spec: ExampleSpec) -> set[str]:
    used = set()
    for step in spec.steps:
        used.add(step.op)
        used.add(step.kind)
        for name in (step.input, step.weight, step.bias):
            if name is not None:
                t = spec.tensors[name]
                if any(not getattr(v, "is_Integer", True) for v in flatten(t.values)):
                    used.add("symbolic-entries")
    return used


def _uses_same_padding(spec: ExampleSpec) -> bool:
    return any("'same'" in repr(s.raw.get("params", {}).get("padding")) for s in spec.steps)


def _setup(spec: ExampleSpec) -> str:
    used = _uses(spec)
    same = _uses_same_padding(spec)
    lines = ["import warnings", ""] if same else []
    lines += ["import sympy as sp", "import torch", "import torch.nn.functional as F", ""]
    lines.append("import derive")
    if "symbolic-entries" in used:
        lines.append("from derive.grammar import parse_size")
    if "shape" in used:
        lines.append("from derive.grammar import parse_size as P")
    if used & {"max_pool2d", "avg_pool2d"}:
        lines.append("from derive.pool import pool2d_windows")
    if "shape" in used:
        lines.append("from derive.torch_check import check_elements, torch_output_size")
    else:
        lines.append("from derive.torch_check import check_elements")
    if "conv_transpose2d" in used:
        lines.append(
            "from derive.transpose import check_conv_transpose2d, conv_transpose2d, "
            "conv_transpose2d_terms"
        )
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
    p = _params_code(step.raw.get("params", {}))
    if step.op == "corr2d":
        if step.bias:
            return (
                f"derive.conv2d([{step.input}], [[{step.weight}]], bias={step.bias})",
                "derive.conv2d(x_sym.reshape(1, *x_sym.shape), "
                "k_sym.reshape(1, 1, *k_sym.shape), bias=[b_sym])",
            )
        return f"derive.corr2d({step.input}, {step.weight})", "derive.corr2d(x_sym, k_sym)"
    if step.op == "conv2d":
        args = [step.input, step.weight] + ([step.bias] if step.bias else [])
        sargs = ["x_sym", "k_sym"] + (["b_sym"] if step.bias else [])
        return _call("derive.conv2d", args, p), _call("derive.conv2d", sargs, p)
    if step.op == "conv_transpose2d":
        args = [step.input, step.weight] + ([step.bias] if step.bias else [])
        sargs = ["x_sym", "k_sym"] + (["b_sym"] if step.bias else [])
        return _call("conv_transpose2d", args, p), _call("conv_transpose2d", sargs, p)
    fn = f"derive.{step.op}"
    return _call(fn, [step.input], p), _call(fn, ["x_sym"], p)


def _symbol_cell(spec: ExampleSpec, step: StepSpec, result: StepResult) -> str:
    lines = []
    roles = [("x_sym", step.input), ("k_sym", step.weight), ("b_sym", step.bias)]
    for var, name in roles:
        if name is None:
            continue
        t = spec.tensors[name]
        if var == "b_sym" and step.op == "corr2d":
            lines.append(f'b_sym = sp.Symbol("{t.symbol}")')
        else:
            lines.append(f'{var} = derive.symbol_array("{t.symbol}", {tuple(t.shape)})')
    _, symbolic = _elements_code(step)
    lines.append(f"Y_sym = {symbolic}")
    if step.symbolic_output:
        lines.append("Y_sym")
    else:
        full = step.op == "corr2d" and step.bias
        picks = [
            "Y_sym[" + ", ".join(str(i) for i in ((0, *idx) if full else idx)) + "]"
            for idx in step.highlight
        ]
        lines.append(", ".join(picks) + ("," if len(picks) == 1 else ""))
    return "\n".join(lines)


def _terms_cell(step: StepSpec, result: StepResult) -> str:
    p = _params_code(step.raw.get("params", {}))
    idx = [(0, *i) if step.op == "corr2d" else i for i in step.highlight]
    if step.op in ("corr2d", "conv2d"):
        x, w = (
            (f"[{step.input}]", f"[[{step.weight}]]")
            if step.op == "corr2d"
            else (step.input, step.weight)
        )
        call = _call("derive.conv2d_terms", [x, w, "index"], p)
    elif step.op == "conv_transpose2d":
        call = _call("conv_transpose2d_terms", [step.input, step.weight, "index"], p)
    if step.op in ("corr2d", "conv2d", "conv_transpose2d"):
        return (
            "{\n"
            f'    index: " + ".join(f"{{x}}*{{w}}" for _, x, _, w in {call})\n'
            f"    for index in {idx!r}\n"
            "}"
        )
    raw = dict(step.raw.get("params", {}))
    if step.op == "avg_pool2d":
        for k in ("count_include_pad", "divisor_override"):
            raw.pop(k, None)
    shape = (
        len(result.geometry.input),
        len(result.geometry.input[0]),
        len(result.geometry.input[0][0]),
    )
    win = _call("pool2d_windows", [repr(shape)], _params_code(raw))
    return (
        f"(h_out, w_out), windows = {win}\n"
        "{\n"
        f"    (c, i, j): [{step.input}[c][r][q] for r in windows[i * w_out + j][0]"
        " for q in windows[i * w_out + j][1]]\n"
        f"    for c, i, j in {idx!r}\n"
        "}"
    )


def _check_cell(step: StepSpec) -> str:
    p = _params_code(step.raw.get("params", {}))
    if step.op == "corr2d":
        args = [
            "[Y.tolist()]" if not step.bias else "Y",
            '"conv2d"',
            f"[{step.input}]",
            f"[[{step.weight}]]",
        ] + ([step.bias] if step.bias else [])
        return _call("check_elements", args, "")
    if step.op == "conv_transpose2d":
        args = ["Y", step.input, step.weight] + ([step.bias] if step.bias else [])
        return _call("check_conv_transpose2d", args, p)
    if step.op == "conv2d" or step.kind == "matmul":
        args = ["Y", '"conv2d"', step.input, step.weight] + ([step.bias] if step.bias else [])
        return _call("check_elements", args, p)
    return _call("check_elements", ["Y", f'"{step.op}"', step.input], p)


def _elements_cells(cells: _Cells, spec: ExampleSpec, result: StepResult) -> None:
    step = result.step
    _shape_cells(cells, result)
    numeric, _ = _elements_code(step)
    cells.code(f"Y = {numeric}\nY")
    if step.highlight or step.symbolic_output:
        cells.code(_symbol_cell(spec, step, result))
    if step.highlight:
        cells.code(_terms_cell(step, result))
    if step.kind == "matmul":
        e = result.extra
        c_out, c_in = e["c_out"], e["c_in"]
        h, w = e["hw"]
        cells.md(
            "The same numbers as a matrix product: the weight as a "
            f"{c_out}×{c_in} matrix times the input as a {c_in}×{h * w} matrix."
        )
        cells.code(
            f"Wm = sp.Array({step.weight}).reshape({c_out}, {c_in}).tomatrix()\n"
            f"Xm = sp.Array({step.input}).reshape({c_in}, {h * w}).tomatrix()\n"
            f"Wm * Xm == sp.Array(Y).reshape({c_out}, {h * w}).tomatrix()"
        )
        xs, ws = spec.tensors[step.input].symbol, spec.tensors[step.weight].symbol
        cells.code(
            f'x_sym = derive.symbol_array("{xs}", {tuple(spec.tensors[step.input].shape)})\n'
            f'w_sym = derive.symbol_array("{ws}", {tuple(spec.tensors[step.weight].shape)})\n'
            f"difference = w_sym.reshape({c_out}, {c_in}).tomatrix() * "
            f"x_sym.reshape({c_in}, {h * w}).tomatrix() - "
            f"derive.conv2d(x_sym, w_sym).reshape({c_out}, {h * w}).tomatrix()\n"
            f"difference.expand() == sp.zeros({c_out}, {h * w})"
        )
        cells.code(e["matmul_line"])
    if any("symbolic-entries" in _uses_tensor(spec, n) for n in result.tensors):
        cells.md(
            "The inputs hold symbols, which torch cannot take; the build checked this step "
            "against torch with small integers put in for them."
        )
        return
    cells.md("The same computation in PyTorch, and derive's comparison of the two:")
    cells.code(torch_line(step))
    cells.code(_check_cell(step))


def _uses_tensor(spec: ExampleSpec, name: str) -> set[str]:
    t = spec.tensors[name]
    if any(not getattr(v, "is_Integer", True) for v in flatten(t.values)):
        return {"symbolic-entries"}
    return set()


_TORCH_OP = {
    "conv2d": "conv",
    "max_pool2d": "max_pool",
    "avg_pool2d": "avg_pool",
    "conv_transpose2d": "conv_transpose",
}
_FN = {
    "conv2d": "derive.conv_output_size",
    "max_pool2d": "derive.pool_output_size",
    "avg_pool2d": "derive.pool_output_size",
    "conv_transpose2d": "derive.conv_transpose_output_size",
}


def _shape_step_cells(cells: _Cells, spec: ExampleSpec, result: StepResult) -> None:
    step = result.step
    raw_params = {k: _tupled(v) for k, v in step.raw.get("params", {}).items()}
    raw_size = step.raw["size"]
    axes = len(raw_size)
    per = {
        key: per_axis(spec, step, key, raw_params.get(key), axes)
        for key in ("kernel_size", "stride", "padding", "dilation", "output_padding")
    }
    labels = ["n" if s.label == "out" else s.label for s in result.shapes]
    lines, torch_args = [], []
    for a in range(axes):
        args = [_raw(raw_size[a]), _raw(per["kernel_size"][a])]
        kw = []
        for key in ("stride", "padding", "dilation", "output_padding"):
            if per[key][a] is not None:
                kw.append(f"{key}={_raw(per[key][a])}")
        if raw_params.get("ceil_mode"):
            kw.append("ceil_mode=True")
        lines.append(f"{labels[a]}_out = {_FN[step.op]}({', '.join(args + kw)})")
        torch_args.append(f'torch_output_size("{_TORCH_OP[step.op]}", {", ".join(args + kw)})')
    lines.append(", ".join(f"{lab}_out" for lab in labels))
    cells.code("\n".join(lines))
    book = step.raw.get("book", {})
    if "formula" in book:
        where = book.get("where", {})
        subs = ", ".join(f"P({k!r}): P({v!r})" for k, v in where.items())
        checks = []
        for a, formula in enumerate(book["formula"]):
            stated = f"P({formula!r})" + (f".subs({{{subs}}})" if subs else "")
            checks.append(f"sp.simplify({labels[a]}_out - {stated})")
        cells.md("The book's form of the formula; the difference simplifies to zero:")
        cells.code(", ".join(checks) + ("," if len(checks) == 1 else ""))
    grids = result.extra.get("grid", [])
    if not any(g["symbols"] for g in grids):
        cells.code(", ".join(torch_args) + ("," if axes == 1 else ""))
        return
    cells.md("derive's formula next to torch's size, at a few values of the symbols:")
    for a, g in enumerate(grids):
        label = labels[a]
        cells.code(
            f"def compare_{label}(**values):\n"
            '    """derive\'s size and torch\'s at these values of the symbols."""\n'
            "    at = {P(name): value for name, value in values.items()}\n"
            f"    return int({label}_out.subs(at)), {_subs_torch(torch_args[a])}\n"
            "\n\n"
            + ", ".join(
                f"compare_{label}(" + ", ".join(f"{k}={v}" for k, v in pt.items()) + ")"
                for pt in g["sample"]
            )
        )


def _subs_torch(call: str) -> str:
    """Evaluate every ``P("...")`` of a torch_output_size call at ``at``."""
    out, rest = [], call
    while 'P("' in rest:
        head, tail = rest.split('P("', 1)
        text, rest = tail.split('")', 1)
        out.append(f'{head}int(P("{text}").subs(at))')
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
    used = [n for n in spec.tensors if any(n in (s.input, s.weight, s.bias) for s in spec.steps)]
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


def _no_stderr(name: str, nb: Any) -> None:
    """Warnings and other stderr text name files of this machine: refuse to store them."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("name") == "stderr":
                text = output.get("text", "").strip().splitlines() or [""]
                raise BuildError(
                    f"notebook {name}: cell {cell.id} writes to stderr ({text[-1]}); "
                    "stored outputs must not depend on the machine"
                )


def normalise(nb: Any) -> Any:
    """Drop what varies between runs and machines: kernel version info and cell timings."""
    nb.metadata["language_info"] = dict(LANGUAGE_INFO)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    return nb


class SharedKernel:
    """Execute notebooks one after another in a single kernel, in a background thread.

    ``start()`` launches the kernel and imports torch, sympy and derive in it while the caller
    goes on; ``submit(name, nb)`` queues a notebook (executed in place, as soon as the kernel
    is free); ``wait()`` waits for all of them, or raises :class:`derive.specs.BuildError`
    naming the notebook and the cell; ``cancel()`` drops what is queued and stops the kernel.
    """

    def __init__(self, cwd: str, timeout: int = 300) -> None:
        self.cwd, self.timeout = cwd, timeout
        self._queue: queue.Queue = queue.Queue()
        self._cancelled = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="derive-kernel", daemon=True)

    def start(self) -> SharedKernel:
        self._thread.start()
        return self

    def submit(self, name: str, nb: Any) -> None:
        self._queue.put((name, nb))

    def wait(self) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def cancel(self) -> None:
        self._cancelled = True
        self._queue.put(None)
        self._thread.join()

    def _main(self) -> None:
        try:
            asyncio.run(self._execute())
        except BuildError as exc:
            self._error = exc
        except Exception as exc:  # a kernel that will not start, a cell that fails
            self._error = BuildError(f"executing the notebooks failed: {type(exc).__name__}: {exc}")

    async def _next(self) -> tuple[str, Any] | None:
        while True:
            try:
                return self._queue.get_nowait()
            except queue.Empty:
                await asyncio.sleep(0.005)

    async def _execute(self) -> None:
        from jupyter_client.manager import AsyncKernelManager
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError

        km = AsyncKernelManager(kernel_name="python3")
        await km.start_kernel(
            extra_arguments=["--HistoryManager.hist_file=:memory:"],
            cwd=self.cwd,
            stderr=subprocess.DEVNULL,  # the kernel's start-up chatter; failures surface as errors
        )
        # one client for everything: nbclient reuses it (a client of its own per notebook
        # costs a readiness handshake each time)
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=60)
            kc.allow_stdin = False
            await self._silent(kc, WARM_UP)
            while (item := await self._next()) is not None and not self._cancelled:
                name, nb = item
                await self._silent(kc, RESET)
                client = NotebookClient(
                    nb, km=km, timeout=self.timeout, record_timing=False, kernel_name="python3"
                )
                client.kc = kc
                try:
                    await client.async_execute()
                except CellExecutionError as exc:
                    first = str(exc).strip().splitlines()[-1:] or [""]
                    raise BuildError(f"notebook {name}: a cell failed: {first[0]}") from None
                _no_stderr(name, nb)
                normalise(nb)
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)

    async def _silent(self, kc: Any, code: str) -> None:
        reply = await kc.execute_interactive(
            code, silent=True, store_history=False, timeout=120, output_hook=lambda m: None
        )
        if reply["content"]["status"] != "ok":
            raise BuildError(f"the notebook kernel failed to run set-up code: {reply['content']}")
