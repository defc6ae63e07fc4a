"""The sweep's 2-D element cases: the engine's exact elements against torch's in float64.

Each case is random (seeded): ``conv2d`` with groups, bias, strides, dilation and every
padding form; ``max_pool2d`` and ``avg_pool2d`` with ``ceil_mode``, ``stride=None``,
dilation, ``count_include_pad`` and ``divisor_override``; ``conv_transpose2d`` with groups,
bias, strides, dilation, padding and output padding; values small integers. The
engine's elements come from the registry (``op.elements``), torch's from
``torch.nn.functional.<op>2d``; both may reject, and then both must.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sympy as sp
from sympy.tensor.array.dense_ndim_array import DenseNDimArray

from derive.errors import ShapeError
from derive.ops import (
    AVG_POOL,
    CONV,
    CONV_TRANSPOSE,
    MAX_POOL,
    Op,
    Pooling,
    TransposedConvolution,
)

__all__ = ["ElementCase", "random_case", "compare_case", "entries"]


@dataclass(frozen=True)
class ElementCase:
    """One 2-D case: the operation, its keyword arguments, input, weight and bias."""

    op: Op
    params: dict[str, Any]
    input: list
    weight: list | None = None
    bias: list | None = None

    @property
    def label(self) -> str:
        return self.op.torch_function(2)

    def config(self) -> dict[str, Any]:
        return {
            "params": self.params,
            "input": self.input,
            "weight": self.weight,
            "bias": self.bias,
        }


def _tensor(rng: random.Random, *shape: int) -> list:
    if len(shape) == 1:
        return [rng.randint(-4, 4) for _ in range(shape[0])]
    return [_tensor(rng, *shape[1:]) for _ in range(shape[0])]


def _conv_case(rng: random.Random, height: int, width: int) -> ElementCase:
    groups = rng.choice([1, 1, 2])
    c_in, c_out = groups * rng.randint(1, 2), groups * rng.randint(1, 2)
    kh, kw = rng.randint(1, 4), rng.randint(1, 4)
    stride: Any = (rng.randint(1, 3), rng.randint(1, 3)) if rng.random() < 0.6 else 1
    dilation = rng.choice([1, 1, 2, (1, 2)])
    padding: Any = rng.choice(
        [
            rng.randint(0, 2),
            (rng.randint(0, 2), rng.randint(0, 2)),
            "valid",
            "same",
            ((rng.randint(0, 2), rng.randint(0, 2)), (rng.randint(0, 2), rng.randint(0, 2))),
        ]
    )
    if padding == "same" and rng.random() < 0.8:
        stride = 1
    batched = rng.random() < 0.2
    shape = (2, c_in, height, width) if batched else (c_in, height, width)
    bias = _tensor(rng, c_out) if rng.random() < 0.5 else None
    params = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    weight = _tensor(rng, c_out, c_in // groups, kh, kw)
    return ElementCase(CONV, params, _tensor(rng, *shape), weight, bias)


def _pool_case(rng: random.Random, op: Pooling, height: int, width: int) -> ElementCase:
    kernel = (rng.randint(1, 4), rng.randint(1, 4))
    stride = None if rng.random() < 0.3 else (rng.randint(1, 3), rng.randint(1, 3))
    padding = (rng.randint(0, 2), rng.randint(0, 2))
    params: dict[str, Any] = {
        "kernel_size": kernel,
        "stride": stride,
        "padding": padding,
        "ceil_mode": rng.random() < 0.5,
    }
    if op.reduction == "max":
        params["dilation"] = rng.choice([1, 1, 2])
    else:
        params["count_include_pad"] = rng.random() < 0.5
        params["divisor_override"] = rng.choice([None, None, None, rng.randint(1, 5)])
    return ElementCase(op, params, _tensor(rng, rng.randint(1, 2), height, width))


def _transpose_case(rng: random.Random, height: int, width: int) -> ElementCase:
    groups = rng.choice([1, 1, 2])
    c_in, per_group = groups * rng.randint(1, 2), rng.randint(1, 2)
    stride = (rng.randint(1, 3), rng.randint(1, 3))
    dilation = rng.choice([1, 1, 2])
    # mostly below max(stride, dilation), which torch requires; sometimes not
    top = [max(st, dilation) - (rng.random() < 0.9) for st in stride]
    output_padding = (rng.randint(0, top[0]), rng.randint(0, top[1]))
    params = {
        "stride": stride,
        "padding": (rng.randint(0, 2), rng.randint(0, 2)),
        "output_padding": output_padding,
        "groups": groups,
        "dilation": dilation,
    }
    weight = _tensor(rng, c_in, per_group, rng.randint(1, 3), rng.randint(1, 3))
    bias = _tensor(rng, per_group * groups) if rng.random() < 0.5 else None
    inputs = _tensor(rng, c_in, min(height, 4), min(width, 4))
    return ElementCase(CONV_TRANSPOSE, params, inputs, weight, bias)


def random_case(rng: random.Random) -> ElementCase:
    """A random 2-D case: convolution half the time, else max or average pooling or a
    transposed convolution."""
    op = rng.choice([CONV, CONV, CONV, MAX_POOL, AVG_POOL, CONV_TRANSPOSE])
    height, width = rng.randint(1, 7), rng.randint(1, 7)
    if isinstance(op, Pooling):
        return _pool_case(rng, op, height, width)
    if isinstance(op, TransposedConvolution):
        return _transpose_case(rng, height, width)
    return _conv_case(rng, height, width)


def _torch_2d(case: ElementCase):
    import torch
    import torch.nn.functional as F

    X = torch.tensor(case.input, dtype=torch.float64)
    fn = getattr(F, case.label)
    if not case.op.weighted:
        return fn(X, **case.params)
    if isinstance(case.op, TransposedConvolution):
        W = torch.tensor(case.weight, dtype=torch.float64)
        B = None if case.bias is None else torch.tensor(case.bias, dtype=torch.float64)
        return fn(X, W, B, **case.params)
    kw = dict(case.params)
    padding = kw.pop("padding")
    if isinstance(padding, tuple) and isinstance(padding[0], tuple):
        (top, bottom), (left, right) = padding
        X = F.pad(X, (left, right, top, bottom))
        padding = 0
    W = torch.tensor(case.weight, dtype=torch.float64)
    B = None if case.bias is None else torch.tensor(case.bias, dtype=torch.float64)
    return fn(X, W, B, padding=padding, **kw)


def _engine_2d(case: ElementCase):
    if case.op.weighted:
        return case.op.elements(case.input, case.weight, case.bias, **case.params)
    return case.op.elements(case.input, **case.params)


def _entry_differs(a: sp.Basic, b: float) -> bool:
    if a in (sp.oo, -sp.oo) or b in (float("inf"), float("-inf")):
        return float(a) != b
    if a is sp.nan or b != b:
        return not (a is sp.nan and b != b)
    return abs(float(a) - b) > 1e-9 * max(1.0, abs(b))


def entries(array: Any) -> list:
    """A SymPy array's entries in row-major order: a dense array's own flat storage (reading
    it index by index costs more than the comparison), else ``sympy.flatten``.

    >>> entries(sp.Array([[1, 2], [3, 4]]))
    [1, 2, 3, 4]
    """
    if isinstance(array, DenseNDimArray):
        return list(array._array)
    return sp.flatten(array)


def _compare_elements(ours: Any, theirs: Any) -> str | None:
    shape = tuple(ours.shape)
    if shape != tuple(theirs.shape):
        return f"shape {shape} vs {tuple(theirs.shape)}"
    values = theirs.reshape(-1).tolist()
    for pos, (a, b) in enumerate(zip(entries(ours), values)):
        if _entry_differs(a, b):
            return f"entry {pos}: {a} vs {b}"
    return None


def _shown(value: Any, raised: Callable[[Any], bool], prefix: str) -> str:
    return f"{prefix}: {value}" if raised(value) else f"shape {tuple(value.shape)}"


def compare_case(case: ElementCase) -> tuple[str, str] | None | bool:
    """``None`` when the engine and torch agree on every element, ``True`` when both reject,
    else ``(derive's answer, torch's answer)``."""
    try:
        ours: Any = _engine_2d(case)
    except ShapeError as exc:
        ours = exc
    except Exception as exc:  # a broken engine: report it as a disagreement
        return f"raised {exc!r}", "-"
    try:
        with warnings.catch_warnings():  # 'same' with an even kernel may copy: not our concern
            warnings.simplefilter("ignore", UserWarning)
            theirs: Any = _torch_2d(case)
    except (RuntimeError, ValueError) as exc:
        theirs = exc
    ours_raised, theirs_raised = isinstance(ours, ShapeError), isinstance(theirs, Exception)
    if ours_raised and theirs_raised:
        return True
    if ours_raised or theirs_raised:
        return (
            _shown(ours, lambda v: isinstance(v, ShapeError), "ShapeError"),
            _shown(theirs, lambda v: isinstance(v, Exception), "raises"),
        )
    diff = _compare_elements(ours, theirs)
    return (diff, "differs") if diff else None
