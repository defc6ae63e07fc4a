"""Keras's conventions against Keras 3 itself (JAX backend, CPU, small arrays).

Random 1-D layers (``Conv1D`` with ``'valid'``, ``'same'``, ``'causal'``; ``Conv1DTranspose``
with ``output_padding=None`` or given; ``MaxPooling1D``/``AveragePooling1D``) are built and
called on small integer inputs; their output shapes, rejections and elements are compared
exactly with derive's element functions under ``convention="keras"`` (an input of height 1).
Keras 2's ``conv_utils`` values (``'full'`` included) are checked from its own test suite.
"""

from __future__ import annotations

import os
import random
import warnings

import numpy as np
import pytest

import derive
from derive import ShapeError
from derive.conventions.layer import conv_padding, conv_transpose_padding

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")
if keras.backend.backend() != "jax":  # pragma: no cover - another backend was imported first
    pytest.skip("these checks run Keras on its JAX backend", allow_module_level=True)


def _ints(rng: random.Random, n: int) -> np.ndarray:
    return np.array([rng.randint(-4, 4) for _ in range(n)], np.float32)


def _keras(layer, x: np.ndarray, kernel: np.ndarray | None = None):
    """``layer`` on ``x`` of shape (1, n, 1), its kernel set first; None where Keras raises."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            layer.build((1, x.shape[1], 1))
            if kernel is not None:
                layer.set_weights([kernel])
            return np.asarray(layer(x))[0, :, 0]
    except ValueError:
        return None


def _derive(fn, *args, **kwargs):
    try:
        return np.array(fn(*args, **kwargs).tolist(), dtype=float)[0, 0]
    except ShapeError:
        return None


def _agree(ours, theirs, what) -> bool:
    if ours is None or theirs is None:
        assert ours is None and theirs is None, (what, ours, theirs)
        return False
    assert ours.shape == theirs.shape and np.array_equal(ours, theirs), (what, ours, theirs)
    return True


def test_conv1d_matches_keras():
    rng, accepted, rejected = random.Random(31), 0, 0
    for _ in range(24):
        n, k, s, d = rng.randint(1, 9), rng.randint(1, 4), rng.randint(1, 3), rng.randint(1, 2)
        padding = rng.choice(("valid", "same", "causal"))
        x, w = _ints(rng, n), _ints(rng, k)
        try:
            layer = keras.layers.Conv1D(1, k, strides=s, padding=padding, dilation_rate=d,
                                        use_bias=False)  # fmt: skip
            theirs = _keras(layer, x.reshape(1, n, 1), w.reshape(k, 1, 1))
        except ValueError:  # Keras refuses some layers when constructing them
            theirs = None
        ours = _derive(derive.conv2d, [[x.tolist()]], [[[w.tolist()]]], None, (1, s), padding,
                       (1, d), convention="keras")  # fmt: skip
        if _agree(ours, theirs, (n, k, s, d, padding)):
            accepted += 1
        else:
            rejected += 1
    assert accepted >= 12 and rejected >= 3, (accepted, rejected)


def test_conv1d_transpose_matches_keras():
    rng, accepted, rejected = random.Random(32), 0, 0
    for _ in range(20):
        n, k, s, d = rng.randint(1, 6), rng.randint(1, 4), rng.randint(1, 3), rng.randint(1, 2)
        padding = rng.choice(("valid", "same"))
        op = rng.choice((None, None, 0, 1, 2))
        x, w = _ints(rng, n), _ints(rng, k)
        try:
            layer = keras.layers.Conv1DTranspose(1, k, strides=s, padding=padding,
                                                 output_padding=op, dilation_rate=d,
                                                 use_bias=False)  # fmt: skip
            theirs = _keras(layer, x.reshape(1, n, 1), w.reshape(k, 1, 1))
        except ValueError:
            theirs = None
        ours = _derive(derive.conv_transpose2d, [[x.tolist()]], [[[w.tolist()]]], None, (1, s),
                       padding, (0, op) if op is not None else None, 1, (1, d),
                       convention="keras")  # fmt: skip
        if _agree(ours, theirs, (n, k, s, d, padding, op)):
            accepted += 1
        else:
            rejected += 1
    assert accepted >= 10 and rejected >= 2, (accepted, rejected)


@pytest.mark.parametrize("kind", ["max", "average"])
def test_pooling1d_matches_keras(kind):
    rng, accepted = random.Random(33), 0
    for _ in range(10):
        n, k, s = rng.randint(1, 9), rng.randint(1, 4), rng.randint(1, 3)
        padding = rng.choice(("valid", "same"))
        x = _ints(rng, n)
        cls = keras.layers.MaxPooling1D if kind == "max" else keras.layers.AveragePooling1D
        theirs = _keras(cls(k, s, padding=padding), x.reshape(1, n, 1))
        fn = derive.max_pool2d if kind == "max" else derive.avg_pool2d
        ours = _derive(fn, [[x.tolist()]], (1, k), (1, s), padding, convention="keras")
        if ours is not None and theirs is not None:
            assert np.allclose(ours, theirs) and ours.shape == theirs.shape, (ours, theirs)
            accepted += 1
        else:
            assert ours is None and theirs is None, (n, k, s, padding, ours, theirs)
    assert accepted >= 6


# Keras 2's own tests of conv_utils (tests/keras/utils/conv_utils_test.py): these helpers, with
# 'full', are gone from Keras 3; the values are Keras's, the layers derive mirrors.
KERAS2_CONV_OUTPUT_LENGTH = [
    (224, 7, "same", 1, 224), (224, 7, "same", 2, 112), (32, 5, "valid", 1, 28),
    (32, 5, "valid", 2, 14), (32, 5, "causal", 1, 32), (32, 5, "causal", 2, 16),
    (32, 5, "full", 1, 36), (32, 5, "full", 2, 18),
]  # fmt: skip
KERAS2_DECONV_LENGTH = [
    (224, 1, 7, "same", None, 224), (224, 2, 7, "same", None, 448),
    (32, 1, 5, "valid", None, 36), (32, 2, 5, "valid", None, 67),
    (32, 1, 5, "full", None, 28), (32, 2, 5, "full", None, 59),
    (224, 1, 7, "same", 0, 224), (224, 2, 7, "same", 0, 447), (224, 2, 7, "same", 1, 448),
    (32, 1, 5, "valid", 0, 36), (32, 2, 5, "valid", 0, 67), (32, 2, 5, "valid", 1, 68),
    (6, 1, 3, "full", 0, 4), (6, 2, 3, "full", 1, 10),
]  # fmt: skip


@pytest.mark.parametrize("n, k, padding, s, expected", KERAS2_CONV_OUTPUT_LENGTH)
def test_keras2_conv_output_length(n, k, padding, s, expected):
    assert conv_padding(n, k, s, padding, convention="keras").size == expected


@pytest.mark.parametrize("n, s, k, padding, op, expected", KERAS2_DECONV_LENGTH)
def test_keras2_deconv_length(n, s, k, padding, op, expected):
    assert conv_transpose_padding(n, k, s, padding, op, convention="keras").size == expected


def test_keras_layers_refuse_output_padding_at_the_stride():
    """Keras 2's helper computes deconv_length(6, 2, 3, 'full', 2) = 11; its layers refuse it."""
    with pytest.raises(ShapeError, match="strictly less than `strides`"):
        conv_transpose_padding(6, 3, 2, "full", 2, convention="keras")
    with pytest.raises(ValueError):
        keras.layers.Conv1DTranspose(1, 3, strides=2, output_padding=2)
