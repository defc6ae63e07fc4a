"""The exercises page: specs as data, every answer derived and checked when it is rendered."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from derive.build import PROVIDERS, plan_build
from derive.exercise_specs import KINDS, load_exercises, parse_exercise
from derive.specs import BuildError

ROOT = Path(__file__).resolve().parents[1]

_MINIMAL = """
title = "T"
summary = "S"
source = "Pooling"
question = "Q?"
[[parts]]
kind = "{kind}"
text = "Prose."
{extra}
"""


def test_every_kind_has_a_derivation_and_every_spec_reads() -> None:
    from derive.render.exercises import DERIVATIONS

    assert set(DERIVATIONS) == set(KINDS)
    specs = load_exercises(ROOT / "exercises")
    assert len(specs) >= 8
    used = {part.kind for spec in specs for part in spec.parts}
    assert used == set(KINDS)  # every kind is answered on the site


@pytest.mark.parametrize(("text", "message"), [
    (_MINIMAL.format(kind="fft", extra=""), "field kind must be one of"),
    (_MINIMAL.format(kind="edges", extra="colour = 1"), r"unknown fields \['colour'\]"),
    ('title = "T"\nsummary = "S"\nsource = "P"\nquestion = "Q"', "field parts must list"),
    ("title = ", "not valid TOML"),
])  # fmt: skip
def test_spec_errors_name_the_file_and_field(text: str, message: str) -> None:
    with pytest.raises(BuildError, match=message) as info:
        parse_exercise(text, "09-broken.toml")
    assert str(info.value).startswith("09-broken.toml")


def test_a_wrong_expectation_stops_the_build() -> None:
    pytest.importorskip("torch")
    from derive.render.pages.exercises import render_exercise

    extra = ('[parts.params]\npairs = [{ image = "book", kernel = [[1, -1]], '
             'expect = "nothing" }]')  # fmt: skip
    spec = parse_exercise(_MINIMAL.format(kind="edges", extra=extra), "09-wrong.toml")
    with pytest.raises(BuildError, match=r"pairs\[0\]: expected nothing, found in whole columns"):
        render_exercise(spec)


def test_the_page_renders_every_exercise_with_what_was_proved_and_checked() -> None:
    pytest.importorskip("torch")
    from derive.render.pages.exercises import render_page

    page = render_page(ROOT)
    assert page.startswith("# Exercises, answered by derivation\n")
    sections = page.split("\n## ")[1:]
    specs = load_exercises(ROOT / "exercises")
    assert [s.split("\n", 1)[0] for s in sections] == [spec.title for spec in specs]
    for section in sections:
        assert '!!! success "Proved"' in section
        assert '!!! info "Checked against torch"' in section
    assert "0x" not in page  # no addresses


def test_editing_an_exercise_makes_only_its_page_stale(tmp_path: Path) -> None:
    for folder in ("examples", "exercises"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    (tmp_path / "docs").mkdir()

    def keys() -> dict[str, str]:
        plan = plan_build(tmp_path, PROVIDERS)
        return {o.path.name: o.key for o in plan.outputs if o.what == "provider"}

    before = keys()
    spec = next((tmp_path / "exercises").glob("*.toml"))
    spec.write_text(spec.read_text() + "\n# edited\n")
    after = keys()
    assert after["exercises.md"] != before["exercises.md"]
    assert after["networks.md"] == before["networks.md"]
