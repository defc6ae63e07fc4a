r"""Acceptance rules: the conditions under which torch rejects a layer, each with its message.

A :class:`Guard` is one check torch makes, written once as a SymPy condition in the layer's
values (``rejects``), with the argument it names and the message derive raises. A layer's
acceptance rule is the ordered list of its guards; the configuration is accepted exactly when

$$
\neg\,(g_1 \lor g_2 \lor \dots \lor g_m),
$$

the guards being tried in order so that the first that holds names the argument, as torch's
first failing check does. The same guards serve three readers: the size functions raise
from them (:func:`enforce`), ``derive verify`` compiles their disjunction over a grid
exactly as it compiles a size formula (:func:`rejection`), and the explorer prints their
conditions and message templates into JavaScript.

An undecided guard (a symbolic value that may or may not break the rule) is a *domain*
condition by default: the size formula is returned and holds wherever the guard does not.
A guard marked ``settle`` selects the formula itself (``padding='same'`` needs stride 1), so
leaving it undecided would be a guess: :func:`enforce` refuses with a message saying what it
cannot decide.

>>> s = sp.Symbol("s", integer=True)
>>> g = Guard("stride", sp.Lt(s, 1), "stride must be positive, got stride={stride}",
...           (("stride", s),))
>>> enforce([g])  # undecided: a domain condition, the formula holds where s >= 1
>>> enforce([g.at({s: 2})])
>>> enforce([g.at({s: 0})])
Traceback (most recent call last):
    ...
derive.errors.ShapeError: stride must be positive, got stride=0
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import sympy as sp

from derive.errors import ShapeError

__all__ = ["Guard", "enforce", "rejection", "first_rejection", "decided", "show"]


def decided(condition: object) -> bool | None:
    """``True``/``False`` when SymPy has decided ``condition``, ``None`` when it depends.

    Only SymPy's own evaluation is used: a relation between expressions that SymPy leaves
    unevaluated is undecided.

    >>> n = sp.Symbol("n", integer=True, positive=True)
    >>> decided(sp.Lt(n, 1)), decided(sp.Lt(n, 3))
    (False, None)
    """
    if condition is True or condition is sp.true:
        return True
    if condition is False or condition is sp.false:
        return False
    return None


def show(value: object) -> str:
    """A value as messages print it: ints and expressions by ``str``, strings quoted.

    >>> show(3), show("same"), show((1, 2))
    ('3', "'same'", '(1, 2)')
    """
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, tuple):
        return "(" + ", ".join(show(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return str(value)


@dataclass(frozen=True)
class Guard:
    """One condition under which torch rejects a layer configuration.

    ``rejects`` holds exactly where torch raises; ``template`` is the message with ``{name}``
    fields filled from ``fields`` (values shown by :func:`show`); ``argument`` is the argument
    the message names. With ``settle`` the guard must be decided (see the module docstring).
    """

    argument: str
    rejects: sp.Basic
    template: str
    fields: tuple[tuple[str, object], ...] = ()
    settle: bool = False

    def message(self) -> str:
        """The message with its fields filled in."""
        return self.template.format(**{name: show(value) for name, value in self.fields})

    def at(self, values: Mapping[sp.Basic, object]) -> Guard:
        """The guard with symbols replaced by ``values`` (condition and fields)."""

        def put(v: object) -> object:
            if isinstance(v, sp.Basic):
                return v.xreplace({k: sp.sympify(x) for k, x in values.items()})
            if isinstance(v, tuple):
                return tuple(put(x) for x in v)
            return v

        return Guard(
            self.argument,
            put(self.rejects),  # type: ignore[arg-type]
            self.template,
            tuple((name, put(value)) for name, value in self.fields),
            self.settle,
        )


def _undecidable(guard: Guard) -> ShapeError:
    return ShapeError(
        f"cannot decide whether {guard.argument} is accepted: torch rejects where "
        f"{guard.rejects} ({guard.message()}), which depends on the symbols here; "
        f"give {guard.argument} as a number"
    )


def enforce(guards: Iterable[Guard]) -> None:
    """Raise :class:`derive.ShapeError` for the first guard that holds (or must be decided)."""
    for guard in guards:
        verdict = decided(guard.rejects)
        if verdict is True:
            raise ShapeError(guard.message())
        if verdict is None and guard.settle:
            raise _undecidable(guard)


def first_rejection(guards: Sequence[Guard]) -> Guard | None:
    """The first guard that decidedly holds, or None (settle guards are not refused here)."""
    for guard in guards:
        if decided(guard.rejects) is True:
            return guard
    return None


def rejection(guards: Sequence[Guard]) -> sp.Basic:
    r"""The layer's whole rejection condition $g_1 \lor \dots \lor g_m$ (``false`` if none)."""
    return sp.Or(*(g.rejects for g in guards)) if guards else sp.false
