"""Handlers of ``torch.nn.functional``: convolution, pooling, normalisation, dense layers.

The ``torch.nn`` layers call these from their own ``forward`` (``Conv2d`` calls
``F.conv2d``, ``BatchNorm2d`` checks the rank and calls ``F.batch_norm``...), so each layer
is covered by its functional form and torch's own module code. Spatial sizes come from the
engine (:func:`derive.conv_output_size`, :func:`derive.pool_output_size`,
:func:`derive.conv_transpose_output_size`) through :mod:`derive.networks.rules`.

This module imports torch.
"""

from __future__ import annotations

from typing import Any

import sympy as sp
import torch

from derive.networks import rules
from derive.networks import rules_tensor as rt
from derive.networks.bind import bind, check_rank, dtype_of, handles, shape_of, tensor
from derive.networks.rules import Site, normalize_dim, show_shape
from derive.networks.symbolic import Unsupported

__all__: list[str] = []


def _weight_shape(site: Site, w: Any, rank: int) -> tuple[int, ...]:
    shape = shape_of(site, w, "weight")
    if len(shape) != rank:
        site.fail(f"weight must be {rank}D, got shape {show_shape(shape)}")
    return tuple(int(d) for d in shape)


def _numel(site: Site, value: Any) -> sp.Expr | None:
    """The number of entries of an optional parameter tensor (None when absent)."""
    return None if value is None else sp.Mul(*shape_of(site, value, "weight"))


# -- convolution -----------------------------------------------------------------------------

_CONV = ("input", "weight", "bias", "stride", "padding", "dilation", "groups")
_CONV_T = ("input", "weight", "bias", "stride", "padding", "output_padding", "groups", "dilation")


def _conv(spatial: int) -> Any:
    defaults = {"bias": None, "stride": 1, "padding": 0, "dilation": 1, "groups": 1}

    def handler(site: Site, args: tuple, kwargs: dict) -> Any:
        b = bind(site, args, kwargs, _CONV, defaults)
        w = _weight_shape(site, b["weight"], spatial + 2)
        x = shape_of(site, b["input"])
        out = rules.conv_shape(
            site, x, spatial, in_channels=w[1] * int(b["groups"]), out_channels=w[0],
            kernel_size=w[2:], stride=b["stride"], padding=b["padding"], dilation=b["dilation"],
        )  # fmt: skip
        return tensor(out, dtype_of(b["input"]))

    return handler


def _conv_transpose(spatial: int) -> Any:
    defaults = {"bias": None, "stride": 1, "padding": 0, "output_padding": 0, "groups": 1,
                "dilation": 1}  # fmt: skip

    def handler(site: Site, args: tuple, kwargs: dict) -> Any:
        b = bind(site, args, kwargs, _CONV_T, defaults)
        w = _weight_shape(site, b["weight"], spatial + 2)
        out = rules.conv_transpose_shape(
            site, shape_of(site, b["input"]), spatial, in_channels=w[0],
            out_channels=w[1] * int(b["groups"]), kernel_size=w[2:], stride=b["stride"],
            padding=b["padding"], output_padding=b["output_padding"], dilation=b["dilation"],
        )  # fmt: skip
        return tensor(out, dtype_of(b["input"]))

    return handler


for _d in (1, 2, 3):
    handles(f"F.conv{_d}d", f"torch.conv{_d}d")(_conv(_d))
    handles(f"F.conv_transpose{_d}d", f"torch.conv_transpose{_d}d")(_conv_transpose(_d))


# -- pooling ---------------------------------------------------------------------------------

_MAX = ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices")
_AVG = ("input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
        "divisor_override")  # fmt: skip


def _max_pool(spatial: int, indices: bool | None) -> Any:
    defaults = {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False,
                "return_indices": False}  # fmt: skip

    def handler(site: Site, args: tuple, kwargs: dict) -> Any:
        b = bind(site, args, kwargs, _MAX, defaults)
        shape = rules.pool_shape(
            site, shape_of(site, b["input"]), spatial, kernel_size=b["kernel_size"],
            stride=b["stride"], padding=b["padding"], dilation=b["dilation"],
            ceil_mode=bool(b["ceil_mode"]),
        )  # fmt: skip
        out = tensor(shape, dtype_of(b["input"]))
        with_indices = b["return_indices"] if indices is None else indices
        return (out, tensor(shape, torch.int64)) if with_indices else out

    return handler


def _avg_pool(spatial: int) -> Any:
    defaults = {"stride": None, "padding": 0, "ceil_mode": False, "count_include_pad": True,
                "divisor_override": None}  # fmt: skip

    def handler(site: Site, args: tuple, kwargs: dict) -> Any:
        b = bind(site, args, kwargs, _AVG[: 6 if spatial == 1 else 7], defaults)
        shape = rules.pool_shape(
            site, shape_of(site, b["input"]), spatial, kernel_size=b["kernel_size"],
            stride=b["stride"], padding=b["padding"], ceil_mode=bool(b["ceil_mode"]),
            input_at_least_kernel=(spatial == 3),
        )  # fmt: skip
        return tensor(shape, dtype_of(b["input"]))

    return handler


def _adaptive(spatial: int, kind: str, indices: bool | None) -> Any:
    def handler(site: Site, args: tuple, kwargs: dict) -> Any:
        b = bind(site, args, kwargs, ("input", "output_size", "return_indices"),
                 {"return_indices": False})  # fmt: skip
        shape = rules.adaptive_pool_shape(
            site, shape_of(site, b["input"]), spatial, output_size=b["output_size"],
            mean_shortcut=kind == "avg" and spatial > 1,
        )  # fmt: skip
        out = tensor(shape, dtype_of(b["input"]))
        with_indices = b["return_indices"] if indices is None else indices
        return (out, tensor(shape, torch.int64)) if with_indices else out

    return handler


for _d in (1, 2, 3):
    handles(f"F.max_pool{_d}d", f"torch.max_pool{_d}d")(_max_pool(_d, None))
    handles(f"F.max_pool{_d}d_with_indices", f"torch.max_pool{_d}d_with_indices")(
        _max_pool(_d, True)
    )
    handles(f"F.avg_pool{_d}d", f"torch.avg_pool{_d}d", f"nn.avg_pool{_d}d")(_avg_pool(_d))
    handles(f"F.adaptive_avg_pool{_d}d", f"torch.adaptive_avg_pool{_d}d",
            f"nn.adaptive_avg_pool{_d}d")(_adaptive(_d, "avg", False))  # fmt: skip
    handles(f"F.adaptive_max_pool{_d}d", f"torch.adaptive_max_pool{_d}d")(
        _adaptive(_d, "max", None)
    )
    handles(f"F.adaptive_max_pool{_d}d_with_indices", f"nn.adaptive_max_pool{_d}d")(
        _adaptive(_d, "max", True)
    )


# -- normalisation ---------------------------------------------------------------------------


@handles("F.batch_norm", "torch.batch_norm", label="batch_norm")
def _batch_norm(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("input", "running_mean", "running_var", "weight", "bias",
                                  "training", "momentum", "eps"),
             {"weight": None, "bias": None, "training": False, "momentum": 0.1,
              "eps": 1e-5})  # fmt: skip
    x = shape_of(site, b["input"])
    running, weight = _numel(site, b["running_mean"]), _numel(site, b["weight"])
    rules.batch_norm_shape(site, x, running=running, weight=weight, training=bool(b["training"]))
    return tensor(x, dtype_of(b["input"]))


@handles("F.instance_norm", "torch.instance_norm", label="instance_norm")
def _instance_norm(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("input", "running_mean", "running_var", "weight", "bias",
                                  "use_input_stats", "momentum", "eps"),
             {"running_mean": None, "running_var": None, "weight": None, "bias": None,
              "use_input_stats": True, "momentum": 0.1, "eps": 1e-5})  # fmt: skip
    x = shape_of(site, b["input"])
    rules.instance_norm_shape(site, x, running=_numel(site, b["running_mean"]),
                              weight=_numel(site, b["weight"]),
                              use_input_stats=bool(b["use_input_stats"]))  # fmt: skip
    return tensor(x, dtype_of(b["input"]))


@handles("F.layer_norm", "torch.layer_norm", "F.rms_norm", "torch.rms_norm", label="layer_norm")
def _layer_norm(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("input", "normalized_shape", "weight", "bias", "eps"),
             {"weight": None, "bias": None, "eps": None})  # fmt: skip
    shape = b["normalized_shape"]
    shape = (shape,) if isinstance(shape, (int, sp.Integer)) else tuple(shape)
    weight = None if b["weight"] is None else tuple(int(d) for d in shape_of(site, b["weight"]))
    x = shape_of(site, b["input"])
    rules.layer_norm_shape(site, x, normalized_shape=shape, weight=weight)
    return tensor(x, dtype_of(b["input"]))


@handles("F.group_norm", "torch.group_norm", label="group_norm")
def _group_norm(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("input", "num_groups", "weight", "bias", "eps"),
             {"weight": None, "bias": None, "eps": 1e-5})  # fmt: skip
    x = shape_of(site, b["input"])
    weight = _numel(site, b["weight"])
    rules.group_norm_shape(site, x, num_groups=int(b["num_groups"]), weight=weight)
    return tensor(x, dtype_of(b["input"]))


@handles("F.local_response_norm", label="local_response_norm")
def _local_response_norm(site: Site, args: tuple, kwargs: dict) -> Any:
    x = shape_of(site, args[0] if args else kwargs["input"])
    if len(x) < 3:
        site.fail(f"Expected 3D or higher dimensionality input (got {len(x)} dimensions)")
    return tensor(x, dtype_of(args[0] if args else kwargs["input"]))


@handles("F.normalize", label="normalize")
def _normalize(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("input", "p", "dim", "eps", "out"),
             {"p": 2.0, "dim": 1, "eps": 1e-12, "out": None})  # fmt: skip
    x = shape_of(site, b["input"])
    normalize_dim(site, b["dim"], len(x))
    return tensor(x, dtype_of(b["input"]))


# -- dense layers and activations ------------------------------------------------------------


@handles("F.linear", "nn.linear", label="linear")
def _linear(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("input", "weight", "bias"), {"bias": None})
    w = shape_of(site, b["weight"], "weight")
    x = shape_of(site, b["input"])
    if len(w) == 1:  # a vector weight: a dot product with the last dim
        site.require(sp.Eq(x[-1], w[0]), lambda: f"size mismatch, got {x[-1]} and {w[0]}")
        return tensor(x[:-1], dtype_of(b["input"]))
    if len(w) != 2:
        site.fail(f"weight must be 2D, got shape {show_shape(w)}")
    if not x:
        site.fail("both arguments to linear need to be at least 1D, but they are 0D and 2D")
    return tensor(rules.linear_shape(site, x, in_features=w[1], out_features=w[0]),
                  dtype_of(b["input"]))  # fmt: skip


@handles("F.bilinear", "torch.bilinear", label="bilinear")
def _bilinear(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("input1", "input2", "weight", "bias"), {"bias": None})
    x1, x2 = shape_of(site, b["input1"]), shape_of(site, b["input2"])
    w = _weight_shape(site, b["weight"], 3)
    if len(x1) != len(x2):
        site.fail(f"bilinear(): input dimensions do not match: got {len(x1)} and {len(x2)}")
    for i, (p, q) in enumerate(zip(x1[:-1], x2[:-1])):
        site.require(sp.Eq(p, q), lambda p=p, q=q, i=i: f"bilinear(): input batch dimensions "
                     f"do not match at dim {i}: got {p} and {q}")  # fmt: skip
    site.require(sp.Eq(x1[-1], w[1]), lambda: f"bilinear(): input1 size does not match weight "
                 f"size: got {x1[-1]} but expected {w[1]}")  # fmt: skip
    site.require(sp.Eq(x2[-1], w[2]), lambda: f"bilinear(): input2 size does not match weight "
                 f"size: got {x2[-1]} but expected {w[2]}")  # fmt: skip
    return tensor((*x1[:-1], sp.Integer(w[0])), dtype_of(b["input1"]))


def _dropout(channel_dims: int) -> Any:
    def handler(site: Site, args: tuple, kwargs: dict) -> Any:
        b = bind(site, args, kwargs, ("input", "p", "training", "inplace"),
                 {"p": 0.5, "training": True, "inplace": False})  # fmt: skip
        p = b["p"]
        if not 0 <= float(p) <= 1:
            site.fail(f"dropout probability has to be between 0 and 1, but got {p}")
        x = shape_of(site, b["input"])
        rules.dropout_shape(site, x, channel_dims=channel_dims, training=bool(b["training"]))
        return tensor(x, dtype_of(b["input"]))

    return handler


handles("F.dropout", "F.alpha_dropout", "torch.dropout", "torch.alpha_dropout")(_dropout(0))
handles("F.dropout1d")(_dropout(1))
handles("F.dropout2d")(_dropout(2))
handles("F.dropout3d")(_dropout(3))
handles("F.feature_alpha_dropout", "torch.feature_alpha_dropout")(_dropout(-1))


@handles("F.glu", "nn.glu", label="glu")
def _glu(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("input", "dim"), {"dim": -1})
    x = shape_of(site, b["input"])
    if not x:
        site.fail("glu does not support scalars because halving size must be even")
    d = normalize_dim(site, b["dim"], len(x))
    site.require(sp.Eq(sp.Mod(x[d], 2), 0), lambda: f"Halving dimension must be even, but "
                 f"dimension {d} is size {x[d]}")  # fmt: skip
    return tensor((*x[:d], x[d] / 2, *x[d + 1 :]), dtype_of(b["input"]))


@handles("F.prelu", "torch.prelu", label="prelu")
def _prelu(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("input", "weight"), {})
    x, w = shape_of(site, b["input"]), shape_of(site, b["weight"], "weight")
    count = int(sp.Mul(*w)) if w else 1
    if count != 1:
        channels = x[1] if len(x) >= 2 else sp.Integer(1)
        site.require(sp.Eq(channels, count), lambda: f"Mismatch of parameter numbers and input "
                     f"channel size. Found parameter numbers = {count} and channel size = "
                     f"{channels}.")  # fmt: skip
    return tensor(x, dtype_of(b["input"]))


@handles("F.gumbel_softmax", label="gumbel_softmax")
def _gumbel_softmax(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("logits", "tau", "hard", "eps", "dim"),
             {"tau": 1, "hard": False, "eps": 1e-10, "dim": -1})  # fmt: skip
    x = shape_of(site, b["logits"])
    normalize_dim(site, b["dim"], len(x))
    return tensor(x, dtype_of(b["logits"]))


@handles("F.embedding", "torch.embedding", label="embedding")
def _embedding(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("input", "weight", "padding_idx", "max_norm", "norm_type",
                                  "scale_grad_by_freq", "sparse"),
             {"padding_idx": None, "max_norm": None, "norm_type": 2.0,
              "scale_grad_by_freq": False, "sparse": False})  # fmt: skip
    if dtype_of(b["input"]) not in (torch.int64, torch.int32):
        site.fail("Expected tensor for argument #1 'indices' to have one of the following "
                  f"scalar types: Long, Int; but got {dtype_of(b['input'])} instead")  # fmt: skip
    w = shape_of(site, b["weight"], "weight")
    if len(w) != 2:
        site.fail("'weight' must be 2-D")
    return tensor((*shape_of(site, b["input"]), w[1]), dtype_of(b["weight"]))


@handles("F.one_hot", label="one_hot")
def _one_hot(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("tensor", "num_classes"), {"num_classes": -1})
    if b["num_classes"] == -1:
        raise Unsupported(f"{site.label()}: one_hot without num_classes (the size depends on "
                          "the values)")  # fmt: skip
    if dtype_of(b["tensor"]) != torch.int64:
        site.fail("one_hot is only applicable to index tensor of type LongTensor.")
    return tensor((*shape_of(site, b["tensor"]), sp.Integer(b["num_classes"])), torch.int64)


@handles("F.cosine_similarity", "torch.cosine_similarity", label="cosine_similarity")
def _cosine(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("x1", "x2", "dim", "eps"), {"dim": 1, "eps": 1e-8})
    joined = rt.broadcast_shapes(site, shape_of(site, b["x1"]), shape_of(site, b["x2"]))
    d = normalize_dim(site, b["dim"], len(joined))
    return tensor((*joined[:d], *joined[d + 1 :]), dtype_of(b["x1"]))


@handles("F.pairwise_distance", "torch.pairwise_distance", label="pairwise_distance")
def _pairwise(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("x1", "x2", "p", "eps", "keepdim"),
             {"p": 2.0, "eps": 1e-6, "keepdim": False})  # fmt: skip
    joined = rt.broadcast_shapes(site, shape_of(site, b["x1"]), shape_of(site, b["x2"]))
    if not joined:
        return tensor((), dtype_of(b["x1"]))
    return tensor(rt.reduce_shape(site, joined, -1, bool(b["keepdim"])), dtype_of(b["x1"]))


@handles("F.scaled_dot_product_attention", label="scaled_dot_product_attention")
def _sdpa(site: Site, args: tuple, kwargs: dict) -> Any:
    q, k, v = (shape_of(site, a, n) for a, n in zip(args[:3], ("query", "key", "value")))
    mask = kwargs.get("attn_mask", args[3] if len(args) > 3 else None)
    check_rank(site, q, range(2, 9), "query")
    scores = rt.matmul_shape(site, q, (*k[:-2], k[-1], k[-2]))
    if mask is not None:
        rt.broadcast_shapes(site, shape_of(site, mask, "attn_mask"), scores)
    return tensor(rt.matmul_shape(site, scores, v), dtype_of(args[0]))
