r"""The site page "Exercises, answered by derivation", from ``exercises/*.toml``.

Each exercise of the chapter (:mod:`derive.exercise_specs`) becomes a section: the question,
then each part's prose and derived answer (:mod:`derive.render.exercises`), then what was
**proved** and what was **checked against torch**, in two boxes. Every number and formula
is computed when the page is rendered, and a failed proof or check stops the build
(:class:`derive.specs.BuildError`). Deterministic: rebuilding gives the same bytes.

``derive build`` writes it to ``docs/exercises.md``; the spec files it reads are named by
``render_page.sources``, so editing one makes the page stale.
"""

from __future__ import annotations

from pathlib import Path

from derive.exercise_specs import ExerciseSpec, load_exercises

__all__ = ["render_page", "render_exercise"]

_INTRO = """\
# Exercises, answered by derivation

The chapter ends its sections with exercises. Here derive answers them the way it answers
everything else: each formula is derived by SymPy from derive's own rules, each claim says
whether it was **proved** (for every size, or for the shapes it names) or only
**checked**, and each answer was run through PyTorch when this page was built. The
exercises are stated in our own words; where the chapter leaves a choice open (which
sizes, which image), the choice is ours and says so.
"""


def _box(kind: str, title: str, items: list[str]) -> list[str]:
    if not items:
        return []
    return [f'!!! {kind} "{title}"', ""] + [f"    - {item}" for item in items] + [""]


def render_exercise(spec: ExerciseSpec) -> str:
    """One exercise's section."""
    from derive.render.exercises import answer

    out = [f"## {spec.title}", "", f"*From the section {spec.source}.* {spec.summary}", "",
           f"> **Exercise.** {spec.question}", ""]  # fmt: skip
    proved: list[str] = []
    checked: list[str] = []
    for part in spec.parts:
        result = answer(part)
        out += [part.text, "", *result.body]
        if part.after:
            out += [part.after, ""]
        proved += result.proved
        checked += result.checked
    out += _box("success", "Proved", proved)
    out += _box("info", "Checked against torch", checked)
    return "\n".join(out)


def render_page(root: Path | None = None) -> str:
    """The page's Markdown, from ``root/exercises/*.toml`` (default: the current folder)."""
    from derive.calculus.check import one_thread

    specs = load_exercises(Path(root or ".") / "exercises")
    with one_thread():
        sections = [render_exercise(spec) for spec in specs]
    return "\n".join([_INTRO, *sections]).rstrip("\n") + "\n"


#: files the page is made from (globs under the project root), for derive build's key
render_page.sources = ("exercises/*.toml",)  # type: ignore[attr-defined]
