"""``derive solve``: the inverse questions on the command line, with ``derive shape``'s grammar.

- ``derive solve input OP --output M --kernel K ...``: every input size giving ``M`` outputs;
- ``derive solve padding OP --size N --output M --kernel K ...``: the paddings giving it, and
  torch's symmetric ``padding=p`` among them;
- ``derive solve smallest --layer "conv --kernel 5" --layer "pool --kernel 2" ...``: the least
  input a stack accepts (each ``--layer`` is a ``derive shape`` line without ``--size``).

Sizes are read by :mod:`derive.grammar` (integers, names, ``+ - * //``): nothing is evaluated.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys

import sympy as sp

from derive import printing
from derive.commands.shape import COMMANDS, add_convention_options, layer_values
from derive.errors import ShapeError
from derive.grammar import parse_size
from derive.ops import Op, TransposedConvolution
from derive.params import pool_stride
from derive.solve import Layer, input_sizes, paddings, smallest_input

__all__ = ["HELP", "configure", "run", "layer_of", "PADDED"]

HELP = "solve the inverse questions: which inputs or paddings give an output size"


def _padded(op: Op) -> bool:
    """Whether ``derive solve padding`` answers ``op``: it takes a padding, and is not a
    transposed layer (whose crop :func:`derive.solve.paddings` refuses to solve for)."""
    return op.takes("padding", shape=True) and not isinstance(op, TransposedConvolution)


#: the operations ``derive solve padding`` answers, by their registry ``cli`` name
PADDED: dict[str, Op] = {cli: op for cli, op in COMMANDS.items() if _padded(op)}


def _layer_options(parser: argparse.ArgumentParser, output: bool = True) -> None:
    parser.add_argument("operation", choices=tuple(COMMANDS))
    parser.add_argument("--kernel", required=True, help="kernel_size")
    parser.add_argument("--stride", default=None, help="stride (pool: defaults to the kernel)")
    parser.add_argument("--padding", default="0", help="N, LO,HI or the convention's string")
    parser.add_argument("--dilation", default="1")
    parser.add_argument("--ceil-mode", action="store_true", help="ceil_mode (pooling)")
    parser.add_argument("--output-padding", default="0", help="output_padding (conv-transpose)")
    add_convention_options(parser)


def _format(parser: argparse.ArgumentParser) -> None:
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--latex", action="store_true", help="print formulas as LaTeX")
    fmt.add_argument("--json", action="store_true", help="print a JSON object")


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="question", metavar="QUESTION", required=True,
                                parser_class=type(parser))  # fmt: skip
    inputs = sub.add_parser("input", help="every input size giving --output outputs")
    _layer_options(inputs)
    inputs.add_argument("--output", required=True, help="the output size wanted")
    _format(inputs)
    pads = sub.add_parser("padding", help="the paddings giving --output outputs from --size")
    pads.add_argument("operation", choices=tuple(PADDED))
    for name in ("--size", "--output", "--kernel"):
        pads.add_argument(name, required=True)
    pads.add_argument("--stride", default=None)
    pads.add_argument("--dilation", default="1")
    _format(pads)
    least = sub.add_parser("smallest", help="the least input a stack of --layer accepts")
    example = '"conv --kernel 3"'
    least.add_argument("--layer", action="append", required=True,
                       help=f"one layer as derive shape reads it, e.g. {example}")  # fmt: skip
    least.add_argument("--output", default="1", help="outputs wanted from the last layer")
    _format(least)


def _layer_parser() -> argparse.ArgumentParser:
    from derive.cli import _Parser

    parser = _Parser(prog="derive solve smallest --layer", add_help=False)
    _layer_options(parser)
    return parser


def layer_of(args: argparse.Namespace) -> Layer:
    """The :class:`derive.solve.Layer` a command line describes."""
    op = COMMANDS[args.operation]
    values = layer_values(args, op)
    if "output_size" in values:
        raise ShapeError("--output-size fixes the output: there is nothing to solve")
    return Layer(op, parse_size(args.kernel, "kernel"), **values)  # type: ignore[arg-type]


def _show(expr: sp.Expr, latex: bool) -> str:
    return printing.latex(expr) if latex else printing.text(expr)


def _emit(args: argparse.Namespace, payload: dict[str, sp.Expr], text: str) -> int:
    if args.json:
        out = {k: {"formula": printing.text(v), "latex": printing.latex(v), "sympy": str(v)}
               for k, v in payload.items()}  # fmt: skip
        sys.stdout.write(json.dumps(out) + "\n")
    else:
        sys.stdout.write(text + "\n")
    return 0


def _inputs(args: argparse.Namespace) -> int:
    found = input_sizes(layer_of(args), parse_size(args.output, "output"))
    low, high = (_show(v, args.latex) for v in (found.low, found.high))
    if found.low.is_Integer and found.high.is_Integer and found.low > found.high:
        return _emit(args, {"low": found.low, "high": found.high}, "no input size")
    return _emit(args, {"low": found.low, "high": found.high}, f"{low} <= n <= {high}")


def _paddings(args: argparse.Namespace) -> int:
    op = PADDED[args.operation]
    output, size, kernel = (parse_size(getattr(args, n), n) for n in ("output", "size", "kernel"))
    values = layer_values(args, op)  # --stride, --dilation where op takes them (else refused)
    stride = values.get("stride", pool_stride(op.param("stride", shape=True).default, kernel))
    found = paddings(output, size, kernel, stride, values.get("dilation", 1), op)
    total, sym = found.total, found.symmetric
    lines = [
        f"before + after: {_show(total.low, args.latex)} <= P <= {_show(total.high, args.latex)}",
        f"padding=p (both sides, torch): {_show(sym.low, args.latex)} <= p <= "
        f"{_show(sym.high, args.latex)}",
    ]
    if total.low.is_Integer and total.high.is_Integer:
        pairs = found.pairs()
        lines.append("(before, after): " + (", ".join(map(str, pairs)) if pairs else "none"))
    payload = {"total_low": total.low, "total_high": total.high, "symmetric_low": sym.low,
               "symmetric_high": sym.high}  # fmt: skip
    return _emit(args, payload, "\n".join(lines))


def _smallest(args: argparse.Namespace) -> int:
    parser = _layer_parser()
    layers = [layer_of(parser.parse_args(shlex.split(text))) for text in args.layer]
    least = smallest_input(layers, parse_size(args.output, "output"))
    return _emit(args, {"size": least}, _show(least, args.latex))


def run(args: argparse.Namespace) -> int:
    questions = {"input": _inputs, "padding": _paddings, "smallest": _smallest}
    return questions[args.question](args)
