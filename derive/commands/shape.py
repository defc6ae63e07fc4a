"""``derive shape``: the output-size formula of one layer along one axis."""

from __future__ import annotations

import argparse
import json
import sys

import sympy as sp

from derive import printing
from derive.errors import ShapeError
from derive.grammar import parse_size
from derive.ops import OPS, Op

__all__ = ["HELP", "configure", "run", "parse_padding", "compute"]

#: the operations on the command line, by their registry ``cli`` name
COMMANDS: dict[str, Op] = {op.cli: op for op in OPS.values()}



def _listing(names: list[str], last: str) -> str:
    """``a, b and c`` (or ``or``)."""
    return ", ".join(names[:-1]) + f" {last} " + names[-1] if len(names) > 1 else names[0]


HELP = f"print the output-size formula of a {_listing(list(COMMANDS), 'or')} layer (one axis)"

#: option, its command-line default, for each shape parameter the options set
_OPTIONS: dict[str, tuple[str, object]] = {
    "stride": ("--stride", None),
    "padding": ("--padding", "0"),
    "dilation": ("--dilation", "1"),
    "ceil_mode": ("--ceil-mode", False),
    "output_padding": ("--output-padding", "0"),
}


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


def _takers(name: str) -> str:
    """The command-line names of the operations that take parameter ``name``."""
    return _listing([cli for cli, op in COMMANDS.items() if op.takes(name, shape=True)], "and")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("operation", choices=tuple(COMMANDS))
    parser.add_argument("--size", required=True, help="input size: an integer or e.g. H, 2*H+1")
    parser.add_argument("--kernel", required=True, help="kernel_size")
    parser.add_argument("--stride", default=None, help="stride (pool: defaults to the kernel)")
    parser.add_argument("--padding", default="0", help="N, LO,HI, same or valid")
    parser.add_argument("--dilation", default="1")
    parser.add_argument(
        "--ceil-mode", action="store_true", help=f"ceil_mode ({_takers('ceil_mode')})"
    )
    parser.add_argument(
        "--output-padding", default="0", help=f"output_padding ({_takers('output_padding')})"
    )
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--latex", action="store_true", help="print the formula as LaTeX")
    fmt.add_argument("--json", action="store_true", help="print a JSON object")
    fmt.add_argument(
        "--url", action="store_true", help="print the link to this layer in the site's explorer"
    )


def _read(name: str, text: object) -> object:
    """One option's value, read with derive's grammar."""
    if name == "padding":
        return parse_padding(text)  # type: ignore[arg-type]
    if name == "ceil_mode":
        return bool(text)
    return parse_size(text, name)  # type: ignore[arg-type]


def compute(args: argparse.Namespace) -> sp.Expr:
    """The size formula of ``args.operation``, through its registry entry."""
    op = COMMANDS[args.operation]
    size = parse_size(args.size, "size")
    kernel = parse_size(args.kernel, "kernel")
    given = {name: getattr(args, name) for name in _OPTIONS}
    values = {
        name: _read(name, text)
        for name, text in given.items()
        if text is not None and name != "output_padding" and op.takes(name, shape=True)
    }
    for name, (flag, default) in _OPTIONS.items():
        if given[name] != default and not op.takes(name, shape=True):
            raise ShapeError(f"{flag} applies to {_takers(name)} only, not {args.operation}")
    if op.takes("output_padding", shape=True):
        values["output_padding"] = _read("output_padding", given["output_padding"])
    return op.size(size, kernel, **values)


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
