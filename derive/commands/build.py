"""``derive build``: regenerate the worked examples (pages, notebooks, figures) from their specs."""

from __future__ import annotations

import argparse
import sys

__all__ = ["HELP", "configure", "run"]

HELP = "regenerate docs/examples/ (and provider pages) from examples/*.toml, only what changed"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--root", default=".", help="project directory holding examples/ and docs/ (default: .)"
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--force", action="store_true", help="regenerate everything")
    mode.add_argument(
        "--check",
        action="store_true",
        help="change nothing; list what is stale and exit with status 1 if anything is",
    )


def run(args: argparse.Namespace) -> int:
    """Build; a :class:`derive.specs.BuildError` (a spec or a check that fails, a file in the
    way) is reported in one line, exit status 2, as :mod:`derive.cli` reports a ShapeError."""
    from derive.build import BuildError, build  # light: the heavy parts load when needed

    try:
        return build(args.root, force=args.force, check=args.check)
    except BuildError as exc:
        sys.stderr.write(f"derive: error: {exc}\n")
        return 2
