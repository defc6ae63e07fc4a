"""Which rule of :mod:`derive.networks.rules` applies to a ``torch.nn`` module, with its arguments.

This module imports torch; it is only imported when a network is traced.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp
import torch
from torch import nn

from derive.networks import rules
from derive.networks.rules import Shape, Site

__all__ = ["rule_for", "SUPPORTED", "same_shape_types"]

Rule = Callable[[nn.Module, Site, Shape], "Shape | tuple[Shape, ...]"]


def _conv(spatial: int) -> Rule:
    def rule(m: nn.Module, site: Site, x: Shape) -> Shape:
        return rules.conv_shape(
            site,
            x,
            spatial,
            in_channels=m.in_channels,
            out_channels=m.out_channels,
            kernel_size=m.kernel_size,
            stride=m.stride,
            padding=m.padding,
            dilation=m.dilation,
            padding_mode=m.padding_mode,
            reversed_padding=list(m._reversed_padding_repeated_twice),
        )

    return rule


def _conv_transpose(spatial: int) -> Rule:
    def rule(m: nn.Module, site: Site, x: Shape) -> Shape:
        return rules.conv_transpose_shape(
            site,
            x,
            spatial,
            in_channels=m.in_channels,
            out_channels=m.out_channels,
            kernel_size=m.kernel_size,
            stride=m.stride,
            padding=m.padding,
            output_padding=m.output_padding,
            dilation=m.dilation,
        )

    return rule


def _max_pool(spatial: int) -> Rule:
    def rule(m: nn.Module, site: Site, x: Shape) -> Shape | tuple[Shape, ...]:
        out = rules.pool_shape(
            site,
            x,
            spatial,
            kernel_size=m.kernel_size,
            stride=m.stride,
            padding=m.padding,
            dilation=m.dilation,
            ceil_mode=m.ceil_mode,
        )
        return (out, out) if m.return_indices else out

    return rule


def _avg_pool(spatial: int) -> Rule:
    def rule(m: nn.Module, site: Site, x: Shape) -> Shape:
        return rules.pool_shape(
            site,
            x,
            spatial,
            kernel_size=m.kernel_size,
            stride=m.stride,
            padding=m.padding,
            ceil_mode=m.ceil_mode,
            input_at_least_kernel=(spatial == 3),
        )

    return rule


def _adaptive(spatial: int, indices: bool) -> Rule:
    def rule(m: nn.Module, site: Site, x: Shape) -> Shape | tuple[Shape, ...]:
        out = rules.adaptive_pool_shape(
            site, x, spatial, output_size=m.output_size,
            mean_shortcut=not indices and spatial > 1,
        )  # fmt: skip
        return (out, out) if indices and m.return_indices else out

    return rule


def _batch_norm(ranks: tuple[int, ...]) -> Rule:
    def rule(m: nn.Module, site: Site, x: Shape) -> Shape:
        training = m.training or (m.running_mean is None and m.running_var is None)
        return rules.batch_norm_shape(
            site, x, ranks, num_features=m.num_features, training=training
        )

    return rule


def _layer_norm(m: nn.Module, site: Site, x: Shape) -> Shape:
    return rules.layer_norm_shape(site, x, normalized_shape=m.normalized_shape)


def _group_norm(m: nn.Module, site: Site, x: Shape) -> Shape:
    return rules.group_norm_shape(site, x, num_groups=m.num_groups, num_channels=m.num_channels)


def _linear(m: nn.Module, site: Site, x: Shape) -> Shape:
    return rules.linear_shape(site, x, in_features=m.in_features, out_features=m.out_features)


def _flatten(m: nn.Module, site: Site, x: Shape) -> Shape:
    return rules.flatten_shape(site, x, m.start_dim, m.end_dim)


def _unflatten(m: nn.Module, site: Site, x: Shape) -> Shape:
    return rules.unflatten_shape(site, x, m.dim, tuple(m.unflattened_size))


def _same(m: nn.Module, site: Site, x: Shape) -> Shape:
    return x


def _softmax(m: nn.Module, site: Site, x: Shape) -> Shape:
    if m.dim is not None:
        rules.normalize_dim(site, m.dim, len(x))
    return x


def _prelu(m: nn.Module, site: Site, x: Shape) -> Shape:
    if m.num_parameters != 1:
        channels = x[1] if len(x) >= 2 else 1  # torch counts 1 channel below 2-D
        site.require(
            sp.Eq(channels, m.num_parameters),
            lambda: f"num_parameters={m.num_parameters} does not match the {channels} channels of "
            f"input of shape {rules.show_shape(x)}",
        )
    return x


#: activations and identity: the output has the input's shape
same_shape_types: tuple[type[nn.Module], ...] = (
    nn.Identity,
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.ELU,
    nn.SELU,
    nn.CELU,
    nn.GELU,
    nn.SiLU,
    nn.Mish,
    nn.Sigmoid,
    nn.Tanh,
    nn.Hardtanh,
    nn.Hardswish,
    nn.Hardsigmoid,
    nn.Softplus,
    nn.Softsign,
    nn.Tanhshrink,
    nn.LogSigmoid,
)

def _dropout(channel_dims: int) -> Rule:
    def rule(m: nn.Module, site: Site, x: Shape) -> Shape:
        return rules.dropout_shape(site, x, channel_dims=channel_dims, training=m.training)

    return rule


SUPPORTED: dict[type[nn.Module], Rule] = {
    nn.Dropout: _dropout(0),
    nn.AlphaDropout: _dropout(0),
    nn.FeatureAlphaDropout: _dropout(-1),
    nn.Dropout1d: _dropout(1),
    nn.Dropout2d: _dropout(2),
    nn.Dropout3d: _dropout(3),
    nn.Conv1d: _conv(1),
    nn.Conv2d: _conv(2),
    nn.Conv3d: _conv(3),
    nn.ConvTranspose1d: _conv_transpose(1),
    nn.ConvTranspose2d: _conv_transpose(2),
    nn.ConvTranspose3d: _conv_transpose(3),
    nn.MaxPool1d: _max_pool(1),
    nn.MaxPool2d: _max_pool(2),
    nn.MaxPool3d: _max_pool(3),
    nn.AvgPool1d: _avg_pool(1),
    nn.AvgPool2d: _avg_pool(2),
    nn.AvgPool3d: _avg_pool(3),
    nn.AdaptiveAvgPool1d: _adaptive(1, False),
    nn.AdaptiveAvgPool2d: _adaptive(2, False),
    nn.AdaptiveAvgPool3d: _adaptive(3, False),
    nn.AdaptiveMaxPool1d: _adaptive(1, True),
    nn.AdaptiveMaxPool2d: _adaptive(2, True),
    nn.AdaptiveMaxPool3d: _adaptive(3, True),
    nn.BatchNorm1d: _batch_norm((2, 3)),
    nn.BatchNorm2d: _batch_norm((4,)),
    nn.BatchNorm3d: _batch_norm((5,)),
    nn.LayerNorm: _layer_norm,
    nn.GroupNorm: _group_norm,
    nn.Linear: _linear,
    nn.Flatten: _flatten,
    nn.Unflatten: _unflatten,
    nn.Softmax: _softmax,
    nn.LogSoftmax: _softmax,
    nn.PReLU: _prelu,
    **{t: _same for t in same_shape_types},
}


def rule_for(module: nn.Module) -> Rule | None:
    """The rule for ``module``: its class's, or a torch.nn base class's when ``forward`` is
    inherited unchanged (a subclass that only changes ``__init__`` behaves the same)."""
    kind = type(module)
    rule = SUPPORTED.get(kind)
    if rule is not None:
        return rule
    for base in kind.__mro__[1:]:
        if base in SUPPORTED and kind.forward is base.forward:
            return SUPPORTED[base]
    return None


def is_torch_layer(module: nn.Module) -> bool:
    """A class defined by torch itself (its forward is not user code fx could trace usefully)."""
    name = type(module).__module__
    return name.startswith("torch.") and not isinstance(module, torch.fx.GraphModule)
