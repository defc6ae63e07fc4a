"""torch.export of every zoo network: derive's dynamic shapes against the naive ones.

For each network of :mod:`derive.networks.zoo`, three exports at the zoo's sample size:

- with the ``dynamic_shapes`` derive derives from the accepted sizes
  (:func:`derive.networks.export.spec_from_trace`);
- with a plain ``Dim("h")`` per symbolic size (no range, no multiple);
- with ``Dim.AUTO`` per symbolic size (torch chooses).

Each is reported as ``ok``, ``fails`` (torch raises) or ``specialises`` (an axis meant to be
dynamic comes out static), with its time. An exported program is then run at up to six other
sizes eager torch accepts (derive's exact set), near the sample: ``ok 2/6`` means it ran at 2
of them. A program that rejects sizes eager torch runs is specialised in effect (its range
or runtime assertions are narrower); derive's programs are run at sizes inside its
specification, where they must all run. The counts close the table.

Run: ``.venv/bin/python benchmarks/bench_export.py`` (it takes no options; ``--quick`` is
accepted and changes nothing: one export of each kind is already the least).
"""

from __future__ import annotations

import time
import warnings

import sympy as sp
import torch
from torch.export import Dim
from torch.export import export as torch_export

from derive.networks.admissible import solve_constraints
from derive.networks.export import export, spec_from_trace
from derive.networks.trace import trace
from derive.networks.zoo import ZOO


def outcome(fn) -> tuple[str, float, object]:
    start = time.perf_counter()
    try:
        program = fn()
    except Exception as exc:  # torch raises many types; the first line is the story
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return "fails", time.perf_counter() - start, first[:90]
    return "ok", time.perf_counter() - start, program


def specialised(program, axes) -> bool:
    placeholders = [n for n in program.graph.nodes if n.op == "placeholder"]
    val = placeholders[-1].meta.get("val")
    return any(isinstance(val.shape[a], int) for a in axes)


def naive(net, entry, x, kind):
    axes = [i for i, d in enumerate(entry.input_shape) if isinstance(d, sp.Symbol)]
    dims = {a: (Dim(f"d{a}") if kind == "Dim" else Dim.AUTO) for a in axes}
    state, seconds, result = outcome(lambda: torch_export(net, (x,), dynamic_shapes=(dims,)))
    if state == "ok" and specialised(result, axes):
        state = "specialises"
    return state, seconds, result


def nearby(entry, adm, inside) -> list[dict]:
    """Up to six points near the sample that ``inside`` accepts (one size moved at a time)."""
    points = []
    for s in adm.symbols:
        for step in (1, 2, 3, 5, -1, 8):
            for period in {1, *(r.period for b in adm.boxes for r in b.sizes[s].runs)}:
                point = dict(entry.sample)
                point[s] = entry.sample[s] + step * period
                if point[s] >= 1 and inside(point) and point not in points:
                    points.append(point)
                    break
    return points[:6]


def runs(net, program, entry, points) -> int:
    ok = 0
    for point in points:
        shape = tuple(point.get(d, d) if isinstance(d, sp.Symbol) else d for d in entry.input_shape)
        try:
            with torch.no_grad():
                program(torch.zeros(shape))
            ok += 1
        except Exception:  # a runtime assertion of the exported program
            pass
    return ok


def _inside(spec):
    def inside(point):
        for s, d in spec.symbols.items():
            if isinstance(d, int) and point[s] != d:
                return False
            if not isinstance(d, int) and not d.contains(point[s]):
                return False
        return True

    return inside


def row(entry) -> dict[str, tuple[str, float, str]]:
    """The three exports of one network, each with its outcome, time and sizes run."""
    net = entry.factory()
    t = trace(net, entry.input_shape)
    spec = spec_from_trace(t, entry.sample)
    adm = solve_constraints(t.constraints, t.symbols)
    x = spec.example_inputs()[0]
    done = {"derive": outcome(lambda: export(net, spec)), "Dim": naive(net, entry, x, "Dim"),
            "AUTO": naive(net, entry, x, "AUTO")}  # fmt: skip
    out = {}
    for key, (state, seconds, program) in done.items():
        tried = ""
        if state == "ok":
            inside = _inside(spec) if key == "derive" else adm.__contains__
            points = nearby(entry, adm, inside)
            good = runs(net, program.module(), entry, points)
            tried = f" {good}/{len(points)}"
            state = state if good == len(points) else "narrower"
        out[key] = (state, seconds, tried)
    return out


def main() -> None:
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    counts: dict[str, dict[str, int]] = {"derive": {}, "Dim": {}, "AUTO": {}}
    heads = ("derive spec", 'Dim("h")', "Dim.AUTO")
    print(f"{'network':16} " + " ".join(f"{h:>18}" for h in heads))
    for name, entry in ZOO.items():
        cells = []
        for key, (state, seconds, tried) in row(entry).items():
            counts[key][state] = counts[key].get(state, 0) + 1
            cells.append(f"{state}{tried} {seconds:4.1f} s")
        print(f"{name:16} " + " ".join(f"{c:>18}" for c in cells))
    for key, label in (("derive", "derive's specification"), ("Dim", 'plain Dim("h")'),
                       ("AUTO", "Dim.AUTO")):  # fmt: skip
        parts = ", ".join(f"{v} {k}" for k, v in sorted(counts[key].items()))
        print(f"{label}: {parts} (of {len(ZOO)}; 'narrower': the program rejects sizes eager "
              "torch runs)")


if __name__ == "__main__":
    main()
