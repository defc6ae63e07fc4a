"""Every ShapeError path: a ValueError with one clear line naming the argument and its value."""

from __future__ import annotations

import re

import pytest
import sympy as sp

from derive import (
    ShapeError,
    avg_pool2d,
    conv2d,
    conv2d_terms,
    conv_output_size,
    conv_transpose_output_size,
    corr2d,
    max_pool2d,
    pool_output_size,
    symbol_array,
)

X1 = [[[1, 2, 3], [4, 5, 6], [7, 8, 9]]]  # (1, 3, 3)
W1 = [[[[1, 0], [0, 1]]]]  # (1, 1, 2, 2)


def c(n):
    """A (n, 2, 2) input of ones."""
    return [[[1, 1], [1, 1]] for _ in range(n)]


def w(c_out, c_in):
    return [[[[1]] for _ in range(c_in)] for _ in range(c_out)]


CASES = [
    # kernel (dilated) larger than the padded input
    ("kernel", lambda: conv_output_size(3, 4), r"kernel_size=4 .*padded input of size 3"),
    (
        "kernel-dilated",
        lambda: conv_output_size(5, 3, dilation=3),
        r"kernel_size=3 with dilation=3 spans 7.*size=5",
    ),
    (
        "kernel-padded",
        lambda: conv_output_size(2, 5, padding=(1, 1)),
        r"kernel_size=5 .*padded input of size 4 \(size=2, padding=\(1, 1\)\)",
    ),
    ("kernel-conv2d", lambda: conv2d(X1, [[[[1] * 4] * 4]]), r"kernel_size=4 .*size 3"),
    # stride <= 0
    ("stride-0", lambda: conv_output_size(5, 3, stride=0), r"stride must be positive.*stride=0\b"),
    ("stride-neg", lambda: conv_output_size(5, 3, stride=-2), r"stride=-2\b"),
    ("stride-pool", lambda: pool_output_size(5, 3, stride=0), r"stride=0\b"),
    ("stride-transpose", lambda: conv_transpose_output_size(5, 3, stride=0), r"stride=0\b"),
    ("stride-conv2d", lambda: conv2d(X1, W1, stride=(1, 0)), r"stride=0\b"),
    ("stride-max2d", lambda: max_pool2d(X1, 2, stride=(0, 1)), r"stride=0\b"),
    # kernel_size <= 0
    ("ksize-0", lambda: conv_output_size(5, 0), r"kernel_size must be positive.*kernel_size=0\b"),
    ("ksize-pool", lambda: pool_output_size(5, -1), r"kernel_size=-1\b"),
    ("ksize-transpose", lambda: conv_transpose_output_size(5, 0), r"kernel_size=0\b"),
    ("ksize-avg2d", lambda: avg_pool2d(X1, (2, 0)), r"kernel_size=0\b"),
    # dilation <= 0
    ("dilation-0", lambda: conv_output_size(5, 3, dilation=0), r"dilation must be positive.*=0\b"),
    ("dilation-pool", lambda: pool_output_size(5, 3, dilation=-1), r"dilation=-1\b"),
    ("dilation-transpose", lambda: conv_transpose_output_size(5, 3, dilation=0), r"dilation=0\b"),
    ("dilation-conv2d", lambda: conv2d(X1, W1, dilation=(0, 1)), r"dilation=0\b"),
    # size <= 0
    ("size-0", lambda: conv_output_size(0, 1), r"size must be positive, got size=0\b"),
    # negative padding
    ("pad-neg", lambda: conv_output_size(5, 3, padding=-1), r"non-negative.*padding=-1\b"),
    ("pad-neg-pair", lambda: conv_output_size(5, 3, padding=(1, -1)), r"padding=\(1, -1\)"),
    ("pad-neg-pool", lambda: pool_output_size(5, 3, padding=-1), r"padding=-1\b"),
    # torch's pooling takes no string padding at all (a TypeError there)
    ("pad-valid-pool", lambda: pool_output_size(5, 3, padding="valid"), r"padding='valid'"),
    ("pad-valid-pool2d", lambda: max_pool2d(X1, 2, padding="valid"), r"padding='valid'"),
    ("pad-same-pool2d", lambda: avg_pool2d(X1, 2, padding="same"), r"padding='same'"),
    ("pad-neg-transpose", lambda: conv_transpose_output_size(5, 3, padding=-2), r"padding=-2\b"),
    ("pad-neg-conv2d", lambda: conv2d(X1, W1, padding=((0, -1), (0, 0))), r"padding=\(0, -1\)"),
    # pooling padding more than half the kernel (raw kernel_size, even when dilated)
    (
        "pool-pad-half",
        lambda: pool_output_size(9, 3, padding=2),
        r"at most half of kernel_size.*padding=2 with kernel_size=3",
    ),
    (
        "pool-pad-half-dilated",
        lambda: pool_output_size(9, 3, padding=2, dilation=3),
        r"padding=2 with kernel_size=3",
    ),
    ("pool-pad-max2d", lambda: max_pool2d(X1, 2, padding=(0, 2)), r"padding=2 with kernel_size=2"),
    ("pool-pad-avg2d", lambda: avg_pool2d(X1, 3, padding=2), r"padding=2 with kernel_size=3"),
    # 'same' with a stride other than 1
    (
        "same-stride",
        lambda: conv_output_size(5, 3, stride=2, padding="same"),
        r"padding='same' .*stride=2\b",
    ),
    (
        "same-stride-conv2d",
        lambda: conv2d(X1, W1, stride=(1, 2), padding="same"),
        r"padding='same' .*stride=\(1, 2\)",
    ),
    # output_padding
    (
        "output-padding",
        lambda: conv_transpose_output_size(5, 3, stride=2, output_padding=2),
        r"output_padding must be smaller than either stride or dilation.*"
        r"output_padding=2 with stride=2 and dilation=1",
    ),
    (
        "output-padding-neg",
        lambda: conv_transpose_output_size(5, 3, stride=2, output_padding=-1),
        r"output_padding=-1\b",
    ),
    # output size below 1
    (
        "output-pool",
        lambda: pool_output_size(2, 3),
        r"output size would be 0.*kernel_size=3 .*size=2",
    ),
    (
        "output-pool-dilated",
        lambda: pool_output_size(4, 2, dilation=4),
        r"output size would be 0.*dilation=4",
    ),
    (
        "output-transpose",
        lambda: conv_transpose_output_size(1, 1, padding=1),
        r"output size would be -1 .*size=1.*padding=\(1, 1\)",
    ),
    # channels and groups
    (
        "groups-in",
        lambda: conv2d(c(3), w(2, 1), groups=2),
        r"in_channels must be divisible by groups.*in_channels=3.*groups=2",
    ),
    (
        "groups-out",
        lambda: conv2d(c(2), w(3, 1), groups=2),
        r"out_channels must be divisible by groups.*out_channels=3.*groups=2",
    ),
    (
        "channels",
        lambda: conv2d(c(3), w(1, 2)),
        r"input has 3 channels but weight of shape \(1, 2, 1, 1\) with groups=1 expects 2",
    ),
    (
        "channels-grouped",
        lambda: conv2d(c(4), w(2, 1), groups=2),
        r"input has 4 channels .*groups=2 expects 2",
    ),
    ("groups-0", lambda: conv2d(c(1), w(1, 1), groups=0), r"groups must be a positive.*groups=0"),
    ("groups-bool", lambda: conv2d(c(1), w(1, 1), groups=True), r"groups=True"),
    ("bias-shape", lambda: conv2d(c(1), w(1, 1), bias=[1, 2]), r"bias must have shape \(1,\)"),
    # non-integer sizes
    ("size-float", lambda: conv_output_size(2.5, 1), r"size must be an integer.*size=2\.5"),
    ("size-float-int", lambda: conv_output_size(5.0, 1), r"size=5\.0"),
    ("size-rational", lambda: conv_output_size(sp.Rational(5, 2), 1), r"size=5/2"),
    ("size-sympy-float", lambda: conv_output_size(sp.Float(5), 1), r"size=5\.0"),
    ("size-bool", lambda: conv_output_size(True, 1), r"size must be an integer, got size=True"),
    ("size-str", lambda: conv_output_size("5", 1), r"size='5'"),
    ("size-none", lambda: conv_output_size(None, 1), r"size=None"),
    ("size-inf", lambda: conv_output_size(sp.oo, 1), r"size=oo"),
    (
        "size-non-integer-symbol",
        lambda: conv_output_size(sp.Symbol("t", integer=False), 1),
        r"size must be integer-valued, got size=t",
    ),
    ("ksize-float", lambda: pool_output_size(5, 2.0), r"kernel_size=2\.0"),
    ("stride-rational", lambda: conv_output_size(5, 1, stride=sp.Rational(3, 2)), r"stride=3/2"),
    ("dilation-bool", lambda: conv_output_size(5, 1, dilation=False), r"dilation=False"),
    ("pad-float", lambda: conv_output_size(5, 1, padding=1.5), r"padding=1\.5"),
    ("output-padding-float", lambda: conv_transpose_output_size(5, 3, 2, 0, 0.5), r"=0\.5"),
    ("stride-float-max2d", lambda: max_pool2d(X1, 2, stride=(1.5, 1)), r"stride=1\.5"),
    ("stride-symbol-conv2d", lambda: conv2d(X1, W1, stride=sp.Symbol("s")), r"stride=\(s, s\)"),
    # bad padding forms
    ("pad-str", lambda: conv_output_size(5, 3, padding="full"), r"padding='full'"),
    ("pad-upper", lambda: conv_output_size(5, 3, padding="SAME"), r"padding='SAME'"),
    ("pad-triple", lambda: conv_output_size(5, 3, padding=(1, 2, 3)), r"padding=\(1, 2, 3\)"),
    ("pad-2d-triple", lambda: conv2d(X1, W1, padding=(1, 2, 3)), r"padding=\(1, 2, 3\)"),
    ("pad-2d-str-pair", lambda: conv2d(X1, W1, padding=("same", 1)), r"padding=\('same', 1\)"),
    (
        "pad-2d-inner-triple",
        lambda: conv2d(X1, W1, padding=((1, 2, 3), 0)),
        r"padding=\(1, 2, 3\)",
    ),
    ("pad-pool-same", lambda: pool_output_size(5, 3, padding="same"), r"padding='same'"),
    ("pad-max2d-same", lambda: max_pool2d(X1, 3, padding="same"), r"padding='same'"),
    (
        "pad-transpose-same",
        lambda: conv_transpose_output_size(5, 3, padding="same"),
        r"padding='same'",
    ),
    ("pair-long", lambda: max_pool2d(X1, (1, 1, 1)), r"kernel_size=\(1, 1, 1\)"),
    # tensors
    ("ragged-input", lambda: conv2d([[[1, 2], [3]]], W1), r"input is ragged.*\(1,\), \(2,\)"),
    ("ragged-weight", lambda: conv2d(X1, [[[[1], [1, 2]]]]), r"weight is ragged"),
    ("ragged-bias", lambda: conv2d(X1, W1, bias=[[1], [2, 3]]), r"bias is ragged"),
    ("ragged-pool", lambda: max_pool2d([[[1, 2], [3]]], 1), r"input is ragged"),
    ("empty-axis", lambda: conv2d([[[]]], W1), r"input has an empty axis"),
    ("entry", lambda: conv2d([[["a"]]], W1), r"input entries must be numbers.*'a'"),
    ("tensor-type", lambda: conv2d("x", W1), r"input must be a nested list.*got str"),
    ("input-rank", lambda: conv2d([[1, 2], [3, 4]], W1), r"input must be \(C, H, W\).*\(2, 2\)"),
    ("weight-rank", lambda: conv2d(X1, [[[1]]]), r"weight must be \(C_out.*\(1, 1, 1\)"),
    ("pool-rank", lambda: avg_pool2d([[1, 2]], 1), r"input must be \(C, H, W\).*\(1, 2\)"),
    ("corr2d-rank", lambda: corr2d(X1, [[1]]), r"two matrices.*X=\(1, 3, 3\)"),
    ("terms-index", lambda: conv2d_terms(X1, W1, (0, 2, 0)), r"index=\(0, 2, 0\)"),
    ("terms-batched", lambda: conv2d_terms([X1], W1, (0, 0, 0)), r"shape \(1, 1, 3, 3\)"),
    # avg_pool2d divisor_override
    ("divisor-0", lambda: avg_pool2d(X1, 2, divisor_override=0), r"divisor_override=0"),
    ("divisor-float", lambda: avg_pool2d(X1, 2, divisor_override=1.5), r"divisor_override=1\.5"),
    ("divisor-bool", lambda: avg_pool2d(X1, 2, divisor_override=True), r"divisor_override=True"),
    # symbol_array
    ("symbols-shape", lambda: symbol_array("x", (0, 2)), r"shape=\(0, 2\)"),
    ("symbols-name", lambda: symbol_array("1x", (2,)), r"name='1x'"),
]


@pytest.mark.parametrize("call, pattern", [case[1:] for case in CASES], ids=[c[0] for c in CASES])
def test_error_message(call, pattern):
    with pytest.raises(ShapeError) as info:
        call()
    error = info.value
    assert isinstance(error, ValueError)
    message = str(error)
    assert "\n" not in message and message == message.strip()
    assert re.search(pattern, message), message


def test_error_ids_are_unique():
    ids = [case[0] for case in CASES]
    assert len(ids) == len(set(ids))


def test_symbolic_arguments_are_rejected_only_when_provably_invalid():
    n = sp.Symbol("n", negative=True)
    with pytest.raises(ShapeError, match=r"size must be positive, got size=n"):
        conv_output_size(n, 3)
    m = sp.Symbol("m", integer=True, positive=True)
    assert conv_output_size(m, 3) == m - 2  # may be invalid for small m: not provably so
