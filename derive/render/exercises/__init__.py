"""Answers to the chapter's exercises, derived and checked when the page is built.

:data:`DERIVATIONS` maps each kind of answer part (:data:`derive.exercise_specs.KINDS`) to
the function deriving it from the part's parameters; each returns an
:class:`~derive.render.exercises.common.Answer` (Markdown, what was proved, what was checked
against torch) or raises :class:`derive.specs.BuildError`. Modules:
:mod:`~derive.render.exercises.costs`, :mod:`~derive.render.exercises.composition`,
:mod:`~derive.render.exercises.pooling`, :mod:`~derive.render.exercises.sizes`,
:mod:`~derive.render.exercises.gradients`, :mod:`~derive.render.exercises.edges`.
Importing this package does not import torch; the checks do, when they run.
"""

from __future__ import annotations

from collections.abc import Callable

from derive.exercise_specs import PartSpec
from derive.render.exercises.common import Answer
from derive.render.exercises.composition import converse_answer, stacked_answer
from derive.render.exercises.costs import conv_as_matmul_answer, conv_cost_answer
from derive.render.exercises.edges import edges_answer
from derive.render.exercises.gradients import gradient_answer
from derive.render.exercises.pooling import (
    avg_as_conv_answer,
    max_not_linear_answer,
    max_via_relu_answer,
)
from derive.render.exercises.sizes import (
    shape_table_answer,
    size_identity_answer,
    solve_size_answer,
)

__all__ = ["Answer", "DERIVATIONS", "answer"]

#: kind -> derivation
DERIVATIONS: dict[str, Callable[[PartSpec], Answer]] = {
    "conv-cost": conv_cost_answer,
    "conv-as-matmul": conv_as_matmul_answer,
    "stacked": stacked_answer,
    "converse": converse_answer,
    "avg-as-conv": avg_as_conv_answer,
    "max-not-linear": max_not_linear_answer,
    "max-via-relu": max_via_relu_answer,
    "solve-size": solve_size_answer,
    "size-identity": size_identity_answer,
    "shape-table": shape_table_answer,
    "gradient": gradient_answer,
    "edges": edges_answer,
}


def answer(part: PartSpec) -> Answer:
    """Derive and check one part."""
    return DERIVATIONS[part.kind](part)
