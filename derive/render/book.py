r"""Facts quoted from the book, asserted equal to what the build derived.

A spec's ``[steps.book]`` table states what the book says about a step: the full output, its
shape, some elements and the products that make them, the values that occur, a formula. This
is the one place those numbers live; the build asserts each against derive's result here and
the page lists what was asserted (the sentences returned). A disagreement raises
:class:`derive.specs.BuildError` naming the fact's field.

>>> from derive.specs import parse_spec
>>> spec = parse_spec('''
... title = "T"
... summary = "S"
... [tensors.X]
... values = [[[1, 2], [3, 4]]]
... [[steps]]
... id = "s"
... title = "S"
... kind = "elements"
... op = "max_pool2d"
... input = "X"
... params = { kernel_size = 1 }
... [steps.book]
... distinct = [1, 2, 3, 4]
... ''', "t.toml")
>>> import sympy as sp
>>> out = sp.Array([[[1, 2], [3, 4]]])
>>> assert_book(spec, spec.steps[0], Derived(out, out.tolist(), [], 1, None, None))
['the values that occur']
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sympy as sp

from derive.errors import ShapeError
from derive.render import latex
from derive.render.results import AxisShape, Element, format_params, index_ok, step_error
from derive.specs import ExampleSpec, StepSpec
from derive.tensors import read_tensor

__all__ = ["Derived", "assert_book", "book_formula"]


@dataclass
class Derived:
    """What the build derived for an elements step, as the book's facts are checked on it."""

    #: the output, (C, H, W)
    output: sp.Array
    #: the output as the page shows it (a matrix for the book's cross-correlation)
    shown: list
    #: the highlighted elements, spelled out
    elements: list[Element]
    #: the input's channel count
    channels: int
    #: the weight's shape (None without a weight)
    weight_shape: tuple[int, ...] | None
    #: the output with some parameters changed
    rerun: Callable[[dict[str, Any]], sp.Array] | None


class _Facts:
    """One step's output in every form a fact compares with, and its errors."""

    def __init__(self, spec: ExampleSpec, step: StepSpec, derived: Derived) -> None:
        self.spec, self.step, self.derived = spec, step, derived
        self.flat, self.shape = read_tensor(derived.output, "output")
        shown = derived.shown
        self.shown_shape = tuple(sp.Array(shown).shape) if isinstance(shown, list) else self.shape

    def error(self, field: str, message: str) -> Exception:
        return step_error(self.spec, self.step, f"book.{field}", message)

    def same_shape(self, stated: tuple[int, ...]) -> bool:
        """A stated shape matches the shown one, the (C, H, W) one, or that without C = 1."""
        return stated in (self.shown_shape, self.shape) or (
            self.shape[0] == 1 and stated == self.shape[1:]
        )


def _output(f: _Facts, stated: Any) -> str:
    values, shape = stated
    if not f.same_shape(shape) or [latex.as_basic(v) for v in values] != list(f.flat):
        message = f"the book's output {values} (shape {shape}) is not derive's {f.derived.shown}"
        raise f.error("output", message)
    return "the full output"


def _shape(f: _Facts, stated: Any) -> str:
    if not f.same_shape(stated):
        raise f.error("shape", f"the book's shape {stated} is not derive's {f.shown_shape}")
    return "the output shape"


def _elements(f: _Facts, stated: Any) -> str:
    shown = f.derived.shown
    arr = sp.Array(shown) if isinstance(shown, list) else f.derived.output
    for k, (idx, val) in enumerate(stated):
        if not index_ok(idx, tuple(arr.shape)):
            raise f.error(f"elements[{k}].index", f"{idx} is outside {arr.shape}")
        if arr[idx] != val:
            message = f"the book's Y{list(idx)} = {val}, derive computes {arr[idx]}"
            raise f.error(f"elements[{k}]", message)
    return "the values of the stated elements"


def _distinct(f: _Facts, stated: Any) -> str:
    got = sorted(set(f.flat), key=sp.default_sort_key)
    if got != stated:
        raise f.error("distinct", f"the book's values {stated}, derive's {got}")
    return "the values that occur"


def _constant(f: _Facts, stated: Any) -> str:
    if any(v != stated for v in f.flat):
        message = f"not every element is {stated}: {sorted(set(f.flat), key=str)}"
        raise f.error("constant", message)
    return "that every element is the same"


def _keeps_channels(f: _Facts, stated: Any) -> str:
    channels = f.derived.channels
    if f.shape[0] != channels:
        message = f"the output has {f.shape[0]} channels, the input {channels}"
        raise f.error("keeps_channels", message)
    return "that the output keeps the input's channel count"


def _weight_shape(f: _Facts, stated: Any) -> str:
    if f.derived.weight_shape != stated:
        raise f.error(
            "weight_shape", f"the weight has shape {f.derived.weight_shape}, not {stated}"
        )
    return "the weight shape"


def _same_as(f: _Facts, stated: Any) -> str:
    assert f.derived.rerun is not None
    try:
        again = f.derived.rerun(stated)
    except ShapeError as exc:
        raise f.error("same_as", str(exc)) from None
    out = f.derived.output
    if again != out:
        message = (
            f"with {format_params(stated)} derive computes {again.tolist()}, not {out.tolist()}"
        )
        raise f.error("same_as", message)
    return f"that {format_params(stated)} gives the same output"


def _products(f: _Facts, stated: Any) -> str:
    pairs_of = {el.index: el.pairs for el in f.derived.elements if el.pairs}
    for k, (idx, pairs) in enumerate(stated):
        if idx not in pairs_of:
            message = f"{list(idx)} is not a highlighted convolution element"
            raise f.error(f"products[{k}].index", message)
        got = Counter((latex.as_basic(a), latex.as_basic(b)) for a, b in pairs_of[idx])
        if got != Counter(pairs):
            message = f"the book's products {pairs} are not derive's {pairs_of[idx]}"
            raise f.error(f"products[{k}]", message)
    return "the products of the stated elements, padding zeros included"


#: the facts of an elements step, in the order the page lists them
_CHECKS: tuple[tuple[str, Callable[[_Facts, Any], str]], ...] = (
    ("output", _output),
    ("shape", _shape),
    ("elements", _elements),
    ("distinct", _distinct),
    ("constant", _constant),
    ("keeps_channels", _keeps_channels),
    ("weight_shape", _weight_shape),
    ("same_as", _same_as),
    ("products", _products),
)


def assert_book(spec: ExampleSpec, step: StepSpec, derived: Derived) -> list[str]:
    """Compare each fact the spec quotes from the book with the derived value; returns what
    was asserted, as the page words it (the formula is :func:`book_formula`'s)."""
    facts = _Facts(spec, step, derived)
    return [check(facts, step.book[key]) for key, check in _CHECKS if key in step.book]


def book_formula(spec: ExampleSpec, step: StepSpec, shapes: list[AxisShape]) -> list[str]:
    """The book's size formula per axis, with its ``where`` substitutions: SymPy must simplify
    its difference with derive's formula to zero."""
    book = step.book
    if "formula" not in book:
        return []
    formulas = book["formula"]
    if len(formulas) != len(shapes):
        message = f"gives {len(formulas)} axes, the step has {len(shapes)}"
        raise step_error(spec, step, "book.formula", message)
    where = book.get("where", {})
    for axis, (stated, shape) in enumerate(zip(formulas, shapes)):
        if sp.simplify(shape.formula - stated.subs(where)) != 0:
            raise step_error(
                spec,
                step,
                f"book.formula[{axis}]",
                f"the book's formula {stated} (with {where or 'nothing'} substituted) is not "
                f"derive's {shape.formula}",
            )
    return ["the shape formula (SymPy simplifies the difference to zero)"]
