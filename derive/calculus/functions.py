"""The tensor functions a forward may call between layers, as graph nodes with shapes.

Elementwise arithmetic (``+ - * /``, in place too), concatenation, flattening and reshaping,
means, sizes, and the functional forms of layers (``F.relu``, ``F.max_pool2d``...: turned into
the layer itself). Anything else is refused with :class:`derive.ShapeError` naming the node.
"""

from __future__ import annotations

import builtins
import operator
from typing import TYPE_CHECKING, Any

import sympy as sp
import torch
from torch import nn

from derive.calculus.graph import FUNCTIONAL_LAYERS, METHOD_LAYERS, Ref
from derive.errors import ShapeError

if TYPE_CHECKING:  # pragma: no cover
    from derive.calculus.graph import _Builder

__all__ = ["dispatch"]

_BINARY = {
    operator.add: ("add", False), operator.sub: ("sub", False), operator.mul: ("mul", False),
    operator.truediv: ("div", False), operator.iadd: ("add", True), operator.isub: ("sub", True),
    operator.imul: ("mul", True), operator.itruediv: ("div", True), torch.add: ("add", False),
    torch.sub: ("sub", False), torch.mul: ("mul", False), torch.div: ("div", False),
    "add": ("add", False), "sub": ("sub", False), "mul": ("mul", False), "div": ("div", False),
    "add_": ("add", True), "sub_": ("sub", True), "mul_": ("mul", True), "div_": ("div", True),
}  # fmt: skip

_LABELS = {operator.iadd: "iadd", operator.isub: "isub", operator.imul: "imul",
           operator.itruediv: "itruediv", operator.add: "add", operator.sub: "sub",
           operator.mul: "mul", operator.truediv: "truediv"}  # fmt: skip


def _label(op: str, target: Any) -> str:
    if op == "call_method":
        return str(target)
    if target in _LABELS:
        return _LABELS[target]
    name = getattr(target, "__name__", repr(target))
    module = getattr(target, "__module__", "") or ""
    return f"F.{name}" if module.startswith("torch.nn.functional") else f"torch.{name}"


def _broadcast(a: tuple, b: tuple, where: str) -> tuple[sp.Expr, ...]:
    a = (sp.Integer(1),) * (len(b) - len(a)) + tuple(a)
    b = (sp.Integer(1),) * (len(a) - len(b)) + tuple(b)
    out = []
    for x, y in zip(a, b):
        if sp.expand(x - y) == 0 or y == 1:
            out.append(x)
        elif x == 1:
            out.append(y)
        else:
            raise ShapeError(f"{where}: cannot tell that sizes {x} and {y} agree")
    return tuple(out)


def _dim(dim: Any, rank: int, where: str) -> int:
    if not isinstance(dim, int) or not -rank <= dim < rank:
        raise ShapeError(f"{where}: dim must be an int in [{-rank}, {rank}), got dim={dim!r}")
    return dim % rank


def _binary(b: _Builder, name: str, inplace: bool, where: str, label: str, x: Any, y: Any) -> Any:
    refs = [v for v in (x, y) if isinstance(v, Ref)]
    if not refs:
        ops = {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
               "div": operator.truediv}  # fmt: skip
        return ops[name](x, y)
    if len(refs) == 1:  # a tensor and a number: entry by entry
        ref = refs[0]
        return b.add(path=where, kind=label, shape=b.shape(ref, where), inputs=(ref.index,),
                     function="scalar", alias=inplace)  # fmt: skip
    shape = _broadcast(b.shape(x, where), b.shape(y, where), where)
    if inplace and shape != b.shape(x, where):
        raise ShapeError(f"{where}: an in-place operation cannot grow its tensor")
    return b.add(path=where, kind=label, shape=shape, inputs=(x.index, y.index), function=name,
                 alias=inplace)  # fmt: skip


def _cat(b: _Builder, where: str, label: str, tensors: Any, dim: Any = 0) -> Ref:
    if not isinstance(tensors, (list, tuple)) or not all(isinstance(t, Ref) for t in tensors):
        raise ShapeError(f"{where}: expected a list of tensors")
    shapes = [b.shape(t, where) for t in tensors]
    d = _dim(dim, len(shapes[0]), where)
    out = list(shapes[0])
    for s in shapes[1:]:
        if len(s) != len(out) or any(sp.expand(p - q) != 0 for i, (p, q) in
                                     enumerate(zip(s, out)) if i != d):  # fmt: skip
            raise ShapeError(f"{where}: cannot tell that the shapes {shapes} agree off dim {d}")
    out[d] = sp.Add(*(s[d] for s in shapes))
    return b.add(path=where, kind=label, shape=tuple(out), inputs=tuple(t.index for t in tensors),
                 function="cat", args={"dim": d})  # fmt: skip


def _flatten(b: _Builder, where: str, label: str, x: Any, start: Any = 0, end: Any = -1) -> Ref:
    shape = b.shape(x, where)
    s, e = _dim(start, len(shape), where), _dim(end, len(shape), where)
    out = shape[:s] + (sp.Mul(*shape[s : e + 1]),) + shape[e + 1 :]
    return b.add(path=where, kind=label, shape=out, inputs=(x.index,), function="reshape",
                 alias=True)  # fmt: skip


def _reshape(b: _Builder, where: str, label: str, x: Any, *sizes: Any) -> Ref:
    shape = b.shape(x, where)
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    total, known = sp.Mul(*shape), [s for s in sizes if not (isinstance(s, int) and s == -1)]
    if len(known) < len(sizes) - 1 or any(isinstance(s, Ref) for s in sizes):
        raise ShapeError(f"{where}: sizes must be numbers with at most one -1, got {sizes}")
    rest = sp.cancel(total / sp.Mul(*known))
    out = tuple(rest if isinstance(s, int) and s == -1 else sp.sympify(s) for s in sizes)
    if sp.expand(sp.Mul(*out) - total) != 0 or any(not d.is_integer for d in out):
        raise ShapeError(f"{where}: cannot reshape {shape} to {sizes}")
    return b.add(path=where, kind=label, shape=out, inputs=(x.index,), function="reshape",
                 alias=True)  # fmt: skip


def _mean(b: _Builder, where: str, label: str, x: Any, dim: Any = None, keepdim: bool = False,
          **_: Any) -> Ref:  # fmt: skip
    shape = b.shape(x, where)
    dims = range(len(shape)) if dim is None else dim if isinstance(dim, (tuple, list)) else [dim]
    reduced = {_dim(d, len(shape), where) for d in dims}
    out = tuple(sp.Integer(1) if i in reduced else n for i, n in enumerate(shape)
                if keepdim or i not in reduced)  # fmt: skip
    return b.add(path=where, kind=label, shape=out, inputs=(x.index,), function="mean",
                 args={"dims": tuple(sorted(reduced)), "keepdim": bool(keepdim)})  # fmt: skip


def _size(b: _Builder, where: str, x: Any, dim: Any = None) -> Any:
    shape = b.shape(x, where)
    return tuple(shape) if dim is None else shape[_dim(dim, len(shape), where)]


def _layer_from(b: _Builder, cls: type[nn.Module], names: tuple[str, ...], where: str,
                label: str, args: tuple, kwargs: dict) -> Ref:  # fmt: skip
    """A functional call as the torch layer that does the same."""
    bound = dict(zip(names, args[1:]))
    bound.update({k: v for k, v in kwargs.items() if k != "input"})
    training = bound.pop("training", True)
    unknown = set(bound) - set(names)
    if unknown or len(args) - 1 > len(names):
        raise ShapeError(f"{where}: unexpected arguments {sorted(unknown) or args[1:]}")
    try:
        layer = cls(**bound)
    except (TypeError, ValueError) as exc:
        raise ShapeError(f"{where}: {exc}") from None
    layer.train(bool(training))
    x = args[0] if args else kwargs.get("input")
    return b.layer(layer, where, label, x)


def dispatch(b: _Builder, op: str, target: Any, where: str, args: tuple, kwargs: dict) -> Any:
    """One ``call_function``/``call_method`` node of a traced forward."""
    label = _label(op, target)
    if op == "call_function" and target in FUNCTIONAL_LAYERS:
        cls, names = FUNCTIONAL_LAYERS[target]
        if target is torch.relu_:
            kwargs = {**kwargs, "inplace": True}
            names = ("inplace",)
        return _layer_from(b, cls, names, where, label, args, kwargs)
    if op == "call_method" and target in METHOD_LAYERS:
        layer = METHOD_LAYERS[target](**({"inplace": True} if target.endswith("_") else {}))
        return b.layer(layer, where, label, args[0])
    if target in _BINARY:
        name, inplace = _BINARY[target]
        other = args[1] if len(args) > 1 else kwargs.get("other")
        return _binary(b, name, inplace, where, label, args[0], other)
    handler = _HANDLERS.get(target)
    if handler is None:
        raise ShapeError(f"{where}: no receptive-field, cost and memory rule for {label}")
    return handler(b, where, label, *args, **kwargs)


def _getattr(b: _Builder, where: str, label: str, obj: Any, name: str) -> Any:
    if isinstance(obj, Ref) and name == "shape":
        return b.shape(obj, where)
    raise ShapeError(f"{where}: unsupported attribute {name!r}")


def _getitem(b: _Builder, where: str, label: str, obj: Any, index: Any) -> Any:
    if isinstance(obj, Ref):
        raise ShapeError(f"{where}: indexing a tensor is not supported here")
    return obj[index]


def _alias(b: _Builder, where: str, label: str, x: Any, *_: Any, **__: Any) -> Ref:
    return b.add(path=where, kind=label, shape=b.shape(x, where), inputs=(x.index,),
                 function="scalar", alias=True)  # fmt: skip


_HANDLERS: dict[Any, Any] = {
    torch.cat: _cat, torch.concat: _cat, torch.concatenate: _cat,
    torch.flatten: _flatten, "flatten": _flatten,
    torch.reshape: _reshape, "reshape": _reshape, "view": _reshape,
    torch.mean: _mean, "mean": _mean,
    "size": lambda b, where, label, x, dim=None: _size(b, where, x, dim),
    "dim": lambda b, where, label, x: len(b.shape(x, where)),
    builtins.getattr: _getattr, operator.getitem: _getitem,
    "contiguous": _alias,
}  # fmt: skip
