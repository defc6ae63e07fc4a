r"""What a layer costs: parameters and arithmetic, as exact formulas of its sizes.

**Convention.** ``macs`` counts the multiply-accumulates of convolutions and matrix products;
``flops`` is twice that, which is what ``torch.utils.flop_counter.FlopCounterMode`` reports
(it counts only convolutions and matrix products, and leaves out the bias). Everything else a
layer computes is ``other``, by derive's own convention, one operation per:

- bias: output entry (one addition);
- max pooling: output entry and window tap but one ($k_h k_w - 1$ comparisons);
  average pooling: output entry and window tap ($k_h k_w - 1$ additions and one division),
  the whole window even where it hangs over the border;
- adaptive pooling: input entry; normalisation: two per entry (scale and shift; the
  statistics of training mode are not counted); activation, addition, multiplication:
  one per output entry; dropout, flattening, concatenation, identity: none.

A convolution with $C_\text{in}$ input and $C_\text{out}$ output channels, $g$ groups, a
$k_h \times k_w$ kernel and an $N \times C_\text{out} \times H_\text{out} \times W_\text{out}$
output does

$$
\text{MACs} = N\, C_\text{out} H_\text{out} W_\text{out} \cdot \frac{C_\text{in}}{g} k_h k_w,
\qquad \text{params} = C_\text{out} \frac{C_\text{in}}{g} k_h k_w + C_\text{out}\,[\text{bias}].
$$

Its backward pass does the same number again for the gradient with respect to the input
(when the input needs one) and again for the gradient with respect to the weight.

>>> H, W = sp.symbols("H W", integer=True, positive=True)
>>> c = conv_cost(1, 3, 8, (3, 3), (H, W))
>>> c.params, c.macs, c.flops, c.other
(224, 216*H*W, 432*H*W, 8*H*W)
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import sympy as sp

from derive.params import Dim
from derive.params import as_dim as _as_dim

__all__ = [
    "LayerCost",
    "conv_cost",
    "conv_transpose_cost",
    "linear_cost",
    "pool_cost",
    "adaptive_pool_cost",
    "elementwise_cost",
    "norm_cost",
    "ZERO",
    "numel",
]


def as_dim(value: Dim, name: str) -> sp.Expr:
    """:func:`derive.params.as_dim`, remembered (a network repeats the same sizes)."""
    try:
        return _remembered(value, name)
    except TypeError:  # unhashable: let as_dim say what is wrong with it
        return _as_dim(value, name)


@functools.lru_cache(maxsize=8192)
def _remembered(value: Dim, name: str) -> sp.Expr:
    return _as_dim(value, name)


@functools.lru_cache(maxsize=8192)
def _product(values: tuple) -> sp.Expr:
    return sp.Mul(*(as_dim(v, "size") for v in values)) if values else sp.Integer(1)


def _prod(values: Sequence[Dim]) -> sp.Expr:
    try:
        return _product(tuple(values))
    except TypeError:
        return _product.__wrapped__(tuple(values))


@dataclass(frozen=True)
class LayerCost:
    """Parameters and arithmetic of one layer (or a sum of layers).

    ``backward_macs`` is the multiply-accumulates of the backward pass: the gradient with
    respect to the input (when it needs one) and with respect to the weight.
    """

    params: sp.Expr = sp.Integer(0)
    macs: sp.Expr = sp.Integer(0)
    other: sp.Expr = sp.Integer(0)
    backward_macs: sp.Expr = sp.Integer(0)

    @property
    def flops(self) -> sp.Expr:
        """$2\\,\\text{MACs}$: torch's ``FlopCounterMode`` count of the forward pass."""
        return 2 * self.macs

    @property
    def backward_flops(self) -> sp.Expr:
        """$2\\,\\text{MACs}$ of the backward pass."""
        return 2 * self.backward_macs

    def __add__(self, other: LayerCost) -> LayerCost:
        return LayerCost(
            self.params + other.params,
            self.macs + other.macs,
            self.other + other.other,
            self.backward_macs + other.backward_macs,
        )

    def with_backward(self, input_grad: bool) -> LayerCost:
        """This cost with the backward pass of a weighted layer filled in.

        >>> conv_cost(2, 4, 4, (1, 1), (5, 5)).with_backward(True).backward_macs
        1600
        """
        if self.macs == 0:
            return self
        return LayerCost(self.params, self.macs, self.other, self.macs * (1 + int(input_grad)))


ZERO = LayerCost()


def conv_cost(
    batch: Dim,
    in_channels: Dim,
    out_channels: Dim,
    kernel_size: Sequence[Dim],
    out_size: Sequence[Dim],
    groups: Dim = 1,
    bias: bool = True,
) -> LayerCost:
    r"""A convolution (any number of spatial axes): the formulas in the module docstring.

    >>> conv_cost(1, 4, 6, (3, 3), (5, 5), groups=2, bias=False).macs
    2700
    """
    outputs = as_dim(batch, "batch") * as_dim(out_channels, "out_channels") * _prod(out_size)
    per_output = as_dim(in_channels, "in_channels") / as_dim(groups, "groups") * _prod(kernel_size)
    weights = as_dim(out_channels, "out_channels") * per_output
    params = weights + (as_dim(out_channels, "out_channels") if bias else 0)
    return LayerCost(sp.expand(params), outputs * per_output, outputs if bias else sp.Integer(0))


def conv_transpose_cost(
    batch: Dim,
    in_channels: Dim,
    out_channels: Dim,
    kernel_size: Sequence[Dim],
    in_size: Sequence[Dim],
    out_size: Sequence[Dim],
    groups: Dim = 1,
    bias: bool = True,
) -> LayerCost:
    r"""A transposed convolution scatters every input entry times every kernel tap:

    $$
    \text{MACs} = N\, C_\text{in} H_\text{in} W_\text{in} \cdot \frac{C_\text{out}}{g} k_h k_w
    $$

    (taps that land in the cropped border are counted too, as torch counts them).

    >>> conv_transpose_cost(1, 2, 3, (4,), (5,), (10,)).macs
    120
    """
    inputs = as_dim(batch, "batch") * as_dim(in_channels, "in_channels") * _prod(in_size)
    per_input = as_dim(out_channels, "out_channels") / as_dim(groups, "groups") * _prod(kernel_size)
    weights = as_dim(in_channels, "in_channels") * per_input
    c_out = as_dim(out_channels, "out_channels")
    outputs = as_dim(batch, "batch") * c_out * _prod(out_size)
    return LayerCost(sp.expand(weights + (c_out if bias else 0)), inputs * per_input,
                     outputs if bias else sp.Integer(0))  # fmt: skip


def linear_cost(rows: Dim, in_features: Dim, out_features: Dim, bias: bool = True) -> LayerCost:
    r"""A fully connected layer on ``rows`` vectors: $\text{MACs} = r\, n_\text{in} n_\text{out}$.

    >>> linear_cost(1, 400, 120).params
    48120
    """
    r, i, o = (as_dim(v, name) for v, name in ((rows, "rows"), (in_features, "in_features"),
                                               (out_features, "out_features")))  # fmt: skip
    return LayerCost(i * o + (o if bias else 0), r * i * o, r * o if bias else sp.Integer(0))


def pool_cost(outputs: Dim, kernel_size: Sequence[Dim], reduction: str) -> LayerCost:
    r"""Max pooling: $k_h k_w - 1$ comparisons per output; average: $k_h k_w$ operations.

    >>> pool_cost(16, (2, 2), "max").other, pool_cost(16, (2, 2), "mean").other
    (48, 64)
    """
    window = _prod(kernel_size)
    per = window - 1 if reduction == "max" else window
    return LayerCost(other=as_dim(outputs, "outputs") * per)


def adaptive_pool_cost(inputs: Dim) -> LayerCost:
    """Adaptive pooling: one operation per input entry (derive's convention)."""
    return LayerCost(other=as_dim(inputs, "inputs"))


def elementwise_cost(outputs: Dim, per_entry: int = 1) -> LayerCost:
    """``per_entry`` operations per output entry (activations, additions)."""
    return LayerCost(other=per_entry * as_dim(outputs, "outputs"))


def norm_cost(entries: Dim, params: Dim) -> LayerCost:
    """A normalisation: two operations per entry (scale and shift) and its affine parameters.

    >>> norm_cost(8 * 16, 2 * 8)
    LayerCost(params=16, macs=0, other=256, backward_macs=0)
    """
    return LayerCost(params=as_dim(params, "params"), other=2 * as_dim(entries, "entries"))


def numel(shape: Sequence[Dim]) -> sp.Expr:
    """The number of entries of a tensor of ``shape``.

    >>> numel((2, 3, 4))
    24
    """
    return _prod(shape)
