r"""Shape rules, one function per layer family, in pure SymPy.

A rule takes the input shape (a tuple of SymPy expressions) and the layer's arguments
(named as in ``torch.nn``) and returns the output shape. Spatial sizes come from the
engine's formulas (:func:`derive.conv_output_size`, :func:`derive.pool_output_size`,
:func:`derive.conv_transpose_output_size`), looked up through the operation registry
(:mod:`derive.ops`) when called, so what is patched there is what networks use. Whatever
torch checks in ``forward`` becomes a condition handed to :meth:`Site.require`: decided
conditions pass or raise
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
from derive.networks.branches import branch
from derive.networks.quasi import compose, for_all_sizes, lift, tidy
from derive.ops import CONV, CONV_TRANSPOSE, MAX_POOL
from derive.params import as_dim, pool_stride

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
    "instance_norm_shape",
    "linear_shape",
    "normalize_dim",
    "numel",
    "ntuple",
    "split_batch",
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

    __slots__ = ("path", "kind", "sink", "hints")

    def __init__(self, path: str, kind: str, sink: list[Constraint],
                 hints: list[Constraint] | None = None) -> None:  # fmt: skip
        self.path, self.kind, self.sink = path, kind, sink
        self.hints = hints

    def static_for_export(self, size: sp.Expr, reason: str) -> None:
        """Note that ``torch.export`` specialises ``size`` here (a recurrent layer's length):
        an export specification must keep its symbols static."""
        if self.hints is not None and sp.sympify(size).free_symbols:
            self.hints.append(Constraint(self.path, self.kind, sp.sympify(size), reason))

    def label(self) -> str:
        return f"{self.path} ({self.kind})" if self.path else self.kind

    def fail(self, reason: str) -> NoReturn:
        raise ShapeError(f"{self.label()}: {reason}")

    def require(self, condition: object, reason: str | Callable[[], str]) -> None:
        """Raise if ``condition`` is false for every size, record it if it depends on them.

        ``reason`` may be a function making the message, so that conditions that hold
        cost no formatting.
        """
        verdict = for_all_sizes(condition)  # type: ignore[arg-type]
        if verdict is True or (verdict is None and _implied(condition, self.sink)):
            return
        text = reason() if callable(reason) else reason
        if verdict is False:
            self.fail(text)
        if not any(c.condition == condition for c in self.sink):
            self.sink.append(Constraint(self.path, self.kind, condition, text))  # type: ignore[arg-type]

    def branch(self, condition: sp.Basic) -> bool:
        """Which way a rule goes at a size condition: decided, or a case split of the run
        (:func:`derive.networks.branches.branch`)."""
        return branch(condition)

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


def _divisibility(condition: sp.Basic) -> tuple[sp.Symbol, int] | None:
    """``(s, m)`` when ``condition`` is ``Eq(Mod(s, m), 0)`` for a size ``s``."""
    if isinstance(condition, sp.Eq) and condition.rhs == 0 and isinstance(condition.lhs, sp.Mod):
        s, m = condition.lhs.args
        if isinstance(s, sp.Symbol) and m.is_Integer and m > 0:
            return s, int(m)
    return None


def _implied(condition: sp.Basic, known: Sequence[Constraint]) -> bool:
    r"""Whether ``condition`` holds wherever the divisibility conditions already required
    ($m \mid s$) do: with $s = m k$ it becomes an identity (an einops axis $s/m$ then
    multiplies back to $s$ in a reshape)."""
    facts = [f for f in (_divisibility(c.condition) for c in known) if f is not None]
    facts = [(s, m) for s, m in facts if condition.has(s)]
    if not facts:
        return False
    put = {s: m * sp.Dummy(f"{s.name}_{m}", integer=True, positive=True) for s, m in facts}
    return for_all_sizes(condition.xreplace(put)) is True


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


def ntuple(value: object, n: int, name: str) -> tuple:
    if isinstance(value, (tuple, list)):
        if len(value) == 1 and n > 1:
            return tuple(value) * n
        if len(value) != n:
            raise ShapeError(f"{name} must have {n} entries, got {name}={tuple(value)}")
        return tuple(value)
    return (value,) * n


def _ordinal(n: int) -> str:
    return f"{n}D"


def split_batch(site: Site, x: Shape, spatial: int) -> tuple[Shape, sp.Expr, Shape]:
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
    if isinstance(dim, sp.Integer):
        dim = int(dim)
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
) -> Shape:
    """``F.conv{1,2,3}d``: checks the channel count, then one engine formula per axis.

    (A ``Conv2d`` with ``padding_mode`` other than ``'zeros'`` pads with ``F.pad`` first, in
    its own code, and convolves without padding.)
    """
    ks = ntuple(kernel_size, spatial, "kernel_size")
    ss = ntuple(stride, spatial, "stride")
    ds = ntuple(dilation, spatial, "dilation")
    ps = [padding] * spatial if isinstance(padding, str) else ntuple(padding, spatial, "padding")
    params = list(zip(ks, ss, ps, ds))
    return _per_axis(site, x, spatial, in_channels, out_channels, CONV.size, params)


def _per_axis(site: Site, x: Shape, spatial: int, in_channels: int, out_channels: int,
              formula: Callable[..., sp.Expr], params: Sequence[tuple]) -> Shape:  # fmt: skip
    """The channel check, then ``formula(n, *params[axis])`` along each spatial axis (an
    engine size function), each output size at least 1."""
    lead, c, sizes = split_batch(site, x, spatial)
    _check_channels(site, x, c, in_channels)
    out = []
    for axis, n in enumerate(sizes):
        size = site.size(formula, n, *params[axis])
        out.append(site.positive(size, f"output size along axis {axis + len(lead) + 1}"))
    return (*lead, sp.sympify(out_channels), *out)


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
    params = list(zip(*(ntuple(v, spatial, name) for v, name in (
        (kernel_size, "kernel_size"), (stride, "stride"), (padding, "padding"),
        (output_padding, "output_padding"), (dilation, "dilation")))))  # fmt: skip
    return _per_axis(site, x, spatial, in_channels, out_channels, CONV_TRANSPOSE.size,
                     params)  # fmt: skip


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
    lead, c, sizes = split_batch(site, x, spatial)
    ks = ntuple(kernel_size, spatial, "kernel_size")
    ss = ntuple(pool_stride(stride, ks), spatial, "stride")
    ps = ntuple(padding, spatial, "padding")
    ds = ntuple(dilation, spatial, "dilation")
    out = []
    if input_at_least_kernel:
        for n, k in zip(sizes, ks):
            site.require(
                sp.Ge(n, k),
                lambda: f"input sizes {show_shape(sizes)} are smaller than kernel_size={ks}",
            )
    for axis, n in enumerate(sizes):
        size = site.size(
            MAX_POOL.size, n, ks[axis], ss[axis], ps[axis], ds[axis], bool(ceil_mode)
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
        site.require(sp.Ge(t, 0), lambda: f"output_size must be non-negative, got "
                     f"output_size={output_size}")  # fmt: skip
    if rank in (spatial + 1, spatial + 2):
        return (*x[: rank - spatial], *targets)
    if mean_shortcut and rank >= spatial:
        site.require(
            sp.And(*[sp.Eq(t, 1) for t in targets]),
            lambda: f"expected {_ordinal(spatial + 1)} or {_ordinal(spatial + 2)} input, got "
            f"input of shape {show_shape(x)} (other ranks only when every output size is 1)",
        )
        return (*x[: rank - spatial], *([sp.Integer(1)] * spatial))
    split_batch(site, x, spatial)  # raises with torch's rank message
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


def _more_than_one(site: Site, x: Shape, sizes: Sequence[sp.Expr], what: str) -> None:
    """torch's ``_verify_batch_size``/``_verify_spatial_size``: the product of ``sizes`` must
    not be 1, i.e. some factor above 1 (sizes are positive)."""
    site.require(
        sp.Or(*[sp.Gt(d, 1) for d in sizes]),
        lambda: f"Expected more than 1 {what} when training, got input size {show_shape(x)}",
    )


def _vector(site: Site, name: str, size: sp.Expr | None, c: sp.Expr) -> None:
    if size is not None:
        site.require(sp.Eq(c, size), lambda: f"{name} should contain {c} elements not {size}")


def batch_norm_shape(
    site: Site,
    x: Shape,
    *,
    running: int | None = None,
    weight: int | None = None,
    training: bool = True,
) -> Shape:
    r"""``F.batch_norm``: per-channel vectors of ``C = x[1]`` entries and, in training, more
    than one value per channel ($N \prod_i n_i > 1$: some factor above 1). ``running`` and
    ``weight`` are the sizes of the running statistics and the affine weight (if given).

    The rank is checked by the modules (``BatchNorm2d`` wants 4-D input), in their own code.
    """
    c = x[1] if len(x) >= 2 else sp.Integer(0)
    if not training and running is None:
        site.fail("running_mean must be defined in evaluation mode")
    _vector(site, "running_mean", running, c)
    _vector(site, "weight", weight, c)
    if training:
        _more_than_one(site, x, (x[0], *x[2:]) if x else (), "value per channel")
    return x


def instance_norm_shape(
    site: Site,
    x: Shape,
    *,
    running: int | None = None,
    weight: int | None = None,
    use_input_stats: bool = True,
) -> Shape:
    r"""``F.instance_norm``: statistics over the spatial dims, so with input statistics more
    than one spatial element ($\prod_i n_i > 1$); per-channel vectors of ``x[1]`` entries."""
    if use_input_stats:
        _more_than_one(site, x, x[2:], "spatial element")
    c = x[1] if len(x) >= 2 else sp.Integer(1)
    _vector(site, "running_mean", running, c)
    _vector(site, "weight", weight, c)
    return x


def layer_norm_shape(site: Site, x: Shape, *, normalized_shape: Sequence[int],
                     weight: Sequence[int] | None = None, name: str = "") -> Shape:  # fmt: skip
    """``LayerNorm``/``RMSNorm``: the trailing dims must equal ``normalized_shape``."""
    tail = tuple(int(t) for t in normalized_shape)
    if weight is not None and tuple(weight) != tail:
        site.fail(f"Expected weight to be of same shape as normalized_shape, but got weight of "
                  f"shape {list(weight)} and normalized_shape = {list(tail)}")  # fmt: skip

    def text() -> str:
        return (f"Given normalized_shape={list(tail)}, expected input with shape "
                f"[*, {', '.join(map(str, tail))}], but got input of size {show_shape(x)}")

    if len(x) < len(tail):
        site.fail(text())
    for d, t in zip(x[len(x) - len(tail) :], tail):
        site.require(sp.Eq(d, t), text)
    return x


def group_norm_shape(site: Site, x: Shape, *, num_groups: int,
                     weight: int | None = None) -> Shape:  # fmt: skip
    """``F.group_norm``: at least 2-D, ``num_groups`` divides ``C``, more than one value per
    group in the batch, and an affine weight of ``C`` entries."""
    if len(x) < 2:
        site.fail(f"Expected at least 2 dimensions for input tensor but received {len(x)}")
    c = x[1]
    # torch tests N * (C // G) * prod(spatial) != 1; where G divides C (required below) that
    # is "N > 1 or C > G or some spatial size > 1", one size per condition
    _more_than_one(site, x, (x[0], c / num_groups, *x[2:]), "value per channel")
    site.require(
        sp.Eq(sp.Mod(c, num_groups), 0),
        lambda: "Expected number of channels in input to be divisible by num_groups, but got "
        f"input of shape {show_shape(x)} and num_groups={num_groups}",
    )
    if weight is not None:
        site.require(sp.Eq(c, weight), lambda: "Expected weight to be a vector of size equal "
                     f"to the number of channels in input, but got weight of shape [{weight}] "
                     f"and input of shape {show_shape(x)}")  # fmt: skip
    return x


def linear_shape(site: Site, x: Shape, *, in_features: sp.Expr | int,
                 out_features: sp.Expr | int) -> Shape:  # fmt: skip
    """``Linear``: the last dim must equal ``in_features`` and becomes ``out_features``."""
    if len(x) < 1:
        site.fail("expected at least 1D input, got a 0-d tensor")
    site.require(
        sp.Eq(x[-1], in_features),
        lambda: f"in_features={in_features} does not match the last dim {x[-1]} of input of shape "
        f"{show_shape(x)}",
    )
    return (*x[:-1], sp.sympify(out_features))
