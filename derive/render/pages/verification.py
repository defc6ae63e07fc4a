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

Each claim has a **status**:

- **proved**: established for the whole domain its statement names - an identity SymPy
  reduces to 0 (a condition to `True`) under the stated assumptions (integers, signs, the
  stated conditions), an example evaluated exactly, a counterexample found, or both sides of
  a rejection shown;
- **checked**: evaluated at every point of the finite range shown, and nothing more: *not*
  proved;
- **FAILED**: the identity did not reduce, or a check found a counterexample.

and one **kind**, which says how much a proof covers (the summary counts each):

"""

#: kind -> (one claim's kind in words, what it covers)
KIND_TEXT = {
    "general-direct": (
        "general identity, reduces directly",
        "for every value of its symbols; SymPy's `expand` (sums combined term by term) gives 0 "
        "at once",
    ),
    "general-split": (
        "general identity, by a case split or a lemma",
        "for every value of its symbols, through a vetted case split or the floor and ceiling "
        "lemmas of the first section",
    ),
    "definitional": (
        "definitional lemma",
        "SymPy's own definitions (floor, ceiling, remainder), on which the other proofs rest",
    ),
    "fixed-shape": (
        "fixed-shape identity",
        "arrays of symbols of the shapes named in the statement only: general in the entries, "
        "not in the shapes",
    ),
    "example": ("evaluated example", "a worked example evaluated exactly"),
    "counterexample": ("counterexample", "a universal statement refuted by an instance"),
    "boundary": (
        "rejection/acceptance pair",
        "what torch rejects is rejected (naming the argument torch names), and one step back "
        "accepted, each for a whole symbolic family",
    ),
    "checked": ("checked on a range only", "evaluated on a finite range only, not proved"),
}

_METHOD = """\
Cases come only from three vetted splitters - division with remainder ($E = qD + r$,
$0 \\le r < D$; parity is $D = 2$), a comparison and its negation, and a chain of these -
each exhaustive by a lemma proved once (`lemma.split-division`, `lemma.split-compare`); any
other case set is refused. Identities between layer formulas are proved for symbolic sizes as
indexed sums (`Sum` over symbolic bounds); a Kronecker delta from a derivative is collapsed,
or a padding test restated through it, only where the case decides it.

The engine's functions are looked up when the verification runs, so it is today's engine that
is verified: breaking a formula or an acceptance rule makes its proofs or the sweep fail (the
test suite does exactly that).
"""


def _intro() -> list[str]:
    lines = [_INTRO.rstrip("\n"), ""]
    lines += [f"- **{one}**: {covers};" for one, covers in KIND_TEXT.values()]
    lines[-1] = lines[-1].rstrip(";") + "."
    return lines + ["", _METHOD]


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
        [KIND_TEXT[kind][0], str(count), str(failed[kind])]
        for kind, count in count_kinds(report).items()
        if count
    ]
    return [table(["kind", "claims", "FAILED"], rows), ""]


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
    "framework": (
        "torch's formulas are the engine's; the other frameworks' claims call the functions "
        "users call (`derive.conv_padding` with `convention=`), for every size, kernel, stride "
        "and dilation. SAME's zeros depend on $(n - 1) \\bmod s$ against the span $d(k-1)$: "
        "the split writes $n - 1 = qs + r$, then $r = ad + b$ with $0 \\le b < d$, and compares "
        "$k$ with $a + 1$, which decides the `Max` in every case."
    ),
    "gradient": (
        "The general claims differentiate $L = \\sum G \\odot (Y + b)$, with $Y$ the "
        "convolution formula as an indexed sum over symbolic bounds, and compare with the "
        "transposed convolution's scatter formula, the input's correlation with $G$, and the "
        "sums of $G$; that derive's `conv_transpose2d` computes the scatter formula is "
        "`formula.conv-transpose-engine`. The fixed-shape claims differentiate derive's own "
        "`conv2d` at the shapes they name."
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
        f"*Kind:* {KIND_TEXT[result.kind][0]}",
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

    lines = _intro() + _summary(report)
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
