r"""Channel and group rules of convolution and transposed convolution, as guards.

A grouped convolution splits its $C_\text{in}$ input channels into $g$ groups. torch rejects
the layer unless $g \ge 1$, $g \mid C_\text{in}$, $g \mid C_\text{out}$ and the weight's second
axis holds $C_\text{in}/g$ channels; a transposed convolution's weight is
$(C_\text{in}, C_\text{out}/g, k_h, k_w)$, so its first axis must be $C_\text{in}$. A bias has
shape $(C_\text{out},)$.

Each rule is a :class:`derive.guards.Guard` (a SymPy condition and its message), so the same
rules serve the element computations (:func:`derive.conv.plan_conv2d`,
:func:`derive.transpose.plan_conv_transpose2d`), ``derive verify`` and the explorer, which can
compile them to JavaScript. Shapes may hold symbols; the guards then stay undecided.

>>> [g.argument for g in channel_guards((4, 5, 5), (6, 2, 3, 3), 2)]
['groups', 'in_channels', 'out_channels', 'weight']
>>> enforce(channel_guards((3, 5, 5), (2, 1, 1, 1), 2))
Traceback (most recent call last):
    ...
derive.errors.ShapeError: in_channels must be divisible by groups, got in_channels=3 (input of shape (3, 5, 5)) and groups=2
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from derive.errors import ShapeError
from derive.guards import Guard, enforce, first_rejection
from derive.params import Dim, as_dim

__all__ = ["channel_guards", "module_out_channels_guard", "read_groups"]

_GROUPS = "groups must be a positive integer, got groups={g}"


def read_groups(groups: object) -> int:
    """``groups`` of an element computation: a positive Python int.

    >>> read_groups(2)
    2
    >>> read_groups(0)
    Traceback (most recent call last):
        ...
    derive.errors.ShapeError: groups must be a positive integer, got groups=0
    """
    g = as_dim(groups, "groups")
    if not g.is_Integer:
        raise ShapeError(_GROUPS.format(g=groups))
    enforce([_groups_guard(g)])
    return int(g)


def _groups_guard(g: sp.Expr) -> Guard:
    return Guard("groups", sp.Lt(g, 1), _GROUPS, (("g", g),))


def _divides(argument: str, count: sp.Expr, g: sp.Expr, what: str, shape: tuple) -> Guard:
    return Guard(
        argument,
        sp.Ne(sp.Mod(count, g), 0),
        f"{argument} must be divisible by groups, got {argument}={{c}} ({what} of shape "
        "{shape}) and groups={g}",
        (("c", count), ("shape", shape), ("g", g)),
    )


def module_out_channels_guard(c_out: Dim, groups: Dim) -> Guard:
    r"""The check torch's ``nn.Conv*d`` and ``nn.ConvTranspose*d`` make when built:
    $C_\text{out} \bmod g = 0$.

    The functional forms need no such check: their weight has $C_\text{out}$ (or, transposed,
    $C_\text{out}/g$) rows by construction. A layer given by its channel counts, as the
    explorer's is, meets the module's check.

    >>> g = module_out_channels_guard(6, 4)
    >>> g.argument, bool(g.rejects)
    ('out_channels', True)
    >>> g.message()
    'out_channels must be divisible by groups, got out_channels=6 and groups=4'
    """
    c, g = as_dim(c_out, "out_channels"), as_dim(groups, "groups")
    return Guard("out_channels", sp.Ne(sp.Mod(c, g), 0),
                 "out_channels must be divisible by groups, got out_channels={c} and groups={g}",
                 (("c", c), ("g", g)))  # fmt: skip


def _bias(bias_shape: tuple | None, c_out: sp.Expr) -> tuple[Guard, ...]:
    if bias_shape is None:
        return ()
    wrong = sp.true if len(bias_shape) != 1 else sp.Ne(bias_shape[0], c_out)
    message = "bias must have shape ({c_out},), got shape {shape}"
    return (Guard("bias", wrong, message, (("c_out", c_out), ("shape", bias_shape))),)


def channel_guards(
    input_shape: Sequence[Dim],
    weight_shape: Sequence[Dim],
    groups: Dim,
    bias_shape: Sequence[Dim] | None = None,
    transposed: bool = False,
) -> tuple[Guard, ...]:
    r"""The channel guards of a (transposed) convolution, in the order derive checks them.

    ``input_shape`` ends in ``(C_in, H, W)``; ``weight_shape`` is
    ``(C_out, C_in/groups, kH, kW)``, or ``(C_in, C_out/groups, kH, kW)`` when
    ``transposed``. Stops after the groups guard when that one already holds (no
    divisibility by zero groups).

    >>> [g.argument for g in channel_guards((4, 5, 5), (4, 3, 2, 2), 2, (6,), transposed=True)]
    ['groups', 'weight', 'in_channels', 'bias']
    """
    g = as_dim(groups, "groups")
    shape, wshape = tuple(input_shape), tuple(weight_shape)
    c_in = as_dim(shape[-3], "in_channels")
    bshape = None if bias_shape is None else tuple(bias_shape)
    guards: tuple[Guard, ...] = (_groups_guard(g),)
    if first_rejection(guards):
        return guards
    inputs = _divides("in_channels", c_in, g, "input", shape)
    if transposed:
        weight = Guard(
            "weight",
            sp.Ne(wshape[0], c_in),
            "input has {c} channels but weight of shape {wshape} expects {expected}",
            (("c", c_in), ("wshape", wshape), ("expected", wshape[0])),
        )
        return guards + (weight, inputs) + _bias(bshape, wshape[1] * g)
    per_group = wshape[1] * g
    weight = Guard(
        "weight",
        sp.Ne(c_in, per_group),
        "input has {c} channels but weight of shape {wshape} with groups={g} expects {expected}",
        (("c", c_in), ("wshape", wshape), ("g", g), ("expected", per_group)),
    )
    outputs = _divides("out_channels", as_dim(wshape[0], "out_channels"), g, "weight", wshape)
    return guards + (inputs, outputs, weight) + _bias(bshape, wshape[0])
