"""The generated pages on conventions and inverse questions: registered, and they refuse to lie."""

from __future__ import annotations

from pathlib import Path

import pytest

from derive.build import PROVIDERS
from derive.render.pages import frameworks, inverse
from derive.specs import BuildError

ROOT = Path(__file__).resolve().parent.parent


def test_the_pages_are_providers_in_the_nav():
    assert PROVIDERS["frameworks.md"] is frameworks.render_page
    assert PROVIDERS["inverse.md"] is inverse.render_page
    nav = (ROOT / "mkdocs.yml").read_text()
    assert "frameworks.md" in nav and "inverse.md" in nav


def test_frameworks_page_refuses_a_size_its_framework_does_not_give(monkeypatch):
    monkeypatch.setattr(frameworks, "_their_size", lambda kind, spelling, n, k, s: -1)
    with pytest.raises(BuildError, match="PyTorch gives -1"):
        frameworks.render_page()


def test_inverse_page_refuses_an_interval_torch_does_not_give(monkeypatch):
    monkeypatch.setattr(inverse, "_torch_output", lambda layer, n: None)
    with pytest.raises(BuildError, match="the framework"):
        inverse.render_page()


def test_pads_are_shown_per_residue_when_they_depend_on_n():
    from derive.conventions.layer import conv_padding

    cell = frameworks._pads(conv_padding(frameworks.N, 3, 2, "SAME", convention="tf"), 2)
    assert cell == (r"$n \equiv 0 \pmod{2}:\ (0,\ 1)$; $n \equiv 1 \pmod{2}:\ (1,\ 1)$")
    torch_cell = frameworks._pads(conv_padding(frameworks.N, 3, 2, 1), 2)
    assert torch_cell == r"$(1,\ 1)$"
