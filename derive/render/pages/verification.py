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

from derive.verify.claims import GROUPS
from derive.verify.proofs import CHECKED, FAILED, PROVED
from derive.verify.report import ClaimResult, Report, run_verification

__all__ = ["render_page", "page_markdown"]

#: disagreements shown on the page (all are counted; ``derive verify`` prints every one)
SHOWN_DISAGREEMENTS = 50

_INTRO = """\
# Verification

Every formula derive prints is a claim, and every claim is listed below with how it is
established. `derive verify` reproduces this page: it runs the same proofs and the same sweep
against PyTorch.

- **proved**: SymPy reduces the identity to `True` under the stated assumptions (integers,
  signs, divisibility). Where SymPy cannot handle floors and ceilings alone, the proof uses the
  lemmas in the first section, themselves proved here, and splits into cases (for instance
  $n = qs + r$ with $1 \\le r \\le s$); a cover check confirms the cases reach every point of a
  box, and a spot check evaluates both sides at sample points. A claim about arrays of symbols
  is proved **for the shapes named in its statement** only.
- **checked**: evaluated at every point of the finite range shown, and nothing more. These
  claims are *not* proved.
- **FAILED**: the identity did not reduce, or a check found a counterexample.

The engine's functions are looked up when the verification runs, so it is today's engine that
is verified: breaking a formula makes both its proofs and the sweep fail (the test suite does
exactly that).
"""


def _torch_version() -> str:
    try:
        import torch
    except ImportError:  # pragma: no cover - the sweep needs torch
        return "unavailable"
    return torch.__version__


def _summary(report: Report) -> list[str]:
    proved, checked, failed = (report.count(x) for x in (PROVED, CHECKED, FAILED))
    lines = [
        "## Summary",
        "",
        f"- **{proved} claims proved**, **{checked} checked** on finite ranges only, "
        f"**{failed} FAILED**.",
    ]
    sweep = report.sweep
    if sweep is not None:
        lines.append(
            f"- **{sweep.configurations:,} configurations** compared with PyTorch "
            f"{_torch_version()}: **{sweep.failed} disagreements**."
        )
        for op, count in sweep.by_op.items():
            lines.append(f"    - `{op}`: {count:,}")
        lines.append(
            f"- {sweep.rejected:,} configurations are rejected by both (derive raises `ShapeError` "
            f"where torch raises); {sweep.engine_sampled} were also run through the engine "
            "numerically, one by one."
        )
    lines += [
        "",
        "The sweep covers output sizes and rejections of `conv1d` (integer, asymmetric, `'same'`, "
        "`'valid'` padding, dilation), `max_pool1d` and `avg_pool1d` (`ceil_mode`, default "
        "stride, dilation), `conv_transpose1d` (output padding, dilation), each over a grid of "
        "small sizes, and the exact elements of random 2-D `conv2d` (groups, bias, asymmetric "
        "padding), "
        "`max_pool2d` and `avg_pool2d` (`ceil_mode`, `count_include_pad`, `divisor_override`) "
        "cases against torch in float64.",
        "",
    ]
    if sweep is not None and sweep.notes:
        lines += ["### Notes", ""] + [f"- {note}" for note in sweep.notes] + [""]
    if sweep is not None and sweep.disagreements:
        lines += ["### Disagreements", ""]
        lines += [f"- `{d}`" for d in sweep.disagreements[:SHOWN_DISAGREEMENTS]]
        hidden = len(sweep.disagreements) - SHOWN_DISAGREEMENTS
        if hidden > 0:
            lines.append(f"- ... and {hidden} more (`derive verify` lists them all)")
        lines.append("")
    return lines


#: a paragraph under a group's heading
GROUP_NOTES = {
    "lemma": (
        "The proofs rest on two definitions: $\\lfloor x \\rfloor = c$ for the integer $c$ with "
        "$c \\le x < c + 1$ (*floor-window*) and $\\lceil x \\rceil = c$ for the integer $c$ with "
        "$c - 1 < x \\le c$ (*ceil-window*). A window is used only when both inequalities are "
        "decided from the signs of the case's symbols. The lemmas below are proved from them and "
        "applied by rewriting."
    ),
    "rejection": (
        "Each family is a whole symbolic set of configurations: the engine is called once with "
        "symbols, SymPy decides the engine's own condition for every member, and the engine "
        "raises `ShapeError`. The sweep compares these rejections with torch's."
    ),
}


def _claim(result: ClaimResult) -> list[str]:
    claim, outcome = result.claim, result.outcome
    lines = [
        f"### `{claim.id}` - {outcome.status}",
        "",
        claim.statement,
        "",
        "$$",
        claim.latex,
        "$$",
        "",
    ]
    facts = [f"*Assumptions:* {claim.assumptions}", f"*Method:* {claim.method}"]
    if claim.source:
        facts.append(f"*Source:* {claim.source}")
    lines += [" · ".join(facts), ""]
    if outcome.status == CHECKED:
        lines += [f"**Checked only**, not proved, on `{outcome.range}`: {outcome.detail}.", ""]
    elif outcome.status == FAILED:
        lines += [f"**FAILED**: `{outcome.detail}`", ""]
    else:
        lines += [f"Result: {outcome.detail}.", ""]
    return lines


def page_markdown(report: Report) -> str:
    """The page for a finished :class:`~derive.verify.report.Report`."""
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
    return page_markdown(run_verification(seed=0))
