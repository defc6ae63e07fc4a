"""The ``derive`` command: a thin layer over the package.

Each subcommand lives in :mod:`derive.commands` as a module with ``HELP``,
``configure(parser)`` and ``run(args) -> int``. Modules are imported when the command
line is parsed and must stay light at import time; heavy imports (torch, mkdocs,
nbclient) belong inside ``run``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from derive._version import __version__
from derive.errors import ShapeError

__all__ = ["main", "COMMANDS"]

#: subcommand name -> module implementing it
COMMANDS: dict[str, str] = {
    "shape": "derive.commands.shape",
    "build": "derive.commands.build",
    "verify": "derive.commands.verify",
    "explain": "derive.commands.explain",
    "solve": "derive.commands.solve",
}


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="derive",
        description="Exact, symbolic arithmetic of convolution and pooling layers.",
    )
    parser.add_argument("--version", action="version", version=f"derive {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        cmd = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.configure(cmd)
        cmd.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "_run", None) is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args._run(args) or 0)
    except ShapeError as exc:
        sys.stderr.write(f"derive: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("derive: interrupted\n")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
