r"""Size-dependent branches of a forward, explored one case at a time.

When a forward tests a condition on sizes (``if x.shape[-1] % 2:``), derive does not pick a
sample: the condition is either decided for every size (proved, or implied by the
conditions already assumed on this path), or it splits the sizes into two cases and the
forward is run once for each. Each run is a :class:`Path`: the list of its decisions, the
first ones replayed from a prefix, the new ones taken ``True`` first. :class:`Explorer`
walks the tree of decisions depth first, so the cases found partition the sizes: every
input follows exactly one path, whose *assumptions* are the conditions it took.

Whether a side of a condition is possible at all is decided exactly for conditions on one
size (:func:`derive.networks.admissible.satisfiable`); a side that cannot be ruled out is
explored.

No torch here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field

import sympy as sp

from derive.errors import ShapeError
from derive.networks.admissible import satisfiable
from derive.networks.quasi import for_all_sizes

__all__ = [
    "Decision",
    "Path",
    "Explorer",
    "branch",
    "pinned",
    "DECIDER",
    "PATH",
    "MAX_PATHS",
    "MAX_DECISIONS",
    "TooManyCases",
    "Unsupported",
]

#: most cases (runs of the forward) explored before derive refuses
MAX_PATHS = 256
#: most size-dependent decisions along one run (a loop on a size would never end)
MAX_DECISIONS = 64
#: most assumptions a new condition is checked against (a side that cannot be ruled out
#: is explored; the cases found still partition the sizes)
MAX_CHECKED = 12


class Unsupported(ShapeError):
    """derive cannot follow this forward (an op without a rule, a data-dependent branch...).

    A refusal, never a statement about the sizes torch accepts.
    """


class TooManyCases(Unsupported):
    """The forward's size-dependent branches split into more cases than derive explores."""


#: how the running forward decides a size condition (set while derive runs a forward)
DECIDER: ContextVar[Callable[[sp.Basic], bool] | None] = ContextVar("derive_decider", default=None)
#: the running forward's path (to read sizes its assumptions pin to one value)
PATH: ContextVar[Path | None] = ContextVar("derive_path", default=None)


def pinned(expr: sp.Expr) -> sp.Expr | None:
    """``expr`` as a number when the running forward's assumptions fix it (else None)."""
    path = PATH.get()
    return None if path is None else path.pinned(expr)


def branch(condition: sp.Basic) -> bool:
    """Which way to go at a size condition: ``True``/``False`` when it is decided for every
    size, else the current run's choice (a case split). Outside a run an undecided condition
    is refused.

    >>> n = sp.Symbol("n", integer=True, positive=True)
    >>> branch(sp.Ge(n, 1))
    True
    >>> branch(sp.Ge(n, 2))
    Traceback (most recent call last):
        ...
    derive.errors.ShapeError: the condition n >= 2 depends on the sizes...
    """
    verdict = for_all_sizes(condition)
    if verdict is not None:
        return verdict
    decider = DECIDER.get()
    if decider is None:
        raise ShapeError(
            f"the condition {condition} depends on the sizes, and no traced forward is "
            "running to split it into cases"
        )
    return decider(condition)


@dataclass(frozen=True)
class Decision:
    """One size condition met along a run, the side taken, and whether both were possible."""

    condition: sp.Basic
    taken: bool
    forked: bool = True

    @property
    def assumed(self) -> sp.Basic:
        """The condition as it holds on this side."""
        return self.condition if self.taken else _negate(self.condition)


def _negate(condition: sp.Basic) -> sp.Basic:
    return sp.Not(condition) if not isinstance(condition, sp.Not) else condition.args[0]


@dataclass
class Path:
    """One run of the forward: replays ``prefix``, then takes new conditions ``True`` first."""

    prefix: tuple[Decision, ...]
    decisions: list[Decision] = field(default_factory=list)

    @property
    def assumptions(self) -> tuple[sp.Basic, ...]:
        """The conditions this run assumed (the sides of the conditions that split)."""
        return tuple(d.assumed for d in self.decisions if d.forked)

    def decide(self, condition: sp.Basic) -> bool:
        """Which way the forward goes at ``condition`` on this run."""
        verdict = for_all_sizes(condition)
        if verdict is not None:
            return verdict
        index = len(self.decisions)
        if index < len(self.prefix):
            replayed = self.prefix[index]
            if replayed.condition != condition:
                raise ShapeError(
                    "the forward does not repeat itself: a second run met the condition "
                    f"{condition} where the first met {replayed.condition}"
                )
            self.decisions.append(replayed)
            return replayed.taken
        if index >= MAX_DECISIONS:
            raise TooManyCases(
                f"more than {MAX_DECISIONS} size-dependent decisions along one run (a loop "
                f"whose count depends on a size?); the last was {condition}"
            )
        decision = self._new(condition)
        self.decisions.append(decision)
        return decision.taken

    def pinned(self, expr: sp.Expr) -> sp.Expr | None:
        """``expr``'s value when this run's assumptions leave each of its sizes one value
        (``assert h == 8`` pins ``h``), else None."""
        from derive.networks.admissible import BRANCH_PERIOD, solve

        values = {}
        for s in expr.free_symbols:
            about = [a for a in self.assumptions if a.free_symbols == {s}]
            solved = solve(sp.And(*about), s, BRANCH_PERIOD) if about else None
            if solved is None or solved.min() is None or solved.min() != solved.max():
                return None
            values[s] = sp.Integer(solved.min())
        return expr.xreplace(values)

    def _new(self, condition: sp.Basic) -> Decision:
        known = tuple(a for a in self.assumptions if a.free_symbols & condition.free_symbols)
        if len(known) > MAX_CHECKED:  # deep in a loop on sizes: explore both sides
            return Decision(condition, True, forked=True)
        yes = satisfiable(sp.And(*known, condition))
        no = satisfiable(sp.And(*known, _negate(condition)))
        if yes is False:
            return Decision(condition, False, forked=False)
        if no is False:
            return Decision(condition, True, forked=False)
        return Decision(condition, True, forked=True)


class Explorer:
    """Every path through a forward's size-dependent decisions, depth first.

    >>> n = sp.Symbol("n", integer=True, positive=True)
    >>> explorer, seen = Explorer(), []
    >>> for path in explorer:
    ...     seen.append(("odd" if path.decide(sp.Eq(sp.Mod(n, 2), 1)) else "even",
    ...                  path.decide(sp.Ge(n, 1))))
    >>> seen
    [('odd', True), ('even', True)]
    """

    def __init__(self, max_paths: int = MAX_PATHS) -> None:
        self.max_paths = max_paths
        self.count = 0

    def __iter__(self) -> Iterator[Path]:
        pending: list[tuple[Decision, ...]] = [()]
        while pending:
            self.count += 1
            if self.count > self.max_paths:
                raise TooManyCases(
                    f"the forward's size-dependent branches split into more than "
                    f"{self.max_paths} cases"
                )
            prefix = pending.pop()
            path = Path(prefix)
            yield path
            for i in range(len(path.decisions) - 1, len(prefix) - 1, -1):
                d = path.decisions[i]
                if d.forked:
                    flipped = Decision(d.condition, not d.taken, True)
                    pending.append((*path.decisions[:i], flipped))
