"""Run the whole verification and present it: a table for people, JSON for machines.

>>> report = run_verification(sweep=False, only=["dv.1", "dv.6"])
>>> [(r.claim.id, r.outcome.status) for r in report.results]
[('dv.1', 'proved'), ('dv.6', 'proved')]
>>> to_json(report)["proofs"]["passed"], report.ok
(2, True)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from derive.verify.claims import CLAIMS, GROUPS, Claim, establish
from derive.verify.proofs import CHECKED, FAILED, PROVED, Outcome

__all__ = [
    "ClaimResult",
    "Report",
    "run_claims",
    "run_verification",
    "to_json",
    "format_table",
    "format_summary",
    "QUICK_CONFIGS",
    "QUICK_ELEMENTS",
]

#: configuration counts of ``derive verify --quick``
QUICK_CONFIGS, QUICK_ELEMENTS = 10_000, 60

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class ClaimResult:
    claim: Claim
    outcome: Outcome


@dataclass
class Report:
    """Outcomes of every claim and, unless skipped, the sweep's result."""

    results: list[ClaimResult]
    sweep: Any = None  # derive.verify.sweep.SweepResult
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(r.outcome.status == status for r in self.results)

    @property
    def ok(self) -> bool:
        return self.count(FAILED) == 0 and (self.sweep is None or self.sweep.failed == 0)


def _selects(name: str, claim_id: str) -> bool:
    """``dv.1`` selects that claim only; ``dv`` or ``dv.`` selects the group."""
    group = name.rstrip(".")
    return claim_id == name or claim_id.startswith(group + ".")


def run_claims(
    only: Sequence[str] | None = None, progress: Progress | None = None
) -> list[ClaimResult]:
    """Establish every claim, or only those named in ``only`` (an id, or a group like ``dv``)."""
    chosen = [c for c in CLAIMS if only is None or any(_selects(o, c.id) for o in only)]
    results = []
    for index, claim in enumerate(chosen):
        results.append(ClaimResult(claim, establish(claim)))
        if progress is not None:
            progress("proofs", index + 1, len(chosen))
    return results


def run_verification(
    configs: int | None = None,
    elements: int | None = None,
    seed: int = 0,
    quick: bool = False,
    sweep: bool = True,
    only: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> Report:
    """Prove the catalogue, then sweep torch (``quick``: 10,000 configurations, 60 elements)."""
    start = time.perf_counter()
    results = run_claims(only, progress)
    outcome = None
    if sweep:
        from derive.verify.sweep import DEFAULT_ELEMENTS, run_sweep

        if quick:
            configs = QUICK_CONFIGS if configs is None else configs
            elements = QUICK_ELEMENTS if elements is None else elements
        outcome = run_sweep(
            configs=configs,
            elements=DEFAULT_ELEMENTS if elements is None else elements,
            seed=seed,
            progress=None
            if progress is None
            else (lambda done, total: progress("sweep", done, total)),
        )
    return Report(results, outcome, time.perf_counter() - start)


def _item(result: ClaimResult) -> dict[str, Any]:
    claim, outcome = result.claim, result.outcome
    item: dict[str, Any] = {
        "id": claim.id,
        "group": claim.group,
        "status": outcome.status,
        "statement": claim.statement,
        "latex": claim.latex,
        "assumptions": claim.assumptions,
        "method": claim.method,
        "seconds": round(outcome.seconds, 4),
        "detail": outcome.detail,
    }
    if outcome.range is not None:
        item["range"] = outcome.range
    return item


def to_json(report: Report) -> dict[str, Any]:
    """``{"proofs": {"passed", "failed", "items"}, "numeric": {"configurations", "failed"}}``."""
    failed = report.count(FAILED)
    numeric = {"configurations": 0, "failed": 0}
    if report.sweep is not None:
        numeric = {"configurations": report.sweep.configurations, "failed": report.sweep.failed}
    return {
        "proofs": {
            "passed": len(report.results) - failed,
            "failed": failed,
            "items": [_item(r) for r in report.results],
        },
        "numeric": numeric,
    }


def format_table(report: Report, timings: bool = True) -> str:
    """One line per claim: id, status, time (and the range of a checked claim)."""
    width = max([len(r.claim.id) for r in report.results] + [5])
    lines = [f"{'claim':<{width}}  {'status':<8}" + ("  time" if timings else "")]
    group = None
    for r in report.results:
        if r.claim.group != group:
            group = r.claim.group
            lines.append(f"-- {GROUPS[group]}")
        line = f"{r.claim.id:<{width}}  {r.outcome.status:<8}"
        if timings:
            line += f"  {r.outcome.seconds:5.2f}s"
        if r.outcome.status == CHECKED:
            line += f"  only on {r.outcome.range}"
        if r.outcome.status == FAILED:
            line += f"  {r.outcome.detail}"
        lines.append(line)
    return "\n".join(lines)


def format_summary(report: Report) -> str:
    """Counts of proofs and of the sweep, and every disagreement with its configuration."""
    lines = [
        f"proofs: {report.count(PROVED)} proved, {report.count(CHECKED)} checked on finite ranges "
        f"only, {report.count(FAILED)} FAILED"
    ]
    sweep = report.sweep
    if sweep is not None:
        parts = ", ".join(f"{op} {count:,}" for op, count in sweep.by_op.items())
        lines.append(
            f"numeric: {sweep.configurations:,} configurations against torch ({parts}), "
            f"{sweep.failed} disagreements; {sweep.rejected:,} rejected by both; "
            f"{sweep.engine_sampled} also run through the engine numerically"
        )
        lines.extend(f"  note: {note}" for note in sweep.notes)
        lines.extend(f"  disagreement: {d}" for d in sweep.disagreements)
    lines.append(f"verify took {report.seconds:.1f} s: {'all passed' if report.ok else 'FAILURES'}")
    return "\n".join(lines)
