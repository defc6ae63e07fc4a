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

from functools import cmp_to_key
from typing import Any

import sympy as sp
from sympy.core.add import Add
from sympy.core.mul import Mul

from derive.errors import ShapeError
from derive.params import as_dim, padding_2d, pair
from derive.shapes import conv_output_size, resolve_conv_padding
from derive.tensors import read_tensor, to_array

__all__ = ["corr2d", "conv2d", "conv2d_terms", "ConvPlan", "plan_conv2d"]


class ConvPlan:
    """Which input and weight entries meet in each output element of a 2-D convolution.

    Built once from shapes and parameters (no entries involved): ``windows[(i, j)]`` lists
    ``(c, r, q, a, e)`` for every product $W_{o,c,a,e} X_{c+g C_g, r, q}$ that falls inside
    the input, ``c`` being the channel within the group.
    """

    def __init__(
        self,
        in_channels: int,
        height: int,
        width: int,
        kernel: tuple[int, int],
        stride: tuple[int, int],
        padding: tuple[tuple[int, int], tuple[int, int]],
        dilation: tuple[int, int],
        out_shape: tuple[int, int],
    ) -> None:
        self.in_channels = in_channels
        self.height, self.width = height, width
        self.kernel, self.stride, self.padding, self.dilation = kernel, stride, padding, dilation
        self.out_shape = out_shape
        (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
        top, left = padding[0][0], padding[1][0]
        rows = [
            [(a, i * sh - top + a * dh) for a in range(kh) if 0 <= i * sh - top + a * dh < height]
            for i in range(out_shape[0])
        ]
        cols = [
            [(e, j * sw - left + e * dw) for e in range(kw) if 0 <= j * sw - left + e * dw < width]
            for j in range(out_shape[1])
        ]
        self.rows, self.cols = rows, cols

    def window(self, i: int, j: int) -> list[tuple[int, int, int, int, int]]:
        """The ``(c, r, q, a, e)`` products of output position ``(i, j)``."""
        return [
            (c, r, q, a, e)
            for c in range(self.in_channels)
            for a, r in self.rows[i]
            for e, q in self.cols[j]
        ]


def _ints(value: Any, name: str) -> tuple[int, int]:
    h, w = pair(value, name)
    if not (h.is_Integer and w.is_Integer):
        raise ShapeError(f"{name} must be integers for element computations, got {name}={(h, w)}")
    return int(h), int(w)


def plan_conv2d(
    input_shape: tuple[int, ...],
    weight_shape: tuple[int, ...],
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
    bias_shape: tuple[int, ...] | None = None,
) -> ConvPlan:
    """Validate shapes and parameters as torch's ``conv2d`` does and build the :class:`ConvPlan`."""
    if len(input_shape) not in (3, 4):
        raise ShapeError(
            f"input must be (C, H, W) or (N, C, H, W), got a tensor of shape {input_shape}"
        )
    if len(weight_shape) != 4:
        raise ShapeError(f"weight must be (C_out, C_in/groups, kH, kW), got shape {weight_shape}")
    g = as_dim(groups, "groups")
    if not g.is_Integer or g < 1:
        raise ShapeError(f"groups must be a positive integer, got groups={groups}")
    g = int(g)
    channels, height, width = input_shape[-3:]
    c_out, c_per_group, kh, kw = weight_shape
    if channels % g:
        raise ShapeError(
            f"in_channels must be divisible by groups, got in_channels={channels} (input of "
            f"shape {tuple(input_shape)}) and groups={g}"
        )
    if c_out % g:
        raise ShapeError(
            f"out_channels must be divisible by groups, got out_channels={c_out} (weight of "
            f"shape {tuple(weight_shape)}) and groups={g}"
        )
    if channels != c_per_group * g:
        raise ShapeError(
            f"input has {channels} channels but weight of shape {weight_shape} with groups={g} "
            f"expects {c_per_group * g}"
        )
    if bias_shape is not None and bias_shape != (c_out,):
        raise ShapeError(f"bias must have shape ({c_out},), got shape {bias_shape}")
    sh, sw = _ints(stride, "stride")
    dh, dw = _ints(dilation, "dilation")
    pads = padding_2d(padding)
    if isinstance(pads, str):
        if pads == "same" and (sh, sw) != (1, 1):
            raise ShapeError(
                f"padding='same' is not supported for strided convolutions, got stride={(sh, sw)}"
            )
        pads = (
            resolve_conv_padding(pads, kh, sh, dh),
            resolve_conv_padding(pads, kw, sw, dw),
        )
    pads_i = tuple((int(lo), int(hi)) for lo, hi in pads)
    oh = conv_output_size(height, kh, sh, pads_i[0], dh)
    ow = conv_output_size(width, kw, sw, pads_i[1], dw)
    return ConvPlan(
        c_per_group, height, width, (kh, kw), (sh, sw), pads_i, (dh, dw), (int(oh), int(ow))
    )


def _all_ints(flat: list[sp.Basic]) -> bool:
    return all(v.is_Integer for v in flat)


def _symbol_ranks(*flats: list[sp.Basic]) -> dict[sp.Symbol, int] | None:
    """Canonical ranks of symbols when every entry is a plain commutative Symbol and the sets
    are disjoint.

    The ranks reproduce SymPy's own term order (``Basic.compare``), so sums and products
    built from them equal those ``Add``/``Mul`` would build, without re-sorting each time.
    Non-commutative symbols keep their order in a product, so they take the general path.
    """
    seen: list[set[sp.Basic]] = []
    for flat in flats:
        if not all(type(v) is sp.Symbol and v.is_commutative for v in flat):
            return None
        s = set(flat)
        if any(s & other for other in seen):
            return None
        seen.append(s)
    if len(flats[0]) != len(seen[0]):  # repeated input symbols: let Add combine them
        return None
    ordered = sorted(set().union(*seen), key=cmp_to_key(sp.Basic.compare))
    return {sym: rank for rank, sym in enumerate(ordered)}


_PROBE_A, _PROBE_B = sp.symbols("a b")
#: SymPy orders a lone Symbol before a product of symbols (class order); read, not assumed.
_SYMBOL_BEFORE_MUL = sp.Basic.compare(_PROBE_A, _PROBE_A * _PROBE_B) < 0


def conv2d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> sp.Array:
    r"""Every output element of ``torch.nn.functional.conv2d``, exactly, as SymPy expressions.

    $$
    Y_{o,i,j} = b_o + \sum_{c,a,e} W_{o,c,a,e}\, X_{c,\, i s_h - p_t + a d_h,\, j s_w - p_l + e d_w}
    $$

    ``input`` is (C_in, H, W) or batched (N, C_in, H, W); ``weight`` is
    (C_out, C_in/groups, kH, kW); ``bias`` is (C_out,) or None. ``stride``, ``dilation`` are an
    int or a (height, width) pair; ``padding`` an int, a pair, 'same'/'valid', or
    ((top, bottom), (left, right)).

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
    b = None
    bshape = None
    if bias is not None:
        b, bshape = read_tensor(bias, "bias")
    plan = plan_conv2d(xshape, wshape, stride, padding, dilation, groups, bshape)
    batched = len(xshape) == 4
    n_batch = xshape[0] if batched else 1
    channels = xshape[-3]
    c_out = wshape[0]
    cg = plan.in_channels
    per_group = c_out // (channels // cg)
    hw = plan.height * plan.width
    kk = wshape[2] * wshape[3]
    kw = wshape[3]
    oh, ow = plan.out_shape
    # (x offset within a channel group, w offset within an output channel) per position
    offsets = [
        [(c * hw + r * plan.width + q, c * kk + a * kw + e) for c, r, q, a, e in plan.window(i, j)]
        for i in range(oh)
        for j in range(ow)
    ]

    if _all_ints(x) and _all_ints(w) and (b is None or _all_ints(b)):
        xi, wi = [int(v) for v in x], [int(v) for v in w]
        bi = [int(v) for v in b] if b is not None else None

        def element(xb: int, wb: int, o: int, offs: list[tuple[int, int]]) -> sp.Basic:
            total = sum(xi[xb + u] * wi[wb + v] for u, v in offs)
            return sp.Integer(total + (bi[o] if bi is not None else 0))

    else:
        ranks = _symbol_ranks(x, w)
        if ranks is not None and b is not None:
            bias_syms = set(b)
            plain = all(type(v) is sp.Symbol and v.is_commutative for v in b)
            if not plain or bias_syms & (set(x) | set(w)):
                ranks = None
        if ranks is not None:
            from_mul, from_add = Mul._from_args, Add._from_args

            def element(xb: int, wb: int, o: int, offs: list[tuple[int, int]]) -> sp.Basic:
                keyed = []
                for u, v in offs:
                    s1, s2 = x[xb + u], w[wb + v]
                    r1, r2 = ranks[s1], ranks[s2]
                    if r1 < r2:
                        keyed.append(((r1, r2), from_mul((s1, s2), True)))
                    else:
                        keyed.append(((r2, r1), from_mul((s2, s1), True)))
                keyed.sort(key=lambda t: t[0])
                terms = [t for _, t in keyed]
                if b is not None:
                    if _SYMBOL_BEFORE_MUL:
                        terms.insert(0, b[o])
                    else:
                        terms.append(b[o])
                if not terms:
                    return sp.S.Zero
                if len(terms) == 1:
                    return terms[0]
                return from_add(terms, True)

        else:

            def element(xb: int, wb: int, o: int, offs: list[tuple[int, int]]) -> sp.Basic:
                terms = [x[xb + u] * w[wb + v] for u, v in offs]
                if b is not None:
                    terms.append(b[o])
                return Add(*terms)

    out: list[sp.Basic] = []
    for n in range(n_batch):
        for o in range(c_out):
            group = o // per_group
            xb = (n * channels + group * cg) * hw
            wb = o * cg * kk
            out.extend(element(xb, wb, o, offs) for offs in offsets)
    shape = (c_out, oh, ow)
    return to_array(out, (n_batch, *shape) if batched else shape)


def conv2d_terms(
    input: Any,
    weight: Any,
    index: tuple[int, int, int],
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
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
    plan = plan_conv2d(xshape, wshape, stride, padding, dilation, groups)
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
    return sp.Matrix(oh, ow, list(y._array))
