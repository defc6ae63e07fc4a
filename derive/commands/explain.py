"""``derive explain``: a network's output shape, layer by layer, as formulas in the input sizes.

    derive explain derive.networks.classic:lenet --input 1,1,H,W --admissible
    derive explain derive.networks.zoo:UNet --input 1,1,H,W --export

``MODULE:FACTORY`` names a function (or class) returning a ``torch.nn.Module``; it is
imported and called with no arguments, explicit user code as in any tool that loads a model
(the current directory is importable). ``--input`` is a comma-separated shape whose items
are read with derive's size grammar (integers, names, ``+ - * //``), never evaluated.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

from derive.errors import ShapeError
from derive.grammar import parse_size

__all__ = ["HELP", "configure", "run", "parse_shape", "load_factory"]

HELP = (
    "print a network's per-layer output shapes as formulas (and its admissible input sizes, "
    "and a torch.export dynamic_shapes specification)"
)

_FACTORY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$")


def parse_shape(text: str) -> tuple:
    """``"1,3,H,W"`` -> ``(1, 3, H, W)`` (each item through :func:`derive.grammar.parse_size`)."""
    items = text.split(",")
    if not text.strip() or any(not item.strip() for item in items):
        raise ShapeError(f"--input must be comma-separated sizes like 1,3,H,W, got {text!r}")
    return tuple(parse_size(item.strip(), "input") for item in items)


def load_factory(spec: str) -> Any:
    """Import ``package.module:callable`` and call it; the result must be an ``nn.Module``."""
    if not _FACTORY.match(spec):
        raise ShapeError(f"the network must be given as package.module:factory, got {spec!r}")
    import importlib
    import os

    from torch import nn

    module_name, attribute = spec.split(":")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ShapeError(f"cannot import {module_name!r}: {exc}") from None
    factory = getattr(module, attribute, None)
    if factory is None:
        raise ShapeError(f"{module_name!r} has no attribute {attribute!r}")
    if isinstance(factory, nn.Module):
        return factory
    if not callable(factory):
        raise ShapeError(f"{spec} is neither callable nor an nn.Module")
    try:
        net = factory()
    except Exception as exc:  # user code: report it in one line
        raise ShapeError(f"{spec}() raised {type(exc).__name__}: {exc}") from None
    if not isinstance(net, nn.Module):
        raise ShapeError(f"{spec}() returned {type(net).__name__}, not a torch.nn.Module")
    return net


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("network", help="package.module:factory returning an nn.Module")
    parser.add_argument("--input", required=True, help="input shape, e.g. 1,3,H,W")
    parser.add_argument(
        "--admissible", action="store_true", help="also solve for the accepted input sizes"
    )
    parser.add_argument(
        "--export", action="store_true",
        help="also print a torch.export dynamic_shapes specification derived from them",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print a JSON object instead")
    for flag, what in (("--receptive-field", "receptive field (size, jump, start) per layer"),
                       ("--cost", "parameters and multiply-accumulates per layer, and totals"),
                       ("--memory", "activations and bytes kept for backward (float32)")):
        parser.add_argument(flag, action="store_true", help=f"add columns: {what}")


def _shape_text(shape: Any, show: Any = None) -> str:
    """A shape as text, each size printed by ``show`` (:func:`derive.printing.text`: the
    reader's form, proved equal to the engine's expression)."""
    show = show or _formula
    if shape is None:
        return "(differs between the cases)"
    if shape and isinstance(shape[0], tuple):
        return " ; ".join(_shape_text(s, show) for s in shape)
    return "(" + ", ".join(show(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _sympy_shape(shape: Any) -> str:
    """The same with SymPy's own forms (JSON's ``*_sympy`` fields)."""
    return _shape_text(shape, str)


def _formula(expr: Any) -> str:
    """A size or a condition in the reader's form (:func:`derive.printing.text` for each
    side; ``=`` and ``!=`` for equations, ``mod`` for remainders, ``and``/``or``/``not``)."""
    import sympy as sp

    from derive.printing import text

    if isinstance(expr, (sp.And, sp.Or)):
        joiner = " and " if isinstance(expr, sp.And) else " or "
        return joiner.join(_grouped(a) for a in expr.args)
    if isinstance(expr, sp.Not):
        return f"not {_grouped(expr.args[0])}"
    if isinstance(expr, (sp.Eq, sp.Ne)):
        sign = " = " if isinstance(expr, sp.Eq) else " != "
        return _side(expr.lhs) + sign + _side(expr.rhs)
    if isinstance(expr, sp.Piecewise):  # a size that differs between sizes: each piece
        pieces = [_formula(v) if c is sp.true else f"{_formula(v)} if {_formula(c)}"
                  for v, c in expr.args]  # fmt: skip
        return "(" + "; else ".join(pieces) + ")"
    return text(expr)


def _grouped(expr: Any) -> str:
    import sympy as sp

    inner = _formula(expr)
    return f"({inner})" if isinstance(expr, (sp.And, sp.Or)) else inner


def _side(expr: Any) -> str:
    import sympy as sp

    from derive.printing import text

    if isinstance(expr, sp.Mod):
        a, b = expr.args
        left = text(a)
        return (f"({left})" if isinstance(a, sp.Add) else left) + f" mod {text(b)}"
    return text(expr)


def _table(rows: list[tuple[str, str, str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(2)]
    lines = []
    for i, (a, b, c) in enumerate(rows):
        lines.append(f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c}".rstrip())
        if i == 0:
            lines.append(f"{'-' * widths[0]}  {'-' * widths[1]}  {'-' * len(rows[0][2])}")
    return "\n".join(lines)


def _calculus(args: argparse.Namespace, net: Any, t: Any) -> Any:
    """The receptive-field, cost and memory columns asked for (None when none is), composed
    over the trace already made (no second run of the forward)."""
    want = {k: getattr(args, k, False) for k in ("receptive_field", "cost", "memory")}
    if not any(want.values()):
        return None
    from derive.calculus.columns import columns

    return columns(net, t, **want)


def _assumed(case: Any) -> str:
    return " and ".join(_formula(a) for a in case.assumptions) or "always"


def _layers_text(t: Any, calc: Any = None) -> list[str]:
    out: list[str] = []
    for i, case in enumerate(t.cases if len(t.cases) > 1 else [None]):
        picked = [j for j, layer in enumerate(t.layers) if case is None or layer.case == i]
        if case is not None:
            out += ["", f"case {i + 1}, assuming {_assumed(case)}:"]
            if case.rejection is not None:
                out.append(f"  rejected: {case.rejection}")
        rows = [("layer", "type", "output shape"), ("(input)", "", _shape_text(t.input_shape))]
        rows += [(t.layers[j].path or "(module)", t.layers[j].kind,
                  _shape_text(t.layers[j].shape)) for j in picked]  # fmt: skip
        out.append(_table(rows) if calc is None else _wide(rows, calc, picked))
    return out[1:] if out and out[0] == "" else out


def _admissible_text(admissible: Any) -> list[str]:
    out = ["", "admissible input sizes" + ("" if admissible.exact else " (outer bound)") + ":"]
    if not admissible.symbols:
        out.append("  every input of this shape" if admissible.accepts({}) else "  none")
        return out
    out += ["  " + line for line in admissible.to_text().splitlines()]
    formulas = [", ".join(v.to_formula(s.name) for s, v in box.sizes.items())
                for box in admissible.boxes]  # fmt: skip
    if any(f != b.to_text() for f, b in zip(formulas, admissible.boxes)):
        out += ["as formulas:"] + ["  " + f for f in formulas]
    smallest = ", ".join(
        f"{s} = {admissible.smallest(s)}" for s in admissible.symbols
        if admissible.smallest(s) is not None
    )  # fmt: skip
    if smallest:
        out.append(f"smallest accepted (each size on its own): {smallest}")
    return out


def _wide(rows: list, calc: Any, picked: list[int]) -> str:
    """The layer table with the calculus columns beside it (``picked``: the trace rows)."""
    from derive.calculus.columns import table

    heads = [calc.headers, [""] * len(calc.headers), *(calc.cells[j] for j in picked)]
    return table([[*r, *c] for r, c in zip(rows, heads)])


def _text(t: Any, admissible: Any, spec: Any, calc: Any = None) -> str:
    out = _layers_text(t, calc)
    out += ["", f"output: {_shape_text(t.output)}"]
    if calc is not None:
        out += [f"total {k.replace('_', ' ')}: {v}" for k, v in calc.totals.items()]
        out += [f"no {k} columns: {why}" for k, why in calc.refused.items()]
    if len(t.cases) > 1:
        out += ["", f"the forward branches on sizes: {len(t.cases)} cases, each assuming:"]
        out += [f"  case {i + 1}: {_assumed(c)}" for i, c in enumerate(t.cases)]
    if t.unused:
        out += ["", "inputs never used (their sizes do not matter):"]
        out += [f"  {u}" for u in t.unused]
    if t.constraints:
        out += ["", "conditions on the input sizes:"]
        out += [f"  {c.path} ({c.kind}): {_formula(c.condition)}" for c in t.constraints]
    if admissible is not None:
        out += _admissible_text(admissible)
    if spec is not None:
        head = "covers every accepted size" if spec.complete else "covers part of them"
        out += ["", f"torch.export dynamic shapes ({head}):", spec.text()]
    return "\n".join(out) + "\n"


def _payload(
    args: argparse.Namespace, t: Any, admissible: Any, spec: Any, calc: Any = None
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "network": args.network,
        "input": [_formula(d) for d in t.input_shape],
        "layers": [
            {"path": layer.path, "type": layer.kind, "shape": _shape_text(layer.shape),
             "shape_sympy": _sympy_shape(layer.shape), "case": layer.case}
            for layer in t.layers
        ],  # fmt: skip
        "output": _shape_text(t.output) if isinstance(t.output, tuple) else str(t.output),
        "output_sympy": _sympy_shape(t.output) if isinstance(t.output, tuple) else str(t.output),
        "cases": [{"assumed": [_formula(a) for a in c.assumptions],
                   "assumed_sympy": [str(a) for a in c.assumptions], "rejection": c.rejection}
                  for c in t.cases],  # fmt: skip
        "unused": list(t.unused),
        "conditions": [
            {"path": c.path, "type": c.kind, "condition": _formula(c.condition),
             "condition_sympy": str(c.condition)}
            for c in t.constraints
        ],
    }
    if admissible is not None:
        payload["admissible"] = {
            "exact": admissible.exact,
            "cases": [
                {s.name: v.to_text(s.name) for s, v in box.sizes.items()}
                for box in admissible.boxes
            ],
            "formulas": [
                {s.name: v.to_formula(s.name) for s, v in box.sizes.items()}
                for box in admissible.boxes
            ],
            "smallest": {s.name: admissible.smallest(s) for s in admissible.symbols},
        }
    for row, fields in zip(payload["layers"], calc.json if calc else ()):
        row.update(fields)
    if calc is not None and calc.totals:
        payload["totals"] = calc.totals
        payload["totals_sympy"] = calc.totals_sympy
    if calc is not None and calc.refused:
        payload["refused"] = calc.refused
    if spec is not None:
        payload["export"] = {"code": spec.text(), "complete": spec.complete,
                             "notes": list(spec.notes)}  # fmt: skip
    return payload


def run(args: argparse.Namespace) -> int:
    from derive.networks.admissible import solve_constraints
    from derive.networks.export import spec_from_trace
    from derive.networks.trace import trace

    shape = parse_shape(args.input)
    net = load_factory(args.network)
    t = trace(net, shape)
    wanted = args.admissible or args.export
    admissible = solve_constraints(t.constraints, t.symbols) if wanted else None
    spec = spec_from_trace(t) if args.export else None
    calc = _calculus(args, net, t)
    if args.json:
        sys.stdout.write(json.dumps(_payload(args, t, admissible, spec, calc)) + "\n")
    else:
        sys.stdout.write(_text(t, admissible, spec, calc))
    return 0
