"""Receptive-field, cost and memory columns for per-layer tables (``derive explain``).

:func:`columns` analyses a network once and returns, for each row of a trace (matched by
path, in order: a module called twice has two rows), the cells of the columns asked for,
their JSON fields and the totals. Formulas are printed in the reader's form
(:func:`derive.printing.text`).

- receptive field: ``R_h x R_w`` (size), ``jump`` and ``start`` ($\\ell(0)$, negative when
  output 0's field begins in the padding); a row without spatial axes shows the input
  interval every entry sees;
- cost: parameters and multiply-accumulates (torch's FLOPs are twice the MACs);
- memory: activation entries, and the bytes kept for backward that no earlier row keeps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from derive.printing import text

__all__ = ["Columns", "columns", "table"]


@dataclass
class Columns:
    """Headers, one list of cells per trace row, JSON fields per row, and the totals."""

    headers: list[str] = field(default_factory=list)
    cells: list[list[str]] = field(default_factory=list)
    json: list[dict[str, Any]] = field(default_factory=list)
    totals: dict[str, str] = field(default_factory=dict)


def _axes(values: Sequence[Any]) -> str:
    return " x ".join("-" if v is None else text(v) for v in values)


def _field_cells(layer: Any) -> tuple[list[str], dict[str, Any]]:
    if not layer.spatial:
        spans = ", ".join(f"[{text(lo)}, {text(hi)}]" for lo, hi in layer.interval())
        return [f"all: {spans}", "", ""], {"interval": [[str(lo), str(hi)] for lo, hi in
                                                      layer.interval()]}  # fmt: skip
    cells = [_axes(layer.size), _axes(layer.jump), _axes(layer.start)]
    return cells, {"size": [str(v) for v in layer.size], "jump": [str(v) for v in layer.jump],
                   "start": [str(v) for v in layer.start],
                   "interval": [[str(lo), str(hi)] for lo, hi in layer.interval()]}  # fmt: skip


def columns(
    net: Any, shape: Sequence[object], rows: Sequence[Any], receptive_field: bool = False,
    cost: bool = False, memory: bool = False, dtype: str = "float32",
) -> Columns:  # fmt: skip
    """The columns asked for, matched to ``rows`` (records with ``path``) by path and order."""
    from derive.calculus import analyse

    a = analyse(net, shape)
    out = Columns()
    parts: list[tuple[list[str], Any, Any]] = []
    if receptive_field:
        parts.append((["receptive field", "jump", "start"], a.receptive_field().layers,
                      _field_cells))  # fmt: skip
    if cost:
        c = a.cost()
        parts.append((["params", "MACs"], c.layers, lambda r: (
            [text(r.cost.params), text(r.cost.macs)],
            {"params": str(r.cost.params), "macs": str(r.cost.macs),
             "flops": str(r.cost.flops)})))  # fmt: skip
        out.totals.update(params=text(c.params), macs=text(c.macs), flops=text(c.flops),
                          backward_flops=text(c.total.backward_flops))  # fmt: skip
    if memory:
        m = a.memory(dtype)
        parts.append((["activation", f"kept ({dtype} bytes)"], m.layers, lambda r: (
            [text(r.elements), text(r.kept_bytes())],
            {"activation_elements": str(r.elements), "kept_bytes": str(r.kept_bytes())})))
        out.totals.update(activation_bytes=text(m.activation_bytes),
                          saved_bytes=text(m.saved_bytes))  # fmt: skip
    for headers, _, _ in parts:
        out.headers += headers
    for path in _matched(rows, a):
        cells, fields = [], {}
        for headers, records, cell in parts:
            if path is None:
                cells += [""] * len(headers)
                continue
            c_, f_ = cell(records[path])
            cells += c_
            fields.update(f_)
        out.cells.append(cells)
        out.json.append(fields)
    return out


def _matched(rows: Sequence[Any], a: Any) -> list[int | None]:
    """For each trace row, the index of the analysis row with the same path and occurrence."""
    seen: dict[str, list[int]] = {}
    for k, node in enumerate(a.nodes):
        seen.setdefault(node.path, []).append(k)
    used: dict[str, int] = {}
    out: list[int | None] = []
    for row in rows:
        n = used.get(row.path, 0)
        used[row.path] = n + 1
        found = seen.get(row.path, [])
        out.append(found[n] if n < len(found) else None)
    return out


def table(rows: list[list[str]]) -> str:
    """A plain-text table: the first row is the header, underlined.

    >>> print(table([["a", "bb"], ["ccc", "d"]]))
    a    bb
    ---  --
    ccc  d
    """
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for k, row in enumerate(rows):
        lines.append("  ".join(f"{v:<{w}}" for v, w in zip(row, widths)).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)

