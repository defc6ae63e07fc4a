r"""Elements of a 2-D transposed convolution, from its definition as a scatter.

Each input entry $X_{c,i,j}$ is multiplied by the whole kernel $W_{c,o,:,:}$ and added into
the output at rows $i s_h - p_h + a d_h$ and columns $j s_w - p_w + e d_w$; entries that land
in the cropped padding are dropped. Gathered per output element:

$$
Y_{o,r,q} = b_o + \sum_{c}\;\sum_{\substack{i,a:\; i s_h - p_h + a d_h = r \\
    j,e:\; j s_w - p_w + e d_w = q}} X_{c,i,j}\, W_{c,\, o \bmod (C_\text{out}/g),\, a,\, e},
$$

with $c$ over the input channels of output channel $o$'s group. The output size is
:func:`derive.conv_transpose_output_size`. Weights follow ``torch.nn.functional.conv_transpose2d``:
shape ``(C_in, C_out/groups, kH, kW)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp

from derive.channels import channel_guards, read_groups
from derive.errors import ShapeError
from derive.guards import enforce
from derive.ops import CONV_TRANSPOSE
from derive.params import int_pair
from derive.tensors import check_layout, read_tensor, to_array
from derive.windows import AxisWindows, Windows2d

__all__ = [
    "conv_transpose2d",
    "conv_transpose2d_terms",
    "TransposePlan",
    "plan_conv_transpose2d",
]

Term = tuple[tuple[int, int, int], sp.Basic, tuple[int, int, int, int], sp.Basic]


@dataclass(frozen=True)
class TransposePlan:
    r"""Shapes, channels and gather lists of one 2-D transposed convolution.

    ``windows`` are the windows of the convolution whose shape map this layer inverts
    (:mod:`derive.windows`): one window per *input* entry of this layer, laid over its
    *output* padded by ``padding`` on both sides, so :meth:`gather` lists the
    ``(i, a, j, e)`` whose products $X_{c,i,j} W_{c,o,a,e}$ land on output ``(r, q)``.

    >>> plan = plan_conv_transpose2d((1, 2, 2), (1, 1, 2, 2), stride=2)
    >>> plan.out_shape, plan.gather(1, 2)
    ((4, 4), ((0, 1, 1, 0),))
    """

    windows: Windows2d
    c_in: int
    c_out: int
    groups: int

    @property
    def in_shape(self) -> tuple[int, int]:
        """``(H, W)`` of this layer's input (the windows)."""
        return self.windows.out_shape

    @property
    def out_shape(self) -> tuple[int, int]:
        """``(H_out, W_out)`` of this layer's output."""
        return self.windows.in_shape

    def gather(self, r: int, q: int) -> tuple[tuple[int, int, int, int], ...]:
        """``(i, a, j, e)``: input row ``i`` with kernel row ``a``, column ``j`` with ``e``."""
        rows, cols = self.windows.rows.gather(r), self.windows.cols.gather(q)
        return tuple((i, a, j, e) for i, a in rows for j, e in cols)

    def terms(self, x: list, w: list, o: int, r: int, q: int) -> list[Term]:
        """The products of output ``(o, r, q)`` from flat input ``x`` and weight ``w``."""
        (height, width), (kh, kw) = self.in_shape, self.windows.kernel
        per_group_out, per_group_in = self.c_out // self.groups, self.c_in // self.groups
        group, oo = divmod(o, per_group_out)
        out: list[Term] = []
        for c in range(group * per_group_in, (group + 1) * per_group_in):
            for i, a, j, e in self.gather(r, q):
                xv = x[(c * height + i) * width + j]
                wv = w[((c * per_group_out + oo) * kh + a) * kw + e]
                out.append(((c, i, j), xv, (c, oo, a, e), wv))
        return out


def _transposed_axis(n: int, k: int, s: int, p: int, op: int, d: int) -> AxisWindows:
    out = int(CONV_TRANSPOSE.size(n, k, s, p, op, d))  # the size rule, looked up now
    return AxisWindows(size=out, kernel=k, stride=s, dilation=d, before=p, after=p, out=n)


def plan_conv_transpose2d(
    input_shape: tuple[int, ...],
    weight_shape: tuple[int, ...],
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
    bias_shape: tuple[int, ...] | None = None,
    output_size: Any = None,
    convention: Any = None,
) -> TransposePlan:
    """Validate a transposed convolution as torch does and plan its gathers.

    ``output_size`` is ``ConvTranspose2d.forward``'s (torch chooses the output padding) or
    ONNX's and TensorFlow's ``output_shape``; ``convention`` reads the arguments as another
    framework does (:mod:`derive.conventions`).
    """
    check_layout(input_shape, batched=False)
    if len(weight_shape) != 4:
        raise ShapeError(f"weight must be (C_in, C_out/groups, kH, kW), got shape {weight_shape}")
    g = read_groups(groups)
    enforce(channel_guards(input_shape, weight_shape, g, bias_shape, transposed=True))
    if convention is not None or output_size is not None:
        from derive.conventions.transposed import transposed_axes  # builds on this core

        rows, cols = transposed_axes(
            convention, input_shape[1:], weight_shape[2:], stride, padding, output_padding,
            dilation, output_size,
        )  # fmt: skip
        return TransposePlan(Windows2d(rows, cols), input_shape[0], weight_shape[1] * g, g)
    params = [
        int_pair(value, name)
        for value, name in ((stride, "stride"), (padding, "padding"),
                            (output_padding, "output_padding"), (dilation, "dilation"))
    ]  # fmt: skip
    rows, cols = (
        _transposed_axis(n, k, *axis)
        for n, k, axis in zip(input_shape[1:], weight_shape[2:], zip(*params))
    )
    return TransposePlan(Windows2d(rows, cols), input_shape[0], weight_shape[1] * g, g)


def conv_transpose2d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
    output_size: Any = None,
    convention: Any = None,
) -> sp.Array:
    r"""Every output element of ``torch.nn.functional.conv_transpose2d`` (unbatched input).

    $$
    Y_{o,r,q} = b_o + \sum_{c,\,(i,a),\,(j,e)} X_{c,i,j}\, W_{c,o,a,e},
    \quad i s_h - p_h + a d_h = r,\; j s_w - p_w + e d_w = q
    $$

    ``output_size=(H, W)`` asks for a size as ``ConvTranspose2d.forward`` does; ``convention``
    reads the arguments as another framework does (``padding="same", output_padding=None,
    convention="keras"``: Keras's ``Conv2DTranspose``), cropping $p_\text{top}$ rows first.

    >>> conv_transpose2d([[[0, 1], [2, 3]]], [[[[0, 1], [2, 3]]]])
    [[[0, 0, 1], [0, 4, 6], [4, 12, 9]]]
    >>> conv_transpose2d([[[1, 2]]], [[[[1, 1]]]], stride=2)
    [[[1, 1, 2, 2]]]
    """
    x, xshape = read_tensor(input, "input")
    w, wshape = read_tensor(weight, "weight")
    b, bshape = (None, None) if bias is None else read_tensor(bias, "bias")
    plan = plan_conv_transpose2d(
        xshape, wshape, stride, padding, output_padding, groups, dilation, bshape, output_size,
        convention,
    )  # fmt: skip
    (height, width), out = plan.out_shape, []
    for o in range(plan.c_out):
        for r in range(height):
            for q in range(width):
                parts = [xv * wv for _, xv, _, wv in plan.terms(x, w, o, r, q)]
                if b is not None:
                    parts.append(b[o])
                out.append(sp.Add(*parts))
    return to_array(out, (plan.c_out, height, width))


def conv_transpose2d_terms(
    input: Any,
    weight: Any,
    index: tuple[int, int, int],
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
    output_size: Any = None,
    convention: Any = None,
) -> list[Term]:
    """The products that make output element ``index = (o, r, q)`` of :func:`conv_transpose2d`.

    Each item is ``(input index, input entry, weight index, weight entry)``, in the order of
    the input rows and columns, like :func:`derive.conv2d_terms`.

    >>> for term in conv_transpose2d_terms([[[0, 1], [2, 3]]], [[[[0, 1], [2, 3]]]], (0, 1, 1)):
    ...     print(term)
    ((0, 0, 0), 0, (0, 0, 1, 1), 3)
    ((0, 0, 1), 1, (0, 0, 1, 0), 2)
    ((0, 1, 0), 2, (0, 0, 0, 1), 1)
    ((0, 1, 1), 3, (0, 0, 0, 0), 0)
    """
    x, xshape = read_tensor(input, "input")
    w, wshape = read_tensor(weight, "weight")
    plan = plan_conv_transpose2d(
        xshape, wshape, stride, padding, output_padding, groups, dilation, None, output_size,
        convention,
    )  # fmt: skip
    o, r, q = index
    shape = (plan.c_out, *plan.out_shape)
    if not all(0 <= v < n for v, n in zip(index, shape)):
        raise ShapeError(f"index must lie in the output of shape {shape}, got index={index}")
    return plan.terms(x, w, o, r, q)
