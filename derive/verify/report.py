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

from derive.forked import Forked
from derive.ops import Op
from derive.verify.claims import CLAIMS, GROUPS, KINDS, Claim, establish, kind_of
from derive.verify.proofs import CHECKED, FAILED, PROVED, Outcome
from derive.verify.settings import QUICK_CONFIGS, QUICK_ELEMENTS

__all__ = [
    "ClaimResult",
    "Report",
    "run_claims",
    "run_verification",
    "to_json",
    "format_table",
    "format_summary",
    "count_kinds",
    "QUICK_CONFIGS",
    "QUICK_ELEMENTS",
]


Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class ClaimResult:
    claim: Claim
    outcome: Outcome

    @property
    def kind(self) -> str:
        """The kind this claim counts as (:data:`derive.verify.claims.KINDS`)."""
        return kind_of(self.claim, self.outcome)


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


def _chosen(only: Sequence[str] | None) -> list[Claim]:
    """The claims ``only`` selects (every claim if None)."""
    return [c for c in CLAIMS if only is None or any(_selects(o, c.id) for o in only)]


def run_claims(
    only: Sequence[str] | None = None, progress: Progress | None = None
) -> list[ClaimResult]:
    """Establish every claim, or only those named in ``only`` (an id, or a group like ``dv``)."""
    chosen = _chosen(only)
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
    ops: tuple[Op, ...] | None = None,
) -> Report:
    """Prove the catalogue, then sweep torch (``quick``: :data:`QUICK_CONFIGS` configurations
    and :data:`QUICK_ELEMENTS` element cases; ``ops``: the grids of those operations only)."""
    start = time.perf_counter()
    chosen = _chosen(only)
    # the proofs (SymPy only) run in a forked child while this process sweeps torch
    proofs = Forked(lambda: [establish(c) for c in chosen]) if sweep else None
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
            ops=ops,
            progress=None
            if progress is None
            else (lambda done, total: progress("sweep", done, total)),
        )
    outcomes = proofs.result() if proofs is not None else None
    if outcomes is None or len(outcomes) != len(chosen):
        results = run_claims(only, progress)  # no fork here, or it failed: prove them now
    else:
        results = [ClaimResult(c, o) for c, o in zip(chosen, outcomes)]
        if progress is not None:
            progress("proofs", len(chosen), len(chosen))
    return Report(results, outcome, time.perf_counter() - start)


def count_kinds(report: Report) -> dict[str, int]:
    """How many claims of each kind (every kind listed, in order)."""
    out = dict.fromkeys(KINDS, 0)
    for r in report.results:
        out[r.kind] += 1
    return out


def _item(result: ClaimResult) -> dict[str, Any]:
    claim, outcome = result.claim, result.outcome
    item: dict[str, Any] = {
        "id": claim.id,
        "group": claim.group,
        "kind": result.kind,
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
    """``{"proofs": {"passed", "failed", "items"}, "numeric": {"configurations", "failed"},
    "kinds": {kind: count}}`` (the kinds of :data:`derive.verify.claims.KINDS`)."""
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
        "kinds": count_kinds(report),
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


def kind_lines(report: Report) -> list[str]:
    """One line per kind that has claims: count, what it is, failures."""
    failed = {kind: 0 for kind in KINDS}
    for r in report.results:
        failed[r.kind] += r.outcome.status == FAILED
    lines = []
    for kind, count in count_kinds(report).items():
        if count:
            note = f" ({failed[kind]} FAILED)" if failed[kind] else ""
            lines.append(f"{count:>4}  {KINDS[kind]}{note}")
    return lines


def sweep_line(sweep: Any) -> str:
    """The sweep's counts in one sentence."""
    parts = ", ".join(f"{op} {count:,}" for op, count in sweep.by_op.items())
    return (
        f"{sweep.configurations:,} configurations against torch ({parts}), "
        f"{sweep.failed} disagreements; {sweep.rejected:,} rejected by both, "
        f"{sweep.arguments_compared:,} of them with the argument named compared; "
        f"{sweep.engine_sampled:,} also run through the engine numerically "
        f"({sweep.boundary:,} on or next to a guard's boundary, {sweep.edge:,} across the sign "
        "boundaries, the rest a random sample)"
    )


def format_summary(report: Report) -> str:
    """Counts of proofs (by kind) and of the sweep, and every disagreement."""
    lines = [
        f"proofs: {report.count(PROVED)} proved, {report.count(CHECKED)} checked on finite ranges "
        f"only, {report.count(FAILED)} FAILED; by kind:"
    ]
    lines += ["  " + line for line in kind_lines(report)]
    sweep = report.sweep
    if sweep is not None:
        lines.append(f"numeric: {sweep_line(sweep)}")
        lines.extend(f"  note: {note}" for note in sweep.notes)
        lines.extend(f"  disagreement: {d}" for d in sweep.disagreements)
        if sweep.failed > len(sweep.disagreements):
            hidden = sweep.failed - len(sweep.disagreements)
            lines.append(f"  ... and {hidden:,} more disagreements (the first are shown)")
    lines.append(f"verify took {report.seconds:.1f} s: {'all passed' if report.ok else 'FAILURES'}")
    return "\n".join(lines)
