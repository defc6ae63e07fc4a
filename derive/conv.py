r"""Output elements of 2-D cross-correlation and convolution layers, as SymPy expressions.

For input $X$ with $C$ channels, weight $W$ and bias $b$, output channel $o$ at $(i, j)$ is

$$
Y_{o,i,j} = b_o + \sum_{c=0}^{C/g-1}\sum_{a=0}^{k_h-1}\sum_{e=0}^{k_w-1}
    W_{o,c,a,e}\, X_{c',\, i s_h - p_t + a d_h,\, j s_w - p_l + e d_w},
$$

where $c' = c + \lfloor o/(C_\text{out}/g) \rfloor\, C/g$ is the input channel of group $g$ and
entries outside the input are the padding's zeros (so their terms vanish).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cmp_to_key
from typing import Any

import sympy as sp

from derive.channels import channel_guards, read_groups
from derive.errors import ShapeError
from derive.guards import enforce
from derive.ops import CONV
from derive.params import int_pair, padding_2d
from derive.shapes import resolve_conv_padding, same_stride_guard
from derive.sympy_private import SYMBOL_BEFORE_MUL, entries, sorted_product, sorted_sum
from derive.tensors import check_layout, read_tensor, to_array
from derive.windows import AxisWindows, Windows2d

__all__ = ["corr2d", "conv2d", "conv2d_terms", "ConvPlan", "plan_conv2d"]

Element = Callable[[int, int, int, list[tuple[int, int]]], sp.Basic]


@dataclass(frozen=True)
class ConvPlan(Windows2d):
    """Which input and weight entries meet in each output element of a 2-D convolution.

    Built once from shapes and parameters (no entries involved). A :class:`Windows2d` (padded
    coordinates, taps on the input and on the padding, see :mod:`derive.windows`) plus the
    channels of one group: :meth:`window` lists ``(c, r, q, a, e)`` for every product
    $W_{o,c,a,e} X_{c+g C_g, r, q}$ that falls inside the input, ``c`` being the channel
    within the group.

    >>> plan = plan_conv2d((1, 3, 3), (1, 1, 2, 2), padding=1)
    >>> plan.out_shape, plan.padded(0, 0), plan.padding_count(0, 0)
    ((4, 4), ((0, 0), (0, 1), (1, 0), (1, 1)), 3)
    >>> plan.window(0, 0)
    [(0, 0, 0, 1, 1)]
    """

    #: input channels per group, $C_\text{in}/g$
    in_channels: int

    @property
    def height(self) -> int:
        return self.rows.size

    @property
    def width(self) -> int:
        return self.cols.size

    def window(self, i: int, j: int) -> list[tuple[int, int, int, int, int]]:
        """The ``(c, r, q, a, e)`` products of output position ``(i, j)``."""
        taps = self.taps(i, j)
        return [(c, r, q, a, e) for c in range(self.in_channels) for a, e, r, q in taps]


def _check_ranks(input_shape: tuple[int, ...], weight_shape: tuple[int, ...]) -> None:
    check_layout(input_shape)
    if len(weight_shape) != 4:
        raise ShapeError(f"weight must be (C_out, C_in/groups, kH, kW), got shape {weight_shape}")


def _conv_pads(
    padding: Any, kernel: Sequence[int], stride: tuple[int, int], dilation: tuple[int, int]
) -> tuple[tuple[Any, Any], tuple[Any, Any]]:
    """``((top, bottom), (left, right))``, ``'same'`` resolved (stride 1 on both axes)."""
    pads = padding_2d(padding)
    if not isinstance(pads, str):
        return pads
    if pads == "same":  # one guard for the pair, so the message shows the stride as given
        enforce([same_stride_guard(stride)])
    rows, cols = (
        resolve_conv_padding(pads, k, s, d) for k, s, d in zip(kernel, stride, dilation)
    )
    return rows, cols


def _conv_axis(n: int, k: int, s: int, d: int, pads: tuple[Any, Any]) -> AxisWindows:
    before, after = int_pair(pads, "padding")
    out = int(CONV.size(n, k, s, (before, after), d))  # the size rule, looked up now
    return AxisWindows(n, k, s, d, before, after, out)


def plan_conv2d(
    input_shape: tuple[int, ...],
    weight_shape: tuple[int, ...],
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
    bias_shape: tuple[int, ...] | None = None,
    convention: Any = None,
) -> ConvPlan:
    """Validate shapes and parameters as torch's ``conv2d`` does and build the :class:`ConvPlan`.

    With ``convention`` (:mod:`derive.conventions`), ``padding`` is read as that framework
    reads it and resolved to explicit zeros first.
    """
    _check_ranks(input_shape, weight_shape)
    enforce(channel_guards(input_shape, weight_shape, read_groups(groups), bias_shape))
    kernel = weight_shape[2:]
    strides, dilations = int_pair(stride, "stride"), int_pair(dilation, "dilation")
    if convention is not None:
        from derive.conventions.layer import conv_pads_2d  # the conventions build on this core

        padding = conv_pads_2d(
            convention, input_shape[-2:], kernel, strides, dilations, padding
        )  # type: ignore[arg-type]
    pads = _conv_pads(padding, kernel, strides, dilations)
    rows, cols = (
        _conv_axis(n, k, s, d, p)
        for n, k, s, d, p in zip(input_shape[-2:], kernel, strides, dilations, pads)
    )
    return ConvPlan(rows, cols, weight_shape[1])


@dataclass(frozen=True)
class _Layout:
    """Where the entries of each output element sit in the flat input and weight lists."""

    plan: ConvPlan
    input_shape: tuple[int, ...]
    c_out: int

    @property
    def shape(self) -> tuple[int, ...]:
        shape = (self.c_out, *self.plan.out_shape)
        return (self.input_shape[0], *shape) if len(self.input_shape) == 4 else shape

    def offsets(self) -> list[list[tuple[int, int]]]:
        """Per output position, ``(x offset in a channel group, w offset in a filter)``."""
        plan = self.plan
        hw, (kh, kw) = plan.height * plan.width, plan.kernel
        return [
            [(c * hw + r * plan.width + q, (c * kh + a) * kw + e) for c, r, q, a, e in
             plan.window(i, j)]
            for i in range(plan.out_shape[0])
            for j in range(plan.out_shape[1])
        ]  # fmt: skip

    def bases(self) -> Iterator[tuple[int, int, int]]:
        """``(x base, w base, o)`` of every (batch entry, output channel), in output order."""
        plan, channels = self.plan, self.input_shape[-3]
        cg, hw = plan.in_channels, plan.height * plan.width
        filter_size = cg * plan.kernel[0] * plan.kernel[1]
        per_group = self.c_out // (channels // cg)
        n_batch = self.input_shape[0] if len(self.input_shape) == 4 else 1
        for n in range(n_batch):
            for o in range(self.c_out):
                yield (n * channels + (o // per_group) * cg) * hw, o * filter_size, o


def _numeric_element(x: list, w: list, b: list | None) -> Element:
    """Integer entries: Python ints summed, one SymPy Integer per element."""
    xi, wi = [int(v) for v in x], [int(v) for v in w]
    bi = [int(v) for v in b] if b is not None else None

    def numeric(xb: int, wb: int, o: int, offs: list[tuple[int, int]]) -> sp.Basic:
        total = sum(xi[xb + u] * wi[wb + v] for u, v in offs)
        return sp.Integer(total + (bi[o] if bi is not None else 0))

    return numeric


def _plain_symbols(flat: list[sp.Basic]) -> bool:
    return all(type(v) is sp.Symbol and v.is_commutative for v in flat)


def _symbol_ranks(x: list, w: list, b: list | None) -> dict[sp.Symbol, int] | None:
    """Canonical ranks of symbols when every entry is a plain commutative Symbol, the input,
    weight and bias sets are disjoint and the input repeats none.

    The ranks reproduce SymPy's own term order (``Basic.compare``), so sums and products
    built from them equal those ``Add``/``Mul`` would build, without re-sorting each time.
    Non-commutative symbols keep their order in a product, so they take the general path.
    """
    flats = (x, w) if b is None else (x, w, b)
    if not all(_plain_symbols(flat) for flat in flats):
        return None
    sets = [set(flat) for flat in flats]
    if len(sets[0]) != len(x) or len(set().union(*sets)) != sum(map(len, sets)):
        return None  # repeated input symbols, or shared between tensors: let Add combine them
    ordered = sorted(set().union(*sets[:2]), key=cmp_to_key(sp.Basic.compare))
    return {sym: rank for rank, sym in enumerate(ordered)}


def _canonical_sum(terms: list[sp.Basic]) -> sp.Basic:
    if not terms:
        return sp.S.Zero
    return terms[0] if len(terms) == 1 else sorted_sum(terms)


def _canonical_element(x: list, w: list, b: list | None, ranks: dict) -> Element:
    """Distinct plain symbols: products and sums built presorted, as SymPy would order them."""

    def canonical(xb: int, wb: int, o: int, offs: list[tuple[int, int]]) -> sp.Basic:
        keyed = []
        for u, v in offs:
            s1, s2 = x[xb + u], w[wb + v]
            r1, r2 = ranks[s1], ranks[s2]
            if r1 < r2:
                keyed.append(((r1, r2), sorted_product((s1, s2))))
            else:
                keyed.append(((r2, r1), sorted_product((s2, s1))))
        keyed.sort(key=lambda t: t[0])
        terms = [t for _, t in keyed]
        if b is not None:
            terms.insert(0 if SYMBOL_BEFORE_MUL else len(terms), b[o])
        return _canonical_sum(terms)

    return canonical


def _general_element(x: list, w: list, b: list | None) -> Element:
    """Anything else: SymPy's own ``Add`` of the products (combines and sorts)."""

    def general(xb: int, wb: int, o: int, offs: list[tuple[int, int]]) -> sp.Basic:
        terms = [x[xb + u] * w[wb + v] for u, v in offs]
        if b is not None:
            terms.append(b[o])
        return sp.Add(*terms)

    return general


def _element(x: list, w: list, b: list | None) -> Element:
    """The fastest exact way to build one output element from these entries."""
    if all(v.is_Integer for v in (*x, *w, *(b or ()))):
        return _numeric_element(x, w, b)
    ranks = _symbol_ranks(x, w, b)
    if ranks is not None:
        return _canonical_element(x, w, b, ranks)
    return _general_element(x, w, b)


def conv2d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
    convention: Any = None,
) -> sp.Array:
    r"""Every output element of ``torch.nn.functional.conv2d``, exactly, as SymPy expressions.

    $$
    Y_{o,i,j} = b_o + \sum_{c,a,e} W_{o,c,a,e}\, X_{c,\, i s_h - p_t + a d_h,\, j s_w - p_l + e d_w}
    $$

    ``input`` is (C_in, H, W) or batched (N, C_in, H, W); ``weight`` is
    (C_out, C_in/groups, kH, kW); ``bias`` is (C_out,) or None. ``stride``, ``dilation`` are an
    int or a (height, width) pair; ``padding`` an int, a pair, 'same'/'valid', or
    ((top, bottom), (left, right)). ``convention`` reads ``padding`` as another framework does
    (``conv2d(x, w, stride=2, padding="SAME", convention="tf")``, :mod:`derive.conventions`).

    >>> from derive import symbol_array
    >>> X = symbol_array("x", (1, 2, 2))
    >>> K = symbol_array("w", (1, 1, 1, 2))
    >>> conv2d(X, K)
    [[[w_{0,0,0,0}*x_{0,0,0} + w_{0,0,0,1}*x_{0,0,1}],
      [w_{0,0,0,0}*x_{0,1,0} + w_{0,0,0,1}*x_{0,1,1}]]]
    >>> conv2d([[[1, 2], [3, 4]]], [[[[1, 1]]]], bias=[10])
    [[[13], [17]]]
    """
    x, xshape = read_tensor(input, "input")
    w, wshape = read_tensor(weight, "weight")
    b, bshape = (None, None) if bias is None else read_tensor(bias, "bias")
    plan = plan_conv2d(xshape, wshape, stride, padding, dilation, groups, bshape, convention)
    layout = _Layout(plan, xshape, wshape[0])
    element, offsets = _element(x, w, b), layout.offsets()
    out = [element(xb, wb, o, offs) for xb, wb, o in layout.bases() for offs in offsets]
    return to_array(out, layout.shape)


def conv2d_terms(
    input: Any,
    weight: Any,
    index: tuple[int, int, int],
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
    convention: Any = None,
) -> list[tuple[tuple[int, int, int], sp.Basic, tuple[int, int, int, int], sp.Basic]]:
    """The products that make output element ``index = (o, i, j)`` of an unbatched :func:`conv2d`.

    Each item is ``(input index, input entry, weight index, weight entry)``; products with
    padding are left out (they are zero). Renderers use this to spell out the arithmetic.

    >>> conv2d_terms([[[1, 2], [3, 4]]], [[[[5, 6]]]], (0, 1, 0))
    [((0, 1, 0), 3, (0, 0, 0, 0), 5), ((0, 1, 1), 4, (0, 0, 0, 1), 6)]
    """
    x, xshape = read_tensor(input, "input")
    w, wshape = read_tensor(weight, "weight")
    if len(xshape) != 3:
        raise ShapeError(f"conv2d_terms takes an unbatched (C, H, W) input, got shape {xshape}")
    plan = plan_conv2d(xshape, wshape, stride, padding, dilation, groups, convention=convention)
    o, i, j = index
    if not (0 <= o < wshape[0] and 0 <= i < plan.out_shape[0] and 0 <= j < plan.out_shape[1]):
        raise ShapeError(
            f"index must lie in the output of shape {(wshape[0], *plan.out_shape)}, "
            f"got index={index}"
        )
    group = o // (wshape[0] // (xshape[0] // plan.in_channels))
    terms = []
    for c, r, q, a, e in plan.window(i, j):
        cin = group * plan.in_channels + c
        xv = x[(cin * plan.height + r) * plan.width + q]
        wv = w[((o * plan.in_channels + c) * wshape[2] + a) * wshape[3] + e]
        terms.append(((cin, r, q), xv, (o, c, a, e), wv))
    return terms


def corr2d(X: Any, K: Any) -> sp.Matrix:
    r"""The plain 2-D cross-correlation of a matrix with a kernel (no padding, stride 1).

    $$
    Y_{i,j} = \sum_{a=0}^{k_h-1}\sum_{e=0}^{k_w-1} X_{i+a,\, j+e}\, K_{a,e},
    \qquad Y \in \mathbb{R}^{(n_h-k_h+1)\times(n_w-k_w+1)}
    $$

    >>> corr2d([[0, 1, 2], [3, 4, 5], [6, 7, 8]], [[0, 1], [2, 3]])
    Matrix([
    [19, 25],
    [37, 43]])
    """
    x, xshape = read_tensor(X, "X")
    k, kshape = read_tensor(K, "K")
    if len(xshape) != 2 or len(kshape) != 2:
        raise ShapeError(f"corr2d takes two matrices, got shapes X={xshape} and K={kshape}")
    y = conv2d(to_array(x, (1, *xshape)), to_array(k, (1, 1, *kshape)))
    _, oh, ow = y.shape
    return sp.Matrix(oh, ow, entries(y))
