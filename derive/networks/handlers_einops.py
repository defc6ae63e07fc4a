r"""einops' ``rearrange``/``reduce``/``repeat`` and its ``Rearrange``/``Reduce`` layers.

einops parses a pattern into a *recipe* (its own parser, used as is) and, for each input
shape, computes the length of every elementary axis from it: a composed input axis
``(h p)`` of length $n$ with ``p`` known needs $p \mid n$ and gives $h = n / p$. derive
replaces that one step, for the duration of a traced forward, by the same computation on
formulas, where "$p$ divides $n$" becomes a condition on the sizes
($n \equiv 0 \pmod p$) instead of a Python test; the reshapes, permutations and reductions
einops then performs are ordinary torch operations.

The recipe's fields are einops' (0.7 and 0.8): a different einops is refused rather than
guessed.

This module imports torch (and einops, when installed).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import sympy as sp

from derive.networks.symbolic import Unsupported, size_value, to_expr

__all__ = ["patched", "reconstruct"]

_FIELDS = ("elementary_axes_lengths", "axis_name2elementary_axis",
           "input_composition_known_unknown", "axes_permutation", "first_reduced_axis",
           "added_axes", "output_composite_axes")  # fmt: skip


def reconstruct(machine: Any, recipe: Any, shape: Any, axes_dims: Any) -> tuple:
    """einops' ``_reconstruct_from_shape`` on formulas (same result layout)."""
    if any(not hasattr(recipe, f) for f in _FIELDS):
        raise Unsupported("this einops version's recipes are not the ones derive follows")
    site = machine.site("einops", "einops")
    lengths: list[Any] = [to_expr(v) for v in recipe.elementary_axes_lengths]
    for axis, dim in axes_dims:
        lengths[recipe.axis_name2elementary_axis[axis]] = to_expr(dim)
    need_init_reshape = False
    for input_axis, (known, unknown) in enumerate(recipe.input_composition_known_unknown):
        length = to_expr(shape[input_axis])
        if not known and len(unknown) == 1:
            lengths[unknown[0]] = length
            continue
        product = sp.Mul(*[lengths[a] for a in known])
        if not unknown:
            site.require(sp.Eq(length, product), f"Shape mismatch, {length} != {product}")
        else:
            site.require(sp.Eq(sp.Mod(length, product), 0), f"Shape mismatch, can't divide "
                         f"axis of length {length} in chunks of {product}")  # fmt: skip
            lengths[unknown[0]] = length / product
        if len(known) + len(unknown) != 1:
            need_init_reshape = True
    values = [size_value(v) for v in lengths]
    init = values[: len(recipe.axes_permutation)] if need_init_reshape else None
    finals, need_final = [], False
    for grouping in recipe.output_composite_axes:
        finals.append(size_value(sp.Mul(*[lengths[a] for a in grouping])))
        need_final = need_final or len(grouping) != 1
    added = {pos: values[i] for pos, i in recipe.added_axes.items()}
    reduced = list(range(recipe.first_reduced_axis, len(recipe.axes_permutation)))
    order = recipe.axes_permutation
    if order == list(range(len(order))):
        order = None
    count = len(added) + len(recipe.axes_permutation)
    return init, order, reduced, added, finals if need_final else None, count


@contextlib.contextmanager
def patched(machine: Any) -> Iterator[None]:
    """einops' shape step replaced by :func:`reconstruct` while ``machine`` is entered."""
    try:
        import einops._torch_specific as specific
        import einops.einops as core
    except ImportError:
        yield
        return

    def ours(recipe: Any, shape: Any, axes_dims: Any) -> tuple:
        return reconstruct(machine, recipe, shape, axes_dims)

    saved = [(core, "_reconstruct_from_shape"), (core, "_reconstruct_from_shape_uncached"),
             (specific, "_reconstruct_from_shape_uncached")]  # fmt: skip
    originals = [getattr(m, name, None) for m, name in saved]
    try:
        for m, name in saved:
            if hasattr(m, name):
                setattr(m, name, ours)
        yield
    finally:
        for (m, name), original in zip(saved, originals):
            if original is not None:
                setattr(m, name, original)
