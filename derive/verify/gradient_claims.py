"""The gradient claims, under the name the exercise pages import them by.

The claims are a table of the catalogue (:mod:`derive.verify.catalogue.gradient`); the
gradients built with derive's engine are :mod:`derive.verify.gradients`.
"""

from __future__ import annotations

from derive.verify.catalogue.gradient import CLAIMS
from derive.verify.gradients import flipped_gradient, input_gradient, weight_gradient

__all__ = ["CLAIMS", "flipped_gradient", "input_gradient", "weight_gradient"]
