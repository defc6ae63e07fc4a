r"""Which input sizes a network accepts, as an exact set of integers.

Tracing a network with symbolic sizes (:func:`derive.networks.trace.trace`) yields the
conditions its ``forward`` needs: every layer's output size at least 1, a Linear layer's
``in_features`` equal to the flattened size, equal sizes in residual additions... This
module solves them.

**One size.** Each condition compares quasi-linear formulas (:mod:`derive.networks.quasi`):
with period $P$, the difference $D$ of the two sides satisfies $D(n + kP) = D(n) + k\,\delta$
with $\delta = rP$. So along each residue class $n = n_0 + kP$ ($1 \le n_0 \le P$, $k \ge 0$)
every condition is a linear inequality or equation in $k$, solved exactly; the classes are
then put back together. For LeNet, $\lfloor H/4 \rfloor - 2 = 5$ gives one $k$ in each of
the 4 classes: $28 \le H \le 31$.

**Several sizes.** A Linear layer after ``Flatten`` fixes a product,
$C \cdot h(H) \cdot w(W) = \text{in\_features}$. Sizes are integers, so each factor is a
divisor: the product splits into finitely many cases $h(H) = d_1,\ w(W) = d_2$ with
$C d_1 d_2 = \text{in\_features}$, each solved size by size. The answer is a union of
*boxes* (one integer set per size). A condition derive cannot split this way is reported
in :attr:`Admissible.unresolved` (then the boxes are an outer bound, and
:meth:`Admissible.accepts` still decides single points exactly).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

import sympy as sp
from sympy.core.relational import Relational

from derive.errors import ShapeError
from derive.networks.quasi import evaluate, quasi
from derive.params import integer_valued

if TYPE_CHECKING:  # pragma: no cover
    from derive.networks.rules import Constraint

__all__ = [
    "satisfiable",
    "IntegerSet",
    "Run",
    "Box",
    "Admissible",
    "solve",
    "solve_constraints",
    "expand_cases",
]

#: largest period :func:`solve` handles (residue classes are enumerated)
MAX_PERIOD = 1 << 16
#: most boxes kept while splitting products into cases
MAX_BOXES = 4096

KSet = list[tuple[int, "int | None"]]


# -- integer sets ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """Integers ``lo..hi`` (``hi=None``: no end) congruent to one of ``residues`` mod ``period``.

    ``period == 1`` is a plain interval.
    """

    lo: int
    hi: int | None
    period: int = 1
    residues: tuple[int, ...] = (0,)

    def __contains__(self, n: int) -> bool:
        inside = self.lo <= n and (self.hi is None or n <= self.hi)
        return inside and n % self.period in self.residues


@dataclass(frozen=True)
class IntegerSet:
    """A set of positive integers as a sorted union of :class:`Run` s.

    >>> s = IntegerSet((Run(28, 31),))
    >>> 27 in s, 28 in s, s.min(), s.to_text("H")
    (False, True, 28, '28 <= H <= 31')
    """

    runs: tuple[Run, ...] = ()

    def __contains__(self, n: object) -> bool:
        return isinstance(n, int) and any(n in r for r in self.runs)

    def is_empty(self) -> bool:
        return not self.runs

    def is_finite(self) -> bool:
        return all(r.hi is not None for r in self.runs)

    def min(self) -> int | None:
        """The smallest member (``None`` when empty)."""
        if not self.runs:
            return None
        first = self.runs[0]
        return next(n for n in range(first.lo, first.lo + first.period) if n in first)

    def max(self) -> int | None:
        """The largest member (``None`` when empty or unbounded)."""
        if not self.runs or not self.is_finite():
            return None
        last = self.runs[-1]
        assert last.hi is not None
        return next(n for n in range(last.hi, last.hi - last.period, -1) if n in last)

    def to_text(self, name: str) -> str:
        """``'28 <= H <= 31'``, ``'H >= 12'``, ``'H = 7 or 9 <= H <= 10'``..."""
        if not self.runs:
            return f"no {name}"
        return " or ".join(_run_text(r, name, "<=", ">=", "mod") for r in self.runs)

    def to_formula(self, name: str) -> str:
        """Each run as ``name = P*k + r`` over a range of ``k`` (``H = 16*k, k >= 1``); runs
        with several residues list them.

        >>> IntegerSet((Run(16, None, 16, (0,)),)).to_formula("H")
        'H = 16*k with k >= 1'
        >>> IntegerSet((Run(3, 3), Run(7, 30, 8, (7,)))).to_formula("W")
        'W = 3 or W = 8*k + 7 with 0 <= k <= 2'
        """
        if not self.runs:
            return f"no {name}"
        return " or ".join(_run_formula(r, name) for r in self.runs)

    def to_latex(self, name: str) -> str:
        r"""The same as :meth:`to_text` in LaTeX (``28 \le H \le 31``)."""
        if not self.runs:
            return r"\varnothing"
        parts = (_run_text(r, name, r"\le", r"\ge", "latex") for r in self.runs)
        return r" \;\text{or}\; ".join(parts)


def _run_formula(r: Run, name: str) -> str:
    if r.period == 1 or len(r.residues) != 1:
        return _run_text(r, name, "<=", ">=", "mod")
    residue = r.residues[0]
    first = r.lo + (residue - r.lo) % r.period
    k_lo = (first - residue) // r.period
    k_hi = None if r.hi is None else (r.hi - residue) // r.period
    form = f"{r.period}*k" + (f" + {residue}" if residue else "")
    if k_hi == k_lo:
        return f"{name} = {r.period * k_lo + residue}"
    span = f"k >= {k_lo}" if k_hi is None else f"{k_lo} <= k <= {k_hi}"
    return f"{name} = {form} with {span}"


def _run_text(r: Run, name: str, le: str, ge: str, style: str) -> str:
    if r.period == 1:
        if r.hi is None:
            return f"{name} {ge} {r.lo}"
        if r.hi == r.lo:
            return f"{name} = {r.lo}"
        return f"{r.lo} {le} {name} {le} {r.hi}"
    base = f"{name} {ge} {r.lo}" if r.hi is None else f"{r.lo} {le} {name} {le} {r.hi}"
    residues = ", ".join(str(x) for x in r.residues)
    if style == "latex":
        residues = residues if len(r.residues) == 1 else rf"\{{{residues}\}}"
        return rf"{base},\ {name} \bmod {r.period} \in {residues}" if len(r.residues) > 1 else (
            rf"{base},\ {name} \equiv {residues} \pmod{{{r.period}}}"
        )
    which = residues if len(r.residues) == 1 else "{" + residues + "}"
    return f"{base} with {name} mod {r.period} in {which}" if len(r.residues) > 1 else (
        f"{base} with {name} = {which} mod {r.period}"
    )


# -- solving one size ----------------------------------------------------------------------


def _atoms(condition: sp.Basic) -> list[Relational]:
    if isinstance(condition, Relational):
        return [condition]
    if isinstance(condition, (sp.And, sp.Or, sp.Not)):
        out: list[Relational] = []
        for a in condition.args:
            for atom in _atoms(a):
                if atom not in out:
                    out.append(atom)
        return out
    if condition in (sp.true, sp.false, True, False):
        return []
    raise ShapeError(f"cannot solve the condition {condition}")


_ALL: KSet = [(0, None)]


def _relation_kset(kind: type, v0: Fraction, delta: Fraction) -> KSet:
    """``{k >= 0 : (v0 + k*delta) <kind> 0}``."""
    if kind in (sp.Le, sp.Lt):
        kind, v0, delta = (sp.Ge if kind is sp.Le else sp.Gt), -v0, -delta
    if delta == 0:
        holds = {sp.Eq: v0 == 0, sp.Ne: v0 != 0, sp.Ge: v0 >= 0, sp.Gt: v0 > 0}[kind]
        return list(_ALL) if holds else []
    root = -v0 / delta
    if kind in (sp.Eq, sp.Ne):
        hit: KSet = [(int(root), int(root))] if root.denominator == 1 and root >= 0 else []
        return hit if kind is sp.Eq else _complement(hit)
    if delta > 0:
        lo = math.ceil(root) if kind is sp.Ge else math.floor(root) + 1
        return [(max(lo, 0), None)]
    hi = math.floor(root) if kind is sp.Ge else math.ceil(root) - 1
    return [(0, hi)] if hi >= 0 else []


def _complement(ks: KSet) -> KSet:
    out: KSet = []
    start = 0
    for lo, hi in ks:
        if lo > start:
            out.append((start, lo - 1))
        if hi is None:
            return out
        start = hi + 1
    out.append((start, None))
    return out


def _intersect(a: KSet, b: KSet) -> KSet:
    out: KSet = []
    for lo1, hi1 in a:
        for lo2, hi2 in b:
            lo = max(lo1, lo2)
            his = [h for h in (hi1, hi2) if h is not None]
            hi = min(his) if his else None
            if hi is None or lo <= hi:
                out.append((lo, hi))
    return _normalize(out)


def _union(a: KSet, b: KSet) -> KSet:
    return _normalize(a + b)


def _normalize(ks: KSet) -> KSet:
    out: KSet = []
    for lo, hi in sorted(ks, key=lambda p: p[0]):
        if out:
            plo, phi = out[-1]
            if phi is None:
                continue
            if lo <= phi + 1:
                out[-1] = (plo, None if hi is None else max(phi, hi))
                continue
        out.append((lo, hi))
    return out


def _combine(condition: sp.Basic, leaves: dict[Relational, KSet]) -> KSet:
    if condition in (sp.true, True):
        return list(_ALL)
    if condition in (sp.false, False):
        return []
    if isinstance(condition, Relational):
        return leaves[condition]
    if isinstance(condition, sp.Not):
        return _complement(_combine(condition.args[0], leaves))
    parts = [_combine(a, leaves) for a in condition.args]
    result = parts[0]
    for p in parts[1:]:
        result = _intersect(result, p) if isinstance(condition, sp.And) else _union(result, p)
    return result


def solve(
    condition: sp.Basic, symbol: sp.Symbol, max_period: int = MAX_PERIOD
) -> IntegerSet | None:
    r"""All positive integers ``n`` with ``condition`` true at ``symbol = n``, exactly.

    ``condition`` is a SymPy relation (or ``And``/``Or``/``Not`` of relations) between
    quasi-linear formulas in ``symbol`` alone; ``None`` when it is not of that form.

    >>> H = sp.Symbol("H", integer=True, positive=True)
    >>> solve(sp.Eq(sp.floor(H / 4) - 2, 5), H).to_text("H")
    '28 <= H <= 31'
    >>> solve(sp.Eq(2 * sp.floor(H / 2), H) & (H >= 4), H).to_text("H")
    'H >= 4 with H = 0 mod 2'
    """
    condition = expand_cases(sp.sympify(condition))
    extra = condition.free_symbols - {symbol}
    if extra:
        return None
    atoms = _atoms(condition)
    differences = []
    period = 1
    for atom in atoms:
        d = atom.lhs - atom.rhs
        q = quasi(d, symbol)
        if q is None:
            return None
        differences.append((atom, d, q))
        period = math.lcm(period, q.period)
    if period > max_period:
        return None
    classes: list[tuple[int, KSet]] = []
    for n0 in range(1, period + 1):
        leaves = {}
        for atom, d, q in differences:
            v0 = evaluate(d, {symbol: n0})
            assert isinstance(v0, Fraction)
            leaves[atom] = _relation_kset(type(atom), v0, q.slope * period)
        ks = _combine(condition, leaves)
        if ks:
            classes.append((n0, ks))
    return _assemble(classes, period)


def _assemble(classes: Sequence[tuple[int, KSet]], period: int) -> IntegerSet:
    """Residue classes ``n0 + k*period`` (k in a KSet) merged into sorted runs."""
    pieces: list[tuple[int, int | None, int]] = []  # (lo, hi, residue)
    for n0, ks in classes:
        for lo, hi in ks:
            pieces.append((n0 + lo * period, None if hi is None else n0 + hi * period, n0 % period))
    if not pieces:
        return IntegerSet()
    cuts = sorted({p[0] for p in pieces} | {p[1] + 1 for p in pieces if p[1] is not None})
    segments: list[tuple[int, int | None]] = [
        (a, b - 1) for a, b in zip(cuts, cuts[1:])
    ] + [(cuts[-1], None)]
    runs: list[Run] = []
    for lo, hi in segments:
        residues = sorted({
            r for plo, phi, r in pieces
            if plo <= (lo if hi is None else hi) and (phi is None or phi >= lo)
        })  # fmt: skip
        if not residues:
            continue
        if len(residues) == period:
            _append(runs, Run(lo, hi))
        elif hi is not None and hi - lo < 2 * period:
            for n in range(lo, hi + 1):
                if n % period in residues:
                    _append(runs, Run(n, n))
        else:
            runs.append(Run(lo, hi, period, tuple(residues)))
    return IntegerSet(tuple(runs))


def _append(runs: list[Run], run: Run) -> None:
    if runs:
        last = runs[-1]
        if last.period == 1 and last.hi is not None and last.hi + 1 >= run.lo:
            runs[-1] = Run(last.lo, run.hi if run.hi is None else max(run.hi, last.hi))
            return
    runs.append(run)


def _quasi_atom(atom: Relational) -> bool:
    d = atom.lhs - atom.rhs
    return all(quasi(d, s) is not None for s in d.free_symbols)


def expand_cases(condition: sp.Basic) -> sp.Basic:
    r"""Split relations over non-periodic case distinctions into ``And``/``Or`` of cases.

    Broadcasting gives sizes like $\begin{cases} b & a = 1 \\ a & \text{else}\end{cases}$,
    whose condition flips once instead of periodically; a relation $R$ over such a size
    becomes $(a = 1 \wedge R(b)) \vee (a \ne 1 \wedge R(a))$. Periodic case splits (pooling's
    ``ceil_mode``) are left alone: :func:`solve` handles them directly.
    """
    if isinstance(condition, Relational):
        if _quasi_atom(condition):
            return condition
        # innermost case splits first (their branches hold no further splits)
        inner = [
            p for p in condition.atoms(sp.Piecewise)
            if not any(e.has(sp.Piecewise) or c.has(sp.Piecewise) for e, c in p.args)
        ]  # fmt: skip
        if not inner:
            return condition
        piece = sorted(inner, key=sp.default_sort_key)[0]
        cases, previous = [], []
        for value, cond in piece.args:
            branch = type(condition)(*[side.xreplace({piece: value}) for side in condition.args])
            cases.append(sp.And(expand_cases(cond), *[sp.Not(p) for p in previous],
                                expand_cases(branch)))  # fmt: skip
            previous.append(expand_cases(cond))
        return sp.Or(*cases)
    if isinstance(condition, (sp.And, sp.Or, sp.Not)):
        return condition.func(*[expand_cases(a) for a in condition.args])
    return condition


# -- several sizes -------------------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    """One case of the answer: for each size, its set of accepted values (independently),
    and ``relations`` tying sizes together (``W = H``): a size in :attr:`relations` is the
    given formula of the others (its set in :attr:`sizes` is that formula's image)."""

    sizes: dict[sp.Symbol, IntegerSet]
    conditions: dict[sp.Symbol, sp.Basic] = field(repr=False, compare=False)
    relations: dict[sp.Symbol, sp.Expr] = field(default_factory=dict)

    def __contains__(self, point: Mapping[sp.Symbol, int]) -> bool:
        if not all(point[s] in v for s, v in self.sizes.items()):
            return False
        values = {s: sp.Integer(point[s]) for s in self.sizes}
        return all(point[s] == f.xreplace(values) for s, f in self.relations.items())

    def to_text(self) -> str:
        parts = [v.to_text(s.name) for s, v in self.sizes.items() if s not in self.relations]
        return ", ".join(parts + [f"{s} = {f}" for s, f in self.relations.items()])

    def to_latex(self) -> str:
        parts = [v.to_latex(sp.latex(s)) for s, v in self.sizes.items()
                 if s not in self.relations]  # fmt: skip
        parts += [f"{sp.latex(s)} = {sp.latex(f)}" for s, f in self.relations.items()]
        return r",\quad ".join(parts)


@dataclass(frozen=True)
class Admissible:
    """The input sizes a network accepts: a union of :class:`Box` es (exact unless
    :attr:`unresolved` lists conditions derive could not split), plus the raw conditions."""

    symbols: tuple[sp.Symbol, ...]
    boxes: tuple[Box, ...]
    constraints: tuple[Constraint, ...]
    unresolved: tuple[Constraint, ...]

    @property
    def exact(self) -> bool:
        """True when :attr:`boxes` describe the set exactly."""
        return not self.unresolved

    def is_empty(self) -> bool:
        return self.exact and not self.boxes

    def _point(self, values: Mapping[sp.Symbol, int] | Sequence[int]) -> dict[sp.Symbol, int]:
        if isinstance(values, Mapping):
            return {s: int(values[s]) for s in self.symbols}
        if len(values) != len(self.symbols):
            raise ShapeError(
                f"expected {len(self.symbols)} sizes for {[s.name for s in self.symbols]}, "
                f"got {tuple(values)}"
            )
        return {s: int(v) for s, v in zip(self.symbols, values)}

    def accepts(self, values: Mapping[sp.Symbol, int] | Sequence[int]) -> bool:
        """Every condition evaluated exactly at one point (the ground truth, always exact)."""
        point = self._point(values)
        return all(evaluate(c.condition, point) for c in self.constraints)

    def __contains__(self, values: Mapping[sp.Symbol, int] | Sequence[int]) -> bool:
        point = self._point(values)
        if any(point[s] < 1 for s in self.symbols):
            return False
        in_boxes = any(point in box for box in self.boxes)
        return in_boxes and (self.exact or self.accepts(point))

    def smallest(self, symbol: sp.Symbol) -> int | None:
        """The smallest accepted value of one size (over all boxes)."""
        values = [b.sizes[symbol].min() for b in self.boxes]
        values = [v for v in values if v is not None]
        return min(values) if values else None

    def to_text(self) -> str:
        """One line per box; conditions derive could not split are listed after."""
        if not self.symbols:
            return "accepted" if self.accepts({}) else "rejected"
        lines = [box.to_text() for box in self.boxes] or ["no input size is accepted"]
        for c in self.unresolved:
            lines.append(f"and (not split by derive) {c.condition}   [{c.path} ({c.kind})]")
        return "\n".join(lines)


def _univariate(condition: sp.Basic) -> sp.Symbol | None:
    free = condition.free_symbols
    if len(free) != 1:
        return None
    s = next(iter(free))
    try:
        atoms = _atoms(condition)
    except ShapeError:
        return None
    if all(quasi(a.lhs - a.rhs, s) is not None for a in atoms):
        return s
    return None


Alternative = dict[sp.Symbol, sp.Basic]


def _and(a: sp.Basic | None, b: sp.Basic) -> sp.Basic:
    return b if a is None else sp.And(a, b)


def _signed_divisors(m: int) -> list[int]:
    ds = sp.divisors(abs(m))
    return [int(d) for d in ds] + [-int(d) for d in ds]


def _factor_cases(factors: Sequence[sp.Expr], m: int) -> Iterable[list[tuple[sp.Expr, int]]]:
    """Every way of giving each integer factor a value so that their product is ``m``."""
    if len(factors) == 1:
        yield [(factors[0], m)]
        return
    for d in _signed_divisors(m):
        for rest in _factor_cases(factors[1:], m // d):
            yield [(factors[0], d), *rest]


def _product_clause(condition: sp.Basic) -> list[Alternative] | None:
    r"""``Eq(c * f1 * f2 * ... + k, v)`` with integer univariate factors, split into cases:
    each factor takes a divisor of $(v - k)/c$ (a zero product: some factor is zero)."""
    if not isinstance(condition, sp.Eq):
        return None
    terms = sp.Add.make_args(condition.lhs - condition.rhs)
    constant = sp.Add(*[t for t in terms if t.is_Number])
    rest = [t for t in terms if not t.is_Number]
    if len(rest) != 1 or not constant.is_Rational:
        return None
    coefficient, product = sp.factor_terms(rest[0]).as_coeff_Mul()
    factors = _factors(product)
    if factors is None or not coefficient.is_Rational or coefficient == 0:
        return None
    quotient = -constant / coefficient
    if not quotient.is_Integer:
        return []  # a product of integers is an integer: no case at all
    if quotient == 0:
        return [{next(iter(f.free_symbols)): sp.Eq(f, 0)} for f in factors]
    alternatives: list[Alternative] = []
    for case in _factor_cases(factors, int(quotient)):
        alt: Alternative = {}
        for f, value in case:
            s = next(iter(f.free_symbols))
            alt[s] = _and(alt.get(s), sp.Eq(f, value))
        alternatives.append(alt)
    return alternatives


def _factors(product: sp.Expr) -> list[sp.Expr] | None:
    """The integer-valued, quasi-linear, one-size factors of ``product`` (None otherwise)."""
    factors: list[sp.Expr] = []
    for f in sp.Mul.make_args(product):
        if isinstance(f, sp.Pow) and f.exp.is_Integer and f.exp > 0:
            factors += [f.base] * int(f.exp)
        else:
            factors.append(f)
    for f in factors:
        if not integer_valued(f) or len(f.free_symbols) != 1:
            return None
        if quasi(f, next(iter(f.free_symbols))) is None:
            return None
    return factors


def _dnf(condition: sp.Basic) -> list[Alternative] | None:
    """A condition as alternatives (one must hold), each a conjunction of one condition per
    size; ``None`` when some part ties sizes together in a way derive cannot split."""
    s = _univariate(condition)
    if s is not None:
        return [{s: condition}]
    if isinstance(condition, sp.Or):
        alternatives: list[Alternative] = []
        for a in condition.args:
            part = _dnf(a)
            if part is None:
                return None
            alternatives += part
        return alternatives
    if isinstance(condition, sp.And):
        product: list[Alternative] = [{}]
        for a in condition.args:
            part = _dnf(a)
            if part is None:
                return None
            product = [_merge(left, right) for left in product for right in part]
            if len(product) > MAX_BOXES:
                return None
        return product
    return _product_clause(condition)


def _merge(a: Alternative, b: Alternative) -> Alternative:
    merged = dict(a)
    for s, cond in b.items():
        merged[s] = _and(merged.get(s), cond)
    return merged


class _Solver:
    def __init__(self, max_period: int = MAX_PERIOD) -> None:
        self.cache: dict[tuple[sp.Basic, sp.Symbol], IntegerSet | None] = {}
        self.max_period = max_period

    def solve(self, condition: sp.Basic, symbol: sp.Symbol) -> IntegerSet | None:
        key = (condition, symbol)
        if key not in self.cache:
            if len(self.cache) > 20000:
                self.cache.clear()
            self.cache[key] = solve(condition, symbol, self.max_period)
        return self.cache[key]

    def nonempty(self, condition: sp.Basic, symbol: sp.Symbol) -> bool | None:
        solved = self.solve(condition, symbol)
        return None if solved is None else not solved.is_empty()

    def subset(self, a: sp.Basic, b: sp.Basic, symbol: sp.Symbol) -> bool:
        diff = self.solve(sp.And(a, sp.Not(b)), symbol)
        return diff is not None and diff.is_empty()


#: the solver deciding which sides of a size branch are possible: quick, so with a smaller
#: period bound (a side it cannot decide is explored)
BRANCH_PERIOD = 1 << 8
_SHARED = _Solver(BRANCH_PERIOD)


def solve_constraints(
    constraints: Sequence[Constraint], symbols: Sequence[sp.Symbol]
) -> Admissible:
    """Solve the conditions a trace collected over the input ``symbols``.

    An equation tying two sizes linearly (``W = H``, from ``x + x.transpose(-1, -2)`` or an
    ``assert``) eliminates one of them first: it is substituted everywhere and kept as a
    relation of every box.
    """
    relations, constraints = _eliminate(constraints, symbols)
    solver = _Solver()
    clauses: list[list[Alternative]] = []
    unresolved: list[Constraint] = []
    for c in constraints:
        if not c.condition.free_symbols:
            if not evaluate(c.condition, {}):
                clauses.append([])
            continue
        split = _dnf(expand_cases(c.condition))
        if split is None:
            unresolved.append(c)
        else:
            clauses.append(split)
    # univariate clauses first (one alternative each), so products split against them
    clauses.sort(key=len)
    boxes: list[Alternative] = [{}]
    for clause in clauses:
        grown: list[Alternative] = []
        for box in boxes:
            for alt in clause:
                merged = _merge(box, alt)
                if all(_nonempty(solver, cond, s) for s, cond in merged.items()):
                    if merged not in grown:
                        grown.append(merged)
        boxes = _prune(solver, grown)
        if len(boxes) > MAX_BOXES:
            raise ShapeError(f"the admissible sizes split into more than {MAX_BOXES} cases")
    result: list[Box] = []
    for box in boxes:
        sizes, conditions = {}, {}
        for s in symbols:
            if s in relations:
                continue
            cond = box.get(s, sp.true)
            conditions[s] = cond
            solved = solver.solve(cond, s) if cond is not sp.true else IntegerSet((Run(1, None),))
            if solved is None:  # every size as the bound; membership then decided exactly
                unresolved.append(_unsolved(cond, s))
                solved = IntegerSet((Run(1, None),))
            sizes[s] = solved
        for s, f in relations.items():
            sizes[s] = _image(sizes[next(iter(f.free_symbols))], f)
        result.append(Box({s: sizes[s] for s in symbols}, conditions, dict(relations)))
    result = [b for b in result if all(not v.is_empty() for v in b.sizes.values())]
    result.sort(key=lambda b: tuple(b.sizes[s].min() or 0 for s in symbols))
    return Admissible(tuple(symbols), tuple(result), tuple(constraints), tuple(unresolved))


def _unsolved(condition: sp.Basic, symbol: sp.Symbol) -> Constraint:
    """A box's condition on one size that the solver could not turn into an integer set."""
    from derive.networks.rules import Constraint

    return Constraint("", "condition", condition,
                      f"derive could not solve {condition} for {symbol} exactly")  # fmt: skip


def _eliminate(constraints: Sequence[Constraint], symbols: Sequence[sp.Symbol]
               ) -> tuple[dict[sp.Symbol, sp.Expr], list[Constraint]]:  # fmt: skip
    """Linear equations between two sizes, ``a*s + b*t + c = 0`` with ``b = ±1``, solved for
    ``t`` (the later size) and substituted into every other condition (which gain ``t >= 1``)."""
    from derive.networks.rules import Constraint

    relations: dict[sp.Symbol, sp.Expr] = {}
    rest = list(constraints)
    changed = True
    while changed:
        changed = False
        for c in rest:
            found = _linear_relation(c.condition, symbols)
            if found is None:
                continue
            t, f = found
            relations = {s: g.xreplace({t: f}) for s, g in relations.items()}
            relations[t] = f
            rest = [Constraint(d.path, d.kind, d.condition.xreplace({t: f}), d.reason)
                    for d in rest if d is not c]  # fmt: skip
            rest.append(Constraint(c.path, c.kind, sp.Ge(f, 1), f"{t} = {f} is a size"))
            changed = True
            break
    return relations, rest


def _linear_relation(condition: sp.Basic, symbols: Sequence[sp.Symbol]
                     ) -> tuple[sp.Symbol, sp.Expr] | None:  # fmt: skip
    if not isinstance(condition, sp.Eq) or len(condition.free_symbols) != 2:
        return None
    d = condition.lhs - condition.rhs
    order = [s for s in symbols if s in d.free_symbols]
    if len(order) != 2:
        return None
    try:
        poly = sp.Poly(d, *order)
    except sp.PolynomialError:
        return None
    if poly.total_degree() != 1 or not all(c.is_Integer for c in poly.coeffs()):
        return None
    s, t = order
    a, b = poly.coeff_monomial(s), poly.coeff_monomial(t)
    if b not in (1, -1) or a * b >= 0:  # t = -(a s + c) / b, increasing in s
        return None
    return t, sp.expand(-(a * s + poly.coeff_monomial(1)) / b)


def _image(values: IntegerSet, f: sp.Expr) -> IntegerSet:
    """``{f(n) : n in values}`` for ``f = a n + c`` with ``a >= 1``."""
    (n,) = f.free_symbols
    a, c = int(f.coeff(n)), int(f.subs(n, 0))
    runs = []
    for r in values.runs:
        period = a * r.period
        residues = tuple(sorted({(a * x + c) % period for x in r.residues}))
        runs.append(Run(a * r.lo + c, None if r.hi is None else a * r.hi + c, period, residues))
    return IntegerSet(tuple(runs))


@functools.lru_cache(maxsize=4096)
def satisfiable(condition: sp.Basic) -> bool | None:
    """Whether some positive integer sizes satisfy ``condition``; ``None`` when derive cannot
    tell (the condition ties sizes together in a way :func:`solve_constraints` cannot split).

    >>> H, W = sp.symbols("H W", integer=True, positive=True)
    >>> satisfiable(sp.Eq(sp.Mod(H, 2), 1) & sp.Eq(sp.Mod(H + 1, 2), 1))
    False
    >>> satisfiable(sp.Eq(sp.Mod(H, 2), 1) & (W > 3))
    True
    """
    condition = expand_cases(condition)
    if condition in (sp.true, True):
        return True
    if condition in (sp.false, False):
        return False
    if not condition.free_symbols:
        return bool(evaluate(condition, {}))
    alternatives = _dnf(condition)
    if alternatives is None:
        return None
    unknown = False
    for alternative in alternatives:
        verdicts = [_SHARED.nonempty(cond, s) for s, cond in alternative.items()]
        if all(v is True for v in verdicts):
            return True
        if all(v is not False for v in verdicts):
            unknown = True
    return None if unknown else False


def _nonempty(solver: _Solver, condition: sp.Basic, symbol: sp.Symbol) -> bool:
    solved = solver.solve(condition, symbol)
    return solved is None or not solved.is_empty()


def _prune(solver: _Solver, boxes: list[Alternative]) -> list[Alternative]:
    """Drop boxes contained in another box."""
    kept: list[Alternative] = []
    for i, box in enumerate(boxes):
        contained = False
        for j, other in enumerate(boxes):
            if i == j:
                continue
            inside = all(
                s not in other or solver.subset(box.get(s, sp.true), other[s], s)
                for s in set(box) | set(other)
            )
            if inside and (j < i or not _same_box(solver, box, other)):
                contained = True
                break
        if not contained:
            kept.append(box)
    return kept


def _same_box(solver: _Solver, a: Alternative, b: Alternative) -> bool:
    return all(
        solver.subset(b.get(s, sp.true), a.get(s, sp.true), s) for s in set(a) | set(b)
    )
