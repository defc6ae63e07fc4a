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

from typing import Any

import sympy as sp

from derive.errors import ShapeError
from derive.params import as_dim, pair
from derive.shapes import conv_transpose_output_size
from derive.tensors import read_tensor, to_array

__all__ = ["conv_transpose2d", "conv_transpose2d_terms", "check_conv_transpose2d"]

Term = tuple[tuple[int, int, int], sp.Basic, tuple[int, int, int, int], sp.Basic]


def _ints(value: Any, name: str) -> tuple[int, int]:
    h, w = pair(value, name)
    if not (h.is_Integer and w.is_Integer):
        raise ShapeError(f"{name} must be integers for element computations, got {name}={(h, w)}")
    return int(h), int(w)


class _Plan:
    """Shapes, parameters and the gather lists of one transposed convolution."""

    def __init__(
        self,
        xshape: tuple[int, ...],
        wshape: tuple[int, ...],
        stride: Any,
        padding: Any,
        output_padding: Any,
        groups: int,
        dilation: Any,
        bias_shape: tuple[int, ...] | None,
    ) -> None:
        if len(xshape) != 3:
            raise ShapeError(f"input must be (C, H, W), got a tensor of shape {xshape}")
        if len(wshape) != 4:
            raise ShapeError(f"weight must be (C_in, C_out/groups, kH, kW), got shape {wshape}")
        g = as_dim(groups, "groups")
        if not g.is_Integer or g < 1:
            raise ShapeError(f"groups must be a positive integer, got groups={groups}")
        g = int(g)
        c_in, height, width = xshape
        if wshape[0] != c_in:
            raise ShapeError(
                f"input has {c_in} channels but weight of shape {wshape} expects {wshape[0]}"
            )
        if c_in % g:
            raise ShapeError(
                f"in_channels must be divisible by groups, got C_in={c_in}, groups={g}"
            )
        self.c_in, self.groups = c_in, g
        self.c_out = wshape[1] * g
        if bias_shape is not None and bias_shape != (self.c_out,):
            raise ShapeError(f"bias must have shape ({self.c_out},), got shape {bias_shape}")
        self.kh, self.kw = wshape[2], wshape[3]
        self.sh, self.sw = _ints(stride, "stride")
        self.ph, self.pw = _ints(padding, "padding")
        oph, opw = _ints(output_padding, "output_padding")
        self.dh, self.dw = _ints(dilation, "dilation")
        self.height, self.width = height, width
        self.out_h = int(
            conv_transpose_output_size(height, self.kh, self.sh, self.ph, oph, self.dh)
        )
        self.out_w = int(conv_transpose_output_size(width, self.kw, self.sw, self.pw, opw, self.dw))

        def gather(n_out: int, n_in: int, k: int, s: int, p: int, d: int) -> list[list]:
            lists: list[list[tuple[int, int]]] = [[] for _ in range(n_out)]
            for i in range(n_in):
                for a in range(k):
                    r = i * s - p + a * d
                    if 0 <= r < n_out:
                        lists[r].append((i, a))
            return lists

        self.rows = gather(self.out_h, height, self.kh, self.sh, self.ph, self.dh)
        self.cols = gather(self.out_w, width, self.kw, self.sw, self.pw, self.dw)

    def terms(self, x: list, w: list, o: int, r: int, q: int) -> list[Term]:
        per_group_out = self.c_out // self.groups
        per_group_in = self.c_in // self.groups
        group, oo = divmod(o, per_group_out)
        out: list[Term] = []
        for c in range(group * per_group_in, (group + 1) * per_group_in):
            for i, a in self.rows[r]:
                for j, e in self.cols[q]:
                    xv = x[(c * self.height + i) * self.width + j]
                    wv = w[((c * per_group_out + oo) * self.kh + a) * self.kw + e]
                    out.append(((c, i, j), xv, (c, oo, a, e), wv))
        return out


def conv_transpose2d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> sp.Array:
    r"""Every output element of ``torch.nn.functional.conv_transpose2d`` (unbatched input).

    $$
    Y_{o,r,q} = b_o + \sum_{c,\,(i,a),\,(j,e)} X_{c,i,j}\, W_{c,o,a,e},
    \quad i s_h - p_h + a d_h = r,\; j s_w - p_w + e d_w = q
    $$

    >>> conv_transpose2d([[[0, 1], [2, 3]]], [[[[0, 1], [2, 3]]]])
    [[[0, 0, 1], [0, 4, 6], [4, 12, 9]]]
    >>> conv_transpose2d([[[1, 2]]], [[[[1, 1]]]], stride=2)
    [[[1, 1, 2, 2]]]
    """
    x, xshape = read_tensor(input, "input")
    w, wshape = read_tensor(weight, "weight")
    b, bshape = (None, None) if bias is None else read_tensor(bias, "bias")
    plan = _Plan(xshape, wshape, stride, padding, output_padding, groups, dilation, bshape)
    out = []
    for o in range(plan.c_out):
        for r in range(plan.out_h):
            for q in range(plan.out_w):
                parts = [xv * wv for _, xv, _, wv in plan.terms(x, w, o, r, q)]
                if b is not None:
                    parts.append(b[o])
                out.append(sp.Add(*parts))
    return to_array(out, (plan.c_out, plan.out_h, plan.out_w))


def conv_transpose2d_terms(
    input: Any,
    weight: Any,
    index: tuple[int, int, int],
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
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
    plan = _Plan(xshape, wshape, stride, padding, output_padding, groups, dilation, None)
    o, r, q = index
    if not (0 <= o < plan.c_out and 0 <= r < plan.out_h and 0 <= q < plan.out_w):
        raise ShapeError(
            f"index must lie in the output of shape {(plan.c_out, plan.out_h, plan.out_w)}, "
            f"got index={index}"
        )
    return plan.terms(x, w, o, r, q)


def check_conv_transpose2d(
    derived: Any,
    input: Any,
    weight: Any,
    bias: Any = None,
    atol: float = 1e-9,
    **params: Any,
):
    """Compare a numeric :func:`conv_transpose2d` result with torch's (float64); imports torch.

    Returns a :class:`derive.torch_check.ElementCheck`.
    """
    import torch  # lazy: only checks pay for torch

    from derive.torch_check import ElementCheck

    def tensor(value: Any, name: str):
        flat, shape = read_tensor(value, name)
        return torch.tensor([float(v) for v in flat], dtype=torch.float64).reshape(shape)

    shown = {k: (tuple(v) if isinstance(v, list) else v) for k, v in params.items()}
    call = "torch.nn.functional.conv_transpose2d(input, weight{}{})".format(
        ", bias" if bias is not None else "",
        "".join(f", {k}={v!r}" for k, v in shown.items()),
    )
    reference = torch.nn.functional.conv_transpose2d(
        tensor(input, "input"),
        tensor(weight, "weight"),
        None if bias is None else tensor(bias, "bias"),
        **shown,
    )
    flat, shape = read_tensor(derived, "derived")
    tshape = tuple(reference.shape)
    if tshape != shape:
        return ElementCheck(False, float("inf"), shape, tshape, call)
    worst = 0.0
    for ours, theirs in zip(flat, reference.reshape(-1).tolist()):
        if not ours.is_number:
            raise ShapeError(
                "check_conv_transpose2d needs numeric results; substitute symbols first"
            )
        worst = max(worst, abs(float(ours) - theirs))
    return ElementCheck(worst <= atol, worst, shape, tshape, call)
