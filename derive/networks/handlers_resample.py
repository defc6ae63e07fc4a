"""Handlers of padding, up/down-sampling and rearranging functions.

``F.interpolate`` (and ``nn.Upsample``, ``F.upsample*``), ``F.lp_pool*``, ``F.max_unpool*``,
``F.fractional_max_pool*``, ``F.fold`` and ``F.unfold`` run torch's own Python code
(:mod:`derive.networks.decompose`); the built-ins they end with (``upsample_nearest2d``,
``max_unpool2d``, ``fractional_max_pool2d``, ``im2col``, ``col2im``) and ``F.pad``,
``pixel_shuffle``, ``pixel_unshuffle``, ``channel_shuffle`` have rules in
:mod:`derive.networks.rules_resample`.

This module imports torch.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from derive.networks import rules_resample as rr
from derive.networks.bind import bind, dtype_of, handles, shape_of, tensor
from derive.networks.decompose import decomposed
from derive.networks.rules import Site

__all__: list[str] = []


@handles("F.pad", "nn.pad", "torch.constant_pad_nd", label="pad")
def _pad(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("input", "pad", "mode", "value"),
             {"mode": "constant", "value": None})  # fmt: skip
    x = shape_of(site, b["input"])
    return tensor(rr.pad_shape(site, x, list(b["pad"]), b["mode"] or "constant", b["value"]),
                  dtype_of(b["input"]))  # fmt: skip


def _upsample(spatial: int, align: bool) -> Any:
    names = ("input", "output_size", "align_corners", "scale_factors") if align else (
        "input", "output_size", "scale_factors")  # fmt: skip

    def handler(site: Site, args: tuple, kwargs: dict) -> Any:
        b = bind(site, args, kwargs, names, {"scale_factors": None, "align_corners": None})
        x = shape_of(site, b["input"])
        shape = rr.upsample_shape(site, x, spatial, b["output_size"], b["scale_factors"])
        return tensor(shape, dtype_of(b["input"]))

    return handler


for _d, _kinds in ((1, ("nearest", "linear")), (2, ("nearest", "bilinear", "bicubic")),
                   (3, ("nearest", "trilinear"))):  # fmt: skip
    handles(f"nn.upsample_nearest{_d}d", f"nn._upsample_nearest_exact{_d}d")(_upsample(_d, False))
    for _kind in _kinds[1:]:
        handles(f"nn.upsample_{_kind}{_d}d", f"nn._upsample_{_kind}{_d}d_aa")(_upsample(_d, True))
handles("nn._upsample_lanczos2d_aa")(_upsample(2, True))

for _fn in (F.interpolate, F.upsample, F.upsample_nearest, F.upsample_bilinear, F.lp_pool1d,
            F.lp_pool2d, F.lp_pool3d, F.max_unpool1d, F.max_unpool2d, F.max_unpool3d,
            F.fractional_max_pool2d_with_indices, F.fractional_max_pool3d_with_indices, F.fold,
            F.unfold):  # fmt: skip
    handles(f"F.{_fn.__name__}", raw=True)(decomposed(_fn))


def _fractional(spatial: int) -> Any:
    with_indices = getattr(F, f"fractional_max_pool{spatial}d_with_indices")
    names = ("input", "kernel_size", "output_size", "output_ratio", "return_indices",
             "_random_samples")  # fmt: skip

    def handler(site: Site, args: tuple, kwargs: dict) -> Any:
        b = dict(zip(names, args)) | kwargs
        out = decomposed(with_indices)(site, args, kwargs)
        return out if b.get("return_indices") else out[0]

    return handler


handles("F.fractional_max_pool2d", raw=True)(_fractional(2))
handles("F.fractional_max_pool3d", raw=True)(_fractional(3))


def _fractional_builtin(spatial: int) -> Any:
    def handler(site: Site, args: tuple, kwargs: dict) -> Any:
        b = bind(site, args, kwargs, ("input", "kernel_size", "output_size", "random_samples"),
                 {})  # fmt: skip
        x = shape_of(site, b["input"])
        shape = rr.fractional_pool_shape(site, x, spatial, b["kernel_size"], b["output_size"])
        return (tensor(shape, dtype_of(b["input"])), tensor(shape, torch.int64))

    return handler


handles("nn.fractional_max_pool2d")(_fractional_builtin(2))
handles("nn.fractional_max_pool3d")(_fractional_builtin(3))


def _unpool(spatial: int) -> Any:
    def handler(site: Site, args: tuple, kwargs: dict) -> Any:
        b = bind(site, args, kwargs, ("input", "indices", "output_size", "stride", "padding"),
                 {"stride": None, "padding": None})  # fmt: skip
        x = shape_of(site, b["input"])
        shape = rr.max_unpool_shape(site, x, shape_of(site, b["indices"], "indices"),
                                    list(b["output_size"]), spatial)  # fmt: skip
        return tensor(shape, dtype_of(b["input"]))

    return handler


handles("nn.max_unpool2d", "torch.max_unpool2d")(_unpool(2))
handles("nn.max_unpool3d", "torch.max_unpool3d")(_unpool(3))


@handles("nn.im2col", label="im2col")
def _im2col(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("input", "kernel_size", "dilation", "padding", "stride"), {})
    x = shape_of(site, b["input"])
    return tensor(rr.im2col_shape(site, x, b["kernel_size"], b["dilation"], b["padding"],
                                  b["stride"]), dtype_of(b["input"]))  # fmt: skip


@handles("nn.col2im", label="col2im")
def _col2im(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("input", "output_size", "kernel_size", "dilation", "padding",
                                  "stride"), {})  # fmt: skip
    x = shape_of(site, b["input"])
    return tensor(rr.col2im_shape(site, x, b["output_size"], b["kernel_size"], b["dilation"],
                                  b["padding"], b["stride"]), dtype_of(b["input"]))  # fmt: skip


@handles("F.pixel_shuffle", "torch.pixel_shuffle", label="pixel_shuffle")
def _pixel_shuffle(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("input", "upscale_factor"), {})
    x = shape_of(site, b["input"])
    return tensor(rr.pixel_shuffle_shape(site, x, b["upscale_factor"]), dtype_of(b["input"]))


@handles("F.pixel_unshuffle", "torch.pixel_unshuffle", label="pixel_unshuffle")
def _pixel_unshuffle(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("input", "downscale_factor"), {})
    x = shape_of(site, b["input"])
    return tensor(rr.pixel_unshuffle_shape(site, x, b["downscale_factor"]), dtype_of(b["input"]))


@handles("F.channel_shuffle", "torch.channel_shuffle", "F.native_channel_shuffle",
         "torch.native_channel_shuffle", label="channel_shuffle")  # fmt: skip
def _channel_shuffle(site: Site, args: tuple, kwargs: dict) -> Any:
    b = bind(site, args, kwargs, ("input", "groups"), {})
    x = shape_of(site, b["input"])
    return tensor(rr.channel_shuffle_shape(site, x, b["groups"]), dtype_of(b["input"]))

