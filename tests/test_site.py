"""Browser tests of the built site (Playwright from PyPI driving Debian's chromium).

The site is built once per session with ``mkdocs build --strict`` into a temporary directory
and served on 127.0.0.1 by a threaded ``http.server``. Every page is then opened once; what
happened (console errors, failed requests, requests to other hosts, math typeset or not,
images decoded or not) is recorded, and the tests below assert on that record.

Without chromium at /usr/bin/chromium or without playwright the browser tests skip with the
reason; ``.ci/run`` installs chromium, so nothing is skipped there. No browser is downloaded.
Set ``DERIVE_SITE_DIR`` to test an already built site (e.g. ``site/`` after ``make docs``), and
``DERIVE_SITE_CONFIG`` to build another ``mkdocs.yml`` (its ``docs/`` beside it).
"""

from __future__ import annotations

import doctest
import functools
import importlib.util
import json
import os
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

# the site build, the server and the browser are shared fixtures (tests/conftest.py)
from conftest import CONFIG, DOCS, LOCAL_HOST, TIMEOUT_MS  # noqa: E402

# -------------------------------------------------------------------------------------------
# the hook modules (docs/hooks/*.py are loaded by path, as mkdocs does)

HOOKS = ("nav", "snippets", "offline", "explorer")


@functools.cache
def _hook(name: str) -> Any:
    pytest.importorskip("mkdocs", reason="mkdocs is not installed (pip install -e '.[docs]')")
    path = DOCS / "hooks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"derive_site_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", HOOKS)
def test_hook_doctests(name: str) -> None:
    result = doctest.testmod(_hook(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 2
    assert result.failed == 0


def test_hooks_are_all_configured() -> None:
    text = CONFIG.read_text(encoding="utf-8")
    assert all(f"docs/hooks/{name}.py" in text for name in HOOKS)
    assert sorted(p.stem for p in (DOCS / "hooks").glob("*.py")) == sorted(HOOKS)


def test_offsite_guard_catches_every_kind_of_load() -> None:
    offline = _hook("offline")
    page = """
    <a href="https://example.org/">a link loads nothing</a>
    <link rel="canonical" href="https://example.org/x/">
    <link rel="stylesheet" href="https://fonts.example/css">
    <img src="//img.example/a.png"> <img src="figure.svg">
    <style>@import url("https://fonts.example/f.css");</style>
    <div style="background: url(http://img.example/b.png)"></div>
    <script type="module">const m = await import("https://cdn.example/m.mjs");</script>
    <script src="../assets/vendor/mathjax/tex-chtml.js"></script>
    """
    found = offline.offsite_loads(page)
    assert len(found) == 5, found
    assert not any("canonical" in f or "figure.svg" in f or "mathjax" in f for f in found)


def test_notebook_cleaning_keeps_local_scripts() -> None:
    offline = _hook("offline")
    page = (
        '<script src=""> </script>'
        '<script type="text/x-mathjax-config">init_mathjax();</script>'
        '<script type="module">const d = document.querySelectorAll(".jp-Mermaid");'
        'const mermaid = (await import("https://cdn.example/mermaid.mjs")).default;</script>'
        '<script src="https://cdn.example/require.js"></script>'
        "<p>$x$</p><script>copy()</script>"
    )
    assert offline.clean_notebook_html(page) == "<p>$x$</p><script>copy()</script>"


def test_executed_snippets() -> None:
    snippets = _hook("snippets")
    page = (
        "Text\n\n"
        "    ```pycon derive-exec\n"
        "    from derive import conv_output_size\n"
        "    conv_output_size(8, 3, padding=1)\n"
        "    ```\n\n"
        "```console derive-exec expect=2\n"
        "$ derive shape conv --size 2 --kernel 3\n"
        "```\n"
    )
    from derive import conv_output_size

    out = snippets.expand_snippets(page, "x.md")
    value = conv_output_size(8, 3, padding=1)
    assert f"    >>> conv_output_size(8, 3, padding=1)\n    {value}\n" in out
    assert "$ derive shape conv --size 2 --kernel 3\nderive: error: " in out
    with pytest.raises(snippets.SnippetError, match="x.md"):
        snippets.expand_snippets("```pycon derive-exec\n1/0\n```\n", "x.md")
    with pytest.raises(snippets.SnippetError, match="exited with 2, expected 0"):
        failing = "```console derive-exec\n$ derive shape conv --size 2 --kernel 3\n```\n"
        snippets.expand_snippets(failing, "x.md")


def test_nav_globs_cover_the_generated_examples() -> None:
    nav_hook = _hook("nav")
    from mkdocs.config import load_config

    declared = load_config(str(CONFIG)).nav
    pages = nav_hook._doc_pages(DOCS)
    nav = nav_hook.expand_nav(declared, pages, nav_hook._listed(declared))
    in_nav = nav_hook._listed(nav)
    examples = [p for p in pages if p.startswith("examples/")]
    assert set(examples) <= in_nav


def test_config_is_strict_and_validates_links() -> None:
    pytest.importorskip("mkdocs", reason="mkdocs is not installed (pip install -e '.[docs]')")
    import logging

    from mkdocs.config import load_config

    config = load_config(str(CONFIG))
    assert config.strict
    validation = config.validation
    levels = {
        "nav.omitted_files": validation.nav.omitted_files,
        "nav.not_found": validation.nav.not_found,
        "nav.absolute_links": validation.nav.absolute_links,
        "links.not_found": validation.links.not_found,
        "links.anchors": validation.links.anchors,
        "links.absolute_links": validation.links.absolute_links,
        "links.unrecognized_links": validation.links.unrecognized_links,
    }
    assert levels == dict.fromkeys(levels, logging.WARNING)
    assert config.theme["font"] is False  # no Google fonts
    assert not config.get("repo_url")  # Material would ask GitHub's API for stars


# -------------------------------------------------------------------------------------------
# build and serve


def test_reference_documents_the_public_api(site_dir: Path) -> None:
    import derive

    page = (site_dir / "reference" / "index.html").read_text(encoding="utf-8")
    missing = [n for n in derive.__all__ if n != "__version__" and f'id="derive.{n}"' not in page]
    assert not missing, f"not in the API reference: {missing}"
    assert 'class="gp">&gt;&gt;&gt;' in page  # doctests rendered as code ...
    assert "<blockquote>" not in page  # ... not as Markdown's nested quotes


def test_every_source_page_was_built(site_dir: Path) -> None:
    pages = _hook("nav")._doc_pages(DOCS)
    missing = [p for p in pages if not (site_dir / _built_html(p)).is_file()]
    assert not missing


def test_mathjax_is_served_from_the_site(site_dir: Path) -> None:
    mathjax = site_dir / "assets" / "vendor" / "mathjax"
    assert (mathjax / "tex-chtml.js").stat().st_size > 100_000
    assert any((mathjax / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))
    assert (mathjax / "LICENSE").is_file()


def _built_html(src: str) -> str:
    stem = src.rsplit(".", 1)[0]
    if stem == "index" or stem.endswith("/index"):
        return stem + ".html"
    return stem + "/index.html"


# -------------------------------------------------------------------------------------------
# the browser


@dataclass
class PageRecord:
    url: str
    path: str  # relative to the site root, e.g. "examples/01-cross-correlation/"
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    offsite_requests: list[str] = field(default_factory=list)
    aborted_requests: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def is_notebook(self) -> bool:
        return bool(self.info.get("notebook"))


# What a page shows once MathJax is done; evaluated in the page.
_INSPECT = """
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const text = (el) => {
    const c = el.cloneNode(true);
    c.querySelectorAll("mjx-container, mjx-assistive-mml, pre, code, script, style")
      .forEach((n) => n.remove());
    return c.textContent;
  };
  const raw = /\\$|\\\\\\(|\\\\\\[/;
  const md = [...document.querySelectorAll(".arithmatex")];
  const nb = [...document.querySelectorAll(".jp-RenderedMarkdown, .jp-RenderedLatex")];
  const article = document.querySelector("article") || document.body;
  const images = await Promise.all([...article.querySelectorAll("img")].map(async (img) => {
    img.loading = "eager";
    try { await img.decode(); } catch (e) {}
    return [img.getAttribute("src"), img.naturalWidth];
  }));
  const svgs = [...article.querySelectorAll("svg")]
    .filter((s) => !s.closest(".md-icon, .md-clipboard, clipboard-copy, .twemoji, button"))
    .filter((s) => !s.parentElement.closest("svg"))
    .map((s) => [s.getAttribute("viewBox"), s.getBoundingClientRect().width]);
  return {
    notebook: !!document.querySelector(".jupyter-wrapper"),
    mathjax: !!(window.MathJax && MathJax.version),
    arithmatex: md.length,
    arithmatex_unrendered: md
      .filter((el) => !el.querySelector("mjx-container") || raw.test(text(el)))
      .map((el) => el.textContent.slice(0, 80)),
    notebook_math: nb.reduce((n, el) => n + el.querySelectorAll("mjx-container").length, 0),
    notebook_raw: nb.filter((el) => raw.test(text(el))).map((el) => text(el).trim().slice(0, 80)),
    merror: [...document.querySelectorAll("mjx-merror")].map((el) => el.textContent.slice(0, 80)),
    images: images,
    svgs: svgs,
    download: [...document.querySelectorAll(".derive-nb-download a")].map((a) => a.href),
  };
}
"""


def _site_pages(site_dir: Path) -> list[str]:
    pages = []
    for html in sorted(site_dir.rglob("*.html")):
        rel = html.relative_to(site_dir).as_posix()
        if rel.startswith("assets/"):
            continue
        pages.append(rel[: -len("index.html")] if rel.endswith("index.html") else rel)
    return pages


@pytest.fixture(scope="module")
def site_report(context: Any, base_url: str, site_dir: Path) -> list[PageRecord]:
    """Open every page of the built site once and record what happened."""
    records: list[PageRecord] = []
    offsite: list[str] = context.offsite
    page = context.new_page()  # one tab for all pages: a new tab per page costs more than a page
    page.on("console", lambda m: m.type == "error" and records[-1].console_errors.append(m.text))
    page.on("pageerror", lambda e: records[-1].console_errors.append(f"uncaught: {e}"))

    def request_failed(request: Any) -> None:
        if request.failure == "net::ERR_ABORTED":
            # cancelled, typically a late request (the favicon) of the page we navigate away
            # from; test_no_failed_requests fetches these again
            records[-1].aborted_requests.append(request.url)
        else:
            records[-1].failed_requests.append(f"{request.url}: {request.failure}")

    page.on("requestfailed", request_failed)
    page.on("response", lambda s: s.status >= 400 and records[-1].failed_requests.append(
        f"{s.url}: HTTP {s.status}"))
    for path in _site_pages(site_dir):
        record = PageRecord(url=base_url + path, path=path)
        records.append(record)
        before = len(offsite)
        page.goto(record.url, wait_until="load")
        record.info = page.evaluate(_INSPECT)
        record.offsite_requests = offsite[before:]
    page.goto("about:blank")
    page.close()
    if os.environ.get("DERIVE_SITE_REPORT"):
        for r in records:
            print(json.dumps({"path": r.path, **r.info}, default=str)[:600])
    return records


def _problems(records: list[PageRecord], attr: str) -> dict[str, list[str]]:
    return {r.path: getattr(r, attr) for r in records if getattr(r, attr)}


def test_every_page_was_opened(site_report: list[PageRecord], site_dir: Path) -> None:
    paths = {r.path for r in site_report}
    assert "" in paths and "404.html" in paths
    for src in _hook("nav")._doc_pages(DOCS):
        built = _built_html(src)
        assert built[: -len("index.html")] in paths or built in paths, src


def test_no_console_errors(site_report: list[PageRecord]) -> None:
    assert not _problems(site_report, "console_errors")


def test_no_failed_requests(site_report: list[PageRecord]) -> None:
    assert not _problems(site_report, "failed_requests")
    aborted = {url for r in site_report for url in r.aborted_requests}
    for url in sorted(aborted):  # cancelled by navigation: they must load when asked again
        if urlsplit(url).hostname == LOCAL_HOST:
            with urllib.request.urlopen(url, timeout=10) as response:
                assert response.status == 200, url


def test_no_request_leaves_localhost(site_report: list[PageRecord]) -> None:
    assert not _problems(site_report, "offsite_requests")


def test_math_is_rendered_on_markdown_pages(site_report: list[PageRecord]) -> None:
    with_math = [r for r in site_report if r.info["arithmatex"]]
    for r in site_report:
        assert r.info["mathjax"], f"{r.path}: MathJax did not load"
    unrendered = {r.path: r.info["arithmatex_unrendered"] for r in with_math
                  if r.info["arithmatex_unrendered"]}
    assert not unrendered
    assert not {r.path: r.info["merror"] for r in site_report if r.info["merror"]}
    # math is where it is meant to be: the concept pages, the API reference, the examples
    sections = {r.path.split("/")[0] for r in with_math}
    assert {"concepts", "reference"} <= sections
    examples = [r for r in site_report if r.path.startswith("examples/") and not r.is_notebook]
    if len(examples) > 1:
        assert "examples" in sections


def _notebook_has_math(site_path: str) -> bool:
    """Whether the notebook behind a page writes math (a $ in Markdown, or LaTeX output)."""
    src = DOCS / (site_path.rstrip("/") + ".ipynb")
    nb = json.loads(src.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown" and "$" in "".join(cell["source"]):
            return True
        for output in cell.get("outputs", []):
            if "text/latex" in output.get("data", {}):
                return True
    return False


def test_math_is_rendered_on_notebook_pages(site_report: list[PageRecord]) -> None:
    notebooks = [r for r in site_report if r.is_notebook]
    assert notebooks, "no notebook page on the site"
    raw = {r.path: r.info["notebook_raw"] for r in notebooks if r.info["notebook_raw"]}
    assert not raw, f"math left as TeX source on notebook pages: {raw}"
    expected = [r for r in notebooks if _notebook_has_math(r.path)]
    assert not [r.path for r in expected if r.info["notebook_math"] == 0]


def test_figures_load(site_report: list[PageRecord]) -> None:
    broken = {r.path: [src for src, width in r.info["images"] if width == 0]
              for r in site_report}
    assert not {p: b for p, b in broken.items() if b}
    empty = {r.path: [v for v, w in r.info["svgs"] if w == 0] for r in site_report}
    assert not {p: e for p, e in empty.items() if e}
    examples = [r for r in site_report if r.path.startswith("examples/0") or
                r.path.startswith("examples/1")]
    if examples:
        assert any(r.info["images"] or r.info["svgs"] for r in examples), "no figure on examples"


def test_notebook_pages_link_their_download(site_report: list[PageRecord]) -> None:
    for r in (r for r in site_report if r.is_notebook):
        assert len(r.info["download"]) == 1, r.path
        with urllib.request.urlopen(r.info["download"][0], timeout=10) as response:
            nb = json.loads(response.read())
        assert nb["nbformat"] == 4 and nb["cells"], r.path


def test_search_finds_an_example(
    context: Any, base_url: str, site_report: list[PageRecord]
) -> None:
    examples = [r for r in site_report if r.path.startswith("examples/") and r.path != "examples/"]
    assert examples, "no example page on the site"
    page = context.new_page()
    page.goto(base_url, wait_until="load")
    box = page.locator("input.md-search__input")
    box.click()
    box.press_sequentially("cross-correlation", delay=10)  # Material searches on key events
    hit = page.locator(".md-search-result__item a[href*='examples/']").first
    hit.wait_for(state="attached", timeout=TIMEOUT_MS)
    href = hit.get_attribute("href")
    page.close()
    assert href and "examples/" in href


def test_palette_toggles_dark_and_light(context: Any, base_url: str) -> None:
    page = context.new_page()
    page.goto(base_url, wait_until="load")
    scheme = page.evaluate("() => document.body.getAttribute('data-md-color-scheme')")
    page.locator("form[data-md-component='palette'] label:visible").first.click()
    toggled = page.evaluate("() => document.body.getAttribute('data-md-color-scheme')")
    page.close()
    assert {scheme, toggled} == {"default", "slate"}
