"""The one exception type of derive."""

from __future__ import annotations

__all__ = ["ShapeError"]


class ShapeError(ValueError):
    """A layer configuration that PyTorch would reject, or an input derive cannot read.

    The message names the offending argument and shows its value, e.g.
    ``stride must be positive, got stride=0``.

    >>> from derive import conv_output_size
    >>> conv_output_size(5, 3, stride=0)
    Traceback (most recent call last):
        ...
    derive.errors.ShapeError: stride must be positive, got stride=0
    """
