r"""Receptive-field, cost and memory columns for per-layer tables (``derive explain``).

:func:`columns` composes the analyses over a trace already made (one row per row of the
trace, every case of a forward that branches on sizes included) and returns the cells of
the columns asked for, their JSON fields and the totals. Formulas are printed in the
reader's form (:func:`derive.printing.text`, proved equal to the engine's expression); the
JSON fields carry the same text and, under ``*_sympy`` keys, SymPy's own form.

- receptive field: ``R_h x R_w`` (size), ``jump`` and ``start`` ($\ell(0)$, negative when
  output 0's field begins in the padding); a row whose output no longer carries the input's
  axes shows the interval all its entries together see (``all: [lo, hi]``), a row that
  depends on no input entry ``none``;
- cost: parameters and multiply-accumulates (torch's FLOPs are twice the MACs);
- memory: activation entries, and the bytes kept for backward that no earlier row keeps.

A row of a case torch rejects has empty cells; a column derive has no rule for on some row
is refused with the reason (:class:`~derive.calculus.graph.Refused`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from derive.printing import text

__all__ = ["Columns", "columns", "table"]


@dataclass
class Columns:
    """Headers, one list of cells per trace row, JSON fields per row, and the totals (one
    text per case, ``case k: ...`` when the forward branches)."""

    headers: list[str] = field(default_factory=list)
    cells: list[list[str]] = field(default_factory=list)
    json: list[dict[str, Any]] = field(default_factory=list)
    totals: dict[str, str] = field(default_factory=dict)
    totals_sympy: dict[str, str] = field(default_factory=dict)
    #: the columns derive refuses for this network, and why (their cells are ``-``)
    refused: dict[str, str] = field(default_factory=dict)


def _axes(values: Sequence[Any]) -> str:
    return " x ".join("-" if v is None else text(v) for v in values)


def _pairs(layer: Any, show: Callable[[Any], str]) -> list[list[str]]:
    return [[show(lo), show(hi)] for lo, hi in layer.interval()]


def _field_cells(layer: Any) -> tuple[list[str], dict[str, Any]]:
    if not layer.depends:
        return ["none", "", ""], {"interval": None}
    if not layer.spatial:
        spans = ", ".join(f"[{lo}, {hi}]" for lo, hi in _pairs(layer, text))
        return [f"all: {spans}", "", ""], {"interval": _pairs(layer, text),
                                           "interval_sympy": _pairs(layer, str)}  # fmt: skip
    cells = [_axes(layer.size), _axes(layer.jump), _axes(layer.start)]
    fields: dict[str, Any] = {}
    for name in ("size", "jump", "start"):
        values = getattr(layer, name)
        fields[name] = [None if v is None else text(v) for v in values]
        fields[f"{name}_sympy"] = [None if v is None else str(v) for v in values]
    fields["interval"], fields["interval_sympy"] = _pairs(layer, text), _pairs(layer, str)
    return cells, fields


def _formulas(pairs: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in pairs.items():
        out[name], out[f"{name}_sympy"] = text(value), str(value)
    return out


def _cases(values: Sequence[Any]) -> tuple[str, str]:
    """A total per case, as one text (``case 1: ...; case 2: ...`` when there are several)."""
    if len(set(values)) == 1:
        return text(values[0]), str(values[0])
    return ("; ".join(f"case {k + 1}: {text(v)}" for k, v in enumerate(values)),
            "; ".join(f"case {k + 1}: {v}" for k, v in enumerate(values)))  # fmt: skip


def _refused(headers: list[str]) -> tuple[list[str], None, Callable]:
    return headers, None, lambda r: (["-"] * len(headers), {})


def _parts(a: Any, out: Columns, receptive_field: bool, cost: bool, memory: bool,
           dtype: str) -> list[tuple[list[str], Sequence[Any] | None, Callable]]:  # fmt: skip
    """The columns asked for; one derive refuses for this network is ``-`` with its reason
    in :attr:`Columns.refused`."""
    from derive.calculus.graph import Refused

    parts: list[tuple[list[str], Sequence[Any] | None, Callable]] = []
    for name, wanted, build in (("receptive field", receptive_field, _field_part),
                                ("cost", cost, _cost_part), ("memory", memory, _memory_part)):
        if not wanted:
            continue
        try:
            parts.append(build(a, out, dtype))
        except Refused as exc:
            out.refused[name] = str(exc)
            parts.append(_refused(_HEADERS[name](dtype)))
    return parts


_HEADERS: dict[str, Callable[[str], list[str]]] = {
    "receptive field": lambda d: ["receptive field", "jump", "start"],
    "cost": lambda d: ["params", "MACs"],
    "memory": lambda d: ["activation", f"kept ({d} bytes)"],
}


def _field_part(a: Any, out: Columns, dtype: str) -> tuple:
    return _HEADERS["receptive field"](dtype), a.receptive_field().layers, _field_cells


def _cost_part(a: Any, out: Columns, dtype: str) -> tuple:
    c = a.cost()
    for name in ("params", "macs", "flops", "backward_flops"):
        out.totals[name], out.totals_sympy[name] = _cases([getattr(t, name) for t in c.cases])
    return _HEADERS["cost"](dtype), c.layers, lambda r: (
        [text(r.cost.params), text(r.cost.macs)],
        _formulas({"params": r.cost.params, "macs": r.cost.macs, "flops": r.cost.flops}))


def _memory_part(a: Any, out: Columns, dtype: str) -> tuple:
    m = a.memory(dtype)
    for name in ("activation_bytes", "saved_bytes"):
        out.totals[name], out.totals_sympy[name] = _cases(m.per_case(name))
    return _HEADERS["memory"](dtype), m.layers, lambda r: (
        [text(r.elements), text(r.kept_bytes())],
        _formulas({"activation_elements": r.elements, "kept_bytes": r.kept_bytes()}))


def columns(
    net: Any, trace: Any, receptive_field: bool = False, cost: bool = False,
    memory: bool = False, dtype: str = "float32",
) -> Columns:  # fmt: skip
    """The columns asked for, one row per row of ``trace`` (a trace of ``net``)."""
    from derive.calculus.analysis import analyse_trace

    a = analyse_trace(trace, net)
    out = Columns()
    parts = _parts(a, out, receptive_field, cost, memory, dtype)
    for headers, _, _ in parts:
        out.headers += headers
    analysed = {g.case: iter(range(k, k + len(g.rows)))
                for g, k in zip(a.graphs, _starts(a.graphs))}  # fmt: skip
    for layer in trace.layers:
        rows = analysed.get(layer.case)
        index = next(rows) if rows is not None else None
        cells: list[str] = []
        fields: dict[str, Any] = {}
        for headers, records, cell in parts:
            if index is None:
                cells += [""] * len(headers)
                continue
            c_, f_ = cell(None if records is None else records[index])
            cells += c_
            fields.update(f_)
        out.cells.append(cells)
        out.json.append(fields)
    return out


def _starts(graphs: Sequence[Any]) -> list[int]:
    out, k = [], 0
    for g in graphs:
        out.append(k)
        k += len(g.rows)
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
