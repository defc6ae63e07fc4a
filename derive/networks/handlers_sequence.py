"""Handlers of recurrent layers, attention and embeddings' sequence functions.

``nn.RNN``/``nn.LSTM``/``nn.GRU`` run their own ``forward`` (torch's argument checks, the
initial states it builds, unbatched inputs); the fused built-ins they end with
(``torch.lstm``, ``torch.gru``, ``torch.rnn_tanh``, ``torch.rnn_relu`` and the cells) have
rules here: the output is $(L, N, D \\cdot H_\text{out})$ (batch first: $(N, L, \\dots)$),
with $H_\text{out}$ the size of the hidden state (``proj_size`` when set), and the final
states keep the initial states' shapes. ``F.multi_head_attention_forward`` (what
``nn.MultiheadAttention`` and the Transformer layers call) runs torch's own code.

This module imports torch.
"""

from __future__ import annotations

from typing import Any

import sympy as sp
import torch.nn.functional as F

from derive.networks.bind import dtype_of, handles, shape_of, tensor
from derive.networks.decompose import decomposed
from derive.networks.rules import Site, show_shape

__all__: list[str] = []


def _states(site: Site, hx: Any) -> list[tuple[sp.Expr, ...]]:
    items = list(hx) if isinstance(hx, (tuple, list)) else [hx]
    return [shape_of(site, h, "hx") for h in items]


def _recurrent(cell_count: int) -> Any:
    """``torch.lstm(input, hx, params, has_biases, num_layers, dropout, train, bidirectional,
    batch_first)`` and the GRU/RNN forms (one state)."""

    def handler(site: Site, args: tuple, kwargs: dict) -> Any:
        if len(args) < 9 or not isinstance(args[2], (tuple, list)):
            site.fail("packed sequences are not supported (derive follows padded batches)")
        x = shape_of(site, args[0])
        states = _states(site, args[1])
        bidirectional, batch_first = bool(args[7]), bool(args[8])
        if len(x) != 3:
            site.fail(f"input must have 3 dimensions, got {len(x)}")
        first = states[0]
        directions = 2 if bidirectional else 1
        length, batch = (x[1], x[0]) if batch_first else (x[0], x[1])
        for h in states:
            if len(h) != 3:
                site.fail(f"Expected hidden state to be 3-D, got {show_shape(h)}")
            site.require(sp.Eq(h[1], batch), lambda h=h: f"Expected hidden size "
                         f"(.., {batch}, ..), got {show_shape(h)}")  # fmt: skip
        site.static_for_export(length, "torch.export specialises a recurrent layer's "
                               "sequence length (its fused kernel takes no symbolic length)")
        inner = directions * first[-1]
        out = (batch, length, inner) if batch_first else (length, batch, inner)
        return (tensor(out, dtype_of(args[0])), *[tensor(h, dtype_of(args[0])) for h in states])

    return handler


handles("torch.lstm")(_recurrent(2))
handles("torch.gru", "torch.rnn_tanh", "torch.rnn_relu")(_recurrent(1))


def _cell(states: int) -> Any:
    def handler(site: Site, args: tuple, kwargs: dict) -> Any:
        x = shape_of(site, args[0])
        hx = _states(site, args[1]) if args[1] is not None else None
        w_ih = shape_of(site, args[2], "w_ih")
        site.require(sp.Eq(x[-1], w_ih[1]), lambda: f"input has inconsistent input_size: got "
                     f"{x[-1]} expected {w_ih[1]}")  # fmt: skip
        hidden = hx[0] if hx else (*x[:-1], w_ih[0] // (4 if states == 2 else 1))
        out = tensor(hidden, dtype_of(args[0]))
        return (out, tensor(hx[1] if hx else hidden, dtype_of(args[0]))) if states == 2 else out

    return handler


handles("torch.lstm_cell")(_cell(2))
handles("torch.gru_cell", "torch.rnn_tanh_cell", "torch.rnn_relu_cell")(_cell(1))

handles("F.multi_head_attention_forward", raw=True)(decomposed(F.multi_head_attention_forward))

