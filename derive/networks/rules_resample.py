r"""Shape rules of padding, resampling and rearranging layers, in pure SymPy.

- ``F.pad``: the last ``len(pad) / 2`` dims grow by their pads (negative pads crop); the
  ``reflect`` mode needs each pad smaller than the size, ``circular`` at most the size.
- ``upsample_*`` (what ``F.interpolate`` calls): the requested sizes, or
  $\lfloor n \cdot s \rfloor$ for a scale factor $s$ (torch multiplies in double precision:
  derive follows it exactly when $s$ is a dyadic fraction, or at a concrete size).
- ``pixel_shuffle`` $(C r^2, H, W) \to (C, rH, rW)$ and its inverse; ``channel_shuffle``.
- ``im2col``/``col2im`` (``F.unfold``/``F.fold``): the number of sliding blocks is the
  product of convolution output sizes (:func:`derive.conv_output_size`).
- ``max_unpool``, ``fractional_max_pool``: the output sizes given, with torch's checks.
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from derive.networks.quasi import exact_scale
from derive.networks.rules import Shape, Site, ntuple, show_shape
from derive.networks.rules_tensor import minimum
from derive.ops import CONV
from derive.params import as_dim

__all__ = [
    "pad_shape",
    "scaled_size",
    "upsample_shape",
    "pixel_shuffle_shape",
    "pixel_unshuffle_shape",
    "channel_shuffle_shape",
    "im2col_shape",
    "col2im_shape",
    "max_unpool_shape",
    "fractional_pool_shape",
]

_AXES = {1: "W", 2: "HW", 3: "DHW"}


def pad_shape(site: Site, x: Shape, pad: Sequence[object], mode: str = "constant",
              value: object = None) -> Shape:  # fmt: skip
    r"""``F.pad``: ``pad = (left, right, top, bottom, ...)`` from the last dim backwards."""
    pads = [as_dim(p, "pad") for p in pad]
    if len(pads) % 2:
        site.fail("Padding length must be divisible by 2")
    count = len(pads) // 2
    if count > len(x):
        site.fail(f"Padding length should be less than or equal to two times the input "
                  f"dimension but got padding length {len(pads)} and input of dimension "
                  f"{len(x)}")  # fmt: skip
    if mode not in ("constant", "reflect", "replicate", "circular"):
        site.fail(f"Unrecognised padding mode {mode}")
    if mode != "constant":
        if value is not None:
            site.fail(f'Padding mode "{mode}" doesn\'t take in value argument')
        if len(x) not in (count + 1, count + 2) or count not in (1, 2, 3):
            site.fail(f"Padding size {len(pads)} is not supported for {len(x)}D input tensor.")
    out = list(x)
    for i in range(count):
        axis = len(x) - 1 - i
        lo, hi = pads[2 * i], pads[2 * i + 1]
        out[axis] = _padded(site, mode, x, axis, lo, hi)
    return tuple(out)


def _padded(site: Site, mode: str, x: Shape, axis: int, lo: sp.Expr, hi: sp.Expr) -> sp.Expr:
    n = x[axis]
    if mode == "constant":
        kept = n + minimum(lo, sp.Integer(0)) + minimum(hi, sp.Integer(0))
        site.require(sp.Ge(kept, 0), "narrow(): length must be non-negative.")
        return sp.expand(n + lo + hi)
    if mode == "reflect":
        site.require(sp.And(sp.Lt(lo, n), sp.Lt(hi, n)), lambda: f"Argument #4: Padding size "
                     f"should be less than the corresponding input dimension, but got: padding "
                     f"({lo}, {hi}) at dimension {axis} of input {show_shape(x)}")  # fmt: skip
    if mode == "circular":
        site.require(sp.And(sp.Le(lo, n), sp.Le(hi, n)),
                     "Padding value causes wrapping around more than once.")  # fmt: skip
    out = sp.expand(n + lo + hi)
    least = 0 if mode == "circular" else 1
    site.require(sp.Ge(out, least), lambda: f"input (size {n}) is too small. Calculated output "
                 f"size: {out}")  # fmt: skip
    return out


def scaled_size(site: Site, n: sp.Expr, scale: object) -> sp.Expr:
    r"""$\lfloor n \cdot s \rfloor$ as torch computes it (a product in double precision).

    Exact when $s$ is a dyadic fraction with a small numerator (0.5, 1.5, 0.25:
    :func:`derive.networks.quasi.exact_scale`), and at a concrete $n$; otherwise refused
    (``10 * 0.7`` is 7.0 in double, $\lfloor 10 \cdot 0.7 \rfloor$ of the exact double 0.7
    is 6).
    """
    s = float(scale)  # type: ignore[arg-type]
    if n.is_Integer:
        return sp.Integer(int(float(int(n)) * s))
    f = exact_scale(s)
    if f is None:
        site.fail(f"scale_factor={scale} is not a dyadic fraction with a small numerator "
                  "(0.5, 1.5, 0.25...): torch's double-precision product with a symbolic size "
                  "rounds, and derive cannot follow it for every size; give size= instead")
    return sp.floor(n * sp.Rational(f.numerator, f.denominator))


def upsample_shape(site: Site, x: Shape, spatial: int, output_size: object,
                   scale_factors: object) -> Shape:  # fmt: skip
    """``upsample_*``: ``output_size`` or scaled sizes; every input and output size above 0."""
    if len(x) != spatial + 2:
        site.fail(f"It is expected input_size equals to {spatial + 2}, but got size {len(x)}")
    sizes = x[2:]
    if output_size is not None:
        outs = [as_dim(v, "output_size") for v in output_size]  # type: ignore[union-attr]
        if len(outs) != spatial:
            site.fail(f"Expected output_size to have {spatial} entries, got {len(outs)}")
    else:
        scales = list(scale_factors)  # type: ignore[call-overload]
        if len(scales) != spatial:
            site.fail(f"Expected scale_factors to have {spatial} entries, got {len(scales)}")
        outs = [scaled_size(site, n, s) for n, s in zip(sizes, scales)]
    axes = _AXES[spatial]
    site.require(
        sp.And(*[sp.Gt(v, 0) for v in (*sizes, *outs)]),
        lambda: "Input and output sizes should be greater than 0, but got input ("
        + ", ".join(f"{a}: {n}" for a, n in zip(axes, sizes)) + ") output ("
        + ", ".join(f"{a}: {n}" for a, n in zip(axes, outs)) + ")",
    )
    return (*x[:2], *outs)


def pixel_shuffle_shape(site: Site, x: Shape, factor: object) -> Shape:
    r"""``pixel_shuffle``: $(\dots, C r^2, H, W) \to (\dots, C, rH, rW)$."""
    r = as_dim(factor, "upscale_factor")
    if len(x) < 3:
        site.fail(f"pixel_shuffle expects input to have at least 3 dimensions, but got input "
                  f"with {len(x)} dimension(s)")  # fmt: skip
    if not r.is_Integer or r <= 0:
        site.fail(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    c = x[-3]
    site.require(sp.Eq(sp.Mod(c, r * r), 0), lambda: f"pixel_shuffle expects its input's "
                 f"'channel' dimension to be divisible by the square of upscale_factor, but "
                 f"input.size(-3)={c} is not divisible by {r * r}")  # fmt: skip
    return (*x[:-3], c / (r * r), x[-2] * r, x[-1] * r)


def pixel_unshuffle_shape(site: Site, x: Shape, factor: object) -> Shape:
    r"""``pixel_unshuffle``: $(\dots, C, rH, rW) \to (\dots, C r^2, H, W)$."""
    r = as_dim(factor, "downscale_factor")
    if len(x) < 3:
        site.fail(f"pixel_unshuffle expects input to have at least 3 dimensions, but got input "
                  f"with {len(x)} dimension(s)")  # fmt: skip
    if not r.is_Integer or r <= 0:
        site.fail(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    for name, n in (("height", x[-2]), ("width", x[-1])):
        index = -2 if name == "height" else -1
        site.require(sp.Eq(sp.Mod(n, r), 0), lambda name=name, n=n, index=index: (
            f"pixel_unshuffle expects {name} to be divisible by downscale_factor, but "
            f"input.size({index})={n} is not divisible by {r}"))  # fmt: skip
    return (*x[:-3], x[-3] * r * r, x[-2] / r, x[-1] / r)


def channel_shuffle_shape(site: Site, x: Shape, groups: object) -> Shape:
    """``channel_shuffle``: more than 2 dims, ``groups`` divides the channels."""
    g = as_dim(groups, "groups")
    if len(x) <= 2:
        site.fail(f"channel_shuffle expects input with > 2 dims, but got input with sizes "
                  f"{list(x)}")  # fmt: skip
    if not g.is_Integer or g <= 0:
        site.fail(f"Number of groups to divide channels in must be positive. Value of groups:{g}")
    site.require(sp.Eq(sp.Mod(x[1], g), 0), lambda: f"Number of channels must be divisible by "
                 f"groups. Got {x[1]} channels and {g} groups.")  # fmt: skip
    return x


def _blocks(site: Site, sizes: Sequence[sp.Expr], k: tuple, d: tuple, p: tuple,
            s: tuple) -> list[sp.Expr]:  # fmt: skip
    """The number of sliding blocks along each axis: a convolution's output size (the
    engine's formula, read without its acceptance guards: im2col has its own check)."""
    out = []
    for i, n in enumerate(sizes):
        rule = CONV.rule(n, k[i], s[i], p[i], d[i])
        if rule.size is None:
            site.call(rule.output_size)  # raises the engine's message for the argument
        out.append(rule.size)
    return out


def im2col_shape(site: Site, x: Shape, kernel_size: object, dilation: object, padding: object,
                 stride: object) -> Shape:  # fmt: skip
    r"""``F.unfold``: $(N, C, H, W) \to (N, C k_h k_w, L)$ with $L$ the number of blocks."""
    if len(x) not in (3, 4):
        site.fail(f"Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and other "
                  f"non-zero dimensions for input, but got: {list(x)}")  # fmt: skip
    k, d, p, s = (tuple(int(v) for v in ntuple(a, 2, n)) for a, n in
                  ((kernel_size, "kernel_size"), (dilation, "dilation"), (padding, "padding"),
                   (stride, "stride")))  # fmt: skip
    blocks = _blocks(site, x[-2:], k, d, p, s)
    site.require(sp.And(*[sp.Ge(b, 1) for b in blocks]), lambda: f"Given input with spatial "
                 f"size {tuple(x[-2:])}, kernel_size={k}, dilation={d}, padding={p}, calculated "
                 f"shape of the array of sliding blocks as {tuple(blocks)}, but its components "
                 "must be at least one.")  # fmt: skip
    return (*x[:-3], x[-3] * k[0] * k[1], blocks[0] * blocks[1])


def col2im_shape(site: Site, x: Shape, output_size: object, kernel_size: object,
                 dilation: object, padding: object, stride: object) -> Shape:  # fmt: skip
    r"""``F.fold``: $(N, C k_h k_w, L) \to (N, C, H, W)$, $L$ the number of blocks of
    ``output_size``."""
    if len(x) not in (2, 3):
        site.fail(f"Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch size "
                  f"and non-zero dimensions for input, but got: {list(x)}")  # fmt: skip
    out = tuple(as_dim(v, "output_size") for v in ntuple(output_size, 2, "output_size"))
    k, d, p, s = (tuple(int(v) for v in ntuple(a, 2, n)) for a, n in
                  ((kernel_size, "kernel_size"), (dilation, "dilation"), (padding, "padding"),
                   (stride, "stride")))  # fmt: skip
    kk = k[0] * k[1]
    site.require(sp.Eq(sp.Mod(x[-2], kk), 0), lambda: f"Expected size of input's dimension 1 "
                 f"to be divisible by the product of kernel_size, but got input.size(1)={x[-2]} "
                 f"and kernel_size={k}.")  # fmt: skip
    blocks = _blocks(site, out, k, d, p, s)
    site.require(sp.Eq(x[-1], blocks[0] * blocks[1]), lambda: f"Given output_size={out}, "
                 f"kernel_size={k}, dilation={d}, padding={p}, stride={s}, expected size of "
                 f"input's dimension 2 to match the calculated number of sliding blocks "
                 f"{blocks[0]} * {blocks[1]} = {blocks[0] * blocks[1]}, but got "
                 f"input.size(2)={x[-1]}.")  # fmt: skip
    return (*x[:-2], x[-2] / kk, *out)


def max_unpool_shape(site: Site, x: Shape, indices: Shape, output_size: Sequence[object],
                     spatial: int) -> Shape:  # fmt: skip
    """``max_unpool{2,3}d``: indices shaped like the input, output sizes as given."""
    if len(x) not in (spatial + 1, spatial + 2):
        site.fail(f"Input to max_unpooling{spatial}d should be a {spatial + 1}d or "
                  f"{spatial + 2}d Tensor, but got a tensor with {len(x)} dimensions.")  # fmt: skip
    if len(indices) != len(x) or any(sp.Eq(a, b) is sp.false for a, b in zip(x, indices)):
        site.fail(f"Expected shape of indices to be same as that of the input tensor "
                  f"({list(x)}) but got indices tensor with shape: {list(indices)}")  # fmt: skip
    for a, b in zip(x, indices):
        site.require(sp.Eq(a, b), lambda: f"Expected shape of indices to be same as that of the "
                     f"input tensor ({list(x)}) but got indices tensor with shape: "
                     f"{list(indices)}")  # fmt: skip
    outs = [as_dim(v, "output_size") for v in output_size]
    return (*x[: len(x) - spatial], *outs)


def fractional_pool_shape(site: Site, x: Shape, spatial: int, kernel_size: object,
                          output_size: object) -> Shape:  # fmt: skip
    """``fractional_max_pool{2,3}d``: each output size plus the kernel, less one, fits in
    the input size (strictly smaller in 3-D, as torch's check has it)."""
    if len(x) not in (spatial + 1, spatial + 2):
        site.fail(f"fractional_max_pool{spatial}d(): Expected {spatial + 1}D or {spatial + 2}D "
                  f"tensor, but got: {list(x)}")  # fmt: skip
    ks = [as_dim(v, "kernel_size") for v in ntuple(kernel_size, spatial, "kernel_size")]
    outs = [as_dim(v, "output_size") for v in ntuple(output_size, spatial, "output_size")]
    names = ("time", "height", "width")[3 - spatial :]
    for name, n, k, o in zip(names, x[-spatial:], ks, outs):
        site.require(sp.Ge(o, 0), lambda o=o: f"Trying to create tensor with negative dimension "
                     f"{o}")  # fmt: skip
        fits = sp.Le(o + k - 1, n) if spatial == 2 else sp.Lt(o + k - 1, n)  # as torch checks
        site.require(fits, lambda name=name, k=k, n=n: f"fractional_max_pool"
                     f"{spatial}d(): pool {name} {k} too large relative to input {name} {n}")
    return (*x[: len(x) - spatial], *outs)

