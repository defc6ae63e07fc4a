"""The site's Verification page, produced by running the verification.

:func:`render_page` runs every proof and the full default sweep (seed 0) and returns the
page's Markdown (arithmatex ``$...$`` / ``$$...$$``). Nothing on it depends on the clock:
no timings, no dates, so rebuilding gives the same bytes. ``derive build`` writes it to
``docs/verification.md``.

>>> from derive.verify.report import run_verification
>>> text = page_markdown(run_verification(sweep=False, only=["dv.1"]))
>>> text.splitlines()[0], "### `dv.1` - proved" in text
('# Verification', True)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from derive.render.md import code, table

if TYPE_CHECKING:  # the catalogue, numpy and the sweep load only when a page is written
    from derive.verify.report import ClaimResult, Report

__all__ = ["render_page", "page_markdown"]

#: disagreements shown on the page (all are counted; ``derive verify`` prints every one)
SHOWN_DISAGREEMENTS = 50

_INTRO = """\
# Verification

Every formula derive prints is a claim, and every claim is listed below with how it is
established. `derive verify` reproduces this page: it runs the same proofs and the same sweep
against PyTorch.

- **proved**: SymPy reduces the identity to `True` under the stated assumptions (integers,
  signs, the stated conditions) for the whole stated domain. Where SymPy cannot handle floors
  and ceilings alone, the proof uses the lemmas in the first section, themselves proved here,
  and splits into cases. Cases come only from three vetted splitters - division with
  remainder ($E = qD + r$, $0 \\le r < D$; parity is $D = 2$), a comparison and its negation,
  and a chain of these - each exhaustive by a lemma proved once (`lemma.split-division`,
  `lemma.split-compare`); any other case set is refused. A claim about arrays of symbols is
  proved **for the shapes named in its statement** only.
- **checked**: evaluated at every point of the finite range shown, and nothing more. These
  claims are *not* proved.
- **FAILED**: the identity did not reduce, or a check found a counterexample.

The engine's functions are looked up when the verification runs, so it is today's engine that
is verified: breaking a formula or an acceptance rule makes its proofs or the sweep fail (the
test suite does exactly that).
"""

_KIND_NOTES = {
    "general-direct": "SymPy's `expand` (sums combined term by term) gives 0 at once",
    "general-split": "over every integer, through a vetted case split or a lemma",
    "definitional": "SymPy's own definitions, on which the other proofs rest",
    "fixed-shape": "arrays of symbols of the shapes named in the statement only",
    "example": "a worked example evaluated exactly",
    "counterexample": "a universal statement refuted by an instance",
    "boundary": "a rejection and its acceptance twin, each for a whole symbolic family",
    "checked": "evaluated on a finite range only, not proved",
}


#: one claim's kind, in words
_KIND_ONE = {
    "general-direct": "general identity, reduces directly",
    "general-split": "general identity, by a case split or a lemma",
    "definitional": "definitional lemma",
    "fixed-shape": "fixed-shape identity",
    "example": "evaluated example",
    "counterexample": "counterexample",
    "boundary": "rejection/acceptance pair",
    "checked": "checked on a range only",
}


def _torch_version() -> str:
    try:
        import torch
    except ImportError:  # pragma: no cover - the sweep needs torch
        return "unavailable"
    return torch.__version__


def _kinds(report: Report) -> list[str]:
    from derive.verify.claims import KINDS
    from derive.verify.proofs import FAILED
    from derive.verify.report import count_kinds

    failed = {kind: 0 for kind in KINDS}
    for r in report.results:
        failed[r.kind] += r.outcome.status == FAILED
    rows = [
        [KINDS[kind], str(count), str(failed[kind]), _KIND_NOTES[kind]]
        for kind, count in count_kinds(report).items()
        if count
    ]
    return [table(["kind", "claims", "FAILED", "what it means"], rows), ""]


def _sweep(sweep) -> list[str]:
    lines = [
        f"- **{sweep.configurations:,} configurations** compared with PyTorch "
        f"{_torch_version()}: **{sweep.failed} disagreements**."
    ]
    lines += [f"    - `{op}`: {count:,}" for op, count in sweep.by_op.items()]
    lines += [
        f"- {sweep.rejected:,} configurations are rejected by both (derive raises `ShapeError` "
        f"where torch raises); for {sweep.arguments_compared:,} of them torch's message was "
        "matched to the argument of a guard of the engine's rule that holds there.",
        f"- Every configuration is decided by the engine's own acceptance rule and size formula, "
        f"compiled; in addition **{sweep.engine_sampled:,}** went through the engine's numeric "
        f"call one by one: the {sweep.boundary:,} on or next to a guard's boundary (where a "
        f"relation of the rule flips and decides acceptance), the {sweep.edge:,} of the edge "
        "grids (zero and negative values), and a random sample of the rest.",
    ]
    return lines


_SWEEP_TEXT = (
    "The sweep covers output sizes and rejections of `conv1d` (integer, asymmetric, `'same'`, "
    "`'valid'` padding, dilation), `max_pool1d` and `avg_pool1d` (`ceil_mode`, default stride, "
    "dilation), `conv_transpose1d` (output padding, dilation), each over a grid of small sizes, "
    "and the exact elements of random 2-D `conv2d` (groups, bias, asymmetric padding), "
    "`conv_transpose2d` (groups, bias, output padding), "
    "`max_pool2d` and `avg_pool2d` (`ceil_mode`, `count_include_pad`, `divisor_override`) cases "
    "against torch in float64."
)


def _summary(report: Report) -> list[str]:
    from derive.verify.proofs import CHECKED, FAILED, PROVED
    from derive.verify.sweep import KEPT

    proved, checked, failed = (report.count(x) for x in (PROVED, CHECKED, FAILED))
    lines = [
        "## Summary",
        "",
        f"- **{proved} claims proved**, **{checked} checked** on finite ranges only, "
        f"**{failed} FAILED**; by kind:",
        "",
    ]
    lines += _kinds(report)
    sweep = report.sweep
    if sweep is not None:
        lines += _sweep(sweep)
    lines += ["", _SWEEP_TEXT, ""]
    if sweep is not None and sweep.notes:
        lines += ["### Notes", ""] + [f"- {note}" for note in sweep.notes] + [""]
    if sweep is not None and sweep.disagreements:
        lines += ["### Disagreements", ""]
        lines += [f"- {code(str(d))}" for d in sweep.disagreements[:SHOWN_DISAGREEMENTS]]
        hidden = sweep.failed - min(len(sweep.disagreements), SHOWN_DISAGREEMENTS)
        if hidden > 0:
            lines.append(f"- ... and {hidden:,} more (`derive verify` lists the first {KEPT:,})")
        lines.append("")
    return lines


#: a paragraph under a group's heading
GROUP_NOTES = {
    "lemma": (
        "The proofs rest on two definitions: $\\lfloor x \\rfloor = c$ for the integer $c$ with "
        "$c \\le x < c + 1$ (*floor-window*) and $\\lceil x \\rceil = c$ for the integer $c$ with "
        "$c - 1 < x \\le c$ (*ceil-window*). A window is used only when both inequalities are "
        "decided from the signs of the case's symbols. The lemmas below are proved from them and "
        "applied by rewriting; the two *split* lemmas make every vetted case split exhaustive."
    ),
    "formula": (
        "The element identities for symbolic sizes (linearity, channels, 1x1 kernels, average "
        "pooling, stacking) are proved for the layer formulas written as indexed sums. The "
        "claims below check, entry by entry at concrete shapes, that the engine computes these "
        "formulas; the sweep compares the engine's elements with torch's."
    ),
    "rejection": (
        "Each claim has two sides, each a whole symbolic family: just past the boundary the "
        "first guard of the engine's rule that holds is the one on the named argument and the "
        "engine raises its message; on the boundary every guard is shown false and the engine "
        "gives a size. Where a symbolic value may fall on either side of a guard that selects "
        "the formula, the engine refuses to decide. The sweep compares the same rules with "
        "torch, configuration by configuration."
    ),
}


def _claim(result: ClaimResult) -> list[str]:
    from derive.verify.proofs import CHECKED, FAILED

    claim, outcome = result.claim, result.outcome
    lines = [f"### `{claim.id}` - {outcome.status}", "", claim.statement, "", "$$", claim.latex]
    lines += ["$$", ""]
    facts = [
        f"*Assumptions:* {claim.assumptions}",
        f"*Method:* {claim.method}",
        f"*Kind:* {_KIND_ONE[result.kind]}",
    ]
    if claim.source:
        facts.append(f"*Source:* {claim.source}")
    lines += [" · ".join(facts), ""]
    if outcome.status == CHECKED:
        lines += [f"**Checked only**, not proved, on `{outcome.range}`: {outcome.detail}.", ""]
    elif outcome.status == FAILED:
        lines += [f"**FAILED**: {code(outcome.detail)}", ""]
    else:
        lines += [f"Result: {outcome.detail}.", ""]
    return lines


def page_markdown(report: Report) -> str:
    """The page for a finished :class:`~derive.verify.report.Report`."""
    from derive.verify.claims import GROUPS
    from derive.verify.proofs import CHECKED

    lines = [_INTRO] + _summary(report)
    checked = [r for r in report.results if r.outcome.status == CHECKED]
    if checked:
        lines += ["### Only checked", ""]
        lines += [f"- `{r.claim.id}`: `{r.outcome.range}`" for r in checked]
        lines.append("")
    group = None
    for result in report.results:
        if result.claim.group != group:
            group = result.claim.group
            lines += [f"## {GROUPS[group]}", ""]
            if group in GROUP_NOTES:
                lines += [GROUP_NOTES[group], ""]
        lines += _claim(result)
    return "\n".join(lines).rstrip() + "\n"


def render_page() -> str:
    """Run the verification (full grid, seed 0) and return the Verification page's Markdown."""
    from derive.verify.report import run_verification

    return page_markdown(run_verification(seed=0))
