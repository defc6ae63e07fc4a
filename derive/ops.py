r"""The registry of operations: one frozen, typed description per layer operation.

Every table that needs to know an operation - the spec reader, the renderers, the notebook
code, the torch checks, the sweep, the command line - reads it from here and dispatches on
the :class:`Op` object (its type and fields), never on the spelling of a name. Adding an
operation or a padding convention means one entry here and its own module.

An entry names:

- its **spellings**, every name accepted from spec files and the command line
  (``"conv2d"`` in a spec, ``"conv"`` on the command line, ``"conv1d"`` in the sweep);
- its **rule** and **size function** along one axis (:mod:`derive.shapes`): acceptance guards
  and output-size formula, $n_\text{out} = f(n, k, s, p, d, \dots)$;
- its **elements** and **terms** functions in two dimensions and its window **plan**
  (:mod:`derive.windows`: padded coordinates, padded/past counts, overhangs);
- its **parameters** (torch's names and defaults) for shape and for element computations;
- the **torch function** that runs it, ``torch.nn.functional.<name><rank>d``.

Engine functions are named, not held: they are looked up in their module when called, so
what ``derive verify`` and the mutation tests patch is what every caller runs.

>>> op_named("conv2d") is CONV
True
>>> op_named("pool").name, CONV_TRANSPOSE.torch_function(1)
('max_pool', 'conv_transpose1d')
>>> [p.name for p in AVG_POOL.shape_params]
['kernel_size', 'stride', 'padding', 'ceil_mode']
>>> CONV.size(8, 3, stride=2, padding=1)
4
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from derive.errors import ShapeError

__all__ = [
    "Param",
    "Op",
    "Convolution",
    "Correlation",
    "Pooling",
    "TransposedConvolution",
    "CONV",
    "CORR2D",
    "MAX_POOL",
    "AVG_POOL",
    "CONV_TRANSPOSE",
    "OPS",
    "op_named",
    "spellings",
]

#: how a parameter is read: sizes (int or pair of ints / expressions), padding (also
#: 'same'/'valid' and ((t, b), (l, r))), flags (bool), counts (positive int), divisors (int)
ParamKind = Literal["size", "padding", "flag", "count", "divisor"]


@dataclass(frozen=True)
class Param:
    """One keyword argument of an operation, with torch's name and default."""

    name: str
    default: object
    kind: ParamKind


_KERNEL = Param("kernel_size", None, "size")
_STRIDE = Param("stride", 1, "size")
_POOL_STRIDE = Param("stride", None, "size")
_PADDING = Param("padding", 0, "padding")
_DILATION = Param("dilation", 1, "size")
_GROUPS = Param("groups", 1, "count")
_CEIL = Param("ceil_mode", False, "flag")
_OUTPUT_PADDING = Param("output_padding", 0, "size")


def _lookup(target: str) -> Callable[..., Any]:
    """``"module:function"`` resolved now (so a patched function is the one called)."""
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class Op:
    """One operation; subclasses say which family (dispatch on the type)."""

    name: str
    title: str
    spellings: tuple[str, ...]
    cli: str
    rule_function: str
    size_function: str
    elements_function: str
    terms_function: str | None
    shape_params: tuple[Param, ...]
    element_params: tuple[Param, ...]

    #: takes a weight tensor (and a bias)
    weighted: bool = True
    #: ``"module:function"`` building the 2-D window plan (:mod:`derive.windows`)
    plan_function: str | None = None

    def rule(self, *args: Any, **kwargs: Any) -> Any:
        """This operation's :class:`derive.shapes.Rule` along one axis (guards and size)."""
        return _lookup(self.rule_function)(*args, **kwargs)

    def size(self, *args: Any, **kwargs: Any) -> Any:
        """The output size along one axis (the :mod:`derive.shapes` function, looked up now)."""
        return _lookup(self.size_function)(*args, **kwargs)

    def elements(self, *args: Any, **kwargs: Any) -> Any:
        """Every output element in two dimensions, as SymPy expressions."""
        return _lookup(self.elements_function)(*args, **kwargs)

    def plan(self, *args: Any, **kwargs: Any) -> Any:
        """The 2-D window plan (padded coordinates, counts, overhangs) of this operation.

        >>> MAX_POOL.plan((1, 5, 5), 2, ceil_mode=True).overhang
        (1, 1)
        """
        if self.plan_function is None:  # pragma: no cover - every entry has one
            raise ShapeError(f"{self.name} has no window plan")
        return _lookup(self.plan_function)(*args, **kwargs)

    def terms(self, *args: Any, **kwargs: Any) -> Any:
        """The products that make one output element (weighted operations only)."""
        if self.terms_function is None:
            raise ShapeError(f"{self.name} has no products to list; it takes no weight")
        return _lookup(self.terms_function)(*args, **kwargs)

    @property
    def runs_as(self) -> Op:
        """The entry whose elements and torch functions compute this operation: itself, except
        for the book's cross-correlation (a one-channel convolution)."""
        return self

    def torch_function(self, spatial: int) -> str:
        """The name in ``torch.nn.functional`` for ``spatial`` dimensions, e.g. ``conv2d``.

        >>> CORR2D.torch_function(2), CORR2D.runs_as
        ('conv2d', <op conv>)
        """
        return f"{self.runs_as.name}{spatial}d"

    def param(self, name: str, shape: bool = False) -> Param:
        """The parameter called ``name`` (of the shape or the element computation)."""
        for p in self.shape_params if shape else self.element_params:
            if p.name == name:
                return p
        raise ShapeError(f"{self.name} takes no {name}")

    def takes(self, name: str, shape: bool = False) -> bool:
        """Whether the shape (or element) computation has a parameter called ``name``.

        >>> AVG_POOL.takes("dilation", shape=True), MAX_POOL.takes("dilation", shape=True)
        (False, True)
        """
        return any(p.name == name for p in (self.shape_params if shape else self.element_params))

    def defaults(self, shape: bool = False) -> dict[str, object]:
        """``{name: default}`` of the shape or element parameters."""
        return {p.name: p.default for p in (self.shape_params if shape else self.element_params)}

    def __repr__(self) -> str:
        return f"<op {self.name}>"


@dataclass(frozen=True, repr=False)
class Convolution(Op):
    """Cross-correlation with a weight, torch's ``conv``."""


@dataclass(frozen=True, repr=False)
class Correlation(Convolution):
    """The book's plain cross-correlation of two matrices.

    torch has no function of its own for it: it runs as a one-channel ``conv2d`` (the
    matrices as a ``(1, H, W)`` input and a ``(1, 1, kH, kW)`` weight), which is
    :attr:`runs_as` and what :meth:`torch_function` names.
    """

    @property
    def runs_as(self) -> Op:
        return CONV


@dataclass(frozen=True, repr=False)
class Pooling(Op):
    """A window reduced without weights: ``reduction`` is ``"max"`` or ``"mean"``."""

    weighted: bool = False
    reduction: Literal["max", "mean"] = "max"


@dataclass(frozen=True, repr=False)
class TransposedConvolution(Op):
    """The scatter that inverts a convolution's shape map, torch's ``conv_transpose``."""


CONV = Convolution(
    name="conv",
    title="convolution",
    spellings=("conv", "conv1d", "conv2d"),
    cli="conv",
    rule_function="derive.shapes:conv_rule",
    size_function="derive.shapes:conv_output_size",
    elements_function="derive.conv:conv2d",
    terms_function="derive.conv:conv2d_terms",
    shape_params=(_KERNEL, _STRIDE, _PADDING, _DILATION),
    plan_function="derive.conv:plan_conv2d",
    element_params=(_STRIDE, _PADDING, _DILATION, _GROUPS),
)

CORR2D = Correlation(
    name="corr2d",
    title="cross-correlation",
    spellings=("corr2d",),
    cli="corr2d",
    rule_function="derive.shapes:conv_rule",
    size_function="derive.shapes:conv_output_size",
    elements_function="derive.conv:corr2d",
    terms_function="derive.conv:conv2d_terms",
    shape_params=(_KERNEL,),
    plan_function="derive.conv:plan_conv2d",
    element_params=(),
)

MAX_POOL = Pooling(
    name="max_pool",
    title="max pooling",
    spellings=("max_pool", "max_pool1d", "max_pool2d", "pool"),
    cli="pool",
    rule_function="derive.shapes:pool_rule",
    size_function="derive.shapes:pool_output_size",
    elements_function="derive.pool:max_pool2d",
    terms_function=None,
    plan_function="derive.pool:plan_pool2d",
    shape_params=(_KERNEL, _POOL_STRIDE, _PADDING, _DILATION, _CEIL),
    element_params=(_KERNEL, _POOL_STRIDE, _PADDING, _DILATION, _CEIL),
    reduction="max",
)

AVG_POOL = Pooling(
    name="avg_pool",
    title="average pooling",
    spellings=("avg_pool", "avg_pool1d", "avg_pool2d"),
    cli="avg-pool",
    rule_function="derive.shapes:pool_rule",
    size_function="derive.shapes:pool_output_size",
    elements_function="derive.pool:avg_pool2d",
    terms_function=None,
    plan_function="derive.pool:plan_pool2d",
    shape_params=(_KERNEL, _POOL_STRIDE, _PADDING, _CEIL),
    element_params=(
        _KERNEL,
        _POOL_STRIDE,
        _PADDING,
        _CEIL,
        Param("count_include_pad", True, "flag"),
        Param("divisor_override", None, "divisor"),
    ),
    reduction="mean",
)

CONV_TRANSPOSE = TransposedConvolution(
    name="conv_transpose",
    title="transposed convolution",
    spellings=("conv_transpose", "conv_transpose1d", "conv_transpose2d", "conv-transpose"),
    cli="conv-transpose",
    rule_function="derive.shapes:conv_transpose_rule",
    size_function="derive.shapes:conv_transpose_output_size",
    elements_function="derive.transpose:conv_transpose2d",
    terms_function="derive.transpose:conv_transpose2d_terms",
    plan_function="derive.transpose:plan_conv_transpose2d",
    shape_params=(_KERNEL, _STRIDE, _PADDING, _OUTPUT_PADDING, _DILATION),
    element_params=(_STRIDE, _PADDING, _OUTPUT_PADDING, _GROUPS, _DILATION),
)

#: every operation, by name
OPS: dict[str, Op] = {op.name: op for op in (CONV, CORR2D, MAX_POOL, AVG_POOL, CONV_TRANSPOSE)}

_BY_SPELLING: dict[str, Op] = {s: op for op in OPS.values() for s in op.spellings}


def spellings(ops: tuple[Op, ...] | None = None) -> tuple[str, ...]:
    """Every accepted spelling (of ``ops``, default all), in registry order."""
    return tuple(s for op in (ops or tuple(OPS.values())) for s in op.spellings)


def op_named(text: str, among: tuple[Op, ...] | None = None, what: str = "op") -> Op:
    """The operation spelled ``text`` (one of ``among``, default any).

    >>> op_named("conv-transpose").title
    'transposed convolution'
    >>> op_named("fft")
    Traceback (most recent call last):
        ...
    derive.errors.ShapeError: op must be one of conv, conv1d, conv2d, corr2d, ..., got op='fft'
    """
    op = _BY_SPELLING.get(text) if isinstance(text, str) else None
    if op is None or (among is not None and op not in among):
        names = ", ".join(spellings(among))
        raise ShapeError(f"{what} must be one of {names}, got {what}={text!r}")
    return op
