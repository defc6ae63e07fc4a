r"""Push a symbolic input shape through a whole ``torch.nn.Module``.

``nn.Sequential`` containers are walked child by child; layers torch defines use the rules
of :mod:`derive.networks.rules`; any other module (a custom ``forward`` with residual
additions, ``torch.cat``, ``view``...) is traced once with ``torch.fx`` (its submodules
kept as leaves) and the graph is interpreted node by node on SymPy shapes.

Nothing is evaluated at a sample size: each output size is a formula in the input's
symbols that holds for every size the network accepts, and every condition ``forward``
needs is kept as a :class:`~derive.networks.rules.Constraint`.

This module imports torch (lazily imported by :mod:`derive.networks`).
"""

from __future__ import annotations

import builtins
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sympy as sp
import torch
import torch.fx
import torch.nn.functional as F
from torch import nn

from derive.errors import ShapeError
from derive.networks import rules
from derive.networks.layers import is_torch_layer, rule_for
from derive.networks.quasi import tidy
from derive.networks.rules import Constraint, Shape, Site, as_shape, show_shape
from derive.params import as_dim

__all__ = ["SymTensor", "Layer", "Trace", "trace", "output_shape"]


@dataclass(frozen=True)
class SymTensor:
    """A tensor known only by its (symbolic) shape."""

    shape: Shape


@dataclass(frozen=True)
class Layer:
    """One row of a trace: where (``"features.3"``), what (``"Conv2d"``, ``"add"``) and the
    output shape (a tuple of shapes for layers returning several tensors)."""

    path: str
    kind: str
    shape: Any


@dataclass(frozen=True)
class Trace:
    """Everything :func:`trace` learnt: per-layer shapes, the output, and the conditions."""

    input_shape: Shape
    layers: tuple[Layer, ...]
    output: Any
    constraints: tuple[Constraint, ...]

    @property
    def symbols(self) -> list[sp.Symbol]:
        """The input's symbols, in order of appearance."""
        seen: list[sp.Symbol] = []
        for d in self.input_shape:
            for s in sorted(d.free_symbols, key=lambda s: s.name):
                if s not in seen:
                    seen.append(s)
        return seen


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


class _InplaceProxy(torch.fx.Proxy):
    """An fx proxy that records ``y += x`` as ``operator.iadd`` (plain fx records ``add``).

    The difference matters: an in-place addition cannot grow ``y`` by broadcasting.
    """

    def __iadd__(self, other: Any) -> Any:
        return self.tracer.create_proxy("call_function", operator.iadd, (self, other), {})

    def __isub__(self, other: Any) -> Any:
        return self.tracer.create_proxy("call_function", operator.isub, (self, other), {})

    def __imul__(self, other: Any) -> Any:
        return self.tracer.create_proxy("call_function", operator.imul, (self, other), {})

    def __itruediv__(self, other: Any) -> Any:
        return self.tracer.create_proxy("call_function", operator.itruediv, (self, other), {})


class _LeafTracer(torch.fx.Tracer):
    """fx tracer keeping every submodule as one ``call_module`` node."""

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return True

    def proxy(self, node: torch.fx.Node) -> torch.fx.Proxy:
        return _InplaceProxy(node, self)


class _Walker:
    def __init__(self) -> None:
        self.layers: list[Layer] = []
        self.constraints: list[Constraint] = []
        self._graphs: dict[int, torch.fx.Graph] = {}

    def site(self, path: str, kind: str) -> Site:
        return Site(path, kind, self.constraints)

    def record(self, path: str, kind: str, value: Any) -> None:
        if isinstance(value, SymTensor):
            self.layers.append(Layer(path, kind, value.shape))
        elif isinstance(value, tuple) and value and all(isinstance(v, SymTensor) for v in value):
            self.layers.append(Layer(path, kind, tuple(v.shape for v in value)))

    # -- modules ---------------------------------------------------------------------------

    def module(self, m: nn.Module, path: str, args: Sequence[Any], kwargs: dict) -> Any:
        kind = type(m).__name__
        rule = rule_for(m)
        if rule is not None:
            site = self.site(path, kind)
            if len(args) != 1 or kwargs or not isinstance(args[0], SymTensor):
                site.fail("expected to be called with one tensor")
            out = rule(m, site, args[0].shape)
            value: Any = (
                tuple(SymTensor(s) for s in out) if out and isinstance(out[0], tuple)
                else SymTensor(out)
            )
            self.record(path, kind, value)
            return value
        if isinstance(m, nn.Sequential) and type(m).forward is nn.Sequential.forward:
            if len(args) != 1 or kwargs:
                self.site(path, kind).fail("nn.Sequential takes one input")
            value = args[0]
            for name, child in m.named_children():
                value = self.module(child, _join(path, name), [value], {})
            return value
        if is_torch_layer(m):
            self.site(path, kind).fail(
                f"unsupported layer type {type(m).__module__}.{kind}; derive has shape rules "
                "for convolution, pooling, normalisation, activation, dropout, flatten, "
                "linear and identity layers"
            )
        return self.graph_module(m, path, args, kwargs)

    def graph_module(self, m: nn.Module, path: str, args: Sequence[Any], kwargs: dict) -> Any:
        kind = type(m).__name__
        graph = self._graphs.get(id(m))
        if graph is None:
            try:
                graph = _LeafTracer().trace(m)
            except Exception as exc:  # fx raises many types; report the first line
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                self.site(path, kind).fail(f"torch.fx cannot trace this module: {first}")
            self._graphs[id(m)] = graph
        env: dict[torch.fx.Node, Any] = {}
        positional = list(args)
        for node in graph.nodes:
            if node.op == "placeholder":
                if positional:
                    env[node] = positional.pop(0)
                elif node.target in kwargs:
                    env[node] = kwargs[node.target]
                elif node.args:
                    env[node] = node.args[0]
                else:
                    self.site(path, kind).fail(f"no value for the argument {node.target!r}")
                continue
            a = torch.fx.node.map_arg(node.args, lambda n: env[n])
            kw = torch.fx.node.map_arg(node.kwargs, lambda n: env[n])
            where = _join(path, node.name)
            if node.op == "get_attr":
                env[node] = _attribute(m, node.target)
            elif node.op == "call_module":
                sub = m.get_submodule(node.target)
                env[node] = self.module(sub, _join(path, node.target), a, kw)
            elif node.op == "call_function":
                label = _function_label(node.target)
                value = self.function(node.target, self.site(where, label), a, kw)
                env[node] = value
                self.record(where, label, value)
            elif node.op == "call_method":
                value = self.method(node.target, self.site(where, node.target), a, kw)
                env[node] = value
                self.record(where, node.target, value)
            elif node.op == "output":
                return a[0]
        raise ShapeError(f"{path or kind}: the traced graph has no output")  # pragma: no cover

    # -- functions and methods ---------------------------------------------------------------

    def function(self, fn: Any, site: Site, args: tuple, kwargs: dict) -> Any:
        handler = _FUNCTIONS.get(fn)
        if handler is None:
            site.fail(f"unsupported function {_function_label(fn)} in a traced forward")
        return handler(site, args, kwargs)

    def method(self, name: str, site: Site, args: tuple, kwargs: dict) -> Any:
        if not args or not isinstance(args[0], SymTensor):
            site.fail(f"method {name!r} called on something that is not a tensor")
        handler = _METHODS.get(name)
        if handler is None:
            site.fail(f"unsupported tensor method .{name}() in a traced forward")
        return handler(site, args, kwargs)


def _attribute(m: nn.Module, target: str) -> Any:
    obj: Any = m
    for part in target.split("."):
        obj = getattr(obj, part)
    if isinstance(obj, torch.Tensor):
        return SymTensor(tuple(sp.Integer(d) for d in obj.shape))
    return obj


def _function_label(fn: Any) -> str:
    name = getattr(fn, "__name__", None) or repr(fn)
    module = getattr(fn, "__module__", None) or ""
    if fn in _OPERATOR_NAMES:
        return _OPERATOR_NAMES[fn]
    if module.startswith("torch.nn.functional") or fn in _FUNCTIONAL:
        return f"F.{name}"
    if module == "torch" or getattr(torch, name, None) is fn:
        return f"torch.{name}"
    return name


# -- argument binding ----------------------------------------------------------------------


def _bind(site: Site, args: tuple, kwargs: dict, names: Sequence[str], defaults: dict) -> dict:
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


def _tensor(site: Site, value: Any, what: str = "input") -> Shape:
    if not isinstance(value, SymTensor):
        site.fail(f"{what} must be a tensor, got {value!r}")
    return value.shape


def _shape_of(value: Any) -> Shape | None:
    """A tensor's shape; ``()`` for Python and SymPy scalars (they broadcast)."""
    if isinstance(value, SymTensor):
        return value.shape
    if isinstance(value, (int, float, bool, sp.Expr)):
        return ()
    return None


def _sizes(site: Site, args: Sequence[Any]) -> list[Any]:
    """``view(2, 3)`` and ``view((2, 3))`` alike."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = args[0]
    out = []
    for a in args:
        if isinstance(a, SymTensor):
            site.fail("sizes must be integers, got a tensor")
        out.append(a)
    return out


# -- handlers ------------------------------------------------------------------------------

Handler = Callable[[Site, tuple, dict], Any]


def _same(site: Site, args: tuple, kwargs: dict) -> Any:
    if not args:
        site.fail("expected a tensor argument")
    if isinstance(args[0], SymTensor):
        return args[0]
    site.fail(f"expected a tensor, got {args[0]!r}")


def _softmax(site: Site, args: tuple, kwargs: dict) -> Any:
    x = _tensor(site, args[0] if args else None)
    dim = args[1] if len(args) > 1 else kwargs.get("dim")
    if dim is not None:
        rules.normalize_dim(site, dim, len(x))
    return SymTensor(x)


def _binary(op: Callable[[Any, Any], Any], inplace: bool = False) -> Handler:
    def handler(site: Site, args: tuple, kwargs: dict) -> Any:
        if len(args) < 2:
            other = kwargs.get("other")
            if other is None or not args:
                site.fail("expected two operands")
            args = (args[0], other)
        a, b = args[0], args[1]
        if not isinstance(a, SymTensor) and not isinstance(b, SymTensor):
            try:
                return _scalar(op(a, b))
            except TypeError:
                site.fail(f"cannot combine {a!r} and {b!r}")
        sa, sb = _shape_of(a), _shape_of(b)
        if sa is None or sb is None:
            site.fail(f"cannot combine {a!r} and {b!r}")
        out = rules.broadcast_shapes(site, sa, sb)
        if inplace:
            for i, (p, q) in enumerate(zip(sa, out[len(out) - len(sa) :])):
                site.require(
                    sp.Eq(p, q),
                    lambda i=i: f"in-place output of shape {show_shape(sa)} does not match "
                    f"the broadcast shape {show_shape(out)} (dimension {i})",
                )
            if len(out) != len(sa):
                site.fail(
                    f"in-place output of shape {show_shape(sa)} does not match the broadcast "
                    f"shape {show_shape(out)}"
                )
            return SymTensor(sa)
        return SymTensor(tuple(tidy(d) for d in out))

    return handler


def _scalar(value: Any) -> Any:
    if isinstance(value, sp.Basic):
        return tidy(value)
    return value


def _tensors_only(a: Any, b: Any) -> Any:
    raise TypeError("needs tensors")


def _floordiv(a: Any, b: Any) -> Any:
    if isinstance(a, sp.Basic) or isinstance(b, sp.Basic):
        return sp.floor(sp.sympify(a) / sp.sympify(b))
    return a // b


def _getitem(site: Site, args: tuple, kwargs: dict) -> Any:
    obj, index = args
    if isinstance(obj, SymTensor):
        return SymTensor(_index_shape(site, obj.shape, index))
    try:
        return obj[index]
    except (IndexError, KeyError, TypeError) as exc:
        site.fail(f"cannot index {obj!r} with {index!r}: {exc}")


def _index_shape(site: Site, shape: Shape, index: Any) -> Shape:
    items = list(index) if isinstance(index, tuple) else [index]
    used = sum(1 for i in items if i is not None and i is not Ellipsis)
    if used > len(shape):
        site.fail(f"too many indices ({used}) for a tensor of shape {show_shape(shape)}")
    if Ellipsis in items:
        e = items.index(Ellipsis)
        items[e : e + 1] = [slice(None)] * (len(shape) - used)
    items += [slice(None)] * (len(shape) - sum(1 for i in items if i is not None))
    out: list[sp.Expr] = []
    dims = iter(shape)
    for item in items:
        if item is None:
            out.append(sp.Integer(1))
            continue
        n = next(dims)
        if isinstance(item, slice):
            out.append(_slice_length(site, n, item))
        elif isinstance(item, (int, sp.Expr)) and not isinstance(item, bool):
            i = sp.Integer(item) if isinstance(item, int) else item
            site.require(
                sp.And(sp.Ge(i, -n), sp.Lt(i, n)),
                lambda i=i, n=n: f"index {i} is out of bounds for dimension with size {n}",
            )
        else:
            site.fail(f"unsupported index {item!r} (only ints, slices, None and ...)")
    return tuple(out)


def _slice_length(site: Site, n: sp.Expr, item: slice) -> sp.Expr:
    step = 1 if item.step is None else item.step
    if not isinstance(step, int) or step <= 0:
        site.fail(f"slice step must be a positive int, got {item.step!r}")

    def clamp(v: Any, default: sp.Expr) -> sp.Expr:
        if v is None:
            return default
        v = as_dim(v, "slice bound")
        if sp.Lt(v, 0) is sp.true:
            return sp.Max(n + v, 0)
        return sp.Min(v, n)

    start, stop = clamp(item.start, sp.Integer(0)), clamp(item.stop, n)
    return tidy(sp.Max(sp.ceiling((stop - start) / step), 0))


def _cat(site: Site, args: tuple, kwargs: dict) -> Any:
    b = _bind(site, args, kwargs, ("tensors", "dim"), {"dim": 0})
    shapes = [_tensor(site, t, "tensors") for t in b["tensors"]]
    return SymTensor(tuple(tidy(d) for d in rules.cat_shape(site, shapes, b["dim"])))


def _stack(site: Site, args: tuple, kwargs: dict) -> Any:
    b = _bind(site, args, kwargs, ("tensors", "dim"), {"dim": 0})
    shapes = [_tensor(site, t, "tensors") for t in b["tensors"]]
    return SymTensor(rules.stack_shape(site, shapes, b["dim"]))


def _flatten(default_start: int) -> Handler:
    def handler(site: Site, args: tuple, kwargs: dict) -> Any:
        b = _bind(
            site, args, kwargs, ("input", "start_dim", "end_dim"),
            {"start_dim": default_start, "end_dim": -1},
        )
        x = _tensor(site, b["input"])
        return SymTensor(rules.flatten_shape(site, x, b["start_dim"], b["end_dim"]))

    return handler


def _reshape_function(site: Site, args: tuple, kwargs: dict) -> Any:
    b = _bind(site, args, kwargs, ("input", "shape"), {})
    x = _tensor(site, b["input"])
    return SymTensor(rules.reshape_shape(site, x, _sizes(site, [b["shape"]])))


def _view(site: Site, args: tuple, kwargs: dict) -> Any:
    x = _tensor(site, args[0])
    sizes = _sizes(site, list(args[1:]) or [kwargs.get("size", kwargs.get("shape", ()))])
    return SymTensor(rules.reshape_shape(site, x, sizes))


def _view_as(site: Site, args: tuple, kwargs: dict) -> Any:
    x = _tensor(site, args[0])
    other = _tensor(site, args[1] if len(args) > 1 else kwargs.get("other"), "other")
    return SymTensor(rules.reshape_shape(site, x, list(other)))


def _expand_as(site: Site, args: tuple, kwargs: dict) -> Any:
    x = _tensor(site, args[0])
    other = _tensor(site, args[1] if len(args) > 1 else kwargs.get("other"), "other")
    return _expand(site, (SymTensor(x), *other), {})


def _expand(site: Site, args: tuple, kwargs: dict) -> Any:
    x = _tensor(site, args[0])
    sizes = [as_dim(s, "size") for s in _sizes(site, list(args[1:]) or [kwargs.get("size", ())])]
    if len(sizes) < len(x):
        site.fail(f"expand to {show_shape(sizes)} has fewer dims than {show_shape(x)}")
    padded = (sp.Integer(1),) * (len(sizes) - len(x)) + tuple(x)
    out = []
    for i, (have, want) in enumerate(zip(padded, sizes)):
        if want == -1:
            if i < len(sizes) - len(x):
                site.fail("expand: -1 is not allowed in a leading, new dimension")
            out.append(have)
            continue
        if have != want:
            site.require(
                sp.Or(sp.Eq(have, want), sp.Eq(have, 1)),
                lambda want=want, have=have, i=i: f"expanded size {want} must match the "
                f"existing size {have} at dimension {i}",
            )
        out.append(want)
    return SymTensor(tuple(out))


def _unflatten(site: Site, args: tuple, kwargs: dict) -> Any:
    b = _bind(site, args, kwargs, ("input", "dim", "sizes"), {})
    return SymTensor(rules.unflatten_shape(site, _tensor(site, b["input"]), b["dim"], b["sizes"]))


def _permute(site: Site, args: tuple, kwargs: dict) -> Any:
    x = _tensor(site, args[0])
    order = _sizes(site, list(args[1:]) or [kwargs.get("dims", ())])
    return SymTensor(rules.permute_shape(site, x, order))


def _transpose(site: Site, args: tuple, kwargs: dict) -> Any:
    b = _bind(site, args, kwargs, ("input", "dim0", "dim1"), {})
    return SymTensor(rules.transpose_shape(site, _tensor(site, b["input"]), b["dim0"], b["dim1"]))


def _t(site: Site, args: tuple, kwargs: dict) -> Any:
    x = _tensor(site, args[0])
    if len(x) > 2:
        site.fail(f"t() expects a tensor with <= 2 dimensions, got {show_shape(x)}")
    return SymTensor(tuple(reversed(x)))


def _unsqueeze(site: Site, args: tuple, kwargs: dict) -> Any:
    b = _bind(site, args, kwargs, ("input", "dim"), {})
    return SymTensor(rules.unsqueeze_shape(site, _tensor(site, b["input"]), b["dim"]))


def _squeeze(site: Site, args: tuple, kwargs: dict) -> Any:
    b = _bind(site, args, kwargs, ("input", "dim"), {"dim": None})
    return SymTensor(rules.squeeze_shape(site, _tensor(site, b["input"]), b["dim"]))


def _reduce(site: Site, args: tuple, kwargs: dict) -> Any:
    kwargs = {k: v for k, v in kwargs.items() if k != "dtype"}
    b = _bind(site, args, kwargs, ("input", "dim", "keepdim"), {"dim": None, "keepdim": False})
    return SymTensor(rules.reduce_shape(site, _tensor(site, b["input"]), b["dim"], b["keepdim"]))


def _max_min(site: Site, args: tuple, kwargs: dict) -> Any:
    if len(args) >= 2 and isinstance(args[1], SymTensor):
        return _binary(operator.add)(site, args[:2], {})
    b = _bind(site, args, kwargs, ("input", "dim", "keepdim"), {"dim": None, "keepdim": False})
    x = _tensor(site, b["input"])
    if b["dim"] is None:
        return SymTensor(())
    out = SymTensor(rules.reduce_shape(site, x, b["dim"], b["keepdim"]))
    return (out, out)


def _size(site: Site, args: tuple, kwargs: dict) -> Any:
    x = _tensor(site, args[0])
    dim = args[1] if len(args) > 1 else kwargs.get("dim")
    if dim is None:
        return tuple(x)
    return x[rules.normalize_dim(site, dim, len(x))]


def _dim(site: Site, args: tuple, kwargs: dict) -> Any:
    return len(_tensor(site, args[0]))


def _numel(site: Site, args: tuple, kwargs: dict) -> Any:
    return rules.numel(_tensor(site, args[0]))


def _getattr(site: Site, args: tuple, kwargs: dict) -> Any:
    obj, name = args[0], args[1]
    if isinstance(obj, SymTensor):
        if name == "shape":
            return tuple(obj.shape)
        if name == "ndim":
            return len(obj.shape)
        if name in ("dtype", "device", "layout"):
            return _Opaque(name)
        site.fail(f"unsupported tensor attribute .{name}")
    try:
        return getattr(obj, name)
    except AttributeError as exc:
        site.fail(str(exc))


class _Opaque:
    """A value derive does not model (dtype, device): fine to pass along, never to compute with."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


def _conv_function(spatial: int, transposed: bool) -> Handler:
    if transposed:
        names = ("input", "weight", "bias", "stride", "padding", "output_padding", "groups",
                 "dilation")  # fmt: skip
        defaults = {"bias": None, "stride": 1, "padding": 0, "output_padding": 0, "groups": 1,
                    "dilation": 1}  # fmt: skip
    else:
        names = ("input", "weight", "bias", "stride", "padding", "dilation", "groups")
        defaults = {"bias": None, "stride": 1, "padding": 0, "dilation": 1, "groups": 1}

    def handler(site: Site, args: tuple, kwargs: dict) -> Any:
        b = _bind(site, args, kwargs, names, defaults)
        x = _tensor(site, b["input"])
        w = _tensor(site, b["weight"], "weight")
        if len(w) != spatial + 2:
            site.fail(f"weight must be {spatial + 2}D, got shape {show_shape(w)}")
        groups = int(b["groups"])
        kernel = tuple(int(k) for k in w[2:])
        if transposed:
            return SymTensor(rules.conv_transpose_shape(
                site, x, spatial, in_channels=int(w[0]), out_channels=int(w[1]) * groups,
                kernel_size=kernel, stride=b["stride"], padding=b["padding"],
                output_padding=b["output_padding"], dilation=b["dilation"],
            ))
        return SymTensor(rules.conv_shape(
            site, x, spatial, in_channels=int(w[1]) * groups, out_channels=int(w[0]),
            kernel_size=kernel, stride=b["stride"], padding=b["padding"], dilation=b["dilation"],
        ))

    return handler


def _max_pool_function(spatial: int, indices: bool | None) -> Handler:
    names = ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices")
    defaults = {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False,
                "return_indices": False}  # fmt: skip

    def handler(site: Site, args: tuple, kwargs: dict) -> Any:
        b = _bind(site, args, kwargs, names, defaults)
        out = SymTensor(rules.pool_shape(
            site, _tensor(site, b["input"]), spatial, kernel_size=b["kernel_size"],
            stride=b["stride"], padding=b["padding"], dilation=b["dilation"],
            ceil_mode=b["ceil_mode"],
        ))
        with_indices = b["return_indices"] if indices is None else indices
        return (out, out) if with_indices else out

    return handler


def _avg_pool_function(spatial: int) -> Handler:
    names = ("input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
             "divisor_override")  # fmt: skip
    defaults = {"stride": None, "padding": 0, "ceil_mode": False, "count_include_pad": True,
                "divisor_override": None}  # fmt: skip

    def handler(site: Site, args: tuple, kwargs: dict) -> Any:
        b = _bind(site, args, kwargs, names[: 6 if spatial == 1 else 7], defaults)
        return SymTensor(rules.pool_shape(
            site, _tensor(site, b["input"]), spatial, kernel_size=b["kernel_size"],
            stride=b["stride"], padding=b["padding"], ceil_mode=b["ceil_mode"],
            input_at_least_kernel=(spatial == 3),
        ))

    return handler


def _adaptive_function(spatial: int, indices: bool) -> Handler:
    names = ("input", "output_size", "return_indices")

    def handler(site: Site, args: tuple, kwargs: dict) -> Any:
        b = _bind(site, args, kwargs, names, {"return_indices": False})
        out = SymTensor(rules.adaptive_pool_shape(
            site, _tensor(site, b["input"]), spatial, output_size=b["output_size"],
            mean_shortcut=not indices and spatial > 1,
        ))
        return (out, out) if indices and b["return_indices"] else out

    return handler


def _linear_function(site: Site, args: tuple, kwargs: dict) -> Any:
    b = _bind(site, args, kwargs, ("input", "weight", "bias"), {"bias": None})
    w = _tensor(site, b["weight"], "weight")
    if len(w) != 2:
        site.fail(f"weight must be 2D, got shape {show_shape(w)}")
    return SymTensor(rules.linear_shape(
        site, _tensor(site, b["input"]), in_features=int(w[1]), out_features=int(w[0])
    ))


def _layer_norm_function(site: Site, args: tuple, kwargs: dict) -> Any:
    b = _bind(site, args, kwargs, ("input", "normalized_shape", "weight", "bias", "eps"),
              {"weight": None, "bias": None, "eps": 1e-5})
    shape = b["normalized_shape"]
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    x = _tensor(site, b["input"])
    return SymTensor(rules.layer_norm_shape(site, x, normalized_shape=shape))


_UNARY_FUNCTIONS = [
    torch.relu, torch.relu_, torch.sigmoid, torch.tanh, torch.exp, torch.abs, torch.neg,
    torch.sqrt, torch.clamp, torch.clip, torch.dropout, torch.square,
    F.relu, F.relu_, F.relu6, F.gelu, F.silu, F.mish, F.elu, F.selu, F.celu, F.leaky_relu,
    F.hardtanh, F.hardswish, F.hardsigmoid, F.sigmoid, F.tanh, F.softplus, F.softsign,
    F.logsigmoid, F.tanhshrink, F.dropout, F.alpha_dropout, operator.neg, operator.pos,
]

def _dropout_function(channel_dims: int) -> Handler:
    def handler(site: Site, args: tuple, kwargs: dict) -> Any:
        b = _bind(site, args, kwargs, ("input", "p", "training", "inplace"),
                  {"p": 0.5, "training": True, "inplace": False})  # fmt: skip
        x = _tensor(site, b["input"])
        return SymTensor(rules.dropout_shape(
            site, x, channel_dims=channel_dims, training=bool(b["training"])
        ))

    return handler


_OPERATOR_NAMES: dict[Any, str] = {
    operator.add: "add", operator.sub: "sub", operator.mul: "mul", operator.truediv: "truediv",
    operator.floordiv: "floordiv", operator.mod: "mod", operator.pow: "pow",
    operator.iadd: "iadd", operator.isub: "isub", operator.imul: "imul",
    operator.itruediv: "itruediv", operator.getitem: "getitem", operator.neg: "neg",
    operator.pos: "pos", builtins.getattr: "getattr",
}

_FUNCTIONS: dict[Any, Handler] = {
    **{fn: _same for fn in _UNARY_FUNCTIONS},
    operator.add: _binary(operator.add),
    operator.sub: _binary(operator.sub),
    operator.mul: _binary(operator.mul),
    operator.truediv: _binary(operator.truediv),
    operator.floordiv: _binary(_floordiv),
    operator.mod: _binary(operator.mod),
    operator.pow: _binary(operator.pow),
    operator.iadd: _binary(operator.add, inplace=True),
    operator.isub: _binary(operator.sub, inplace=True),
    operator.imul: _binary(operator.mul, inplace=True),
    operator.itruediv: _binary(operator.truediv, inplace=True),
    torch.add: _binary(operator.add),
    torch.sub: _binary(operator.sub),
    torch.mul: _binary(operator.mul),
    torch.div: _binary(operator.truediv),
    torch.maximum: _binary(_tensors_only),
    torch.minimum: _binary(_tensors_only),
    operator.getitem: _getitem,
    builtins.getattr: _getattr,
    torch.cat: _cat,
    torch.concat: _cat,
    torch.concatenate: _cat,
    torch.stack: _stack,
    torch.flatten: _flatten(0),
    torch.reshape: _reshape_function,
    torch.permute: _permute,
    torch.transpose: _transpose,
    torch.unsqueeze: _unsqueeze,
    torch.squeeze: _squeeze,
    torch.mean: _reduce,
    torch.sum: _reduce,
    torch.amax: _reduce,
    torch.amin: _reduce,
    torch.softmax: _softmax,
    F.softmax: _softmax,
    F.log_softmax: _softmax,
    F.conv1d: _conv_function(1, False),
    F.conv2d: _conv_function(2, False),
    F.conv3d: _conv_function(3, False),
    F.conv_transpose1d: _conv_function(1, True),
    F.conv_transpose2d: _conv_function(2, True),
    F.conv_transpose3d: _conv_function(3, True),
    F.max_pool1d: _max_pool_function(1, None),
    F.max_pool2d: _max_pool_function(2, None),
    F.max_pool3d: _max_pool_function(3, None),
    F.max_pool1d_with_indices: _max_pool_function(1, True),
    F.max_pool2d_with_indices: _max_pool_function(2, True),
    F.max_pool3d_with_indices: _max_pool_function(3, True),
    F.avg_pool1d: _avg_pool_function(1),
    F.avg_pool2d: _avg_pool_function(2),
    F.avg_pool3d: _avg_pool_function(3),
    F.adaptive_avg_pool1d: _adaptive_function(1, False),
    F.adaptive_avg_pool2d: _adaptive_function(2, False),
    F.adaptive_avg_pool3d: _adaptive_function(3, False),
    F.adaptive_max_pool1d: _adaptive_function(1, True),
    F.adaptive_max_pool2d: _adaptive_function(2, True),
    F.adaptive_max_pool3d: _adaptive_function(3, True),
    F.adaptive_max_pool1d_with_indices: _adaptive_function(1, True),
    F.adaptive_max_pool2d_with_indices: _adaptive_function(2, True),
    F.adaptive_max_pool3d_with_indices: _adaptive_function(3, True),
    F.dropout1d: _dropout_function(1),
    F.dropout2d: _dropout_function(2),
    F.dropout3d: _dropout_function(3),
    F.feature_alpha_dropout: _dropout_function(-1),
    F.linear: _linear_function,
    F.layer_norm: _layer_norm_function,
}

_FUNCTIONAL = {fn for fn in _FUNCTIONS if getattr(F, getattr(fn, "__name__", ""), None) is fn}

_SAME_METHODS = [
    "contiguous", "clone", "detach", "float", "double", "half", "bfloat16", "to", "type",
    "type_as", "cpu", "requires_grad_", "relu", "relu_", "sigmoid", "sigmoid_", "tanh",
    "tanh_", "exp", "abs", "neg", "sqrt", "clamp", "clamp_", "clip", "square",
]

_METHODS: dict[str, Handler] = {
    **{name: _same for name in _SAME_METHODS},
    "add": _binary(operator.add),
    "sub": _binary(operator.sub),
    "mul": _binary(operator.mul),
    "div": _binary(operator.truediv),
    "add_": _binary(operator.add, inplace=True),
    "sub_": _binary(operator.sub, inplace=True),
    "mul_": _binary(operator.mul, inplace=True),
    "div_": _binary(operator.truediv, inplace=True),
    "view": _view,
    "reshape": _view,
    "view_as": _view_as,
    "reshape_as": _view_as,
    "expand": _expand,
    "expand_as": _expand_as,
    "flatten": _flatten(0),
    "unflatten": _unflatten,
    "permute": _permute,
    "transpose": _transpose,
    "t": _t,
    "unsqueeze": _unsqueeze,
    "squeeze": _squeeze,
    "mean": _reduce,
    "sum": _reduce,
    "amax": _reduce,
    "amin": _reduce,
    "max": _max_min,
    "min": _max_min,
    "softmax": _softmax,
    "log_softmax": _softmax,
    "size": _size,
    "dim": _dim,
    "ndimension": _dim,
    "numel": _numel,
}


# -- entry points --------------------------------------------------------------------------


def trace(module: nn.Module, input_shape: Sequence[object]) -> Trace:
    r"""Every layer's output shape for an input of ``input_shape`` (ints and/or SymPy symbols).

    >>> from torch import nn
    >>> from derive.grammar import size_symbol
    >>> H = size_symbol("H")
    >>> net = nn.Sequential(nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.ReLU(), nn.MaxPool2d(2))
    >>> for layer in trace(net, (1, 1, H, 8)).layers:
    ...     print(layer.path, layer.kind, layer.shape)
    0 Conv2d (1, 4, floor(H/2 - 1/2) + 1, 4)
    1 ReLU (1, 4, floor(H/2 - 1/2) + 1, 4)
    2 MaxPool2d (1, 4, floor(H/4 - 3/4) + 1, 2)
    """
    if not isinstance(module, nn.Module):
        raise ShapeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    shape = as_shape(input_shape)
    walker = _Walker()
    out = walker.module(module, "", [SymTensor(shape)], {})
    return Trace(shape, tuple(walker.layers), _unwrap(out), tuple(walker.constraints))


def _unwrap(value: Any) -> Any:
    if isinstance(value, SymTensor):
        return value.shape
    if isinstance(value, (tuple, list)):
        return tuple(_unwrap(v) for v in value)
    return value


def output_shape(module: nn.Module, input_shape: Sequence[object]) -> Any:
    r"""The shape ``module`` outputs for an input of ``input_shape``, exact for every size.

    ``input_shape`` holds ints and/or SymPy symbols (e.g. :func:`derive.grammar.size_symbol`).
    The result is a tuple of SymPy expressions (a tuple of such tuples when ``forward``
    returns several tensors). With concrete sizes, :class:`derive.ShapeError` is raised
    exactly when torch's forward would fail, naming the layer.

    >>> from torch import nn
    >>> from derive.grammar import size_symbol
    >>> H, W = size_symbol("H"), size_symbol("W")
    >>> lenet_features = nn.Sequential(
    ...     nn.Conv2d(1, 6, 5, padding=2), nn.Sigmoid(), nn.AvgPool2d(2, 2),
    ...     nn.Conv2d(6, 16, 5), nn.Sigmoid(), nn.AvgPool2d(2, 2), nn.Flatten())
    >>> output_shape(lenet_features, (1, 1, H, W))
    (1, 16*(floor(H/4) - 2)*(floor(W/4) - 2))
    >>> output_shape(nn.Sequential(lenet_features, nn.Linear(400, 120)), (1, 1, 20, 28))
    Traceback (most recent call last):
        ...
    derive.errors.ShapeError: 1 (Linear): in_features=400 does not match the last dim 240 ...
    """
    return trace(module, input_shape).output
