r"""``torch.export`` dynamic shapes derived from the sizes a network accepts.

``torch.export.export(model, args, dynamic_shapes=...)`` wants, for each dynamic dim, a
:class:`torch.export.Dim` with a range, or a multiple of one (``16 * Dim("h")``) plus an
offset when the sizes must be divisible. A plain ``Dim("h")`` is refused (or specialised)
as soon as the model needs, say, $H \equiv 0 \pmod{16}$: torch finds guards it cannot
satisfy for every $H$.

derive knows the accepted sizes exactly (:func:`~derive.networks.admissible_sizes`): a
union of *boxes*, each size in a set of runs $\{n : a \le n \le b,\ n \equiv r \pmod P\}$.
One such run is exactly $n = P k + r$ with $k$ in an interval, which is what a derived
``Dim`` expresses:

$$
n \in \{P k + r : k_\text{min} \le k \le k_\text{max}\}
\quad\longleftrightarrow\quad
P \cdot \texttt{Dim("n", min=}k_\text{min}\texttt{, max=}k_\text{max}\texttt{)} + r .
$$

:func:`export_spec` picks the box and the run containing a sample size (or the first),
and says whether the specification covers every accepted size (:attr:`ExportSpec.complete`)
or which ones it leaves out.

This module imports torch only in :meth:`ExportSpec.dynamic_shapes` and :func:`export`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sympy as sp

from derive.errors import ShapeError
from derive.networks.admissible import Admissible, Box, IntegerSet, Run
from derive.networks.rules import Constraint

__all__ = [
    "DimSpec",
    "ExportSpec",
    "export_spec",
    "spec_from_trace",
    "spec_from_admissible",
    "export",
]


@dataclass(frozen=True)
class DimSpec:
    r"""One dynamic size $n = P k + r$ with $k_\text{min} \le k \le k_\text{max}$
    (``maximum`` ``None``: no upper end)."""

    name: str
    multiple: int
    offset: int
    minimum: int
    maximum: int | None

    def sizes(self) -> tuple[int, int | None]:
        """The smallest and largest size (``None``: unbounded)."""
        top = None if self.maximum is None else self.multiple * self.maximum + self.offset
        return self.multiple * self.minimum + self.offset, top

    def declaration(self) -> str:
        """``h = Dim("h", min=2)``."""
        bounds = f", min={self.minimum}" + ("" if self.maximum is None else f", max={self.maximum}")
        return f'{self.name} = Dim("{self.name}"{bounds})'

    def expression(self) -> str:
        """``16 * h + 1``, ``h``..."""
        text = self.name if self.multiple == 1 else f"{self.multiple} * {self.name}"
        return text + (f" + {self.offset}" if self.offset else "")

    def contains(self, n: int) -> bool:
        k, r = divmod(n - self.offset, self.multiple)
        return r == 0 and k >= self.minimum and (self.maximum is None or k <= self.maximum)


@dataclass(frozen=True)
class ExportSpec:
    """A ``dynamic_shapes`` specification: per input, per dim, a dynamic axis (``None`` for a
    static one); per symbol its :class:`DimSpec` (or the one size accepted); ``complete``
    when it covers every size the network accepts, else ``notes`` say what is left out."""

    inputs: tuple[tuple[sp.Expr, ...], ...]
    dims: tuple[tuple[_Axis | None, ...], ...]
    symbols: dict[sp.Symbol, DimSpec | int]
    complete: bool
    notes: tuple[str, ...]
    example: tuple[tuple[int, ...], ...]

    def text(self) -> str:
        """Python code declaring the ``Dim`` s and ``dynamic_shapes`` (and an example)."""
        specs = [s for s in dict.fromkeys(self.symbols.values()) if isinstance(s, DimSpec)]
        lines = ["from torch.export import Dim, export", ""]
        lines += [s.declaration() for s in specs]
        per_input = []
        for dims in self.dims:
            items = [f"{axis}: {d.expression()}" for axis, d in enumerate(dims) if d is not None]
            per_input.append("{" + ", ".join(items) + "}")
        lines.append(f"dynamic_shapes = ({', '.join(per_input)},)")
        examples = ", ".join(f"torch.zeros{tuple(e)}" for e in self.example)
        lines.append(f"example = ({examples},)  # sizes inside the specification")
        lines.append("program = export(model, example, dynamic_shapes=dynamic_shapes)")
        lines += [f"# {note}" for note in self.notes]
        return "\n".join(lines)

    def dynamic_shapes(self) -> tuple[dict[int, Any], ...]:
        """The specification as torch objects, for ``torch.export.export``."""
        from torch.export import Dim

        made = {}
        for spec in dict.fromkeys(self.symbols.values()):
            if isinstance(spec, DimSpec):
                bounds = {"min": spec.minimum}
                if spec.maximum is not None:
                    bounds["max"] = spec.maximum
                made[spec.name] = Dim(spec.name, **bounds)
        return tuple(
            {axis: d.build(made) for axis, d in enumerate(dims) if d is not None}
            for dims in self.dims
        )

    def example_inputs(self) -> tuple[Any, ...]:
        """Zero tensors of :attr:`example`'s sizes."""
        import torch

        return tuple(torch.zeros(shape) for shape in self.example)


@dataclass(frozen=True)
class _Axis:
    """An input dim $a \\cdot n + b$ of a dynamic size $n = P k + r$: $aP \\cdot k + ar + b$."""

    spec: DimSpec
    scale: int
    shift: int

    def expression(self) -> str:
        multiple = self.scale * self.spec.multiple
        offset = self.scale * self.spec.offset + self.shift
        text = self.spec.name if multiple == 1 else f"{multiple} * {self.spec.name}"
        return text + (f" + {offset}" if offset else "")

    def build(self, made: Mapping[str, Any]) -> Any:
        dim = made[self.spec.name]
        multiple = self.scale * self.spec.multiple
        offset = self.scale * self.spec.offset + self.shift
        out = dim if multiple == 1 else multiple * dim
        return out + offset if offset else out


def _name(symbol: sp.Symbol, taken: set[str]) -> str:
    base = "".join(c for c in symbol.name.lower() if c.isalnum() or c == "_") or "n"
    if not base[0].isalpha():
        base = "n" + base
    name, i = base, 2
    while name in taken:
        name, i = f"{base}{i}", i + 1
    taken.add(name)
    return name


def _pick_run(values: IntegerSet, sample: int | None) -> tuple[Run, int]:
    """The run (and residue) containing ``sample``, else the last run's first residue."""
    for run in values.runs:
        if sample is not None and sample in run:
            return run, sample % run.period
    run = values.runs[-1]
    return run, run.residues[0]


def _dim_spec(name: str, values: IntegerSet, sample: int | None) -> DimSpec | int:
    run, residue = _pick_run(values, sample)
    period = run.period
    low = run.lo + (residue - run.lo) % period
    k_min = (low - residue) // period
    k_max = None if run.hi is None else (run.hi - residue) // period
    if k_max is not None and k_max == k_min:
        return period * k_min + residue
    return DimSpec(name, period, residue, k_min, k_max)


def _covers(values: IntegerSet, spec: DimSpec | int) -> bool:
    if isinstance(spec, int):
        return values.min() == values.max() == spec
    if len(values.runs) != 1:
        return False
    run = values.runs[0]
    return run.period == spec.multiple and len(run.residues) == 1


def _choose_box(adm: Admissible, sample: Mapping[sp.Symbol, int] | None) -> Box:
    if not adm.boxes:
        raise ShapeError("the network accepts no input size: there is nothing to export")
    if sample is not None:
        point = {s: int(sample[s]) for s in adm.symbols if s in sample}
        for box in adm.boxes:
            if len(point) == len(adm.symbols) and point in box:
                return box
    return adm.boxes[0]


def spec_from_admissible(adm: Admissible, inputs: Sequence[Sequence[sp.Expr]],
                         sample: Mapping[sp.Symbol, int] | None = None) -> ExportSpec:  # fmt: skip
    """The export specification of one box of ``adm`` (the one holding ``sample``)."""
    box = _choose_box(adm, sample)
    taken: set[str] = set()
    symbols: dict[sp.Symbol, DimSpec | int] = {}
    notes: list[str] = []
    for s in adm.symbols:
        values = box.sizes[s]
        if s in box.relations:
            continue  # a size given by another: its dim is derived from that one's
        if values.is_empty():
            raise ShapeError(f"no size of {s} is accepted in the chosen case")
        spec = _dim_spec(_name(s, taken), values, None if sample is None else sample.get(s))
        symbols[s] = spec
        if not _covers(values, spec):
            notes.append(f"{s} is restricted to {_describe(spec)}; derive accepts "
                         f"{values.to_text(s.name)} in this case")  # fmt: skip
    if len(adm.boxes) > 1:
        others = [b.to_text() for b in adm.boxes if b is not box]
        notes.append("other accepted sizes, not covered: " + "; ".join(others))
    if not adm.exact:
        notes.append("the accepted sizes are an outer bound (conditions derive could not "
                     "split); the specification may include sizes torch rejects")  # fmt: skip
    related = [[sp.sympify(d).xreplace(box.relations) for d in shape] for shape in inputs]
    dims = tuple(tuple(_axis(d, symbols) for d in shape) for shape in related)
    example = tuple(tuple(_example(d, symbols, sample) for d in shape) for shape in related)
    complete = not notes
    return ExportSpec(tuple(tuple(s) for s in inputs), dims, symbols, complete, tuple(notes),
                      example)  # fmt: skip


def _describe(spec: DimSpec | int) -> str:
    if isinstance(spec, int):
        return f"the single size {spec}"
    low, high = spec.sizes()
    form = f"{spec.multiple}k + {spec.offset}" if spec.offset else f"{spec.multiple}k"
    span = f"from {low}" + ("" if high is None else f" to {high}")
    return (f"sizes {form} " if spec.multiple > 1 else "sizes ") + span


def _axis(d: sp.Expr, symbols: Mapping[sp.Symbol, DimSpec | int]) -> _Axis | None:
    d = sp.sympify(d)
    if not d.free_symbols:
        return None
    if len(d.free_symbols) != 1:
        raise ShapeError(f"the input size {d} involves several symbols: torch.export dims are "
                         "linear in one Dim")  # fmt: skip
    (s,) = d.free_symbols
    spec = symbols[s]
    if isinstance(spec, int):
        return None
    poly = sp.Poly(d, s)
    if poly.degree() != 1 or not all(c.is_Integer for c in poly.all_coeffs()):
        raise ShapeError(f"the input size {d} is not of the form a*{s} + b with integers a, b")
    a, b = (int(c) for c in poly.all_coeffs())
    return _Axis(spec, a, b)


def _example(d: sp.Expr, symbols: Mapping[sp.Symbol, DimSpec | int],
             sample: Mapping[sp.Symbol, int] | None) -> int:  # fmt: skip
    d = sp.sympify(d)
    values = {}
    for s in d.free_symbols:
        spec = symbols[s]
        if isinstance(spec, int):
            values[s] = spec
        elif sample is not None and s in sample and spec.contains(int(sample[s])):
            values[s] = int(sample[s])
        else:
            k = spec.minimum
            top = spec.maximum
            while spec.multiple * k + spec.offset < 2 and (top is None or k < top):
                k += 1  # torch.export specialises sizes 0 and 1
            values[s] = spec.multiple * k + spec.offset
    return int(d.xreplace({s: sp.Integer(v) for s, v in values.items()}))


def export_spec(module: Any, input_shape: Sequence[object],
                sample: Mapping[sp.Symbol, int] | None = None) -> ExportSpec:  # fmt: skip
    """Trace ``module``, solve its accepted sizes, and derive a ``dynamic_shapes`` spec.

    ``input_shape`` holds ints and symbols (or is a list of such shapes, one per input);
    ``sample`` picks the case and residue class when several are accepted.
    """
    from derive.networks.trace import trace

    return spec_from_trace(trace(module, input_shape), sample)


def spec_from_trace(t: Any, sample: Mapping[sp.Symbol, int] | None = None,
                    full: Admissible | None = None) -> ExportSpec:  # fmt: skip
    r"""The export specification of a :class:`~derive.networks.trace.Trace`.

    Beyond the sizes eager torch accepts, ``torch.export`` needs: one branch of a forward
    that branches on sizes (it traces one; the case holding ``sample`` is kept), static
    lengths where it specialises (recurrent layers), and every dynamic intermediate size
    at least 2 (its 0/1 specialisation guards sizes against 1 where broadcasting or a
    check could depend on it; derive asks it of every intermediate size that depends on one
    input size, which can be more than torch needs). Each restriction that removes
    accepted sizes is noted. ``full``: the trace's accepted sizes, when already solved.
    """
    solve_constraints = _solver()
    full = full or solve_constraints(t.constraints, t.symbols)
    case = _case(t, sample)
    base = list(case.constraints)
    notes: list[str] = []
    if len(t.cases) > 1:
        base += [Constraint("", "case", a, "the branch torch.export traces")
                 for a in case.assumptions]  # fmt: skip
        shown = " and ".join(str(a) for a in case.assumptions) or "True"
        notes.append(f"torch.export traces one branch of the forward; this is the case {shown}")
    base += _static(case, full, sample, notes)
    ones = _at_least_two(case)
    kept = _keep(base, ones, t.symbols, solve_constraints)
    adm = solve_constraints(base + kept, t.symbols)
    spec = spec_from_admissible(adm, t.inputs, sample)
    complete = len(full.boxes) == 1 and full.exact and all(
        _represents(full.boxes[0].sizes[s], spec.symbols[s])
        for s in full.symbols if s not in full.boxes[0].relations
    )
    if not complete:
        if kept and solve_constraints(base, t.symbols).boxes != adm.boxes:
            notes.append("every dynamic intermediate size is kept >= 2: torch.export "
                         "specialises sizes equal to 1 (0/1 specialisation)")  # fmt: skip
        notes.append("eager torch accepts: " + full.to_text().replace("\n", " | "))
    return ExportSpec(spec.inputs, spec.dims, spec.symbols, complete,
                      tuple(notes) + spec.notes, spec.example)  # fmt: skip


def _case(t: Any, sample: Mapping[sp.Symbol, int] | None) -> Any:
    accepted = [c for c in t.cases if c.rejection is None]
    if sample is not None:
        from derive.networks.quasi import evaluate

        for c in accepted:
            if all(evaluate(a, dict(sample)) for a in c.assumptions):
                return c
    return accepted[0]


def _static(case: Any, full: Admissible, sample: Mapping[sp.Symbol, int] | None,
            notes: list[str]) -> list[Constraint]:  # fmt: skip
    out: list[Constraint] = []
    for hint in case.static:
        for s in sorted(hint.condition.free_symbols, key=lambda s: s.name):
            value = sample.get(s) if sample is not None else full.smallest(s)
            if value is None:
                raise ShapeError(f"{s} must be static for torch.export; give a sample size")
            out.append(Constraint(hint.path, hint.kind, sp.Eq(s, int(value)), hint.reason))
            notes.append(f"{s} static ({value}): {hint.reason} at {hint.path}")
    return out


def _at_least_two(case: Any) -> list[Constraint]:
    seen: dict[sp.Basic, Constraint] = {}
    for layer in case.layers:
        for d in _dims(layer.shape):
            if len(d.free_symbols) == 1 and d not in seen:
                seen[d] = Constraint(layer.path, layer.kind, sp.Ge(d, 2),
                                     "torch.export's 0/1 specialisation")  # fmt: skip
    return list(seen.values())


def _dims(shape: Any) -> list[sp.Expr]:
    if isinstance(shape, tuple) and shape and isinstance(shape[0], tuple):
        return [d for s in shape for d in _dims(s)]
    return [sp.sympify(d) for d in shape]


def _solver() -> Any:
    """``solve_constraints``, each list of conditions solved once (the specification asks
    for the same sets more than once)."""
    from derive.networks.admissible import solve_constraints

    solved: dict[tuple, Admissible] = {}

    def solve(constraints: Sequence[Constraint], symbols: Sequence[sp.Symbol]) -> Admissible:
        key = (tuple(c.condition for c in constraints), tuple(symbols))
        if key not in solved:
            solved[key] = solve_constraints(constraints, symbols)
        return solved[key]

    return solve


def _keep(base: list[Constraint], extra: list[Constraint],
          symbols: Sequence[sp.Symbol], solve_constraints: Any) -> list[Constraint]:  # fmt: skip
    """``extra`` conditions that keep the solution non-empty (all of them, usually)."""
    if solve_constraints(base + extra, symbols).boxes:
        return extra
    kept: list[Constraint] = []
    for c in extra:
        if solve_constraints(base + kept + [c], symbols).boxes:
            kept.append(c)
    return kept


def _represents(values: IntegerSet, spec: DimSpec | int) -> bool:
    """Whether ``spec`` is exactly the set ``values``."""
    if isinstance(spec, int):
        return values.min() == values.max() == spec
    if len(values.runs) != 1:
        return False
    run = values.runs[0]
    low, high = spec.sizes()
    if run.period == 1:
        return spec.multiple == 1 and run.lo == low and run.hi == high
    return (run.period == spec.multiple and run.residues == (spec.offset,)
            and values.min() == low and values.max() == high)  # fmt: skip


def export(module: Any, spec: ExportSpec) -> Any:
    """``torch.export.export(module, spec's example, dynamic_shapes=spec)``."""
    from torch.export import export as run

    return run(module, spec.example_inputs(), dynamic_shapes=spec.dynamic_shapes())

