"""The one exception type of derive."""

from __future__ import annotations

__all__ = ["ShapeError", "first_line"]


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


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type name when the message is empty).

    >>> first_line(RuntimeError(chr(10).join(["Given input size: (1x1x2)", "more detail"])))
    'Given input size: (1x1x2)'
    >>> first_line(KeyError())
    'KeyError'
    """
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
