r"""Python source written into generated pages and notebooks: values, parameters, calls.

Generated code calls derive as a reader would: a function the package exports as
``derive.<name>``, any other by its name, imported from its module (:func:`spelled`). Size
expressions keep the spec's own text, read with ``P = derive.grammar.parse_size``.

>>> spelled("derive.shapes:conv_output_size")
('derive.conv_output_size', None)
>>> spelled("derive.pool:pool2d_windows")
('pool2d_windows', 'derive.pool')
>>> param_code((2, "k_h - 1")), param_code("same"), param_code(True)
('(2, P("k_h - 1"))', "'same'", 'True')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from derive.render import latex

__all__ = ["spelled", "py_value", "param_code", "params_code", "call"]

#: the padding strings torch takes, quoted as strings (every other text is a size expression)
PADDING_STRINGS = ("same", "valid")


def spelled(target: str) -> tuple[str, str | None]:
    """How generated code names the function ``module:function`` (a registry entry's), and the
    module to import it from (None when ``derive`` exports it)."""
    import derive

    module, _, name = target.partition(":")
    if name in derive.__all__:
        return f"derive.{name}", None
    return name, module


def py_value(value: Any, indent: int = 0) -> str:
    """Nested lists of integers (or size expressions) as readable Python source.

    >>> print(py_value([[1, 2], [3, 4]]))
    [[1, 2], [3, 4]]
    >>> print(py_value([[[0] * 12] * 2, [[1] * 12] * 2]))
    [
        [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]],
        [[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]],
    ]
    """
    if not isinstance(value, list):
        v = latex.as_basic(value)
        if v.is_Integer:
            return str(int(v))
        return f'parse_size("{v}")'
    flat = "[" + ", ".join(py_value(v) for v in value) + "]"
    if len(flat) + indent <= 88 or not isinstance(value[0], list):
        return flat
    pad = " " * (indent + 4)
    inner = ",\n".join(pad + py_value(v, indent + 4) for v in value)
    return "[\n" + inner + ",\n" + " " * indent + "]"


def param_code(value: Any) -> str:
    """A parameter as the spec writes it, in Python: numbers plain, size expressions through
    ``P``, 'same'/'valid' quoted, pairs as tuples."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return repr(value) if value in PADDING_STRINGS else f'P("{value}")'
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(param_code(v) for v in value) + ")"
    return repr(value)


def params_code(params: dict[str, Any], skip: Sequence[str] = ()) -> str:
    """``stride=2, padding=(1, 0)``: keyword arguments, as written."""
    return ", ".join(f"{k}={param_code(v)}" for k, v in params.items() if k not in skip)


def call(fn: str, args: Sequence[str], params: str = "") -> str:
    """``fn(a, b, k=v)``."""
    return f"{fn}({', '.join(args)}{', ' if params else ''}{params})"
