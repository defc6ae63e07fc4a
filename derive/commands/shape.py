"""``derive shape``: the output-size formula of one layer along one axis."""

from __future__ import annotations

import argparse
import json
import sys

import sympy as sp

from derive import printing
from derive.errors import ShapeError
from derive.grammar import parse_size
from derive.shapes import conv_output_size, conv_transpose_output_size, pool_output_size

__all__ = ["HELP", "configure", "run", "parse_padding"]

HELP = "print the output-size formula of a conv, pool or conv-transpose layer (one axis)"

OPERATIONS = ("conv", "pool", "conv-transpose")


def parse_padding(text: str) -> object:
    """``same``, ``valid``, one expression, or ``LO,HI``."""
    if text in ("same", "valid"):
        return text
    parts = text.split(",")
    if len(parts) == 1:
        return parse_size(text, "padding")
    if len(parts) == 2:
        return (parse_size(parts[0], "padding"), parse_size(parts[1], "padding"))
    raise ShapeError(f"padding must be N, LO,HI, 'same' or 'valid', got padding={text!r}")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("operation", choices=OPERATIONS)
    parser.add_argument("--size", required=True, help="input size: an integer or e.g. H, 2*H+1")
    parser.add_argument("--kernel", required=True, help="kernel_size")
    parser.add_argument("--stride", default=None, help="stride (pool: defaults to the kernel)")
    parser.add_argument("--padding", default="0", help="N, LO,HI, same or valid")
    parser.add_argument("--dilation", default="1")
    parser.add_argument("--ceil-mode", action="store_true", help="pooling's ceil_mode")
    parser.add_argument("--output-padding", default="0", help="conv-transpose only")
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--latex", action="store_true", help="print the formula as LaTeX")
    fmt.add_argument("--json", action="store_true", help="print a JSON object")
    fmt.add_argument(
        "--url", action="store_true", help="print the link to this layer in the site's explorer"
    )


def compute(args: argparse.Namespace) -> sp.Expr:
    size = parse_size(args.size, "size")
    kernel = parse_size(args.kernel, "kernel")
    stride = None if args.stride is None else parse_size(args.stride, "stride")
    padding = parse_padding(args.padding)
    dilation = parse_size(args.dilation, "dilation")
    if args.operation != "pool" and args.ceil_mode:
        raise ShapeError(f"--ceil-mode applies to pool only, not {args.operation}")
    if args.operation != "conv-transpose" and args.output_padding != "0":
        raise ShapeError(f"--output-padding applies to conv-transpose only, not {args.operation}")
    if args.operation == "conv":
        return conv_output_size(size, kernel, 1 if stride is None else stride, padding, dilation)
    if args.operation == "pool":
        return pool_output_size(size, kernel, stride, padding, dilation, args.ceil_mode)
    output_padding = parse_size(args.output_padding, "output_padding")
    return conv_transpose_output_size(
        size, kernel, 1 if stride is None else stride, padding, output_padding, dilation
    )


def run(args: argparse.Namespace) -> int:
    result = compute(args)
    if args.url:
        from derive.explorer.cli import shape_url  # the explorer only when asked for

        sys.stdout.write(shape_url(args) + "\n")
        return 0
    value = int(result) if result.is_Integer else None
    if args.json:
        payload = {
            "operation": args.operation,
            "formula": printing.text(result),
            "latex": printing.latex(result),
            "sympy": str(result),
            "value": value,
            "free_symbols": sorted(str(s) for s in result.free_symbols),
        }
        sys.stdout.write(json.dumps(payload) + "\n")
    elif args.latex:
        sys.stdout.write(printing.latex(result) + "\n")
    else:
        sys.stdout.write(printing.text(result) + "\n")
    return 0
