"""ONNX's conventions against ONNX itself: shape inference, and the reference evaluator's elements.

Each test draws random 1-D configurations (accepted and rejected ones), builds a one-node model
(``Conv``, ``MaxPool``, ``AveragePool``, ``ConvTranspose``) and compares derive's size with
``onnx.shape_inference.infer_shapes`` (strict mode). Where derive rejects, ONNX's shape
inference must report no positive size, except its known quirk: when the kernel does not fit
it divides a negative number truncating toward zero, which can report one output
(``_truncated``), and for a ``ConvTranspose`` whose ``output_shape`` is below the input
size it reports 1 whatever the shape. Where derive refuses because ONNX's specification and
shape inference disagree, the comparison is skipped (and counted).
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import sympy as sp

from derive import ShapeError
from derive.conventions.layer import conv_padding, conv_transpose_padding, pool_padding

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, shape_inference  # noqa: E402

OPSET = 22
AUTO_PADS = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")


def _model(op: str, n: int, attrs: dict, weight: tuple[int, ...] | None = None):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, n])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    inits, inputs = [], ["x"]
    if weight is not None:
        data = np.arange(1, int(np.prod(weight)) + 1, dtype=np.float32)
        inits.append(helper.make_tensor("w", TensorProto.FLOAT, weight, data.tolist()))
        inputs.append("w")
    node = helper.make_node(op, inputs, ["y"], **attrs)
    graph = helper.make_graph([node], "g", [x], [y], initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])


def onnx_size(op: str, n: int, attrs: dict, weight=None) -> int | None:
    """The output length ONNX's shape inference reports, or None when it raises."""
    model = _model(op, n, attrs, weight)
    try:
        inferred = shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    except Exception:  # onnx raises InferenceError (and others) for rejected nodes
        return None
    dims = inferred.graph.output[0].type.tensor_type.shape.dim
    return int(dims[-1].dim_value)


def _truncated(n: int, total_pads: int, span: int, s: int, ceil_mode: bool = False) -> int:
    """ONNX's C++ division of a negative numerator, truncating toward zero, plus one."""
    return int((n + total_pads - span + (s - 1 if ceil_mode else 0)) / s) + 1


def _attrs(k, s, d, padding, **extra) -> dict:
    attrs = {"kernel_shape": [k], "strides": [s], "dilations": [d], **extra}
    if isinstance(padding, str):
        attrs["auto_pad"] = padding
    else:
        attrs["pads"] = list(padding)
    return attrs


def _configs(rng: random.Random, count: int, pads_up_to: int):
    for _ in range(count):
        n, k, s, d = rng.randint(1, 12), rng.randint(1, 5), rng.randint(1, 4), rng.randint(1, 3)
        mode = rng.choice(AUTO_PADS + ("pads",) * 2)
        pads = (rng.randint(0, pads_up_to), rng.randint(0, pads_up_to))
        padding = pads if mode == "pads" else mode
        yield n, k, s, d, padding


def _compare(derived, theirs: int | None, n, padding, span, s, counts, ceil_mode=False) -> None:
    if isinstance(derived, ShapeError):
        if "does not choose" in str(derived):
            counts["refused"] += 1
            return
        pads = 0 if isinstance(padding, str) else sum(padding)
        assert theirs is None or theirs < 1 or theirs == _truncated(n, pads, span, s, ceil_mode), (
            f"derive rejects ({derived}) but ONNX infers {theirs}"
        )
        counts["rejected"] += 1
        return
    assert theirs == int(derived.size), f"derive {derived.size}, ONNX {theirs}"
    counts["accepted"] += 1


def _run(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except ShapeError as exc:
        return exc


def test_conv_matches_onnx_shape_inference():
    rng, counts = random.Random(11), {"accepted": 0, "rejected": 0, "refused": 0}
    for n, k, s, d, padding in _configs(rng, 400, 3):
        derived = _run(conv_padding, n, k, s, padding, d, convention="onnx")
        attrs = _attrs(k, s, d, padding)
        theirs = onnx_size("Conv", n, attrs, weight=(1, 1, k))
        _compare(derived, theirs, n, padding, d * (k - 1) + 1, s, counts)
    assert counts["accepted"] > 200 and counts["rejected"] > 20, counts


@pytest.mark.parametrize("op", ["MaxPool", "AveragePool"])
def test_pooling_matches_onnx_shape_inference(op):
    """Pads up to twice the kernel: windows beyond half the kernel, or wholly in the padding."""
    rng, counts = random.Random(12), {"accepted": 0, "rejected": 0, "refused": 0}
    beyond = 0
    for n, k, s, d, padding in _configs(rng, 400, 6):
        d = d if op == "MaxPool" else 1
        ceil_mode = rng.random() < 0.4
        derived = _run(pool_padding, n, k, s, padding, d, ceil_mode, convention="onnx")
        attrs = _attrs(k, s, d, padding, ceil_mode=int(ceil_mode))
        if op == "AveragePool" and d == 1:
            attrs.pop("dilations")
        theirs = onnx_size(op, n, attrs)
        _compare(derived, theirs, n, padding, d * (k - 1) + 1, s, counts, ceil_mode)
        if not isinstance(derived, ShapeError) and max(derived.pads) > k // 2:
            beyond += 1
    assert counts["accepted"] > 200 and counts["rejected"] > 5 and beyond > 50, (counts, beyond)


def test_conv_transpose_matches_onnx_shape_inference():
    rng = random.Random(13)
    counts = {"accepted": 0, "rejected": 0, "refused": 0, "quirk": 0}
    for _ in range(500):
        n, k, s, d = rng.randint(1, 8), rng.randint(1, 5), rng.randint(1, 4), rng.randint(1, 3)
        op = rng.choice((0, 0, 1, 2))
        mode = rng.choice(AUTO_PADS + ("pads",))
        padding = (rng.randint(0, 4), rng.randint(0, 4)) if mode == "pads" else mode
        target = rng.choice((None, None, rng.randint(1, 30)))
        if target is not None and not isinstance(padding, str):
            padding = "NOTSET"
        derived = _run(conv_transpose_padding, n, k, s, padding, op, d, target, "onnx")
        attrs = _attrs(k, s, d, padding, output_padding=[op])
        if target is not None:
            attrs["output_shape"] = [target]
        theirs = onnx_size("ConvTranspose", n, attrs, weight=(1, 1, k))
        if isinstance(derived, ShapeError):
            if "does not choose" in str(derived) or "negative pads" in str(derived):
                counts["refused"] += 1  # ONNX disagrees with itself, or would crop negatively
            else:
                assert theirs is None or theirs < 1 or op >= max(s, d), (derived, theirs)
                counts["rejected"] += 1
            continue
        if target is not None and target < n and theirs == 1:
            counts["quirk"] += 1  # shape inference reports 1 for any output_shape below n
            continue
        assert theirs == int(derived.size), (n, k, s, d, padding, op, target, derived.size, theirs)
        counts["accepted"] += 1
    assert counts["accepted"] > 200 and counts["rejected"] > 20 and counts["refused"] > 20, counts


def test_same_transposed_disagreements_are_real():
    """Where derive refuses ConvTranspose SAME, shape inference differs from the n*s of the spec."""
    for n, k, s, op in [(3, 3, 2, 1), (3, 1, 2, 0), (4, 2, 3, 0)]:
        with pytest.raises(ShapeError, match="does not choose"):
            conv_transpose_padding(n, k, s, "SAME_UPPER", op, convention="onnx")
        theirs = onnx_size("ConvTranspose", n, _attrs(k, s, 1, "SAME_UPPER", output_padding=[op]),
                           weight=(1, 1, k))  # fmt: skip
        assert theirs != n * s


def test_symbolic_same_is_ceil_for_onnx():
    n = sp.Symbol("n", integer=True, positive=True)
    r = conv_padding(n, 3, 2, "SAME_LOWER", 2, convention="onnx")
    assert r.size == sp.ceiling(n / 2)
    for value in range(1, 20):
        lo, hi = (int(p.subs(n, value)) for p in r.pads)
        assert lo - hi in (0, 1)
        assert onnx_size("Conv", value, _attrs(3, 2, 2, (lo, hi)), (1, 1, 3)) == -(-value // 2)


def _reference(op: str, x: list[float], attrs: dict, weight: list[float] | None = None):
    from onnx.reference import ReferenceEvaluator

    shape = None if weight is None else (1, 1, len(weight))
    model = _model(op, len(x), attrs, shape)
    if weight is not None:  # the initialiser holds 1..k; use the weight given
        model.graph.initializer[0].CopyFrom(
            helper.make_tensor("w", TensorProto.FLOAT, shape, list(weight))
        )
    xa = np.array(x, np.float32).reshape(1, 1, len(x))
    return ReferenceEvaluator(model).run(None, {"x": xa})[0][0, 0].tolist()


def _row(array) -> list[float]:
    return [float(v) for v in array.tolist()[0][0]]


def test_average_pool_divisor_matches_the_reference_evaluator():
    """count_include_pad 0 (ONNX's default) and 1, SAME and pads below the kernel."""
    import derive

    rng, compared = random.Random(14), 0
    for _ in range(40):
        n, k, s = rng.randint(2, 9), rng.randint(2, 4), rng.randint(1, 3)
        pads = (rng.randint(0, k - 1), rng.randint(0, k - 1))
        padding = rng.choice(("SAME_UPPER", "SAME_LOWER", pads))
        if isinstance(padding, str) and (-(-n // s) - 1) * s + k - n < 0:
            continue  # the reference evaluator does not clamp SAME's padding at 0 and fails
        count = rng.choice((None, True))
        x = [float(rng.randint(-5, 5)) for _ in range(n)]
        pads = padding if isinstance(padding, str) else ((0, 0), padding)
        try:
            ours = _row(derive.avg_pool2d([[x]], (1, k), (1, s), pads, count_include_pad=count,
                                          convention="onnx"))  # fmt: skip
        except ShapeError:
            continue
        attrs = _attrs(k, s, 1, padding, count_include_pad=int(bool(count)))
        attrs.pop("dilations")
        theirs = _reference("AveragePool", x, attrs)
        assert np.allclose(ours, theirs), (n, k, s, padding, count, ours, theirs)
        compared += 1
    assert compared >= 25


def test_conv_transpose_pads_match_the_reference_evaluator():
    """SAME_UPPER / SAME_LOWER, with output_shape or without: the pads ONNX chooses."""
    import derive

    rng, compared = random.Random(15), 0
    for _ in range(40):
        n, k, s = rng.randint(1, 5), rng.randint(1, 4), rng.randint(1, 3)
        auto_pad = rng.choice(("SAME_UPPER", "SAME_LOWER"))
        target = rng.choice((None, rng.randint(1, 3 * n + k)))
        x = [float(rng.randint(-3, 3)) for _ in range(n)]
        w = [float(rng.randint(-3, 3)) for _ in range(k)]
        try:
            ours = _row(derive.conv_transpose2d([[x]], [[[w]]], None, (1, s), auto_pad,
                                                output_size=None if target is None else (1, target),
                                                convention="onnx"))  # fmt: skip
        except ShapeError:
            continue
        attrs = _attrs(k, s, 1, auto_pad)
        if target is not None:
            attrs["output_shape"] = [target]
        theirs = _reference("ConvTranspose", x, attrs, w)
        assert np.allclose(ours, theirs), (n, k, s, auto_pad, target, ours, theirs)
        compared += 1
    assert compared >= 20


def test_output_shape_beyond_the_scatter_matches_the_reference_evaluator():
    """output_shape past the scatter by less than the stride, output_padding included (the
    reference evaluator's range under NOTSET and VALID; beyond it fails): the zeros added, and
    where, for every auto_pad."""
    import derive

    rng, compared = random.Random(16), {a: 0 for a in AUTO_PADS}
    for _ in range(80):
        n, k, s, op = rng.randint(1, 4), rng.randint(1, 3), rng.randint(2, 4), rng.choice((0, 1))
        auto_pad = rng.choice(AUTO_PADS)
        if op + 1 >= s:
            continue
        target = (n - 1) * s + k + op + rng.randint(1, s - 1 - op)
        x = [float(rng.randint(-3, 3)) for _ in range(n)]
        w = [float(rng.randint(-3, 3)) for _ in range(k)]
        attrs = _attrs(k, s, 1, auto_pad, output_shape=[target], output_padding=[op])
        theirs = _reference("ConvTranspose", x, attrs, w)
        try:
            ours = _row(derive.conv_transpose2d([[x]], [[[w]]], None, (1, s), auto_pad,
                                                output_padding=(0, op), output_size=(1, target),
                                                convention="onnx"))  # fmt: skip
        except ShapeError as exc:  # SAME_* may add zeros in front: sizes only
            assert "added zero" in str(exc) and auto_pad.startswith("SAME"), exc
            assert len(theirs) == target
            continue
        assert np.allclose(ours, theirs), (n, k, s, op, auto_pad, target, ours, theirs)
        compared[auto_pad] += 1
    assert compared["NOTSET"] >= 10 and compared["VALID"] >= 10, compared
