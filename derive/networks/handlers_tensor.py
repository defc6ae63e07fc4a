"""Handlers of tensor attributes, elementwise operations, reductions and tensor creation.

Attributes (``x.shape``, ``x.size(1)``, ``x.ndim``, ``x.device``...) answer with the derive
tensor's shape (sizes that are formulas come back as
:class:`~derive.networks.symbolic.SymSize`); anything that needs a tensor's *values*
(``bool(x)``, ``x.item()``, ``x.tolist()``) is refused: derive knows shapes, not data.

Elementwise operations broadcast (:func:`~derive.networks.rules_tensor.broadcast_shapes`);
their in-place forms must not grow ``self``. Reductions drop or keep the reduced dims.

This module imports torch.
"""

from __future__ import annotations

from typing import Any

import sympy as sp
import torch

from derive.networks import rules_tensor as rt
from derive.networks.bind import (
    bind,
    dtype_of,
    handles,
    is_tensor,
    same,
    shape_of,
    tensor,
)
from derive.networks.rules import Shape, Site, normalize_dim, numel, show_shape
from derive.networks.symbolic import Unsupported, shape_value, size_value
from derive.params import as_dim

__all__: list[str] = []

# -- attributes ------------------------------------------------------------------------------


@handles("Tensor.shape.__get__", label="shape")
def _shape(site: Site, args: tuple, kwargs: dict) -> Any:
    return shape_value(shape_of(site, args[0]))


@handles("Tensor.size", label="size")
def _size(site: Site, args: tuple, kwargs: dict) -> Any:
    x = shape_of(site, args[0])
    dim = args[1] if len(args) > 1 else kwargs.get("dim")
    if dim is None:
        return shape_value(x)
    return size_value(x[normalize_dim(site, dim, len(x))])


@handles("Tensor.dim", "Tensor.ndimension", "Tensor.ndim.__get__", label="dim")
def _dim(site: Site, args: tuple, kwargs: dict) -> Any:
    return len(shape_of(site, args[0]))


@handles("Tensor.numel", "Tensor.nelement", "torch.numel", label="numel")
def _numel(site: Site, args: tuple, kwargs: dict) -> Any:
    return size_value(numel(shape_of(site, args[0])))


@handles("Tensor.__len__", label="len")
def _len(site: Site, args: tuple, kwargs: dict) -> Any:
    x = shape_of(site, args[0])
    if not x:
        site.fail("len() of a 0-d tensor")
    if not x[0].is_Integer:
        raise Unsupported(f"{site.label()}: len() of a tensor whose first size {x[0]} is a "
                          "formula: Python needs a number")  # fmt: skip
    return int(x[0])


_CPU = torch.device("cpu")


@handles("Tensor.device.__get__", label="device")
def _device(site: Site, args: tuple, kwargs: dict) -> Any:
    x = args[0]
    return x.device if is_tensor(x) and not hasattr(x, "derive_shape") else _CPU


@handles("Tensor.dtype.__get__", label="dtype")
def _dtype(site: Site, args: tuple, kwargs: dict) -> Any:
    return dtype_of(args[0])


@handles("Tensor.is_floating_point", "torch.is_floating_point", label="is_floating_point")
def _is_floating(site: Site, args: tuple, kwargs: dict) -> Any:
    return dtype_of(args[0]).is_floating_point


@handles("Tensor.is_complex", "torch.is_complex", label="is_complex")
def _is_complex(site: Site, args: tuple, kwargs: dict) -> Any:
    return dtype_of(args[0]).is_complex


def _constant(value: Any, label: str) -> None:
    def handler(site: Site, args: tuple, kwargs: dict) -> Any:
        return value

    handles(f"Tensor.{label}.__get__", label=label)(handler)


for _name, _value in (("is_cuda", False), ("is_sparse", False), ("is_quantized", False),
                      ("is_meta", False), ("is_nested", False), ("is_mkldnn", False),
                      ("requires_grad", False), ("is_leaf", True), ("grad", None),
                      ("grad_fn", None), ("names", None), ("is_mps", False),
                      ("is_xpu", False), ("is_cpu", True)):  # fmt: skip
    _constant(_value, _name)


@handles("Tensor.layout.__get__", label="layout")
def _layout(site: Site, args: tuple, kwargs: dict) -> Any:
    return torch.strided


@handles("Tensor.get_device", label="get_device")
def _get_device(site: Site, args: tuple, kwargs: dict) -> Any:
    return -1


@handles("Tensor.is_contiguous", label="is_contiguous")
def _is_contiguous(site: Site, args: tuple, kwargs: dict) -> Any:
    return True


@handles("Tensor.element_size", label="element_size")
def _element_size(site: Site, args: tuple, kwargs: dict) -> Any:
    return dtype_of(args[0]).itemsize


@handles("Tensor.__repr__", "Tensor.__str__", "Tensor.__format__", label="repr")
def _repr(site: Site, args: tuple, kwargs: dict) -> Any:
    return f"<derive tensor of shape {show_shape(shape_of(site, args[0]))}>"


@handles("Tensor.__hash__", label="hash")
def _hash(site: Site, args: tuple, kwargs: dict) -> Any:
    return id(args[0])


@handles("Tensor.data.__get__", "Tensor.real.__get__", label="data")
def _data(site: Site, args: tuple, kwargs: dict) -> Any:
    return same(site, args, kwargs)


def _values_needed(site: Site, args: tuple, kwargs: dict) -> Any:
    raise Unsupported(
        f"{site.label()}: the forward needs a tensor's values (a branch on data, .item(), "
        ".tolist()...); derive knows shapes only"
    )


handles("Tensor.__bool__", "Tensor.item", "Tensor.tolist", "Tensor.__int__",
        "Tensor.__float__", "Tensor.__index__", "Tensor.numpy", "Tensor.__array__",
        "torch.nonzero", "Tensor.nonzero", "torch.unique", "Tensor.unique",
        "torch.masked_select", "Tensor.masked_select", "torch.is_nonzero")(_values_needed)

# -- shape-preserving ------------------------------------------------------------------------

_UNARY = (
    "relu sigmoid tanh exp exp2 expm1 log log2 log10 log1p abs neg negative sqrt rsqrt sin cos "
    "tan asin acos atan sinh cosh asinh acosh atanh erf erfc erfinv floor ceil round trunc frac "
    "sign sgn reciprocal square clamp clip clamp_min clamp_max nan_to_num logit sigmoid_ relu_ "
    "tanh_ exp_ abs_ neg_ sqrt_ clamp_ clip_ floor_ ceil_ round_ sign_ square_ reciprocal_ "
    "zero_ fill_ normal_ uniform_ bernoulli_ fill_diagonal_ detach_ requires_grad_ "
    "contiguous clone detach float double half bfloat16 int long short bool byte char to type "
    "type_as cpu cuda pin_memory positive conj resolve_conj resolve_neg angle i0 lgamma digamma "
    "erfc_ exponential_ log_ log1p_ mul_ div_ hardshrink softmax log_softmax cumsum cumprod "
    "logcumsumexp flip fliplr flipud roll tril triu deg2rad rad2deg nan_to_num_ "
    "bernoulli dropout alpha_dropout feature_dropout feature_alpha_dropout dropout_ "
    "alpha_dropout_ feature_alpha_dropout_ rrelu rrelu_ celu celu_ selu selu_ threshold "
    "threshold_ hardtanh hardtanh_ relu6 silu silu_ mish mish_ gelu hardswish hardswish_ "
    "hardsigmoid hardsigmoid_ leaky_relu leaky_relu_ elu elu_ softplus softshrink logsigmoid "
    "tanhshrink softsign softmin sigmoid_ erf_ sin_ cos_ exp2_ rsqrt_"
).split()

_SAME_OWNERS = ("Tensor", "torch", "F", "nn", "special")
_DIM_CHECKED = {"softmax", "log_softmax", "softmin", "cumsum", "cumprod", "logcumsumexp"}
_DATA_FREE = {"cpu", "cuda", "to", "type", "type_as", "float", "double", "half", "bfloat16",
              "int", "long", "short", "bool", "byte", "char", "contiguous", "clone", "detach",
              "pin_memory"}  # fmt: skip


def _conversion_dtype(args: tuple, kwargs: dict, name: str) -> torch.dtype | None:
    fixed = {"float": torch.float32, "double": torch.float64, "half": torch.float16,
             "bfloat16": torch.bfloat16, "int": torch.int32, "long": torch.int64,
             "short": torch.int16, "bool": torch.bool, "byte": torch.uint8,
             "char": torch.int8}  # fmt: skip
    if name in fixed:
        return fixed[name]
    for value in (*args[1:], kwargs.get("dtype")):
        if isinstance(value, torch.dtype):
            return value
        if name == "type_as" and is_tensor(value):
            return dtype_of(value)
    return None


def _same_named(name: str) -> Any:
    def handler(site: Site, args: tuple, kwargs: dict) -> Any:
        if not args or not is_tensor(args[0]):
            site.fail(f"{name}() expects a tensor as its first argument")
        x = shape_of(site, args[0])
        if name in _DIM_CHECKED:
            dim = args[1] if len(args) > 1 else kwargs.get("dim")
            if dim is not None and not isinstance(dim, (str, torch.dtype)):
                normalize_dim(site, dim, len(x))
        if name in ("tril", "triu") and len(x) < 2:
            site.fail(f"{name}: input tensor must have at least 2 dimensions")
        others = [a for a in (*args[1:], *kwargs.values()) if is_tensor(a)]
        if others and name not in _DATA_FREE:
            return _broadcast_into(site, (args[0], *others), name)
        dtype = _conversion_dtype(args, kwargs, name) or dtype_of(args[0])
        return tensor(x, dtype)

    return handler


for _name in _UNARY:
    handles(*[f"{owner}.{_name}" for owner in _SAME_OWNERS], fallback=True)(_same_named(_name))


def _broadcast_into(site: Site, operands: tuple, name: str) -> Any:
    """``x.clamp(lo_tensor, hi_tensor)`` and the like: broadcast, but ``self`` must not grow
    when the operation is in place."""
    shapes = [shape_of(site, t) for t in operands]
    out = rt.broadcast_shapes(site, *shapes)
    if name.endswith("_"):
        _no_growth(site, shapes[0], out)
        return tensor(shapes[0], dtype_of(operands[0]))
    return tensor(out, dtype_of(operands[0]))


def _no_growth(site: Site, x: Shape, out: Shape) -> None:
    if len(out) != len(x):
        site.fail(f"output with shape {show_shape(x)} doesn't match the broadcast shape "
                  f"{show_shape(out)}")  # fmt: skip
    for a, b in zip(x, out):
        site.require(sp.Eq(a, b), lambda: f"output with shape {show_shape(x)} doesn't match "
                     f"the broadcast shape {show_shape(out)}")  # fmt: skip


# -- elementwise with broadcasting -------------------------------------------------------------

_FLOAT = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def _result_dtype(values: list[Any], comparison: bool) -> torch.dtype:
    if comparison:
        return torch.bool
    tensors = [dtype_of(v) for v in values if is_tensor(v)]
    out = tensors[0] if tensors else torch.float32
    for d in tensors[1:]:
        out = torch.promote_types(out, d)
    if out not in _FLOAT and any(isinstance(v, float) for v in values):
        return torch.float32
    return out


def _operand_shape(site: Site, value: Any) -> Shape:
    if is_tensor(value):
        return shape_of(site, value)
    if value is None or isinstance(value, (int, float, bool, complex, sp.Basic)):
        return ()
    site.fail(f"unsupported operand {type(value).__name__} {value!r}")


def _elementwise(inplace: bool, comparison: bool = False, operands: int = 2) -> Any:
    def handler(site: Site, args: tuple, kwargs: dict) -> Any:
        values = list(args[:operands])
        for key in ("other", "exponent", "end", "weight", "input", "tensor1", "tensor2"):
            if key in kwargs and len(values) < operands:
                values.append(kwargs[key])
        if not values or not any(is_tensor(v) for v in values):
            site.fail("expected a tensor operand")
        shapes = [_operand_shape(site, v) for v in values]
        out = rt.broadcast_shapes(site, *shapes)
        if inplace:
            _no_growth(site, shapes[0], out)
            return tensor(shapes[0], dtype_of(values[0]))
        return tensor(out, _result_dtype(values, comparison))

    return handler


_BINARY = ("add sub mul div true_divide floor_divide remainder fmod pow maximum minimum fmax "
           "fmin atan2 hypot copysign xlogy rsub logical_and logical_or logical_xor "
           "bitwise_and bitwise_or bitwise_xor logaddexp logaddexp2 nextafter heaviside "
           "subtract multiply divide").split()  # fmt: skip
_COMPARISONS = "eq ne lt le gt ge greater less greater_equal less_equal not_equal isclose".split()
_DUNDER = ("add radd sub rsub mul rmul truediv rtruediv div rdiv floordiv rfloordiv mod rmod "
           "pow rpow and rand or ror xor rxor lshift rshift").split()  # fmt: skip

for _name in _BINARY:
    handles(f"Tensor.{_name}", f"torch.{_name}")(_elementwise(False))
    handles(f"Tensor.{_name}_", label=f"{_name}_")(_elementwise(True))
for _name in _COMPARISONS:
    handles(f"Tensor.{_name}", f"torch.{_name}")(_elementwise(False, comparison=True))
    handles(f"Tensor.{_name}_", label=f"{_name}_")(_elementwise(True))
for _name in _DUNDER:
    handles(f"Tensor.__{_name}__")(_elementwise(False))
    handles(f"Tensor.__i{_name}__", label=f"i{_name}")(_elementwise(True))
for _name in ("eq", "ne", "lt", "le", "gt", "ge"):
    handles(f"Tensor.__{_name}__")(_elementwise(False, comparison=True))
handles("Tensor.__invert__", "Tensor.logical_not", "torch.logical_not", "Tensor.bitwise_not",
        "torch.bitwise_not", "Tensor.__neg__", "Tensor.__abs__", "Tensor.__pos__",
        "torch.isnan", "Tensor.isnan", "torch.isinf", "Tensor.isinf", "torch.isfinite",
        "Tensor.isfinite")(_elementwise(False, operands=1))  # fmt: skip
handles("torch.lerp", "Tensor.lerp", "torch.addcmul", "Tensor.addcmul", "torch.addcdiv",
        "Tensor.addcdiv")(_elementwise(False, operands=3))  # fmt: skip
handles("Tensor.lerp_", "Tensor.addcmul_", "Tensor.addcdiv_")(_elementwise(True, operands=3))


@handles("torch.where", "Tensor.where", label="where")
def _where(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("condition", "input", "other"), {"input": None, "other": None})
    if b["input"] is None:
        return _values_needed(site, args, kwargs)
    values = [b["condition"], b["input"], b["other"]]
    shapes = [_operand_shape(site, v) for v in values]
    return tensor(rt.broadcast_shapes(site, *shapes), _result_dtype(values[1:], False))


def _masked_fill(inplace: bool) -> Any:
    def handler(site: Site, args: tuple, kwargs: dict) -> Any:
        b = bind(site, args, kwargs, ("input", "mask", "value"), {})
        x, mask = shape_of(site, b["input"]), shape_of(site, b["mask"], "mask")
        if is_tensor(b["value"]) and shape_of(site, b["value"]):
            site.fail("masked_fill_ only supports a 0-dimensional value tensor, but got tensor "
                      f"with {len(shape_of(site, b['value']))} dimension(s).")  # fmt: skip
        out = rt.broadcast_shapes(site, x, mask)
        if inplace:
            _no_growth(site, x, out)
            return tensor(x, dtype_of(b["input"]))
        return tensor(out, dtype_of(b["input"]))

    return handler


handles("Tensor.masked_fill", "torch.masked_fill")(_masked_fill(False))
handles("Tensor.masked_fill_")(_masked_fill(True))


@handles("Tensor.copy_", label="copy_")
def _copy(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("input", "src", "non_blocking"), {"non_blocking": False})
    x = shape_of(site, b["input"])
    out = rt.broadcast_shapes(site, x, shape_of(site, b["src"], "src"))
    _no_growth(site, x, out)
    return tensor(x, dtype_of(b["input"]))


@handles("Tensor.__setitem__", label="setitem")
def _setitem(site: Site, args: tuple, kwargs: dict) -> Any:
    from derive.networks.handlers_shape import indexed

    target = indexed(site, args[0], args[1])
    value = _operand_shape(site, args[2])
    rt.broadcast_shapes(site, target, value)
    _no_growth(site, target, rt.broadcast_shapes(site, target, value))
    return None


@handles("torch.broadcast_tensors", label="broadcast_tensors")
def _broadcast_tensors(site: Site, args: tuple, kwargs: dict) -> Any:
    items = args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args
    out = rt.broadcast_shapes(site, *[shape_of(site, t) for t in items])
    return tuple(tensor(out, dtype_of(t)) for t in items)


@handles("torch.broadcast_shapes", label="broadcast_shapes")
def _broadcast_shapes(site: Site, args: tuple, kwargs: dict) -> Any:
    shapes = [tuple(as_dim(d, "shape") for d in s) for s in args]
    return shape_value(rt.broadcast_shapes(site, *shapes))


# -- reductions ------------------------------------------------------------------------------


def _reduction(names: tuple[str, ...], pair: str | None = None, needs_dim: bool = False,
               result: torch.dtype | None = None) -> Any:  # fmt: skip
    """A reduction over ``dim`` (keeping the dims with ``keepdim``); ``pair`` names the
    values-and-indices result torch returns; ``result`` fixes the output dtype."""

    def handler(site: Site, args: tuple, kwargs: dict) -> Any:
        kwargs = {k: v for k, v in kwargs.items() if k not in ("dtype", "out")}
        b = bind(site, args, kwargs, names, {n: None for n in names[1:]} | {"keepdim": False})
        x = shape_of(site, b["input"])
        if needs_dim and b["dim"] is None:
            site.fail("dim must be given")
        shape = rt.reduce_shape(site, x, b["dim"], bool(b["keepdim"]))
        out = tensor(shape, result or dtype_of(b["input"]))
        if pair is None:
            return out
        return getattr(torch.return_types, pair)((out, tensor(shape, torch.int64)))

    return handler


_SUM = ("input", "dim", "keepdim")
for _name in ("sum", "mean", "nansum", "nanmean", "amax", "amin", "logsumexp", "prod"):
    handles(f"Tensor.{_name}", f"torch.{_name}")(_reduction(_SUM, needs_dim=_name == "logsumexp"))
for _name in ("std", "var"):
    handles(f"Tensor.{_name}", f"torch.{_name}")(
        _reduction(("input", "dim", "unbiased", "keepdim", "correction"))
    )
handles("Tensor.argmax", "torch.argmax", "Tensor.argmin", "torch.argmin",
        "Tensor.count_nonzero", "torch.count_nonzero")(_reduction(_SUM, result=torch.int64))
handles("Tensor.any", "torch.any", "Tensor.all", "torch.all")(_reduction(_SUM, result=torch.bool))
for _name in ("median", "mode", "nanmedian"):
    handles(f"Tensor.{_name}", f"torch.{_name}")(_reduction(_SUM, pair=_name))


@handles("Tensor.max", "torch.max", "Tensor.min", "torch.min", label="max")
def _max_min(site: Site, args: tuple, kwargs: dict) -> Any:
    other = args[1] if len(args) > 1 else kwargs.get("other")
    if is_tensor(other):
        return _elementwise(False)(site, (args[0], other), {})
    b = bind(site, args, kwargs, _SUM, {"dim": None, "keepdim": False})
    x = shape_of(site, b["input"])
    if b["dim"] is None:
        return tensor((), dtype_of(b["input"]))
    shape = rt.reduce_shape(site, x, b["dim"], bool(b["keepdim"]))
    return torch.return_types.max((tensor(shape, dtype_of(b["input"])), tensor(shape, torch.int64)))


@handles("Tensor.norm", "torch.norm", label="norm")
def _norm(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("input", "p", "dim", "keepdim", "dtype"),
             {"p": "fro", "dim": None, "keepdim": False, "dtype": None})  # fmt: skip
    x = shape_of(site, b["input"])
    return tensor(rt.reduce_shape(site, x, b["dim"], bool(b["keepdim"])), dtype_of(b["input"]))


@handles("torch.linalg.vector_norm", label="vector_norm")
def _vector_norm(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("x", "ord", "dim", "keepdim", "dtype"),
             {"ord": 2, "dim": None, "keepdim": False, "dtype": None})  # fmt: skip
    x = shape_of(site, b["x"])
    return tensor(rt.reduce_shape(site, x, b["dim"], bool(b["keepdim"])), dtype_of(b["x"]))


@handles("torch.std_mean", "torch.var_mean", label="std_mean")
def _std_mean(site: Site, args: tuple, kwargs: dict) -> Any:
    out = _reduction(("input", "dim", "unbiased", "keepdim", "correction"))(site, args, kwargs)
    return (out, tensor(out.derive_shape, dtype_of(args[0])))


@handles("Tensor.topk", "torch.topk", label="topk")
def _topk(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("input", "k", "dim", "largest", "sorted"),
             {"dim": -1, "largest": True, "sorted": True})  # fmt: skip
    x = shape_of(site, b["input"])
    d = normalize_dim(site, b["dim"], len(x))
    k = as_dim(b["k"], "k")
    n = x[d] if x else sp.Integer(1)
    site.require(sp.And(sp.Ge(k, 0), sp.Le(k, n)), lambda: f"selected index k={k} out of range "
                 f"for dimension of size {n}")  # fmt: skip
    shape = (*x[:d], k, *x[d + 1 :]) if x else ()
    return torch.return_types.topk((tensor(shape, dtype_of(b["input"])),
                                    tensor(shape, torch.int64)))  # fmt: skip


@handles("Tensor.sort", "torch.sort", label="sort")
def _sort(site: Site, args: tuple, kwargs: dict) -> Any:
    x = shape_of(site, args[0])
    dim = args[1] if len(args) > 1 and not isinstance(args[1], bool) else kwargs.get("dim", -1)
    normalize_dim(site, dim, len(x))
    return torch.return_types.sort((tensor(x, dtype_of(args[0])), tensor(x, torch.int64)))


@handles("Tensor.argsort", "torch.argsort", label="argsort")
def _argsort(site: Site, args: tuple, kwargs: dict) -> Any:
    return tensor(_sort(site, args, kwargs).values.derive_shape, torch.int64)


# -- creation ----------------------------------------------------------------------------------


def _size_args(site: Site, args: tuple, kwargs: dict, skip: int = 0) -> Shape:
    sizes: Any = args[skip:]
    if not sizes:
        sizes = kwargs.get("size", ())
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = sizes[0]
    out = tuple(as_dim(s, "size") for s in sizes)
    for d in out:
        site.require(sp.Ge(d, 0), lambda d=d: f"Trying to create tensor with negative "
                     f"dimension {d}: {show_shape(out)}")  # fmt: skip
    return out


def _created(dtype: torch.dtype | None, default: torch.dtype = torch.float32) -> torch.dtype:
    return dtype if isinstance(dtype, torch.dtype) else default


@handles("torch.zeros", "torch.ones", "torch.empty", "torch.rand", "torch.randn",
         label="new")  # fmt: skip
def _factory(site: Site, args: tuple, kwargs: dict) -> Any:
    return tensor(_size_args(site, args, kwargs), _created(kwargs.get("dtype")))


@handles("torch.full", label="full")
def _full(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, {k: v for k, v in kwargs.items() if k in ("size", "fill_value")},
             ("size", "fill_value"), {})  # fmt: skip
    default = torch.int64 if isinstance(b["fill_value"], int) else torch.float32
    return tensor(_size_args(site, (b["size"],), {}), _created(kwargs.get("dtype"), default))


@handles("torch.randint", label="randint")
def _randint(site: Site, args: tuple, kwargs: dict) -> Any:
    size = args[-1] if args and isinstance(args[-1], (tuple, list)) else kwargs.get("size")
    return tensor(_size_args(site, (size,), {}), _created(kwargs.get("dtype"), torch.int64))


@handles("Tensor.new_zeros", "Tensor.new_ones", "Tensor.new_empty", label="new")
def _new_factory(site: Site, args: tuple, kwargs: dict) -> Any:
    return tensor(_size_args(site, args, kwargs, skip=1),
                  _created(kwargs.get("dtype"), dtype_of(args[0])))  # fmt: skip


@handles("Tensor.new_full", label="new_full")
def _new_full(site: Site, args: tuple, kwargs: dict) -> Any:
    size = args[1] if len(args) > 1 else kwargs.get("size")
    return tensor(_size_args(site, (size,), {}), _created(kwargs.get("dtype"), dtype_of(args[0])))


@handles("torch.zeros_like", "torch.ones_like", "torch.empty_like", "torch.rand_like",
         "torch.randn_like", "torch.full_like", "torch.randint_like",
         label="like")  # fmt: skip
def _like(site: Site, args: tuple, kwargs: dict) -> Any:
    x = args[0] if args else kwargs.get("input")
    return tensor(shape_of(site, x), _created(kwargs.get("dtype"), dtype_of(x)))


def _data_shape(site: Site, data: Any) -> Shape:
    if is_tensor(data):
        return shape_of(site, data)
    if isinstance(data, (tuple, list)):
        if not data:
            return (sp.Integer(0),)
        inner = [_data_shape(site, d) for d in data]
        if any(s != inner[0] for s in inner):
            site.fail("expected a sequence of equal-length sequences")
        return (sp.Integer(len(data)), *inner[0])
    return ()


def _data_dtype(data: Any) -> torch.dtype:
    while isinstance(data, (tuple, list)) and data:
        data = data[0]
    if is_tensor(data):
        return dtype_of(data)
    if isinstance(data, bool):
        return torch.bool
    return torch.int64 if isinstance(data, int) else torch.float32


@handles("torch.tensor", "torch.as_tensor", "torch.asarray", "Tensor.new_tensor",
         label="tensor")  # fmt: skip
def _tensor(site: Site, args: tuple, kwargs: dict) -> Any:
    data = args[1] if len(args) > 1 and is_tensor(args[0]) else (args[0] if args else
                                                                  kwargs.get("data"))  # fmt: skip
    return tensor(_data_shape(site, data), _created(kwargs.get("dtype"), _data_dtype(data)))


@handles("torch.arange", label="arange")
def _arange(site: Site, args: tuple, kwargs: dict) -> Any:
    values = list(args) + [kwargs[k] for k in ("start", "end", "step") if k in kwargs]
    if len(values) == 1:
        start, end, step = sp.Integer(0), values[0], sp.Integer(1)
    else:
        start, end = values[0], values[1]
        step = values[2] if len(values) > 2 else sp.Integer(1)
    start, end, step = (_exact(site, v) for v in (start, end, step))
    if step == 0:
        site.fail("step must be nonzero")
    length = sp.ceiling((end - start) / step)
    site.require(sp.Ge(length, 0), lambda: "upper bound and larger bound inconsistent with "
                 "step sign")  # fmt: skip
    integral = all(isinstance(v, (int, sp.Integer)) or getattr(v, "is_integer", False)
                   for v in values)  # fmt: skip
    return tensor((length,), _created(kwargs.get("dtype"),
                                      torch.int64 if integral else torch.float32))  # fmt: skip


def _exact(site: Site, value: Any) -> sp.Expr:
    if isinstance(value, float):
        if not value.is_integer():
            raise Unsupported(f"{site.label()}: arange with the float bound {value}")
        return sp.Integer(int(value))
    return as_dim(value, "arange bound")


@handles("torch.linspace", "torch.logspace", label="linspace")
def _linspace(site: Site, args: tuple, kwargs: dict) -> Any:
    steps = args[2] if len(args) > 2 else kwargs.get("steps")
    n = as_dim(steps, "steps")
    site.require(sp.Ge(n, 0), lambda: "number of steps must be non-negative")
    return tensor((n,), _created(kwargs.get("dtype")))


@handles("torch.eye", label="eye")
def _eye(site: Site, args: tuple, kwargs: dict) -> Any:
    n = as_dim(args[0] if args else kwargs["n"], "n")
    m = as_dim(args[1], "m") if len(args) > 1 else as_dim(kwargs.get("m", n), "m")
    return tensor((n, m), _created(kwargs.get("dtype")))


# -- torch's symbolic-size helpers ---------------------------------------------------------


@handles("Tensor.rot90", "torch.rot90", label="rot90")
def _rot90(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("input", "k", "dims"), {"k": 1, "dims": (0, 1)})
    x = shape_of(site, b["input"])
    dims = list(b["dims"])
    if len(dims) != 2:
        site.fail(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if len(x) < 2:
        site.fail(f"expected total dims >= 2, but got total dims = {len(x)}")
    a, c = (normalize_dim(site, d, len(x)) for d in dims)
    if a == c:
        site.fail(f"expected rotation dims to be different, but got dim0 = {a} and dim1 = {c}")
    if int(b["k"]) % 2 == 0:
        return tensor(x, dtype_of(b["input"]))
    return tensor(rt.transpose_shape(site, x, a, c), dtype_of(b["input"]))


@handles("torch.sym_int", label="sym_int")
def _sym_int(site: Site, args: tuple, kwargs: dict) -> Any:
    value = args[0]
    if isinstance(value, sp.Expr) and not value.is_number:
        if (value >= 0) is not sp.true:
            raise Unsupported(f"{site.label()}: int() of {value}, whose sign derive does not know")
        return size_value(sp.floor(value))
    return int(value)


@handles("torch.sym_float", label="sym_float")
def _sym_float(site: Site, args: tuple, kwargs: dict) -> Any:
    value = args[0]
    if isinstance(value, sp.Expr) and not value.is_number:
        raise Unsupported(f"{site.label()}: float() of the symbolic size {value}")
    return float(value)


@handles("torch.sym_max", label="sym_max")
def _sym_max(site: Site, args: tuple, kwargs: dict) -> Any:
    return size_value(rt.maximum(*(sp.sympify(v) for v in args[:2])))


@handles("torch.sym_min", label="sym_min")
def _sym_min(site: Site, args: tuple, kwargs: dict) -> Any:
    return size_value(rt.minimum(*(sp.sympify(v) for v in args[:2])))
