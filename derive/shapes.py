r"""Output sizes of convolution, pooling and transposed convolution, along one axis.

Every function takes Python ints or SymPy expressions and returns a SymPy expression,
an ``Integer`` when every argument is a number. Argument names and defaults follow
``torch.nn.functional``; where torch rejects a configuration, :class:`derive.ShapeError`
is raised.

With input size $n$, kernel size $k$, stride $s$, dilation $d$ and padding $p_l$ before
and $p_r$ after, the dilated kernel spans $d(k-1)+1$ entries and

$$
n_\text{out} = \left\lfloor \frac{n + p_l + p_r - d(k-1) - 1}{s} \right\rfloor + 1 .
$$

Each operation has one *rule* (:func:`conv_rule`, :func:`pool_rule`,
:func:`conv_transpose_rule`): its acceptance guards (:mod:`derive.guards`, every condition
under which torch raises, in torch's order) and its size formula. The size functions enforce
the guards and return the formula; ``derive verify`` compiles the same guards and formula.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from derive.errors import ShapeError
from derive.guards import Guard, enforce, first_rejection
from derive.params import Dim, Padding1d, as_dim, padding_pair, pool_stride

__all__ = [
    "Rule",
    "conv_rule",
    "pool_rule",
    "conv_transpose_rule",
    "conv_output_size",
    "pool_output_size",
    "pool_size_formula",
    "conv_transpose_output_size",
    "resolve_conv_padding",
    "same_padding",
    "same_stride_guard",
    "floor_div",
]


@dataclass(frozen=True)
class Rule:
    """One layer axis: the guards torch checks, in order, and the size where none holds.

    ``size`` is ``None`` where no formula exists: a guard already decidedly holds (a zero
    stride, say), so the rule stops there.
    """

    guards: tuple[Guard, ...]
    size: sp.Expr | None

    def output_size(self) -> sp.Expr:
        """Enforce the guards, then return the size."""
        enforce(self.guards)
        if self.size is None:  # pragma: no cover - a guard holds wherever there is no formula
            raise ShapeError("no output size: the configuration breaks one of torch's checks")
        return self.size


def _convention(name: object):
    """The registry entry of a convention (imported here: the conventions build on this module)."""
    from derive.conventions import convention_named

    return convention_named(name)  # type: ignore[arg-type]


def floor_div(numerator: sp.Expr, divisor: sp.Expr) -> sp.Expr:
    r"""$\lfloor a / b \rfloor$ for integer-valued expressions (no floor when $b = 1$).

    >>> n = sp.Symbol("n", integer=True)
    >>> floor_div(n - 1, 1), floor_div(n - 1, 2)
    (n - 1, floor(n/2 - 1/2))
    """
    if divisor == 1:
        return numerator
    return sp.floor(numerator / divisor)


# Guards are written with Python's comparison operators: on two SymPy Integers they decide at
# once, where ``sp.Lt`` takes a general (about 50 times slower) path; on expressions both build
# the same relation.
def _positive(value: sp.Expr, name: str) -> Guard:
    message = f"{name} must be positive, got {name}={{v}}"
    return Guard(name, value < 1, message, (("v", value),))


def _nonnegative(lo: sp.Expr, hi: sp.Expr, name: str, shown: object) -> tuple[Guard, ...]:
    message = f"{name} must be non-negative, got {name}={{v}}"
    return tuple(
        Guard(name, side < 0, message, (("v", shown),)) for side in dict.fromkeys((lo, hi))
    )


def _read(size: Dim, kernel_size: Dim, stride: Dim, dilation: Dim):
    n = as_dim(size, "size")
    k = as_dim(kernel_size, "kernel_size")
    s = as_dim(stride, "stride")
    d = as_dim(dilation, "dilation")
    guards = tuple(
        _positive(v, name)
        for v, name in ((n, "size"), (k, "kernel_size"), (s, "stride"), (d, "dilation"))
    )
    return (n, k, s, d), guards


def _padding(padding: object, kind: str) -> tuple[sp.Expr, sp.Expr, tuple[Guard, ...]]:
    """Numeric ``(before, after)`` padding of a pooling or transposed layer, and its guards."""
    if isinstance(padding, str):  # torch's pooling takes no string padding, not even 'valid'
        raise ShapeError(f"{kind} supports no padding={padding!r}; give an int or a pair")
    lo, hi = padding_pair(padding)  # type: ignore[misc]
    shown = (lo, hi) if isinstance(padding, (tuple, list)) and len(padding) == 2 else lo
    return lo, hi, _nonnegative(lo, hi, "padding", shown)


def same_padding(kernel_size: Dim, dilation: Dim = 1) -> tuple[sp.Expr, sp.Expr]:
    r"""torch's ``'same'`` zeros: $d(k-1)$ in all, $\lfloor d(k-1)/2 \rfloor$ before.

    >>> same_padding(4)
    (1, 2)
    """
    total = as_dim(dilation, "dilation") * (as_dim(kernel_size, "kernel_size") - 1)
    before = sp.floor(total / 2)
    # not expanded: n + before + after - (d(k-1) + 1) then cancels to n - 1 symbolically
    return before, total - before


def same_stride_guard(stride: Dim | tuple[Dim, ...]) -> Guard:
    """torch's rule that ``padding='same'`` needs stride 1 (every axis of a tuple ``stride``).

    The message shows ``stride`` as given, so a 2-D layer names its pair.

    >>> same_stride_guard((1, 2)).message()
    "padding='same' is not supported for strided convolutions, got stride=(1, 2)"
    """
    strides = stride if isinstance(stride, tuple) else (stride,)
    return Guard(
        "stride",
        sp.Or(*(sp.Ne(s, 1) for s in strides)),
        "padding='same' is not supported for strided convolutions, got stride={s}",
        (("s", stride),),
        settle=True,
    )


def resolve_conv_padding(
    padding: Padding1d, kernel_size: Dim, stride: Dim = 1, dilation: Dim = 1
) -> tuple[sp.Expr, sp.Expr]:
    r"""The ``(before, after)`` zeros a convolution adds, with torch's rule for ``'same'``.

    ``'same'`` pads $d(k-1)$ zeros in total, $\lfloor d(k-1)/2 \rfloor$ before and the
    rest after, and is only allowed with stride 1; ``'valid'`` pads nothing.

    >>> resolve_conv_padding("same", 4)
    (1, 2)
    >>> resolve_conv_padding("same", 3, stride=2)
    Traceback (most recent call last):
        ...
    derive.errors.ShapeError: padding='same' is not supported for strided convolutions, got stride=2
    """
    p = padding_pair(padding)
    if p == "valid":
        return sp.Integer(0), sp.Integer(0)
    if p == "same":
        enforce([same_stride_guard(as_dim(stride, "stride"))])
        return same_padding(kernel_size, dilation)
    return p  # type: ignore[return-value]


def conv_rule(
    size: Dim, kernel_size: Dim, stride: Dim = 1, padding: Padding1d = 0, dilation: Dim = 1
) -> Rule:
    r"""The acceptance guards and size formula of a convolution along one axis.

    torch rejects a non-positive size, kernel, stride or dilation, negative padding,
    ``'same'`` with a stride other than 1, and a dilated kernel longer than the padded input:

    $$
    n + p_l + p_r < d(k-1) + 1 .
    $$

    >>> [g.argument for g in conv_rule(5, 3).guards]
    ['size', 'kernel_size', 'stride', 'dilation', 'padding', 'kernel_size']
    >>> conv_rule(5, 3, padding=1).size
    5
    """
    (n, k, s, d), guards = _read(size, kernel_size, stride, dilation)
    p = padding_pair(padding)
    if p == "same":
        guards += (same_stride_guard(s),)
        lo, hi = same_padding(k, d)
        s_eff = sp.Integer(1)
    else:
        lo, hi = (sp.Integer(0), sp.Integer(0)) if p == "valid" else p  # type: ignore[misc]
        shown = (lo, hi) if isinstance(padding, (tuple, list)) and len(padding) == 2 else lo
        guards += _nonnegative(lo, hi, "padding", shown)
        s_eff = s
    if first_rejection(guards):  # no formula past a failed check (e.g. a zero stride)
        return Rule(guards, None)
    span = d * (k - 1) + 1
    padded = n + lo + hi
    guards += (
        Guard(
            "kernel_size",
            padded < span,
            "kernel_size={k} with dilation={d} spans {span}, more than the padded input "
            "of size {padded} (size={n}, padding=({lo}, {hi}))",
            (("k", k), ("d", d), ("span", span), ("padded", padded), ("n", n), ("lo", lo),
             ("hi", hi)),
        ),
    )  # fmt: skip
    return Rule(guards, floor_div(padded - span, s_eff) + 1)


def conv_output_size(
    size: Dim,
    kernel_size: Dim,
    stride: Dim = 1,
    padding: Padding1d = 0,
    dilation: Dim = 1,
    convention: object = None,
) -> sp.Expr:
    r"""Output size of a convolution (cross-correlation) along one axis.

    $$
    n_\text{out} = \left\lfloor \frac{n + p_l + p_r - d(k-1) - 1}{s} \right\rfloor + 1
    $$

    ``padding`` is an int (zeros on each side, as in torch), a ``(before, after)`` pair, or
    ``'same'``/``'valid'``. The book's total padding $p$ is ``(ceil(p/2), floor(p/2))``.

    >>> conv_output_size(8, 3, stride=2, padding=1)
    4
    >>> import sympy as sp
    >>> n = sp.Symbol("n", integer=True, positive=True)
    >>> conv_output_size(n, 3)
    n - 2
    >>> conv_output_size(n, 3, stride=2, padding=1)
    floor(n/2 - 1/2) + 1

    ``convention`` reads ``padding`` as another framework does (:mod:`derive.conventions`):

    >>> conv_output_size(n, 3, stride=2, padding="SAME", convention="tf")
    ceiling(n/2)
    """
    if convention is not None:
        rule = _convention(convention).conv(size, kernel_size, stride, padding, dilation)
        return rule.output_size()
    return conv_rule(size, kernel_size, stride, padding, dilation).output_size()


def pool_size_formula(n, k, s, d, lo, hi, ceil_mode: bool) -> sp.Expr:
    r"""torch's pooling size from read values (no guards), ``ceil_mode``'s last window included.

    Shared by :func:`pool_rule` and the conventions of other frameworks
    (:mod:`derive.conventions`) that pool by the same rule with other acceptance checks.

    >>> pool_size_formula(5, 2, 2, 1, 0, 0, True)
    3
    """
    span = d * (k - 1) + 1
    total = n + lo + hi - span
    if not ceil_mode:
        return floor_div(total, s) + 1
    out = floor_div(total + s - 1, s) + 1
    # The decrement can only happen when the ceiling reaches past n + lo, which needs
    # hi + s - 1 >= span; when that is decidedly false the formula needs no case split.
    if (hi + s - 1 < span) is sp.true:
        return out
    return sp.Piecewise((out - 1, (out - 1) * s >= n + lo), (out, True))


def pool_rule(
    size: Dim,
    kernel_size: Dim,
    stride: Dim | None = None,
    padding: Dim | tuple[Dim, Dim] = 0,
    dilation: Dim = 1,
    ceil_mode: bool = False,
) -> Rule:
    r"""The acceptance guards and size formula of max or average pooling along one axis.

    Beyond the positivity checks, torch requires each padding to be at most half the raw
    kernel, $p \le \lfloor k/2 \rfloor$, and an output of at least one entry.

    >>> [g.argument for g in pool_rule(5, 2).guards][-2:]
    ['padding', 'kernel_size']
    """
    stride = pool_stride(stride, kernel_size)
    (n, k, s, d), guards = _read(size, kernel_size, stride, dilation)
    lo, hi, sign = _padding(padding, "pooling")
    half = sp.floor(k / 2)
    guards += sign + tuple(
        Guard(
            "padding",
            side > half,
            "padding should be at most half of kernel_size, got padding={p} with kernel_size={k}",
            (("p", side), ("k", k)),
        )
        for side in dict.fromkeys((lo, hi))
    )
    if first_rejection(guards):  # no formula past a failed check (e.g. a zero stride)
        return Rule(guards, None)
    out = pool_size_formula(n, k, s, d, lo, hi, ceil_mode)
    guards += (
        Guard(
            "kernel_size",
            out < 1,
            "output size would be {out}: kernel_size={k} (dilation={d}) does not fit "
            "size={n} with padding=({lo}, {hi})",
            (("out", out), ("k", k), ("d", d), ("n", n), ("lo", lo), ("hi", hi)),
        ),
    )
    return Rule(guards, out)


def pool_output_size(
    size: Dim,
    kernel_size: Dim,
    stride: Dim | None = None,
    padding: Dim | tuple[Dim, Dim] = 0,
    dilation: Dim = 1,
    ceil_mode: bool = False,
    convention: object = None,
) -> sp.Expr:
    r"""Output size of max or average pooling along one axis (torch's rule, ``ceil_mode`` included).

    ``stride=None`` (or torch's empty ``()``) means ``kernel_size``. With ``ceil_mode=False``
    the result is the convolution formula. With ``ceil_mode=True`` the division rounds up,
    $m = \lceil (n + p_l + p_r - d(k-1) - 1)/s \rceil + 1$, except that the last window must
    start inside the input or the left padding:

    $$
    n_\text{out} = \begin{cases}
        m - 1 & \text{if } (m-1)\,s \ge n + p_l \\
        m & \text{otherwise.}
    \end{cases}
    $$

    torch requires each padding to be at most ``kernel_size // 2`` (the raw kernel size,
    even when dilated).

    >>> pool_output_size(4, 3)
    1
    >>> pool_output_size(5, 2, ceil_mode=True)
    3
    >>> import sympy as sp
    >>> n = sp.Symbol("n", integer=True, positive=True)
    >>> pool_output_size(n, 2, ceil_mode=True)
    floor(n/2 - 1/2) + 1
    >>> pool_output_size(5, 3, 1, (3, 0), convention="onnx")  # beyond half the kernel
    6
    """
    if convention is not None:
        rule = _convention(convention).pool(size, kernel_size, stride, padding, dilation, ceil_mode)
        return rule.output_size()
    return pool_rule(size, kernel_size, stride, padding, dilation, ceil_mode).output_size()


def conv_transpose_rule(
    size: Dim,
    kernel_size: Dim,
    stride: Dim = 1,
    padding: Dim | tuple[Dim, Dim] = 0,
    output_padding: Dim = 0,
    dilation: Dim = 1,
) -> Rule:
    r"""The acceptance guards and size formula of a transposed convolution along one axis.

    torch requires $p_\text{out} < \max(s, d)$ and an output of at least one entry.

    >>> conv_transpose_rule(2, 2, stride=2).size
    4
    """
    (n, k, s, d), guards = _read(size, kernel_size, stride, dilation)
    lo, hi, sign = _padding(padding, "transposed convolution")
    op = as_dim(output_padding, "output_padding")
    out = sp.expand((n - 1) * s - lo - hi + d * (k - 1) + op + 1)
    guards += sign + (
        Guard(
            "output_padding",
            op < 0,
            "output_padding must be non-negative, got output_padding={op}",
            (("op", op),),
        ),
        Guard(
            "output_padding",
            sp.And(op >= s, op >= d),
            "output_padding must be smaller than either stride or dilation, got "
            "output_padding={op} with stride={s} and dilation={d}",
            (("op", op), ("s", s), ("d", d)),
        ),
        Guard(
            "size",
            out < 1,
            "output size would be {out} (size={n}, kernel_size={k}, stride={s}, "
            "padding=({lo}, {hi}), output_padding={op}, dilation={d})",
            (("out", out), ("n", n), ("k", k), ("s", s), ("lo", lo), ("hi", hi), ("op", op),
             ("d", d)),
        ),
    )  # fmt: skip
    return Rule(guards, out)


def conv_transpose_output_size(
    size: Dim,
    kernel_size: Dim,
    stride: Dim = 1,
    padding: Dim | tuple[Dim, Dim] = 0,
    output_padding: Dim | None = 0,
    dilation: Dim = 1,
    output_size: Dim | None = None,
    convention: object = None,
) -> sp.Expr:
    r"""Output size of a transposed convolution along one axis.

    $$
    n_\text{out} = (n - 1)\,s - p_l - p_r + d(k - 1) + p_\text{out} + 1
    $$

    torch requires ``output_padding`` to be smaller than the stride or the dilation.

    >>> conv_transpose_output_size(2, 2, stride=2)
    4
    >>> import sympy as sp
    >>> n = sp.Symbol("n", integer=True, positive=True)
    >>> conv_transpose_output_size(n, 4, stride=2, padding=1)
    2*n

    ``output_size`` checks a requested size as ``ConvTranspose1d.forward`` does (the output
    padding it implies is :func:`derive.conventions.layer.conv_transpose_padding`'s);
    ``convention`` reads the arguments as another framework does:

    >>> conv_transpose_output_size(n, 3, stride=2, padding="same", output_padding=None,
    ...                            convention="keras")
    2*n
    """
    if convention is not None or output_size is not None:
        rule = _convention(convention).conv_transpose(
            size, kernel_size, stride, padding, output_padding, dilation, output_size
        )
        return rule.output_size()
    return conv_transpose_rule(
        size, kernel_size, stride, padding, output_padding, dilation
    ).output_size()
