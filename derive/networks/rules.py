r"""Shape rules, one function per layer family, in pure SymPy.

A rule takes the input shape (a tuple of SymPy expressions) and the layer's arguments
(named as in ``torch.nn``) and returns the output shape. Spatial sizes come from the
engine's formulas (:func:`derive.conv_output_size`, :func:`derive.pool_output_size`,
:func:`derive.conv_transpose_output_size`). Whatever torch checks in ``forward`` becomes a
condition handed to :meth:`Site.require`: decided conditions pass or raise
:class:`derive.ShapeError` at once (naming the layer), undecided ones are recorded as
:class:`Constraint` for :mod:`derive.networks.admissible`.

For a convolution over an input with $C$ channels and sizes $n_1,\dots,n_d$:

$$
(N, C, n_1, \dots, n_d) \mapsto
\Bigl(N, C_\text{out},
  \Bigl\lfloor \tfrac{n_i + 2p_i - d_i(k_i-1) - 1}{s_i} \Bigr\rfloor + 1, \dots\Bigr)
\quad\text{provided } C = C_\text{in}.
$$

No torch here: :mod:`derive.networks.layers` reads the modules' attributes and calls these.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import sympy as sp

from derive.errors import ShapeError
from derive.networks.quasi import cases, compose, decide, lift, tidy
from derive.params import as_dim
from derive.shapes import conv_output_size, conv_transpose_output_size, pool_output_size

__all__ = [
    "Shape",
    "Constraint",
    "Site",
    "as_shape",
    "show_shape",
    "conv_shape",
    "conv_transpose_shape",
    "pool_shape",
    "adaptive_pool_shape",
    "dropout_shape",
    "batch_norm_shape",
    "layer_norm_shape",
    "group_norm_shape",
    "linear_shape",
    "flatten_shape",
    "unflatten_shape",
    "broadcast_shapes",
    "cat_shape",
    "stack_shape",
    "reshape_shape",
    "reduce_shape",
    "permute_shape",
    "transpose_shape",
    "unsqueeze_shape",
    "squeeze_shape",
    "normalize_dim",
    "numel",
]

Shape = tuple[sp.Expr, ...]


@dataclass(frozen=True)
class Constraint:
    """A condition on the input sizes that a layer's ``forward`` needs, e.g. ``Eq(16*h*w, 400)``."""

    path: str
    kind: str
    condition: sp.Basic
    reason: str

    def __str__(self) -> str:
        return f"{self.path} ({self.kind}): {self.condition}  [{self.reason}]"


def show_shape(shape: Sequence[object]) -> str:
    """A shape as text, ``(1, 16, floor(H/4) - 2, ...)``."""
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


class Site:
    """The layer being evaluated: its path (``"features.3"``), its kind and the constraint sink."""

    __slots__ = ("path", "kind", "sink")

    def __init__(self, path: str, kind: str, sink: list[Constraint]) -> None:
        self.path, self.kind, self.sink = path, kind, sink

    def label(self) -> str:
        return f"{self.path} ({self.kind})" if self.path else self.kind

    def fail(self, reason: str) -> NoReturn:
        raise ShapeError(f"{self.label()}: {reason}")

    def require(self, condition: object, reason: str | Callable[[], str]) -> None:
        """Raise if ``condition`` is false for every size, record it if it depends on them.

        ``reason`` may be a function making the message, so that conditions that hold
        cost no formatting.
        """
        verdict = decide(condition)  # type: ignore[arg-type]
        if verdict is True:
            return
        text = reason() if callable(reason) else reason
        if verdict is False:
            self.fail(text)
        if not any(c.condition == condition for c in self.sink):
            self.sink.append(Constraint(self.path, self.kind, condition, text))  # type: ignore[arg-type]

    def call(self, fn: Callable[..., sp.Expr], *args: Any, **kwargs: Any) -> sp.Expr:
        """Call an engine formula; its ShapeError is re-raised naming this layer."""
        try:
            return fn(*args, **kwargs)
        except ShapeError as exc:
            self.fail(str(exc))

    def size(self, fn: Callable[..., sp.Expr], n: sp.Expr, *args: Any) -> sp.Expr:
        """``fn(n, *args)`` for an engine size formula; an ``n`` holding case splits is
        passed as a placeholder and substituted branch by branch (:func:`compose`)."""
        if not n.has(sp.Piecewise):
            return self.call(fn, n, *args)
        placeholder = sp.Dummy("n", integer=True, positive=True)
        return compose(self.call(fn, placeholder, *args), placeholder, lift(n))

    def positive(self, size: sp.Expr, what: str) -> sp.Expr:
        """Require an output size to be at least 1 (torch rejects empty outputs here)."""
        size = tidy(size)
        self.require(sp.Ge(size, 1), lambda: f"{what} must be at least 1, got {size}")
        return size


def as_shape(shape: Sequence[object], name: str = "input_shape") -> Shape:
    """Read a shape: ints and/or integer SymPy expressions, each at least 1.

    >>> as_shape((1, 3, sp.Symbol("H", integer=True, positive=True), 8))
    (1, 3, H, 8)
    """
    if isinstance(shape, (str, bytes)) or not isinstance(shape, Sequence):
        raise ShapeError(f"{name} must be a sequence of sizes, got {name}={shape!r}")
    out = tuple(as_dim(d, name) for d in shape)
    for d in out:
        if sp.Lt(d, 1) is sp.true:
            raise ShapeError(f"{name} sizes must be at least 1, got {name}={show_shape(out)}")
    return out


def _ntuple(value: object, n: int, name: str) -> tuple:
    if isinstance(value, (tuple, list)):
        if len(value) == 1 and n > 1:
            return tuple(value) * n
        if len(value) != n:
            raise ShapeError(f"{name} must have {n} entries, got {name}={tuple(value)}")
        return tuple(value)
    return (value,) * n


def _ordinal(n: int) -> str:
    return f"{n}D"


def _split_batch(site: Site, x: Shape, spatial: int) -> tuple[Shape, sp.Expr, Shape]:
    """``(leading dims, channels, spatial dims)`` of a (C, *) or (N, C, *) input."""
    if len(x) not in (spatial + 1, spatial + 2):
        site.fail(
            f"expected {_ordinal(spatial + 1)} (unbatched) or {_ordinal(spatial + 2)} (batched) "
            f"input, got {_ordinal(len(x))} input of shape {show_shape(x)}"
        )
    lead = x[: len(x) - spatial - 1]
    return lead, x[len(x) - spatial - 1], x[len(x) - spatial :]


def numel(x: Shape) -> sp.Expr:
    """The number of elements, ``prod(x)`` (1 for a 0-d tensor)."""
    return sp.Mul(*x) if x else sp.Integer(1)


def normalize_dim(site: Site, dim: object, rank: int, what: str = "dim") -> int:
    """A (possibly negative) dimension index, checked against the rank as torch does."""
    if isinstance(dim, bool) or not isinstance(dim, int):
        site.fail(f"{what} must be an int, got {what}={dim!r}")
    span = max(rank, 1)
    if not -span <= dim < span:
        site.fail(f"{what}={dim} is out of range for a tensor with {rank} dimensions")
    return dim % span


# -- convolution and pooling -------------------------------------------------------------


def _check_channels(site: Site, x: Shape, c: sp.Expr, in_channels: int) -> None:
    site.require(
        sp.Eq(c, in_channels),
        lambda: f"expected input with {in_channels} channels (in_channels={in_channels}), "
        f"got {c} channels in input of shape {show_shape(x)}",
    )


def conv_shape(
    site: Site,
    x: Shape,
    spatial: int,
    *,
    in_channels: int,
    out_channels: int,
    kernel_size: object,
    stride: object = 1,
    padding: object = 0,
    dilation: object = 1,
    padding_mode: str = "zeros",
    reversed_padding: Sequence[int] | None = None,
) -> Shape:
    """``Conv{1,2,3}d``: checks the channel count, then one engine formula per axis.

    With ``padding_mode`` other than ``'zeros'`` torch pads with ``F.pad`` first (``reflect``
    needs each pad smaller than the size, ``circular`` at most the size) and convolves
    without padding.
    """
    lead, c, sizes = _split_batch(site, x, spatial)
    _check_channels(site, x, c, in_channels)
    ks = _ntuple(kernel_size, spatial, "kernel_size")
    ss = _ntuple(stride, spatial, "stride")
    ds = _ntuple(dilation, spatial, "dilation")
    out = []
    for axis, n in enumerate(sizes):
        if padding_mode != "zeros":
            if reversed_padding is None:
                site.fail(f"padding_mode={padding_mode!r} needs the module's padding amounts")
            j = 2 * (spatial - 1 - axis)
            lo, hi = int(reversed_padding[j]), int(reversed_padding[j + 1])
            _check_pad_mode(site, padding_mode, n, lo, hi)
            pad: object = (lo, hi)
        elif isinstance(padding, str):
            pad = padding
        else:
            pad = _ntuple(padding, spatial, "padding")[axis]
        size = site.size(conv_output_size, n, ks[axis], ss[axis], pad, ds[axis])
        out.append(site.positive(size, f"output size along axis {axis + len(lead) + 1}"))
    return (*lead, sp.Integer(out_channels), *out)


def _check_pad_mode(site: Site, mode: str, n: sp.Expr, lo: int, hi: int) -> None:
    if mode == "reflect":
        for p in (lo, hi):
            site.require(
                sp.Lt(p, n),
                lambda p=p: f"padding_mode='reflect' needs padding smaller than the input "
                f"size, got padding={p} for size {n}",
            )
    elif mode == "circular":
        for p in (lo, hi):
            site.require(
                sp.Le(p, n),
                lambda p=p: f"padding_mode='circular' needs padding at most the input "
                f"size, got padding={p} for size {n}",
            )
    elif mode != "replicate":
        site.fail(f"unknown padding_mode={mode!r}")


def conv_transpose_shape(
    site: Site,
    x: Shape,
    spatial: int,
    *,
    in_channels: int,
    out_channels: int,
    kernel_size: object,
    stride: object = 1,
    padding: object = 0,
    output_padding: object = 0,
    dilation: object = 1,
) -> Shape:
    """``ConvTranspose{1,2,3}d``: channel check and the transposed-convolution size per axis.

    An output size below 1 is refused, as torch does with one group. (With ``groups > 1``
    torch's CPU kernels sometimes return an empty tensor instead; derive does not copy
    that backend-dependent behaviour.)
    """
    lead, c, sizes = _split_batch(site, x, spatial)
    _check_channels(site, x, c, in_channels)
    ks = _ntuple(kernel_size, spatial, "kernel_size")
    ss = _ntuple(stride, spatial, "stride")
    ps = _ntuple(padding, spatial, "padding")
    ops = _ntuple(output_padding, spatial, "output_padding")
    ds = _ntuple(dilation, spatial, "dilation")
    out = []
    for axis, n in enumerate(sizes):
        size = site.size(
            conv_transpose_output_size, n, ks[axis], ss[axis], ps[axis], ops[axis], ds[axis]
        )
        out.append(site.positive(size, f"output size along axis {axis + len(lead) + 1}"))
    return (*lead, sp.Integer(out_channels), *out)


def pool_shape(
    site: Site,
    x: Shape,
    spatial: int,
    *,
    kernel_size: object,
    stride: object = None,
    padding: object = 0,
    dilation: object = 1,
    ceil_mode: bool = False,
    input_at_least_kernel: bool = False,
) -> Shape:
    """``MaxPool``/``AvgPool`` ``{1,2,3}d``: the engine's pooling formula per axis
    (``ceil_mode`` included).

    ``input_at_least_kernel``: torch's ``avg_pool3d`` also refuses an unpadded input smaller
    than the kernel along any axis (padding notwithstanding).
    """
    lead, c, sizes = _split_batch(site, x, spatial)
    ks = _ntuple(kernel_size, spatial, "kernel_size")
    if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0):
        stride = ks
    ss = _ntuple(stride, spatial, "stride")
    ps = _ntuple(padding, spatial, "padding")
    ds = _ntuple(dilation, spatial, "dilation")
    out = []
    if input_at_least_kernel:
        for n, k in zip(sizes, ks):
            site.require(
                sp.Ge(n, k),
                lambda: f"input sizes {show_shape(sizes)} are smaller than kernel_size={ks}",
            )
    for axis, n in enumerate(sizes):
        size = site.size(
            pool_output_size, n, ks[axis], ss[axis], ps[axis], ds[axis], bool(ceil_mode)
        )
        out.append(site.positive(size, f"output size along axis {axis + len(lead) + 1}"))
    return (*lead, c, *out)


def adaptive_pool_shape(
    site: Site, x: Shape, spatial: int, *, output_size: object, mean_shortcut: bool = False
) -> Shape:
    """``Adaptive{Avg,Max}Pool{1,2,3}d``: the requested sizes (``None`` keeps the input's).

    torch's quirks are followed: a tuple ``output_size`` needs at least ``spatial + 1`` dims;
    and adaptive *average* pooling in 2-D and 3-D whose every output size is 1 is computed
    as a mean over the last ``spatial`` dims, which accepts any rank of at least ``spatial``
    (``mean_shortcut``).
    """
    rank = len(x)
    if isinstance(output_size, (tuple, list)):
        if len(output_size) != spatial:
            site.fail(f"output_size must have {spatial} entries, got {tuple(output_size)}")
        if rank < spatial + 1:
            site.fail(
                f"input dimension should be at least {spatial + 1}, got input of shape "
                f"{show_shape(x)}"
            )
        targets = [
            x[rank - spatial + i] if t is None else as_dim(t, "output_size")
            for i, t in enumerate(output_size)
        ]
    else:
        targets = [as_dim(output_size, "output_size")] * spatial
    for t in targets:
        if sp.Lt(t, 0) is sp.true:
            site.fail(f"output_size must be non-negative, got output_size={output_size}")
    if rank in (spatial + 1, spatial + 2):
        return (*x[: rank - spatial], *targets)
    if mean_shortcut and rank >= spatial:
        site.require(
            sp.And(*[sp.Eq(t, 1) for t in targets]),
            lambda: f"expected {_ordinal(spatial + 1)} or {_ordinal(spatial + 2)} input, got "
            f"input of shape {show_shape(x)} (other ranks only when every output size is 1)",
        )
        return (*x[: rank - spatial], *([sp.Integer(1)] * spatial))
    _split_batch(site, x, spatial)  # raises with torch's rank message
    raise AssertionError("unreachable")  # pragma: no cover


def dropout_shape(site: Site, x: Shape, *, channel_dims: int, training: bool) -> Shape:
    """Dropout keeps the shape; torch's channel-wise variants check the rank.

    ``channel_dims`` is 0 for ``Dropout``/``AlphaDropout`` (no check) and 1, 2, 3 for
    ``Dropout1d`` (2-D or 3-D input, always), ``Dropout2d`` (at least 2-D when training)
    and ``Dropout3d`` (at least 1-D when training); ``-1`` is ``FeatureAlphaDropout``
    (at least 2-D when training).
    """
    rank = len(x)
    if channel_dims == 1 and rank not in (2, 3):
        site.fail(f"expected 2D or 3D input, got {_ordinal(rank)} input of shape {show_shape(x)}")
    least = {2: 2, 3: 1, -1: 2}.get(channel_dims, 0)
    if training and rank < least:
        site.fail(
            f"feature dropout requires at least {least} dimensions, got input of shape "
            f"{show_shape(x)}"
        )
    return x


# -- normalisation and dense layers ------------------------------------------------------


def batch_norm_shape(
    site: Site, x: Shape, ranks: Sequence[int], *, num_features: int, training: bool
) -> Shape:
    """``BatchNorm{1,2,3}d``: the rank, ``C == num_features``, and in training more than one
    value per channel ($N \\prod_i n_i > 1$, i.e. some factor above 1)."""
    if len(x) not in ranks:
        allowed = " or ".join(_ordinal(r) for r in ranks)
        site.fail(
            f"expected {allowed} input, got {_ordinal(len(x))} input of shape {show_shape(x)}"
        )
    site.require(
        sp.Eq(x[1], num_features),
        lambda: f"expected input with {num_features} channels (num_features={num_features}), "
        f"got {x[1]} in input of shape {show_shape(x)}",
    )
    if training:
        per_channel = (x[0], *x[2:])
        site.require(
            sp.Or(*[sp.Gt(d, 1) for d in per_channel]),
            lambda: "training needs more than 1 value per channel, got input of shape "
            f"{show_shape(x)}",
        )
    return x


def layer_norm_shape(site: Site, x: Shape, *, normalized_shape: Sequence[int]) -> Shape:
    """``LayerNorm``: the trailing dims must equal ``normalized_shape``."""
    tail = tuple(normalized_shape)
    if len(x) < len(tail):
        site.fail(f"normalized_shape={tail} has more dims than input of shape {show_shape(x)}")
    for d, t in zip(x[len(x) - len(tail) :], tail):
        site.require(
            sp.Eq(d, t),
            lambda: f"input of shape {show_shape(x)} does not end with normalized_shape={tail}",
        )
    return x


def group_norm_shape(site: Site, x: Shape, *, num_groups: int, num_channels: int) -> Shape:
    """``GroupNorm``: ``C == num_channels`` (which ``num_groups`` divides)."""
    if len(x) < 2:
        site.fail(f"expected at least 2D input, got input of shape {show_shape(x)}")
    site.require(
        sp.Eq(x[1], num_channels),
        lambda: f"expected input with {num_channels} channels (num_channels={num_channels}), "
        f"got {x[1]} in input of shape {show_shape(x)}",
    )
    return x


def linear_shape(site: Site, x: Shape, *, in_features: int, out_features: int) -> Shape:
    """``Linear``: the last dim must equal ``in_features`` and becomes ``out_features``."""
    if len(x) < 1:
        site.fail("expected at least 1D input, got a 0-d tensor")
    site.require(
        sp.Eq(x[-1], in_features),
        lambda: f"in_features={in_features} does not match the last dim {x[-1]} of input of shape "
        f"{show_shape(x)}",
    )
    return (*x[:-1], sp.Integer(out_features))


# -- reshaping ----------------------------------------------------------------------------


def flatten_shape(site: Site, x: Shape, start_dim: int = 1, end_dim: int = -1) -> Shape:
    """``Flatten``/``torch.flatten``: dims ``start_dim..end_dim`` multiplied into one."""
    if not x:
        return (sp.Integer(1),)
    start = normalize_dim(site, start_dim, len(x), "start_dim")
    end = normalize_dim(site, end_dim, len(x), "end_dim")
    if start > end:
        site.fail(
            f"flatten() has invalid args: start_dim={start_dim} comes after end_dim={end_dim}"
        )
    return (*x[:start], numel(x[start : end + 1]), *x[end + 1 :])


def unflatten_shape(site: Site, x: Shape, dim: int, sizes: Sequence[object]) -> Shape:
    """``Unflatten``: one dim split into ``sizes`` (one entry may be -1)."""
    d = normalize_dim(site, dim, len(x))
    inner = reshape_shape(site, (x[d],), sizes)
    return (*x[:d], *inner, *x[d + 1 :])


def reshape_shape(site: Site, x: Shape, sizes: Sequence[object]) -> Shape:
    r"""``view``/``reshape``: same number of elements; a ``-1`` is inferred as
    $\prod x / \prod(\text{others})$, which must be an integer."""
    total = numel(x)
    dims = [as_dim(s, "shape") for s in sizes]
    unknown = [i for i, d in enumerate(dims) if d == -1]
    if len(unknown) > 1:
        site.fail(f"only one dimension can be inferred, got shape {show_shape(dims)}")
    for d in dims:
        if d != -1 and sp.Lt(d, 0) is sp.true:
            site.fail(f"invalid shape dimension {d} in shape {show_shape(dims)}")
    known = numel(tuple(d for d in dims if d != -1))

    def text() -> str:
        return f"shape {show_shape(dims)} is invalid for input of shape {show_shape(x)}"

    if unknown:
        site.require(sp.Ne(known, 0), text)
        inferred = sp.factor_terms(total / known)
        if inferred.is_integer is not True:
            site.require(sp.Eq(sp.Mod(total, known), 0), text)
        dims[unknown[0]] = tidy(inferred)
    else:
        site.require(sp.Eq(total, known), text)
    return tuple(dims)


def permute_shape(site: Site, x: Shape, order: Sequence[int]) -> Shape:
    """``permute``: the dims in the given order."""
    if len(order) != len(x):
        site.fail(f"permute needs {len(x)} dims, got {tuple(order)}")
    idx = [normalize_dim(site, d, len(x)) for d in order]
    if sorted(idx) != list(range(len(x))):
        site.fail(f"permute got repeated dims {tuple(order)}")
    return tuple(x[i] for i in idx)


def transpose_shape(site: Site, x: Shape, dim0: int, dim1: int) -> Shape:
    """``transpose``: two dims swapped."""
    a, b = normalize_dim(site, dim0, len(x)), normalize_dim(site, dim1, len(x))
    out = list(x)
    out[a], out[b] = out[b], out[a]
    return tuple(out)


def unsqueeze_shape(site: Site, x: Shape, dim: int) -> Shape:
    """``unsqueeze``: a size-1 dim inserted."""
    d = normalize_dim(site, dim, len(x) + 1)
    return (*x[:d], sp.Integer(1), *x[d:])


def squeeze_shape(site: Site, x: Shape, dim: object = None) -> Shape:
    """``squeeze``: size-1 dims removed; a symbolic dim that may or may not be 1 is refused."""
    if dim is None:
        dims = list(range(len(x)))
    elif isinstance(dim, (tuple, list)):
        dims = [normalize_dim(site, d, len(x)) for d in dim]
    else:
        dims = [normalize_dim(site, dim, len(x))]
    keep = []
    for i, d in enumerate(x):
        if i in dims:
            verdict = decide(sp.Eq(d, 1))
            if verdict is None:
                site.fail(f"squeeze of dim {i} of size {d}: the rank would depend on the size")
            if verdict:
                continue
        keep.append(d)
    return tuple(keep)


def reduce_shape(site: Site, x: Shape, dim: object = None, keepdim: bool = False) -> Shape:
    """``mean``/``sum``/``amax``/``amin`` over ``dim`` (all dims when ``None``)."""
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        dims = set(range(len(x)))
    elif isinstance(dim, (tuple, list)):
        dims = {normalize_dim(site, d, len(x)) for d in dim}
    else:
        dims = {normalize_dim(site, dim, len(x))}
    if keepdim:
        return tuple(sp.Integer(1) if i in dims else d for i, d in enumerate(x))
    return tuple(d for i, d in enumerate(x) if i not in dims)


# -- several inputs ------------------------------------------------------------------------


def broadcast_shapes(site: Site, a: Shape, b: Shape) -> Shape:
    r"""Broadcasting of two shapes: aligned from the right, a size 1 stretches.

    Equal sizes (proved for every size) need nothing; otherwise the dims must be equal or
    one of them 1, and the result is $\begin{cases} b & a = 1 \\ a & \text{else}\end{cases}$.
    """
    out: list[sp.Expr] = []
    rank = max(len(a), len(b))
    pa = (sp.Integer(1),) * (rank - len(a)) + tuple(a)
    pb = (sp.Integer(1),) * (rank - len(b)) + tuple(b)
    for i, (p, q) in enumerate(zip(pa, pb)):
        if p == q or q == 1:
            out.append(p)
        elif p == 1:
            out.append(q)
        elif decide(sp.Eq(p, q)):
            out.append(p)
        else:
            site.require(
                sp.Or(sp.Eq(p, q), sp.Eq(p, 1), sp.Eq(q, 1)),
                lambda p=p, q=q, i=i: f"the size of tensor a ({p}) must match the size of "
                f"tensor b ({q}) at dimension {i} (shapes {show_shape(a)} and {show_shape(b)})",
            )
            placeholder = sp.Dummy("p", integer=True, positive=True)
            split = cases([(q, sp.Eq(placeholder, 1)), (placeholder, sp.true)])
            out.append(compose(split, placeholder, lift(p)))
    return tuple(out)


def cat_shape(site: Site, shapes: Sequence[Shape], dim: int = 0) -> Shape:
    """``torch.cat``: same rank, equal sizes except along ``dim``, which adds up."""
    if not shapes:
        site.fail("torch.cat needs at least one tensor")
    first = shapes[0]
    d = normalize_dim(site, dim, len(first))
    for other in shapes[1:]:
        if len(other) != len(first):
            site.fail(
                f"tensors must have the same number of dimensions, got {show_shape(first)} "
                f"and {show_shape(other)}"
            )
        for i, (p, q) in enumerate(zip(first, other)):
            if i != d:
                site.require(
                    sp.Eq(p, q),
                    lambda p=p, q=q, i=i, other=other: f"sizes of tensors must match except in "
                    f"dimension {d}: expected size {p} but got size {q} for dimension {i} "
                    f"({show_shape(first)} and {show_shape(other)})",
                )
    total = sp.Add(*(s[d] for s in shapes))
    return (*first[:d], total, *first[d + 1 :])


def stack_shape(site: Site, shapes: Sequence[Shape], dim: int = 0) -> Shape:
    """``torch.stack``: equal shapes, a new dim of size ``len(shapes)``."""
    if not shapes:
        site.fail("torch.stack needs at least one tensor")
    first = shapes[0]
    d = normalize_dim(site, dim, len(first) + 1)
    for other in shapes[1:]:
        if len(other) != len(first):
            site.fail(
                f"stack expects each tensor to be equal size, got {show_shape(first)} and "
                f"{show_shape(other)}"
            )
        for p, q in zip(first, other):
            site.require(
                sp.Eq(p, q),
                lambda other=other: f"stack expects each tensor to be equal size, got "
                f"{show_shape(first)} and {show_shape(other)}",
            )
    return (*first[:d], sp.Integer(len(shapes)), *first[d:])
