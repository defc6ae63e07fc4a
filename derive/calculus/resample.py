r"""Padding and interpolation as rules of the calculus (``F.pad``, ``F.interpolate``,
``nn.Upsample``, padding layers).

Constant padding shifts each padded axis: output $i$ is input $i - p_\text{before}$
(:func:`derive.receptive.affine_window`), padding counted as coordinates as everywhere in
the calculus; mirrored, replicated and circular padding read other entries and are refused.
Interpolation reads, per axis, what :func:`derive.receptive.interpolate_window` says, with
torch's own scale: ``1/scale_factor`` when a scale factor is given and not recomputed,
the input size over the output size otherwise (``area`` is adaptive average pooling).

Cost, by derive's convention: padding copies (no operation), interpolation is one operation
per output entry. Neither keeps a tensor for backward (``area``: what adaptive average
pooling keeps).

This module imports torch.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import sympy as sp

from derive.calculus.axes import Out, Row, bound, windowed
from derive.layer_cost import ZERO, LayerCost, adaptive_pool_cost, elementwise_cost, numel
from derive.layer_memory import SavedTensor, saved
from derive.receptive import adaptive_window, affine_window, interpolate_window

__all__ = ["pad_flow", "interpolation_flow", "interpolation_cost", "interpolation_saves",
           "INTERPOLATE_NAMES", "INTERPOLATE_DEFAULTS", "pad_cost"]  # fmt: skip

#: F.interpolate's arguments, and their defaults
INTERPOLATE_NAMES = ("input", "size", "scale_factor", "mode", "align_corners",
                     "recompute_scale_factor", "antialias")  # fmt: skip
INTERPOLATE_DEFAULTS = {"size": None, "scale_factor": None, "mode": "nearest",
                        "align_corners": None, "recompute_scale_factor": None,
                        "antialias": False}  # fmt: skip

_LINEAR = ("linear", "bilinear", "trilinear")


def pad_flow(row: Row, pad: Any, mode: str | None) -> tuple[Out, ...]:
    """``F.pad(x, pad)``: pairs ``(before, after)`` from the last axis backwards."""
    if (mode or "constant") != "constant":
        raise row.refuse(f"{mode!r} padding reads mirrored, repeated or wrapped entries; derive "
                         "has receptive fields for constant padding only")  # fmt: skip
    rank, pad = len(row.x), list(pad)
    shifts = {rank - 1 - a: affine_window(1, -sp.sympify(pad[2 * a]))
              for a in range(len(pad) // 2)}  # fmt: skip
    return (windowed(rank, shifts),)


def pad_cost(row: Row) -> LayerCost:
    return ZERO


def _scale(value: Any) -> sp.Expr:
    if isinstance(value, float):
        return sp.Rational(Fraction(value))
    return sp.sympify(value)


def _axis_scales(row: Row, spatial: int, scale_factor: Any, recompute: Any,
                 align: bool) -> list[sp.Expr]:  # fmt: skip
    x, y = row.x, row.y
    out = []
    for a in range(spatial):
        n_in, n_out = x[len(x) - spatial + a], y[len(y) - spatial + a]
        if align:
            out.append(sp.Integer(0) if n_out == 1 else (n_in - 1) / (n_out - 1))
        elif scale_factor is not None and not recompute:
            factor = scale_factor[a] if isinstance(scale_factor, (tuple, list)) else scale_factor
            out.append(1 / _scale(factor))
        else:
            out.append(n_in / n_out)
    return out


def interpolation_flow(row: Row, b: dict[str, Any]) -> tuple[Out, ...]:
    """The windows of ``F.interpolate`` called with the arguments ``b`` (by name)."""
    x, y, mode = row.x, row.y, b["mode"]
    spatial = len(x) - 2
    if b.get("antialias"):
        raise row.refuse("antialiased interpolation: derive has no receptive field for it")
    if mode == "area":
        windows = [adaptive_window(x[2 + a], y[2 + a]) for a in range(spatial)]
    elif mode in ("nearest", "nearest-exact", *_LINEAR):
        align = bool(b["align_corners"]) and mode in _LINEAR
        kind = "linear" if mode in _LINEAR else mode
        scales = _axis_scales(row, spatial, b["scale_factor"], b["recompute_scale_factor"],
                              align)  # fmt: skip
        windows = [interpolate_window(kind, r, x[2 + a], align) for a, r in enumerate(scales)]
    else:
        raise row.refuse(f"{mode!r} interpolation: derive has receptive fields for the "
                         "nearest, linear and area modes")  # fmt: skip
    return (windowed(len(x), {2 + a: w for a, w in enumerate(windows)}),)


def interpolation_cost(row: Row, b: dict[str, Any]) -> LayerCost:
    if b["mode"] == "area":
        return adaptive_pool_cost(numel(row.x))
    return elementwise_cost(numel(row.y))


def interpolation_saves(row: Row, b: dict[str, Any]) -> tuple[SavedTensor, ...]:
    if b["mode"] == "area" and not all(o == 1 for o in row.y[2:]):
        return saved("adaptive_avg_pool")
    return ()


def functional(row: Row) -> dict[str, Any]:
    """``F.interpolate``'s arguments of a row, by name."""
    return bound(row, INTERPOLATE_NAMES, INTERPOLATE_DEFAULTS)


def module_args(row: Row) -> dict[str, Any]:
    """``nn.Upsample``'s attributes as ``F.interpolate``'s arguments."""
    m = row.module
    return {"size": m.size, "scale_factor": m.scale_factor, "mode": m.mode,
            "align_corners": m.align_corners,
            "recompute_scale_factor": m.recompute_scale_factor, "antialias": False}  # fmt: skip
