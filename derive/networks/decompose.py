"""torch's own Python code for functions that are mostly argument handling.

``F.interpolate``, ``F.lp_pool2d``, ``F.max_unpool2d``, ``F.fractional_max_pool2d``,
``F.fold``... are Python functions in ``torch.nn.functional`` that check and convert their
arguments, then call one built-in operation. derive runs *their own code* on its symbolic
values, so their checks and messages are torch's (a size condition met there is decided or
split into cases like any other), and only the built-in they end with needs a shape rule.

To do so each function is copied with the same code and the module's globals, except that
``has_torch_function*`` say no (so the copy does not hand itself back to derive's mode) and
``torch._check*`` accept derive's size conditions. The mode is re-entered around the call.

This module imports torch.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from derive.networks.rules import Site

__all__ = ["MODE", "decomposed", "body"]

#: the running forward's mode (set while a forward runs), re-entered around copied code
MODE: ContextVar[TorchFunctionMode | None] = ContextVar("derive_mode", default=None)


def _checker(error: type[Exception]) -> Callable[..., None]:
    def check(cond: Any, message: Any = None) -> None:
        if not bool(cond):
            text = message() if callable(message) else message
            raise error(text or "Expected cond to be True")

    return check


class _TorchShim(types.ModuleType):
    """``torch`` as the copied code sees it: itself, with checks that accept SymBool."""

    _check = staticmethod(_checker(RuntimeError))
    _check_value = staticmethod(_checker(ValueError))
    _check_index = staticmethod(_checker(IndexError))
    _check_type = staticmethod(_checker(TypeError))
    _check_not_implemented = staticmethod(_checker(NotImplementedError))

    def __getattr__(self, name: str) -> Any:
        return getattr(torch, name)


def _no(*args: Any, **kwargs: Any) -> bool:
    return False


_GLOBALS: dict[str, Any] = {}


def _globals() -> dict[str, Any]:
    if not _GLOBALS:
        scope = dict(vars(F))
        scope.update(torch=_TorchShim("torch"), has_torch_function=_no,
                     has_torch_function_unary=_no, has_torch_function_variadic=_no)  # fmt: skip
        for name, value in list(scope.items()):
            if isinstance(value, types.FunctionType) and value.__globals__ is vars(F):
                scope[name] = _copy(value, scope)
        _GLOBALS.update(scope)
    return _GLOBALS


def _copy(fn: types.FunctionType, scope: dict[str, Any]) -> types.FunctionType:
    out = types.FunctionType(fn.__code__, scope, fn.__name__, fn.__defaults__, fn.__closure__)
    out.__kwdefaults__ = fn.__kwdefaults__
    return out


def body(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The copy of ``torch.nn.functional``'s Python function ``fn``."""
    copied = _globals().get(fn.__name__)
    if not isinstance(copied, types.FunctionType) or copied.__code__ is not fn.__code__:
        raise TypeError(f"{fn!r} is not a Python function of torch.nn.functional")
    return copied


def decomposed(fn: Callable[..., Any]) -> Callable[[Site, tuple, dict], Any]:
    """A handler running ``fn``'s own code (its arguments as the forward passed them)."""
    copied = body(fn)

    def handler(site: Site, args: tuple, kwargs: dict) -> Any:
        mode = MODE.get()
        if mode is None:  # pragma: no cover - handlers only run inside a forward
            raise RuntimeError("no traced forward is running")
        with mode:
            return copied(*args, **kwargs)

    return handler
