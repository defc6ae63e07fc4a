r"""A network as a graph of layers: who feeds whom, and every tensor's symbolic shape.

The receptive field of a residual block needs the block's two branches, and the memory kept
for backward needs to know which layers share a tensor; the per-layer records of
:func:`derive.networks.trace` have neither, so this module walks the module the same way
(``nn.Sequential`` child by child, any other module through ``torch.fx`` with its submodules
kept whole) and records, for every layer call, the tensors it reads.

Shapes come from derive's own shape engine: each torch layer's output shape is
:func:`derive.output_shape` of that layer alone (memoised: a ResNet repeats the same layer at
the same size many times). Between layers, a forward may add, concatenate, flatten, reshape
or average tensors, and call functional forms (``F.relu``, ``F.max_pool2d``...), which are
turned into the equivalent layer. Anything else is refused with :class:`derive.ShapeError`
naming the node: a wrong graph would give wrong fields, costs and memory.

This module imports torch (it is imported by :mod:`derive.calculus` only when a network is
analysed).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sympy as sp
import torch
import torch.fx
import torch.nn.functional as F
from torch import nn

from derive.errors import ShapeError
from derive.params import as_dim

__all__ = ["Ref", "Node", "Graph", "build_graph"]


@dataclass(frozen=True)
class Ref:
    """A tensor in the graph: the output of node ``index``."""

    index: int


@dataclass
class Node:
    """One layer call (``module`` set) or tensor function (``function`` set) of a forward.

    ``inputs`` are node indices; ``args`` the function's other arguments (e.g. ``dim``);
    ``alias`` is true when the output shares its input's storage (a view or an in-place
    operation).
    """

    index: int
    path: str
    kind: str
    shape: tuple[sp.Expr, ...]
    inputs: tuple[int, ...] = ()
    module: nn.Module | None = None
    function: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    alias: bool = False


@dataclass
class Graph:
    """The nodes in the order the forward runs them; node 0 is the network's input."""

    nodes: list[Node]
    output: int

    @property
    def input(self) -> Node:
        return self.nodes[0]


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


def _is_torch_layer(m: nn.Module) -> bool:
    return type(m).__module__.startswith("torch.nn.modules") and not isinstance(m, _CONTAINERS)


class _Proxy(torch.fx.Proxy):
    """Records ``y += x`` as ``operator.iadd`` (plain fx records an ``add``)."""

    def __iadd__(self, other: Any) -> Any:
        return self.tracer.create_proxy("call_function", operator.iadd, (self, other), {})

    def __imul__(self, other: Any) -> Any:
        return self.tracer.create_proxy("call_function", operator.imul, (self, other), {})


class _Tracer(torch.fx.Tracer):
    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return True

    def proxy(self, node: torch.fx.Node) -> torch.fx.Proxy:
        return _Proxy(node, self)


_SHAPES: dict[tuple, tuple[sp.Expr, ...]] = {}

#: layers that keep their input's shape, whatever it is (activations, dropout, identity)
_SAME_SHAPE = (
    nn.ReLU, nn.ReLU6, nn.Sigmoid, nn.Tanh, nn.GELU, nn.SiLU, nn.LeakyReLU, nn.ELU, nn.Mish,
    nn.Hardswish, nn.Hardsigmoid, nn.Hardtanh, nn.Softplus, nn.Identity, nn.Dropout,
)


def _layer_shape(m: nn.Module, shape: tuple[sp.Expr, ...], path: str,
                 attrs: tuple | None) -> tuple[sp.Expr, ...]:  # fmt: skip
    """derive's output shape of one torch layer (memoised on its description and the shape)."""
    from derive.networks import output_shape

    if isinstance(m, _SAME_SHAPE) and len(shape) >= 1:
        return shape  # entry by entry: torch accepts any shape
    key = None if attrs is None else (attrs, shape)
    if key is None or key not in _SHAPES:
        try:
            out = output_shape(m, shape)
        except ShapeError as exc:
            raise ShapeError(f"{path or type(m).__name__}: {exc}") from None
        if out and isinstance(out[0], tuple):
            raise ShapeError(f"{path} ({type(m).__name__}): layers returning several tensors "
                             "are not supported here")  # fmt: skip
        if key is None:
            return tuple(out)
        if len(_SHAPES) > 4096:
            _SHAPES.clear()
        _SHAPES[key] = tuple(out)
    return _SHAPES[key]


_PLAIN = frozenset((bool, int, float, str, type(None)))


def _memo_key(m: nn.Module) -> tuple | None:
    """The module's type, every plain attribute, its mode included (a repr can hide some:
    ``AvgPool1d`` does not show ``ceil_mode``), and the shape of each of its own parameters
    (``bias=False`` is a missing parameter, not an attribute); None when an attribute is not
    plain (then nothing is memoised)."""
    attrs = []
    for k, v in m.__dict__.items():
        if k[0] == "_":
            continue
        if type(v) in _PLAIN:
            attrs.append((k, v))
        elif type(v) in (tuple, list) and all(type(x) in _PLAIN for x in v):
            attrs.append((k, tuple(v)))
        else:
            return None
    params = tuple((n, None if p is None else tuple(p.shape)) for n, p in m._parameters.items())
    return type(m), tuple(attrs), params


class _Builder:
    def __init__(self, shape: tuple[sp.Expr, ...]) -> None:
        self.nodes = [Node(0, "(input)", "input", shape)]
        self._graphs: dict[int, torch.fx.Graph] = {}
        self._attrs: dict[int, tuple | None] = {}

    def attrs(self, m: nn.Module) -> tuple | None:
        """:func:`_memo_key` of ``m``, once per build (modules do not change mid-build)."""
        if id(m) not in self._attrs:
            self._attrs[id(m)] = _memo_key(m)
        return self._attrs[id(m)]

    def add(self, **kw: Any) -> Ref:
        node = Node(len(self.nodes), **kw)
        self.nodes.append(node)
        return Ref(node.index)

    def shape(self, value: Any, path: str) -> tuple[sp.Expr, ...]:
        if not isinstance(value, Ref):
            raise ShapeError(f"{path}: expected a tensor, got {value!r}")
        return self.nodes[value.index].shape

    # -- modules ---------------------------------------------------------------------------

    def module(self, m: nn.Module, path: str, args: Sequence[Any], kwargs: dict) -> Any:
        if _is_torch_layer(m):
            if len(args) != 1 or kwargs:
                raise ShapeError(f"{path} ({type(m).__name__}): expected one tensor argument")
            return self.layer(m, path, type(m).__name__, args[0])
        if isinstance(m, nn.Sequential) and type(m).forward is nn.Sequential.forward:
            value = args[0] if len(args) == 1 and not kwargs else None
            if value is None:
                raise ShapeError(f"{path or 'Sequential'}: nn.Sequential takes one input")
            for name, child in m.named_children():
                value = self.module(child, _join(path, name), [value], {})
            return value
        return self.graph_module(m, path, args, kwargs)

    def layer(self, m: nn.Module, path: str, kind: str, value: Any) -> Ref:
        shape = _layer_shape(m, self.shape(value, path), path, self.attrs(m))
        inplace = bool(getattr(m, "inplace", False)) or isinstance(m, (nn.Identity, nn.Flatten))
        if isinstance(m, nn.modules.dropout._DropoutNd) and not m.training:
            inplace = True  # evaluation-mode dropout returns its input
        return self.add(path=path, kind=kind, shape=shape, inputs=(value.index,), module=m,
                        alias=inplace, args={"key": self.attrs(m)})  # fmt: skip

    def graph_module(self, m: nn.Module, path: str, args: Sequence[Any], kwargs: dict) -> Any:
        kind = type(m).__name__
        graph = self._graphs.get(id(m))
        if graph is None:
            graph = self._graphs[id(m)] = _traced(m, path or kind, self.attrs)
        env: dict[torch.fx.Node, Any] = {}
        positional = list(args)
        for node in graph.nodes:
            where = _join(path, node.name)
            if node.op == "placeholder":
                if positional:
                    env[node] = positional.pop(0)
                elif node.target in kwargs:
                    env[node] = kwargs[node.target]
                elif node.args:
                    env[node] = node.args[0]
                else:
                    raise ShapeError(f"{path or kind}: no value for argument {node.target!r}")
                continue
            a = torch.fx.node.map_arg(node.args, lambda n: env[n])
            kw = torch.fx.node.map_arg(node.kwargs, lambda n: env[n])
            if node.op == "call_module":
                sub = m.get_submodule(node.target)
                env[node] = self.module(sub, _join(path, node.target), a, kw)
            elif node.op in ("call_function", "call_method"):
                env[node] = self.function(node.op, node.target, where, a, kw)
            elif node.op == "get_attr":
                raise ShapeError(f"{where}: tensors held by the module ({node.target}) are not "
                                 "supported; use torch layers")  # fmt: skip
            elif node.op == "output":
                return a[0]
        raise ShapeError(f"{path or kind}: the traced graph has no output")  # pragma: no cover

    # -- functions -------------------------------------------------------------------------

    def function(self, op: str, target: Any, where: str, args: tuple, kwargs: dict) -> Any:
        from derive.calculus.functions import dispatch

        return dispatch(self, op, target, where, args, kwargs)


#: traced graphs by structure (see :func:`_structure`), reused across modules and calls
_TRACED: dict[tuple, torch.fx.Graph] = {}


def _structure(m: nn.Module, attrs: Callable[[nn.Module], tuple | None]) -> tuple | None:
    """What a module's traced forward can depend on: its class and mode, its plain
    attributes (``attrs``), its parameters' shapes, and the same of every submodule, by name.
    None when some attribute is not plain (then the module is traced afresh)."""
    key = attrs(m)
    if key is None:
        return None
    children = []
    for name, child in m._modules.items():
        if child is None:
            children.append((name, None))
            continue
        sub = _structure(child, attrs)
        if sub is None:
            return None
        children.append((name, sub))
    return key, tuple(children)


def _traced(m: nn.Module, where: str, attrs: Callable[[nn.Module], tuple | None]
            ) -> torch.fx.Graph:  # fmt: skip
    """``m``'s forward traced by torch.fx (its submodules kept whole), reused for modules of
    the same structure: fx records the Python control flow of ``forward``, which reads
    nothing but the module's attributes and submodules."""
    key = _structure(m, attrs)
    if key is not None and key in _TRACED:
        return _TRACED[key]
    try:
        graph = _Tracer(autowrap_modules=()).trace(m)
    except Exception as exc:  # fx raises many types; report the first line
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ShapeError(f"{where}: torch.fx cannot trace this module: {first}") from None
    if key is not None:
        if len(_TRACED) > 1024:
            _TRACED.clear()
        _TRACED[key] = graph
    return graph


def _read_shape(input_shape: Sequence[object]) -> tuple[sp.Expr, ...]:
    if isinstance(input_shape, (str, bytes)) or not isinstance(input_shape, Sequence):
        raise ShapeError(f"input_shape must be a sequence of sizes, got {input_shape!r}")
    return tuple(as_dim(d, "input_shape") for d in input_shape)


def build_graph(module: nn.Module, input_shape: Sequence[object]) -> Graph:
    """The graph of ``module`` called on one tensor of ``input_shape`` (ints and/or symbols).

    >>> from torch import nn
    >>> g = build_graph(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU()), (1, 1, 8, 8))
    >>> [(n.path, n.kind, n.inputs, n.shape) for n in g.nodes[1:]]
    [('0', 'Conv2d', (0,), (1, 2, 6, 6)), ('1', 'ReLU', (1,), (1, 2, 6, 6))]
    """
    if not isinstance(module, nn.Module):
        raise ShapeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    builder = _Builder(_read_shape(input_shape))
    out = builder.module(module, "", [Ref(0)], {})
    if not isinstance(out, Ref):
        raise ShapeError("the network must return one tensor")
    return Graph(builder.nodes, out.index)


#: functional forms turned into the equivalent layer: function -> (layer class, argument names)
FUNCTIONAL_LAYERS: dict[Callable[..., Any], tuple[type[nn.Module], tuple[str, ...]]] = {
    F.max_pool1d: (nn.MaxPool1d, ("kernel_size", "stride", "padding", "dilation", "ceil_mode")),
    F.max_pool2d: (nn.MaxPool2d, ("kernel_size", "stride", "padding", "dilation", "ceil_mode")),
    F.avg_pool1d: (nn.AvgPool1d, ("kernel_size", "stride", "padding", "ceil_mode",
                                  "count_include_pad")),
    F.avg_pool2d: (nn.AvgPool2d, ("kernel_size", "stride", "padding", "ceil_mode",
                                  "count_include_pad", "divisor_override")),
    F.adaptive_avg_pool1d: (nn.AdaptiveAvgPool1d, ("output_size",)),
    F.adaptive_avg_pool2d: (nn.AdaptiveAvgPool2d, ("output_size",)),
    F.adaptive_max_pool2d: (nn.AdaptiveMaxPool2d, ("output_size",)),
    F.relu: (nn.ReLU, ("inplace",)),
    torch.relu: (nn.ReLU, ()),
    torch.relu_: (nn.ReLU, ()),
    F.relu6: (nn.ReLU6, ("inplace",)),
    F.leaky_relu: (nn.LeakyReLU, ("negative_slope", "inplace")),
    F.gelu: (nn.GELU, ("approximate",)),
    F.silu: (nn.SiLU, ("inplace",)),
    F.hardswish: (nn.Hardswish, ("inplace",)),
    F.elu: (nn.ELU, ("alpha", "inplace")),
    torch.sigmoid: (nn.Sigmoid, ()),
    F.sigmoid: (nn.Sigmoid, ()),
    torch.tanh: (nn.Tanh, ()),
    F.tanh: (nn.Tanh, ()),
    F.dropout: (nn.Dropout, ("p", "training", "inplace")),
}

#: tensor methods turned into the equivalent layer
METHOD_LAYERS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU, "relu_": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh,
}  # fmt: skip
