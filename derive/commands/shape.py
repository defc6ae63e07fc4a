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

__all__ = [
    "HELP",
    "configure",
    "run",
    "parse_padding",
    "compute",
    "layer_values",
    "add_convention_options",
    "COMMANDS",
]

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


def parse_padding(text: str, convention: object = None) -> object:
    """A padding spelling of the convention (``same``, ``valid``; ``SAME``...), one expression,
    or ``LO,HI``."""
    from derive.conventions import convention_named

    entry = convention_named(convention)  # type: ignore[arg-type]
    for spelling in entry.paddings:
        if text == spelling or (not entry.case_sensitive and text.lower() == spelling.lower()):
            return text
    if text in ("same", "valid"):
        return text
    parts = text.split(",")
    if len(parts) == 1:
        return parse_size(text, "padding")
    if len(parts) == 2:
        return (parse_size(parts[0], "padding"), parse_size(parts[1], "padding"))
    raise ShapeError(f"padding must be N, LO,HI or a padding string, got padding={text!r}")


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
        "--output-padding", default="0",
        help=f"output_padding ({_takers('output_padding')}); 'none': Keras infers it",
    )
    add_convention_options(parser)
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--latex", action="store_true", help="print the formula as LaTeX")
    fmt.add_argument("--json", action="store_true", help="print a JSON object")
    fmt.add_argument(
        "--url", action="store_true", help="print the link to this layer in the site's explorer"
    )


def add_convention_options(parser: argparse.ArgumentParser) -> None:
    """``--convention`` and ``--output-size`` (shared with ``derive solve``)."""
    from derive.conventions import CONVENTIONS

    parser.add_argument(
        "--convention", choices=tuple(CONVENTIONS), default=None,
        help="read padding as this framework does (default torch): tf and jax take SAME/VALID, "
        "keras valid/same/causal/full, onnx an auto_pad value or LO,HI pads",
    )  # fmt: skip
    parser.add_argument(
        "--output-size", default=None,
        help="conv-transpose: the output size asked for (torch's output_size, ONNX's and "
        "TensorFlow's output_shape)",
    )  # fmt: skip


def _read(name: str, text: object, convention: object = None) -> object:
    """One option's value, read with derive's grammar."""
    if name == "padding":
        return parse_padding(text, convention)  # type: ignore[arg-type]
    if name == "ceil_mode":
        return bool(text)
    if name == "output_padding" and isinstance(text, str) and text.lower() == "none":
        return None
    return parse_size(text, name)  # type: ignore[arg-type]


def layer_values(args: argparse.Namespace, op: Op) -> dict[str, object]:
    """The shape parameters of ``op`` given on the command line, read (``--convention`` too);
    an option the parser does not define counts as left at its default."""
    convention = getattr(args, "convention", None)
    given = {name: getattr(args, name, default) for name, (_, default) in _OPTIONS.items()}
    values = {
        name: _read(name, text, convention)
        for name, text in given.items()
        if text is not None and name != "output_padding" and op.takes(name, shape=True)
    }
    for name, (flag, default) in _OPTIONS.items():
        if given[name] != default and not op.takes(name, shape=True):
            raise ShapeError(f"{flag} applies to {_takers(name)} only, not {args.operation}")
    if op.takes("output_padding", shape=True):
        values["output_padding"] = _read("output_padding", given["output_padding"])
    if getattr(args, "output_size", None) is not None:
        if not op.takes("output_padding", shape=True):
            raise ShapeError(f"--output-size applies to conv-transpose only, not {args.operation}")
        values["output_size"] = parse_size(args.output_size, "output_size")
    if convention is not None:
        values["convention"] = convention
    return values


def compute(args: argparse.Namespace) -> sp.Expr:
    """The size formula of ``args.operation``, through its registry entry."""
    op = COMMANDS[args.operation]
    size = parse_size(args.size, "size")
    kernel = parse_size(args.kernel, "kernel")
    return op.size(size, kernel, **layer_values(args, op))


def run(args: argparse.Namespace) -> int:
    result = compute(args)
    if args.url and args.convention not in (None, "torch"):
        raise ShapeError("the explorer shows torch's convention only; drop --url or --convention")
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
