"""The table of torch functions derive follows, and how their arguments are read.

A *handler* takes the :class:`~derive.networks.rules.Site` of the call, the positional and
keyword arguments (sizes already SymPy expressions, tensors as they are) and returns what
torch would return, with :class:`~derive.networks.symbolic.SymTensor` for tensors. Handlers
are registered under torch's own function objects (``torch.cat``, ``Tensor.view``,
``F.interpolate``...), named by strings resolved here, so a name missing from this torch
version is simply not registered (and a call to it is refused as unsupported).

This module imports torch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sympy as sp
import torch
import torch.nn.functional as F

from derive.networks.rules import Shape, Site, show_shape
from derive.networks.symbolic import SymTensor, new_tensor

__all__ = [
    "Handler",
    "HANDLERS",
    "handles",
    "resolve",
    "bind",
    "shape_of",
    "dtype_of",
    "is_tensor",
    "tensor",
    "same",
    "Opaque",
    "check_rank",
]

HandlerFn = Callable[[Site, tuple, dict], Any]


@dataclass(frozen=True)
class Handler:
    """A registered handler: the function, the short label used in paths (``cat``) and the
    kind shown in traces (``torch.cat``, ``F.pad``, ``view``).

    A ``raw`` handler runs torch's own Python code (:mod:`derive.networks.decompose`): it
    takes the arguments as the forward passed them, and the operations it calls are part of
    it (one row, one site)."""

    fn: HandlerFn
    label: str
    kind: str
    raw: bool = False


#: torch function object -> handler
HANDLERS: dict[Any, Handler] = {}
_FALLBACKS: set[Any] = set()

_OWNERS: dict[str, Any] = {
    "torch": torch,
    "Tensor": torch.Tensor,
    "F": F,
    "nn": torch._C._nn,
    "linalg": torch.linalg,
    "special": torch.special,
    "fft": torch.fft,
}


def resolve(name: str) -> Any | None:
    """``"F.pad"`` -> ``torch.nn.functional.pad`` (``None`` if this torch has no such name).

    Properties are named with a trailing ``.__get__`` (``"Tensor.shape.__get__"``).
    """
    owner, _, rest = name.partition(".")
    obj: Any = _OWNERS[owner]
    for part in rest.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _kind(name: str) -> tuple[str, str]:
    owner, _, rest = name.partition(".")
    short = rest.split(".")[0]
    if short.startswith("__") and short.endswith("__"):
        short = short[2:-2]
    if owner == "Tensor":
        return short, short
    if owner == "nn":
        return short, f"F.{short}"
    return short, f"{owner}.{short}"


def handles(
    *names: str, label: str | None = None, raw: bool = False, fallback: bool = False
) -> Callable[[HandlerFn], HandlerFn]:
    """Register the decorated handler for every torch function ``names`` resolves to.

    A ``fallback`` handler (the generic shape-preserving and broadcasting ones) never
    replaces a specific one, whichever module registers first.
    """

    def register(fn: HandlerFn) -> HandlerFn:
        for name in names:
            target = resolve(name)
            if target is None or not callable(target) or isinstance(target, type):
                continue  # absent from this torch, or a dtype or module of the same name
            short, kind = _kind(name)
            if fallback and target in HANDLERS and target not in _FALLBACKS:
                continue
            if fallback:
                _FALLBACKS.add(target)
            else:
                _FALLBACKS.discard(target)
            HANDLERS[target] = Handler(fn, label or short, label or kind, raw)
        return fn

    return register


def bind(
    site: Site, args: Sequence[Any], kwargs: dict, names: Sequence[str], defaults: dict
) -> dict:
    """torch's argument binding: positional then keyword, defaults filled, unknowns refused."""
    if len(args) > len(names):
        site.fail(f"takes at most {len(names)} arguments, got {len(args)}")
    out = dict(defaults)
    out.update(zip(names, args))
    for key, value in kwargs.items():
        if key not in names:
            site.fail(f"unexpected keyword argument {key!r}")
        out[key] = value
    missing = [n for n in names if n not in out]
    if missing:
        site.fail(f"missing argument {missing[0]!r}")
    return out


def is_tensor(value: Any) -> bool:
    return isinstance(value, torch.Tensor)


def shape_of(site: Site, value: Any, what: str = "input") -> Shape:
    """A tensor argument's shape (a derive tensor's formulas, a real tensor's sizes)."""
    if isinstance(value, SymTensor):
        return value.derive_shape
    if isinstance(value, torch.Tensor):
        return tuple(sp.Integer(d) for d in value.shape)
    site.fail(f"{what} must be a Tensor, got {type(value).__name__}")


def dtype_of(value: Any) -> torch.dtype:
    """A tensor's dtype as derive tracks it (derive's tensors: float32 unless made otherwise)."""
    if isinstance(value, SymTensor):
        return getattr(value, "derive_dtype", torch.float32)
    if isinstance(value, torch.Tensor):
        return value.dtype
    if isinstance(value, bool):
        return torch.bool
    if isinstance(value, int):
        return torch.int64
    return torch.float32


def tensor(shape: Shape, dtype: torch.dtype | None = None) -> SymTensor:
    """A derive tensor of ``shape`` (and ``dtype``, float32 by default)."""
    t = new_tensor(tuple(sp.sympify(d) for d in shape))
    if dtype is not None and dtype != torch.float32:
        t.derive_dtype = dtype
    return t


def same(site: Site, args: tuple, kwargs: dict) -> Any:
    """Handler of the shape-preserving ops: the first argument's shape (and dtype)."""
    if not args:
        site.fail("expected a tensor argument")
    x = args[0]
    return tensor(shape_of(site, x), dtype_of(x))


class Opaque:
    """A value derive does not model (a layout, a memory format): fine to pass along."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


def check_rank(site: Site, x: Shape, ranks: Sequence[int], what: str = "input") -> None:
    """Fail unless ``len(x)`` is one of ``ranks``."""
    if len(x) not in ranks:
        allowed = " or ".join(f"{r}D" for r in ranks)
        site.fail(f"expected {allowed} {what}, got {len(x)}D {what} of shape {show_shape(x)}")
