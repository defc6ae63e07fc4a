"""torch's answers over a grid: the output length of every configuration, or which check raised.

torch is imported inside the functions only. Each configuration runs once through the
functional call (``torch.nn.functional.<op>1d``) on a cached zero tensor; where torch raises,
its message is classified by :data:`TORCH_CHECKS` into the arguments it is about, so that the
sweep can compare them with the argument of the engine's guard. torch's answers do not depend
on the engine, so they are kept per grid for the life of the process (a verification run
after a patched engine asks torch nothing again).
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from derive.errors import first_line
from derive.verify.grids import Grid

__all__ = [
    "TORCH_CHECKS",
    "REJECT",
    "ACCEPTED",
    "UNKNOWN",
    "TorchAnswers",
    "torch_answers",
    "classify",
]

REJECT = -1  # the length recorded where torch raises

#: a phrase of torch's message -> the arguments that message is about (torch 2.x wording)
TORCH_CHECKS: tuple[tuple[str, frozenset[str]], ...] = tuple(
    (phrase, frozenset(names.split()))
    for phrase, names in (
        ("Kernel size can't be greater than actual input size", "kernel_size"),
        ("kernel size should be greater than zero", "kernel_size"),
        ("kernel_size must be greater than zero", "kernel_size"),
        ("non-positive stride is not supported", "stride"),
        ("stride must be greater than zero", "stride"),
        ("stride should not be zero", "stride"),
        ("padding='same' is not supported for strided convolutions", "stride"),
        ("dilation should be greater than zero", "dilation"),
        ("dilation must be greater than zero", "dilation"),
        ("negative padding is not supported", "padding"),
        ("padding must be non-negative", "padding"),
        ("pad must be non-negative", "padding"),
        ("should be at most half of", "padding"),
        ("negative output_padding is not supported", "output_padding"),
        ("output padding must be smaller than either stride or dilation", "output_padding"),
        ("Output size is too small", "size kernel_size"),
        ("Invalid computed output size", "size kernel_size"),
        ("Only zero batch or zero channel inputs are supported", "size"),
        ("tensor with optional 0 dim batch size for input", "size"),
    )
)

#: the class of a configuration torch accepted, or whose message no phrase matches
ACCEPTED, UNKNOWN = -1, -2


def classify(message: str) -> int:
    """The index in :data:`TORCH_CHECKS` of the phrase in ``message``, or ``UNKNOWN``.

    >>> TORCH_CHECKS[classify("non-positive stride is not supported")][1]
    frozenset({'stride'})
    """
    for index, (phrase, _) in enumerate(TORCH_CHECKS):
        if phrase in message:
            return index
    return UNKNOWN


@dataclass(frozen=True)
class TorchAnswers:
    """``lengths[i]``: torch's output length (``REJECT`` where it raised); ``checks[i]``: the
    class of its message (:func:`classify`), ``ACCEPTED`` where it did not raise."""

    lengths: np.ndarray
    checks: np.ndarray
    messages: dict[int, str]  # the first line of torch's message, by configuration


def _caller(grid: Grid) -> Callable[[dict[str, Any]], Any]:
    """A function running one configuration (torch's argument names) through torch."""
    import torch
    import torch.nn.functional as F

    zeros: dict[int, Any] = {}

    def tensor(size: int):
        if size not in zeros:
            zeros[size] = torch.zeros(1, 1, max(size, 0))
        return zeros[size]

    fn = getattr(F, grid.label)
    weighted = grid.op.weighted

    def call(config: dict[str, Any]):
        kw = dict(config)
        x = tensor(kw.pop("size"))
        padding = kw.get("padding")
        if isinstance(padding, tuple):  # torch's 1-d layers take no pair: pad explicitly
            x = F.pad(x, padding)
            kw["padding"] = 0
        if weighted:
            return fn(x, tensor(kw.pop("kernel_size")), None, **kw)
        return fn(x, **kw)

    return call


def _key(grid: Grid) -> tuple[str, bool, str]:
    digest = hashlib.sha1()
    for name, col in grid.columns.items():
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(col).tobytes())
    return grid.label, grid.edge, digest.hexdigest()


_CACHE: dict[tuple[str, bool, str], TorchAnswers] = {}


def torch_answers(grid: Grid, tick: Callable[[int], None]) -> TorchAnswers:
    """torch's answer for every configuration of ``grid`` (cached per grid)."""
    key = _key(grid)
    if key not in _CACHE:
        if len(_CACHE) > 32:
            _CACHE.clear()
        _CACHE[key] = _run(grid, tick)
    else:
        tick(len(grid))
    return _CACHE[key]


def _run(grid: Grid, tick: Callable[[int], None]) -> TorchAnswers:
    import torch

    call = _caller(grid)
    count = len(grid)
    lengths = np.empty(count, dtype=np.int64)
    checks = np.full(count, ACCEPTED, dtype=np.int64)
    known: dict[str, int] = {}
    messages: dict[int, str] = {}
    with torch.no_grad(), warnings.catch_warnings():
        # torch warns that 'same' with an even kernel may copy the input: not our concern here
        warnings.simplefilter("ignore", UserWarning)
        for idx, config in enumerate(grid.configs):
            try:
                lengths[idx] = call(config).shape[-1]
            except (RuntimeError, ValueError) as exc:
                text = first_line(exc)
                if text not in known:
                    known[text] = classify(text)
                lengths[idx], checks[idx], messages[idx] = REJECT, known[text], text
            if idx % 4096 == 4095:
                tick(4096)
    tick(count % 4096)
    return TorchAnswers(lengths, checks, messages)
