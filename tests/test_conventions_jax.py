"""The TensorFlow/JAX conventions against JAX itself (CPU, small arrays).

Sizes come from ``jax.eval_shape`` of ``lax.conv_general_dilated``, ``lax.reduce_window`` and
``lax.conv_transpose`` (JAX's own shape rules, over random configurations including rejected
ones); elements from running them on small integer arrays, compared exactly with derive's
``conv2d``, ``max_pool2d``, ``avg_pool2d`` (``stax.AvgPool``'s divisor) and
``conv_transpose2d``. TensorFlow's ``conv_transpose`` is by definition the gradient of the
convolution with the same padding; it is checked against ``jax.vjp`` of that convolution.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

import derive
from derive import ShapeError
from derive.conventions.layer import conv_padding, conv_transpose_padding, pool_padding

jax = pytest.importorskip("jax")
jax.config.update("jax_platforms", "cpu")
from jax import lax  # noqa: E402
from jax.example_libraries import stax  # noqa: E402

STRINGS = ("SAME", "VALID", "SAME_LOWER")
DN = ("NCH", "OIH", "NCH")


def _padding(rng: random.Random, up_to: int):
    if rng.random() < 0.7:
        return rng.choice(STRINGS)
    return (rng.randint(0, up_to), rng.randint(0, up_to))


def _abstract(*shape: int):
    return jax.ShapeDtypeStruct(shape, np.float32)


def _pair(rng: random.Random, up_to: int) -> tuple[int, int]:
    return rng.randint(1, up_to), rng.randint(1, up_to)


def _jax_padding(padding):
    return padding if isinstance(padding, str) else [tuple(padding)]


def _outcome(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except ShapeError as exc:
        return exc


def _jax_size(fn) -> int | None:
    """The last dimension of ``fn``'s abstract output, or None where JAX raises or is empty."""
    try:
        shape = jax.eval_shape(fn).shape
    except (TypeError, ValueError):
        return None
    return shape[-1] if shape[-1] >= 1 else None


def test_conv_sizes_match_lax():
    rng, counts = random.Random(21), {"accepted": 0, "rejected": 0}
    for _ in range(300):
        n, k, s, d = rng.randint(1, 12), rng.randint(1, 5), rng.randint(1, 4), rng.randint(1, 3)
        padding = _padding(rng, 3)
        derived = _outcome(conv_padding, n, k, s, padding, d, convention="jax")
        x, w = _abstract(1, 1, n), _abstract(1, 1, k)
        theirs = _jax_size(
            lambda x=x, w=w, s=s, p=padding, d=d: lax.conv_general_dilated(
                x, w, (s,), _jax_padding(p), rhs_dilation=(d,), dimension_numbers=DN
            )
        )
        if isinstance(derived, ShapeError):
            assert theirs is None, (n, k, s, d, padding, str(derived), theirs)
            counts["rejected"] += 1
        else:
            assert theirs == int(derived.size), (n, k, s, d, padding, derived.size, theirs)
            counts["accepted"] += 1
    assert counts["accepted"] > 150 and counts["rejected"] > 10, counts


def test_pool_sizes_match_reduce_window():
    """Pads up to twice the kernel: a window may lie wholly in the padding."""
    rng, counts = random.Random(22), {"accepted": 0, "rejected": 0}
    for _ in range(300):
        n, k, s, d = rng.randint(1, 12), rng.randint(1, 5), rng.randint(1, 4), rng.randint(1, 3)
        padding = _padding(rng, 2 * k)
        derived = _outcome(pool_padding, n, k, s, padding, d, convention="jax")
        x = jax.ShapeDtypeStruct((n,), np.float32)
        theirs = _jax_size(
            lambda x=x, k=k, s=s, p=padding, d=d: lax.reduce_window(
                x, -np.inf, lax.max, (k,), (s,), _jax_padding(p), window_dilation=(d,)
            )
        )
        if isinstance(derived, ShapeError):
            assert theirs is None, (n, k, s, d, padding, str(derived), theirs)
            counts["rejected"] += 1
        else:
            assert theirs == int(derived.size), (n, k, s, d, padding, derived.size, theirs)
            counts["accepted"] += 1
    assert counts["accepted"] > 150 and counts["rejected"] > 10, counts


def test_conv_transpose_sizes_match_lax():
    rng, counted = random.Random(23), 0
    for _ in range(200):
        n, k, s, d = rng.randint(1, 8), rng.randint(1, 5), rng.randint(1, 4), rng.randint(1, 3)
        padding = rng.choice(("SAME", "VALID"))
        derived = conv_transpose_padding(n, k, s, padding, 0, d, convention="jax")
        x, w = _abstract(1, 1, n), _abstract(1, 1, k)
        theirs = _jax_size(
            lambda x=x, w=w, s=s, p=padding, d=d: lax.conv_transpose(
                x, w, (s,), p, rhs_dilation=(d,), dimension_numbers=DN
            )
        )
        assert theirs == int(derived.size), (n, k, s, d, padding, derived.size, theirs)
        counted += 1
    assert counted == 200


def _ints(rng: random.Random, shape: tuple[int, ...]) -> np.ndarray:
    return np.array([rng.randint(-4, 4) for _ in range(int(np.prod(shape)))], np.float32).reshape(
        shape
    )


def _exact(derived, theirs) -> None:
    ours = np.array(derived.tolist(), dtype=float)
    assert ours.shape == np.asarray(theirs).shape, (ours.shape, np.asarray(theirs).shape)
    assert np.array_equal(ours, np.asarray(theirs, dtype=float)), (ours, theirs)


def _element_configs(rng: random.Random, count: int, up_to: int):
    for _ in range(count):
        hw = (rng.randint(1, 6), rng.randint(1, 6))
        kernel = (rng.randint(1, 3), rng.randint(1, 3))
        stride, dilation = (rng.randint(1, 3), rng.randint(1, 3)), (rng.randint(1, 2), 1)
        if rng.random() < 0.7:
            padding = rng.choice(STRINGS)
        else:
            padding = tuple((rng.randint(0, up_to), rng.randint(0, up_to)) for _ in range(2))
        yield hw, kernel, stride, dilation, padding


def test_conv2d_elements_match_lax():
    rng, compared = random.Random(24), 0
    for hw, kernel, stride, dilation, padding in _element_configs(rng, 20, 2):
        x, w = _ints(rng, (1, *hw)), _ints(rng, (1, 1, *kernel))
        derived = _outcome(derive.conv2d, x.tolist(), w.tolist(), None, stride, padding,
                           dilation, convention="jax")  # fmt: skip
        if isinstance(derived, ShapeError):
            continue
        pads = padding if isinstance(padding, str) else list(padding)
        theirs = lax.conv_general_dilated(x[None], w, stride, pads, rhs_dilation=dilation)
        _exact(derived, theirs[0])
        compared += 1
    assert compared >= 12


def test_max_pool2d_elements_match_reduce_window():
    rng, compared = random.Random(25), 0
    for hw, kernel, stride, dilation, padding in _element_configs(rng, 18, 4):
        x = _ints(rng, (1, *hw))
        derived = _outcome(derive.max_pool2d, x.tolist(), kernel, stride, padding, dilation,
                           convention="jax")  # fmt: skip
        if isinstance(derived, ShapeError):
            continue
        pads = padding if isinstance(padding, str) else list(padding)
        theirs = lax.reduce_window(x[0], -np.inf, lax.max, kernel, stride, pads,
                                   window_dilation=dilation)  # fmt: skip
        _exact(derived, np.asarray(theirs)[None])
        compared += 1
    assert compared >= 10


@pytest.mark.parametrize("convention", ["jax", "tf", "keras"])
def test_avg_pool2d_divisor_matches_stax(convention):
    """stax.AvgPool divides by the input entries of each window: TensorFlow's divisor."""
    rng, compared = random.Random(26), 0
    for hw, kernel, stride, _, padding in _element_configs(rng, 10, 0):
        padding = "SAME" if not isinstance(padding, str) or padding == "SAME_LOWER" else padding
        spelled = padding.lower() if convention == "keras" else padding
        x = _ints(rng, (1, *hw))
        derived = _outcome(derive.avg_pool2d, x.tolist(), kernel, stride, spelled,
                           convention=convention)  # fmt: skip
        if isinstance(derived, ShapeError):
            continue
        _, apply = stax.AvgPool(kernel, stride, padding)
        theirs = apply((), x[0][None, :, :, None])[0, :, :, 0]  # NHWC
        ours = np.array(derived.tolist(), dtype=float)[0]
        assert ours.shape == theirs.shape and np.allclose(ours, np.asarray(theirs)), (ours, theirs)
        compared += 1
    assert compared >= 6


def test_conv_transpose2d_elements_match_lax():
    rng = random.Random(27)
    for _ in range(8):
        hw = (rng.randint(1, 4), rng.randint(1, 4))
        kernel, stride = (rng.randint(1, 4), rng.randint(1, 3)), _pair(rng, 3)
        dilation, padding = (rng.randint(1, 2), 1), rng.choice(("SAME", "VALID"))
        x, w = _ints(rng, (1, *hw)), _ints(rng, (1, 1, *kernel))
        derived = derive.conv_transpose2d(x.tolist(), w.tolist(), stride=stride, padding=padding,
                                          dilation=dilation, convention="jax")  # fmt: skip
        theirs = lax.conv_transpose(x[None], w, stride, padding, rhs_dilation=dilation,
                                    dimension_numbers=("NCHW", "OIHW", "NCHW"),
                                    transpose_kernel=True)  # fmt: skip
        _exact(derived, theirs[0])


def test_tf_conv_transpose_is_the_gradient_of_conv():
    """tf.nn.conv_transpose(output_shape=t): jax.vjp of the SAME/VALID convention over t."""
    rng, compared = random.Random(28), 0
    while compared < 8:
        t = (rng.randint(1, 7), rng.randint(1, 7))
        kernel, stride = _pair(rng, 3), _pair(rng, 3)
        padding = rng.choice(("SAME", "VALID"))
        w = _ints(rng, (1, 1, *kernel))

        def forward(z, w=w, stride=stride, padding=padding):
            return lax.conv_general_dilated(z, w, stride, padding)

        try:
            out, pullback = jax.vjp(forward, np.zeros((1, 1, *t), np.float32))
        except (TypeError, ValueError):
            continue
        if min(out.shape) < 1:
            continue
        x = _ints(rng, out.shape[1:])
        (theirs,) = pullback(x[None])
        derived = derive.conv_transpose2d(x.tolist(), w.tolist(), stride=stride, padding=padding,
                                          output_size=t, convention="tf")  # fmt: skip
        _exact(derived, theirs[0])
        compared += 1
