"""Handlers of reshaping, joining, splitting, indexing and products.

Each reads torch's arguments (``x.view(B, -1)`` and ``x.view((B, -1))`` alike) and calls the
rule of :mod:`derive.networks.rules_tensor`.

This module imports torch.
"""

from __future__ import annotations

from typing import Any

import sympy as sp
import torch

from derive.networks import rules_tensor as rt
from derive.networks.bind import bind, dtype_of, handles, is_tensor, shape_of, tensor
from derive.networks.rules import Shape, Site, normalize_dim, show_shape
from derive.networks.symbolic import SymTensor, Unsupported

__all__ = ["indexed"]


def _varargs(site: Site, args: tuple, kwargs: dict, *keys: str) -> list[Any]:
    """``f(x, 2, 3)`` and ``f(x, (2, 3))`` alike (the values after the tensor)."""
    values: Any = args[1:]
    for key in keys:
        if not values and key in kwargs:
            values = (kwargs[key],)
    if len(values) == 1 and isinstance(values[0], (tuple, list)):
        values = values[0]
    for v in values:
        if is_tensor(v):
            site.fail("sizes must be integers, got a tensor")
    return list(values)


def _keep(x: Any, shape: Shape) -> SymTensor:
    return tensor(shape, dtype_of(x))


# -- reshaping -------------------------------------------------------------------------------


@handles("Tensor.view", "Tensor.reshape", label="view")
def _view(site: Site, args: tuple, kwargs: dict) -> Any:
    if len(args) == 2 and isinstance(args[1], torch.dtype):
        return tensor(shape_of(site, args[0]), args[1])
    sizes = _varargs(site, args, kwargs, "size", "shape")
    return _keep(args[0], rt.reshape_shape(site, shape_of(site, args[0]), sizes))


@handles("torch.reshape", label="reshape")
def _reshape(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("input", "shape"), {})
    return _keep(b["input"], rt.reshape_shape(site, shape_of(site, b["input"]), list(b["shape"])))


@handles("Tensor.view_as", "Tensor.reshape_as", label="view_as")
def _view_as(site: Site, args: tuple, kwargs: dict) -> Any:
    other = shape_of(site, args[1] if len(args) > 1 else kwargs.get("other"), "other")
    return _keep(args[0], rt.reshape_shape(site, shape_of(site, args[0]), list(other)))


@handles("Tensor.flatten", "torch.flatten", label="flatten")
def _flatten(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("input", "start_dim", "end_dim"), {"start_dim": 0, "end_dim": -1})
    x = shape_of(site, b["input"])
    return _keep(b["input"], rt.flatten_shape(site, x, b["start_dim"], b["end_dim"]))


@handles("Tensor.unflatten", "torch.unflatten", label="unflatten")
def _unflatten(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("input", "dim", "sizes"), {})
    x = shape_of(site, b["input"])
    return _keep(b["input"], rt.unflatten_shape(site, x, b["dim"], list(b["sizes"])))


@handles("Tensor.permute", label="permute")
def _permute_method(site: Site, args: tuple, kwargs: dict) -> Any:
    order = _varargs(site, args, kwargs, "dims")
    return _keep(args[0], rt.permute_shape(site, shape_of(site, args[0]), order))


@handles("torch.permute", label="permute")
def _permute(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("input", "dims"), {})
    return _keep(b["input"], rt.permute_shape(site, shape_of(site, b["input"]), list(b["dims"])))


@handles("Tensor.transpose", "torch.transpose", "Tensor.swapaxes", "torch.swapaxes",
         "Tensor.swapdims", "torch.swapdims", "Tensor.transpose_", label="transpose")  # fmt: skip
def _transpose(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, {k: v for k, v in kwargs.items()},
             ("input", "dim0", "dim1"), {})  # fmt: skip
    return _keep(b["input"], rt.transpose_shape(site, shape_of(site, b["input"]), b["dim0"],
                                                b["dim1"]))  # fmt: skip


@handles("Tensor.t", "torch.t", "Tensor.t_", label="t")
def _t(site: Site, args: tuple, kwargs: dict) -> Any:
    x = shape_of(site, args[0])
    if len(x) > 2:
        site.fail(f"t() expects a tensor with <= 2 dimensions, but self is {len(x)}D")
    return _keep(args[0], tuple(reversed(x)))


@handles("Tensor.T.__get__", "Tensor.H.__get__", label="T")
def _big_t(site: Site, args: tuple, kwargs: dict) -> Any:
    x = shape_of(site, args[0])
    return _keep(args[0], tuple(reversed(x)))


@handles("Tensor.mT.__get__", "Tensor.mH.__get__", label="mT")
def _matrix_t(site: Site, args: tuple, kwargs: dict) -> Any:
    x = shape_of(site, args[0])
    if len(x) < 2:
        site.fail(f"tensor.mT is only supported on matrices or batches of matrices. Got "
                  f"{len(x)}-D tensor.")  # fmt: skip
    return _keep(args[0], (*x[:-2], x[-1], x[-2]))


@handles("Tensor.movedim", "torch.movedim", "Tensor.moveaxis", "torch.moveaxis", label="movedim")
def _movedim(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("input", "source", "destination"), {})
    x = shape_of(site, b["input"])
    return _keep(b["input"], rt.movedim_shape(site, x, b["source"], b["destination"]))


@handles("Tensor.unsqueeze", "torch.unsqueeze", "Tensor.unsqueeze_", label="unsqueeze")
def _unsqueeze(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("input", "dim"), {})
    return _keep(b["input"], rt.unsqueeze_shape(site, shape_of(site, b["input"]), b["dim"]))


@handles("Tensor.squeeze", "torch.squeeze", "Tensor.squeeze_", label="squeeze")
def _squeeze(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("input", "dim"), {"dim": None})
    return _keep(b["input"], rt.squeeze_shape(site, shape_of(site, b["input"]), b["dim"]))


@handles("Tensor.expand", label="expand")
def _expand(site: Site, args: tuple, kwargs: dict) -> Any:
    sizes = _varargs(site, args, kwargs, "size")
    return _keep(args[0], rt.expand_shape(site, shape_of(site, args[0]), sizes))


@handles("Tensor.expand_as", label="expand_as")
def _expand_as(site: Site, args: tuple, kwargs: dict) -> Any:
    other = shape_of(site, args[1] if len(args) > 1 else kwargs.get("other"), "other")
    return _keep(args[0], rt.expand_shape(site, shape_of(site, args[0]), list(other)))


@handles("torch.broadcast_to", "Tensor.broadcast_to", label="broadcast_to")
def _broadcast_to(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("input", "size"), {})
    return _keep(b["input"], rt.expand_shape(site, shape_of(site, b["input"]), list(b["size"])))


@handles("Tensor.repeat", label="repeat")
def _repeat(site: Site, args: tuple, kwargs: dict) -> Any:
    reps = _varargs(site, args, kwargs, "repeats")
    return _keep(args[0], rt.repeat_shape(site, shape_of(site, args[0]), reps))


@handles("Tensor.tile", "torch.tile", label="tile")
def _tile(site: Site, args: tuple, kwargs: dict) -> Any:
    reps = _varargs(site, args, kwargs, "dims")
    x = shape_of(site, args[0])
    reps = [1] * (len(x) - len(reps)) + list(reps)
    return _keep(args[0], rt.repeat_shape(site, x, reps))


@handles("Tensor.repeat_interleave", "torch.repeat_interleave", label="repeat_interleave")
def _repeat_interleave(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("input", "repeats", "dim", "output_size"),
             {"dim": None, "output_size": None})  # fmt: skip
    if is_tensor(b["repeats"]):
        raise Unsupported(f"{site.label()}: repeat_interleave with a tensor of repeats "
                          "(the output size depends on its values)")  # fmt: skip
    x = shape_of(site, b["input"])
    return _keep(b["input"], rt.repeat_interleave_shape(site, x, b["repeats"], b["dim"]))


@handles("Tensor.unfold", label="unfold")
def _tensor_unfold(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("input", "dimension", "size", "step"), {})
    x = shape_of(site, b["input"])
    d = normalize_dim(site, b["dimension"], len(x))
    n = x[d] if x else sp.Integer(1)
    size, step = sp.Integer(b["size"]), sp.Integer(b["step"])
    if step <= 0:
        site.fail(f"step is {step} but must be > 0")
    site.require(sp.Le(size, n), lambda: f"maximum size for tensor at dimension {d} is {n} "
                 f"but size is {size}")  # fmt: skip
    count = sp.floor((n - size) / step) + 1
    shape = (*x[:d], count, *x[d + 1 :], size) if x else (size,)
    return _keep(b["input"], shape)


# -- joining and splitting -------------------------------------------------------------------


def _tensors(site: Site, items: Any) -> list[Shape]:
    if is_tensor(items) or not isinstance(items, (tuple, list)):
        site.fail("expected a sequence of tensors")
    return [shape_of(site, t, "tensors") for t in items]


@handles("torch.cat", "torch.concat", "torch.concatenate", label="cat")
def _cat(site: Site, args: tuple, kwargs: dict) -> Any:
    kwargs = {("dim" if k == "axis" else k): v for k, v in kwargs.items()}
    b = bind(site, args, kwargs, ("tensors", "dim"), {"dim": 0})
    shape = rt.cat_shape(site, _tensors(site, b["tensors"]), b["dim"])
    return tensor(shape, dtype_of(b["tensors"][0]))


@handles("torch.stack", label="stack")
def _stack(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("tensors", "dim"), {"dim": 0})
    shape = rt.stack_shape(site, _tensors(site, b["tensors"]), b["dim"])
    return tensor(shape, dtype_of(b["tensors"][0]))


def _pieces(x: Any, shapes: list[Shape]) -> tuple:
    return tuple(tensor(s, dtype_of(x)) for s in shapes)


@handles("Tensor.chunk", "torch.chunk", label="chunk")
def _chunk(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("input", "chunks", "dim"), {"dim": 0})
    x = b["input"]
    return _pieces(x, rt.chunk_shapes(site, shape_of(site, x), b["chunks"], b["dim"]))


@handles("Tensor.split", "torch.split", "Tensor.split_with_sizes", label="split")
def _split(site: Site, args: tuple, kwargs: dict) -> Any:
    kwargs = {("split_size_or_sections" if k in ("split_size", "split_sizes") else k): v
              for k, v in kwargs.items()}  # fmt: skip
    b = bind(site, args, kwargs, ("input", "split_size_or_sections", "dim"), {"dim": 0})
    x = b["input"]
    shapes = rt.split_shapes(site, shape_of(site, x), b["split_size_or_sections"], b["dim"])
    return _pieces(x, shapes)


@handles("Tensor.unbind", "torch.unbind", label="unbind")
def _unbind(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("input", "dim"), {"dim": 0})
    return _pieces(b["input"], rt.unbind_shapes(site, shape_of(site, b["input"]), b["dim"]))


@handles("Tensor.narrow", "torch.narrow", label="narrow")
def _narrow(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("input", "dim", "start", "length"), {})
    x = shape_of(site, b["input"])
    return _keep(b["input"], rt.narrow_shape(site, x, b["dim"], b["start"], b["length"]))


@handles("Tensor.select", "torch.select", label="select")
def _select(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("input", "dim", "index"), {})
    x = shape_of(site, b["input"])
    return _keep(b["input"], rt.select_shape(site, x, b["dim"], b["index"]))


@handles("Tensor.index_select", "torch.index_select", label="index_select")
def _index_select(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("input", "dim", "index"), {})
    x, index = shape_of(site, b["input"]), shape_of(site, b["index"], "index")
    if len(index) > 1:
        site.fail("index_select(): Index is supposed to be a vector")
    d = normalize_dim(site, b["dim"], len(x))
    count = index[0] if index else sp.Integer(1)
    return _keep(b["input"], (*x[:d], count, *x[d + 1 :]) if x else ())


@handles("Tensor.gather", "torch.gather", "Tensor.take_along_dim", "torch.take_along_dim",
         label="gather")  # fmt: skip
def _gather(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("input", "dim", "index", "sparse_grad"), {"sparse_grad": False})
    x, index = shape_of(site, b["input"]), shape_of(site, b["index"], "index")
    if len(index) != len(x):
        site.fail("Index tensor must have the same number of dimensions as input tensor")
    d = normalize_dim(site, b["dim"], len(x))
    for i, (a, n) in enumerate(zip(index, x)):
        if i != d:
            site.require(sp.Le(a, n), lambda a=a, n=n, i=i: f"Size does not match at dimension "
                         f"{i} expected index {show_shape(index)} to be no larger than self "
                         f"{show_shape(x)} apart from dimension {d}")  # fmt: skip
    return _keep(b["input"], index)


# -- indexing --------------------------------------------------------------------------------


def indexed(site: Site, x: Any, key: Any) -> Shape:
    """The shape of ``x[key]``."""
    shape = shape_of(site, x)
    items = key if isinstance(key, tuple) else (key,)
    tensors: dict[int, Shape] = {}
    for pos, item in enumerate(items):
        if is_tensor(item):
            dtype = dtype_of(item)
            if dtype == torch.bool or dtype == torch.uint8:
                raise Unsupported(f"{site.label()}: indexing with a boolean mask (the output "
                                  "size depends on the mask's values)")  # fmt: skip
            if dtype.is_floating_point:
                site.fail("tensors used as indices must be long, int, byte or bool tensors")
            tensors[pos] = shape_of(site, item, "index")
        elif isinstance(item, (tuple, list)):
            tensors[pos] = (sp.Integer(len(item)),)
        elif item is not None and item is not Ellipsis and not isinstance(item, slice) and \
                not isinstance(item, (int, sp.Expr)):
            site.fail(f"unsupported index {item!r}")
    return rt.index_shape(site, shape, items, tensors)


@handles("Tensor.__getitem__", label="getitem")
def _getitem(site: Site, args: tuple, kwargs: dict) -> Any:
    return _keep(args[0], indexed(site, args[0], args[1]))


# -- products --------------------------------------------------------------------------------


def _product(rule: Any, names: tuple[str, str]) -> Any:
    def handler(site: Site, args: tuple, kwargs: dict) -> Any:
        b = bind(site, args, kwargs, names, {})
        a, c = b[names[0]], b[names[1]]
        return tensor(rule(site, shape_of(site, a), shape_of(site, c, names[1])), dtype_of(a))

    return handler


handles("Tensor.matmul", "torch.matmul", "Tensor.__matmul__")(_product(rt.matmul_shape, ("input", "other")))  # noqa: E501
handles("Tensor.__rmatmul__", label="rmatmul")(
    lambda site, args, kwargs: tensor(rt.matmul_shape(site, shape_of(site, args[1]),
                                                      shape_of(site, args[0])))  # fmt: skip
)
handles("Tensor.mm", "torch.mm")(_product(rt.mm_shape, ("input", "mat2")))
handles("Tensor.bmm", "torch.bmm")(_product(rt.bmm_shape, ("input", "mat2")))


@handles("Tensor.mv", "torch.mv", label="mv")
def _mv(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("input", "vec"), {})
    a, v = shape_of(site, b["input"]), shape_of(site, b["vec"], "vec")
    if len(a) != 2 or len(v) != 1:
        site.fail(f"vector + matrix @ vector expected, got {len(a)}, {len(v)}")
    site.require(sp.Eq(a[1], v[0]), lambda: f"size mismatch, got input ({a[0]}), mat "
                 f"({a[0]}x{a[1]}), vec ({v[0]})")  # fmt: skip
    return _keep(b["input"], (a[0],))


@handles("torch.einsum", label="einsum")
def _einsum(site: Site, args: tuple, kwargs: dict) -> Any:
    if not args or not isinstance(args[0], str):
        raise Unsupported(f"{site.label()}: einsum in the sublist format")
    operands = args[1:]
    if len(operands) == 1 and isinstance(operands[0], (tuple, list)):
        operands = tuple(operands[0])
    shapes = [shape_of(site, t, "operand") for t in operands]
    return tensor(rt.einsum_shape(site, args[0], shapes), dtype_of(operands[0]))


@handles("torch.outer", "Tensor.outer", "torch.ger", label="outer")
def _outer(site: Site, args: tuple, kwargs: dict) -> Any:
    a, b = shape_of(site, args[0]), shape_of(site, args[1] if len(args) > 1 else kwargs["vec2"])
    if len(a) != 1 or len(b) != 1:
        site.fail("outer: expected 1D tensors")
    return tensor((a[0], b[0]), dtype_of(args[0]))


@handles("torch.baddbmm", "Tensor.baddbmm", "torch.addmm", "Tensor.addmm", "torch.addbmm",
         label="addmm")  # fmt: skip
def _addmm(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, {k: v for k, v in kwargs.items() if k not in ("beta", "alpha")},
             ("input", "batch1", "batch2"), {})  # fmt: skip
    p, q = shape_of(site, b["batch1"]), shape_of(site, b["batch2"])
    product = rt.bmm_shape(site, p, q) if len(p) == 3 else rt.mm_shape(site, p, q)
    x = shape_of(site, b["input"])
    out = rt.broadcast_shapes(site, x, product)
    if out != product:
        site.require(sp.And(*[sp.Eq(u, v) for u, v in zip(out, product)]),
                     lambda: f"input of shape {show_shape(x)} does not broadcast to "
                     f"{show_shape(product)}")  # fmt: skip
    return tensor(product, dtype_of(b["input"]))
