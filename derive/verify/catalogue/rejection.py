r"""Rejections at their boundaries: each family torch rejects, and its twin one step back that
torch accepts, both for whole symbolic families, with the argument the error names.

The families are written so that every guard of the rule is decided: a kernel's half
$\lfloor k/2 \rfloor$ through the parity of $k$ ($k = 2j + 1$ or $2j + 2$), a size written as
a difference with its positivity stated (``n >= 1``).
"""

from __future__ import annotations

import sympy as sp

from derive.ops import CONV, CONV_TRANSPOSE, MAX_POOL
from derive.verify.boundary import Boundary, Family
from derive.verify.catalogue.symbols import d, j, k, n, p, pb, pt, s, t, v
from derive.verify.claim import claim

__all__ = ["CLAIMS"]

_ONE = sp.Integer(1)
_SPAN = d * (k - 1)  # the dilated kernel's span, less one


def _conv(size, stride=s, padding=(pt, pb)) -> dict:
    args = {"size": size, "kernel_size": k, "stride": stride, "padding": padding, "dilation": d}
    return args


def _family(args: dict, assumed=(), size=None) -> Family:
    return Family(lambda: args, tuple(assumed), size)


def _pool(size, kernel, padding, ceil_mode: bool, stride=s) -> dict:
    return {"size": size, "kernel_size": kernel, "stride": stride, "padding": padding,
            "dilation": d, "ceil_mode": ceil_mode}  # fmt: skip


def _transpose(stride, padding, output_padding, dilation) -> dict:
    return {"size": n, "kernel_size": k, "stride": stride, "padding": padding,
            "output_padding": output_padding, "dilation": dilation}  # fmt: skip


_ODD_EVEN = ((2 * j + 1, j), (2 * j + 2, j + 1))  # (k, floor(k/2))
_CEIL = (False, True)

#: a configuration of each operation every guard accepts (kernel 1, no padding), to move one
#: argument out of its range from
_SIGN_OPS = (CONV, MAX_POOL, CONV_TRANSPOSE)


_ACCEPTED = {"kernel_size": 1, "stride": s, "padding": 0, "dilation": d, "ceil_mode": False,
             "output_padding": 0}  # fmt: skip


def _base(op) -> dict:
    """The operation's arguments (by its registry entry) at a configuration it accepts."""
    return {"size": n, **{param.name: _ACCEPTED[param.name] for param in op.shape_params}}


def _sign_claim(argument: str, low: int, ops=_SIGN_OPS):
    """``argument = low - 1 - t`` rejected naming it, ``low`` accepted, for every op."""
    what = "positive" if low == 1 else "non-negative"
    tex = argument.replace("_", "\\_")
    names = ", ".join(op.torch_function(1) for op in ops)
    return claim(
        f"rejection.{argument.replace('_', '-')}-{what}",
        f"{argument} must be {what}: {argument} = {low - 1} - t is rejected (naming "
        f"{argument}) and {argument} = {low} accepted, by {names}, whatever the other "
        "arguments (here kernel 1, no padding).",
        rf"\text{{{tex}}} \le {low - 1} \implies \text{{ShapeError}};"
        rf"\quad \text{{{tex}}} = {low} \text{{ accepted}}",
        "n, s, d positive, t non-negative integers",
        Boundary(
            ops[0],
            argument,
            rejected=tuple(Family(lambda op=op: {**_base(op), argument: low - 1 - t}, op=op)
                           for op in ops),
            accepted=tuple(Family(lambda op=op: {**_base(op), argument: low}, op=op)
                           for op in ops),
        ),  # fmt: skip
    )

CLAIMS = (
    _sign_claim("size", 1),
    _sign_claim("kernel_size", 1),
    _sign_claim("stride", 1),
    _sign_claim("dilation", 1),
    _sign_claim("padding", 0),
    _sign_claim("output_padding", 0, (CONV_TRANSPOSE,)),
    claim(
        "rejection.conv-span",
        "A convolution whose dilated kernel spans more than the padded input is rejected "
        "(naming kernel_size): every size n = d(k-1) - p_l - p_r - t; at n = d(k-1) + 1 - p_l - "
        "p_r, span = padded size, it is accepted with one output. For all k, s, d and paddings.",
        r"n + p_l + p_r = d(k-1) + 1 - (1 + t) \implies \text{ShapeError};"
        r"\quad n + p_l + p_r = d(k-1) + 1 \implies n_\text{out} = 1",
        "k, s, d positive, p_l, p_r, t non-negative integers, n >= 1",
        Boundary(
            CONV,
            "kernel_size",
            rejected=(_family(_conv(_SPAN - pt - pb - t), [sp.Ge(_SPAN - pt - pb - t, 1)]),),
            accepted=(
                _family(_conv(_SPAN + 1 - pt - pb), [sp.Ge(_SPAN + 1 - pt - pb, 1)], lambda: _ONE),
            ),  # fmt: skip
        ),
    ),
    claim(
        "rejection.same-strided",
        "padding='same' with a stride of 2 or more is rejected (naming stride), with stride 1 "
        "accepted keeping the size, for every size, kernel and dilation; with a symbolic "
        "stride, which may or may not be 1, the engine refuses to decide.",
        r"s \ge 2 \implies \text{ShapeError};\quad s = 1 \implies n_\text{out} = n;"
        r"\quad s \text{ symbolic} \implies \text{cannot decide}",
        "n, k, d, s positive, t non-negative integers",
        Boundary(
            CONV,
            "stride",
            rejected=(_family(_conv(n, 2 + t, "same")),),
            accepted=(_family(_conv(n, 1, "same"), size=lambda: n),),
            undecided=(_family(_conv(n, s, "same")),),
        ),
    ),
    claim(
        "rejection.pool-padding",
        "Pooling with floor(k/2) + 1 + t zeros on a side is rejected (naming padding), with "
        "floor(k/2) accepted (any size n > d(k-1) + 1), for odd k = 2j + 1 and even "
        "k = 2j + 2, floor and ceil mode.",
        r"p = \lfloor k/2 \rfloor + 1 + t \implies \text{ShapeError};"
        r"\quad p = \lfloor k/2 \rfloor \text{ accepted}",
        "n, s, d positive, j, t non-negative integers, k = 2j + 1 or 2j + 2",
        Boundary(
            MAX_POOL,
            "padding",
            rejected=tuple(
                _family(_pool(n, kk, half + 1 + t, cm)) for kk, half in _ODD_EVEN for cm in _CEIL
            ),
            accepted=tuple(
                _family(_pool(d * (kk - 1) + 2 + t, kk, half, cm))
                for kk, half in _ODD_EVEN
                for cm in _CEIL
            ),
        ),  # fmt: skip
    ),
    claim(
        "rejection.pool-empty",
        "Pooling (floor mode) whose window spans more than the input is rejected (naming "
        "kernel_size): every size n = d(k-1) - t; at n = d(k-1) + 1 it is accepted with one "
        "output, in floor and ceil mode.",
        r"n = d(k-1) - t \implies \text{ShapeError};\quad n = d(k-1) + 1 \implies"
        r" n_\text{out} = 1",
        "k, s, d positive, t non-negative integers, n >= 1, no padding",
        Boundary(
            MAX_POOL,
            "kernel_size",
            rejected=(_family(_pool(_SPAN - t, k, 0, False), [sp.Ge(_SPAN - t, 1)]),),
            accepted=tuple(_family(_pool(_SPAN + 1, k, 0, cm), size=lambda: _ONE) for cm in _CEIL),
        ),  # fmt: skip
    ),
    claim(
        "rejection.transpose-output-padding",
        "A transposed convolution with output_padding max(s, d) + t is rejected (naming "
        "output_padding), with max(s, d) - 1 accepted; both orders of stride and dilation.",
        r"p_\text{out} \ge \max(s, d) \implies \text{ShapeError};"
        r"\quad p_\text{out} = \max(s, d) - 1 \text{ accepted}",
        "n, k, s, d positive, p, t, v non-negative integers",
        Boundary(
            CONV_TRANSPOSE,
            "output_padding",
            rejected=(
                _family(_transpose(d + v, p, d + v + t, d)),
                _family(_transpose(s, p, s + v + t, s + v)),
            ),
            accepted=(
                _family(_transpose(d + v, 0, d + v - 1, d)),
                _family(_transpose(s, 0, s + v - 1, s + v)),
            ),
        ),  # fmt: skip
    ),
    claim(
        "rejection.transpose-empty",
        "A transposed convolution whose output would have fewer than one entry is rejected "
        "(naming size): padding p_l = (n-1)s + d(k-1) + 1 + t before; with p_l = (n-1)s + d(k-1) "
        "the output has exactly one entry.",
        r"(n-1)s - p_l - p_r + d(k-1) + p_\text{out} + 1 < 1 \implies \text{ShapeError}",
        "n, k, s, d positive, t non-negative integers, no output padding",
        Boundary(
            CONV_TRANSPOSE,
            "size",
            rejected=(_family(_transpose(s, ((n - 1) * s + _SPAN + 1 + t, 0), 0, d)),),
            accepted=(_family(_transpose(s, ((n - 1) * s + _SPAN, 0), 0, d), size=lambda: _ONE),),
        ),
    ),
)
