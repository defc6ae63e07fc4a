"""``derive verify``: prove every claim derive makes and sweep PyTorch.

Prints one line per claim (proved / checked on a finite range / FAILED, with its time),
the count of claims by kind, then the sweep's counts and its disagreements with their
configurations. ``--json`` prints ``{"proofs": {...}, "numeric": {...}, "kinds": {...}}``
instead (disagreements then go to stderr). The exit status is 1 when anything failed. A
progress bar is drawn on stderr when it is a terminal.
"""

from __future__ import annotations

import argparse
import json
import sys

from derive.verify.settings import DEFAULT_ELEMENTS, QUICK_CONFIGS, QUICK_ELEMENTS

__all__ = ["HELP", "configure", "run"]

HELP = "prove derive's claims (SymPy) and compare the engine with PyTorch on a large grid"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true", help="print a JSON object instead of the table"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"a sample only: {QUICK_CONFIGS:,} configurations and {QUICK_ELEMENTS} element cases",
    )
    parser.add_argument(
        "--configs",
        type=int,
        default=None,
        metavar="N",
        help="sample N shape configurations (default: the full grid)",
    )
    parser.add_argument(
        "--elements",
        type=int,
        default=None,
        metavar="N",
        help=f"2-D element cases compared with torch (default: {DEFAULT_ELEMENTS})",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of every sample (default 0)")
    parser.add_argument("--no-sweep", action="store_true", help="proofs only, no torch")
    parser.add_argument(
        "--claim",
        action="append",
        default=None,
        metavar="ID",
        help="only this claim, or a group such as dv or book (repeatable)",
    )
    bar = parser.add_mutually_exclusive_group()
    bar.add_argument(
        "--progress",
        dest="progress",
        action="store_true",
        default=None,
        help="always draw the progress bar on stderr",
    )
    bar.add_argument("--no-progress", dest="progress", action="store_false")


class _Bar:
    """A one-line progress bar on stderr, redrawn in place."""

    def __init__(self) -> None:
        self.last = ""

    def __call__(self, label: str, done: int, total: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        text = f"\r{label:<6} [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,}"
        if text != self.last:
            sys.stderr.write(text)
            sys.stderr.flush()
            self.last = text

    def close(self) -> None:
        if self.last:
            sys.stderr.write("\r" + " " * (len(self.last) + 2) + "\r")
            sys.stderr.flush()


def run(args: argparse.Namespace) -> int:
    from derive.errors import ShapeError
    from derive.verify.report import format_summary, format_table, run_verification, to_json

    for name in ("configs", "elements"):
        value = getattr(args, name)
        if value is not None and value < 0:
            raise ShapeError(f"--{name} must be non-negative, got --{name}={value}")
    show = sys.stderr.isatty() if args.progress is None else args.progress
    bar = _Bar() if show else None
    try:
        report = run_verification(
            configs=args.configs,
            elements=args.elements,
            seed=args.seed,
            quick=args.quick,
            sweep=not args.no_sweep,
            only=args.claim,
            progress=bar,
        )
    finally:
        if bar is not None:
            bar.close()
    if args.claim and not report.results:
        raise ShapeError(f"no claim or group named {', '.join(args.claim)}")
    if args.json:
        sys.stdout.write(json.dumps(to_json(report)) + "\n")
        if report.sweep is not None:
            for item in report.sweep.disagreements:
                sys.stderr.write(f"disagreement: {item}\n")
    else:
        sys.stdout.write(format_table(report) + "\n\n" + format_summary(report) + "\n")
    return 0 if report.ok else 1
