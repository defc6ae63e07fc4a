"""MkDocs hook: the nav and page titles of the derive site (listed under ``hooks:``).

* **nav globs** (``on_config``): a nav entry such as ``examples/*.md`` expands to the matching
  pages, sorted, leaving out pages the nav lists elsewhere; a section left empty is dropped.
  Generated examples thus enter the nav without hand edits.
* **provider pages** (``on_config``): a page that ``derive build`` writes from a provider
  (``derive.build.PROVIDERS``) is left out of the nav while it does not exist, since the build
  skips a provider it cannot import; any other missing page stays an error.
* **titles** (``on_page_markdown``): a page that opens with a comment (the marker of generated
  files) still takes its title from its H1.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page

__all__ = [
    "expand_nav",
    "drop_missing",
    "provided_pages",
    "title_after_comments",
    "on_config",
    "on_page_markdown",
]


def _is_glob(entry: str) -> bool:
    return any(ch in entry for ch in "*?[")


def _listed(items: Any) -> set[str]:
    """Every non-glob page path in a nav (sub)tree."""
    found: set[str] = set()
    if isinstance(items, str):
        if not _is_glob(items):
            found.add(items)
    elif isinstance(items, list):
        for item in items:
            found |= _listed(item)
    elif isinstance(items, dict):
        for value in items.values():
            found |= _listed(value)
    return found


def _doc_pages(docs_dir: Path) -> list[str]:
    return sorted(
        p.relative_to(docs_dir).as_posix()
        for p in docs_dir.rglob("*")
        if p.is_file() and p.suffix in (".md", ".ipynb")
    )


def expand_nav(items: list[Any], pages: list[str], listed: set[str]) -> list[Any]:
    """Replace glob entries of a nav list by the pages they match; drop empty sections.

    >>> expand_nav(["index.md", {"Ex": ["ex/index.md", "ex/*.md"]}, {"None": ["x/*.md"]}],
    ...            ["ex/2.md", "ex/1.md", "ex/index.md", "index.md"], {"index.md", "ex/index.md"})
    ['index.md', {'Ex': ['ex/index.md', 'ex/1.md', 'ex/2.md']}]
    """
    out: list[Any] = []
    for item in items:
        if isinstance(item, str) and _is_glob(item):
            out.extend(
                p for p in sorted(pages) if fnmatch.fnmatchcase(p, item) and p not in listed
            )
        elif isinstance(item, dict):
            section: dict[str, Any] = {}
            for title, value in item.items():
                if isinstance(value, list):
                    value = expand_nav(value, pages, listed)
                    if not value:
                        continue
                section[title] = value
            if section:
                out.append(section)
        else:
            out.append(item)
    return out


def provided_pages() -> set[str]:
    """Pages under docs/ that ``derive build`` writes from a provider (it may skip one)."""
    try:
        from derive.build import PROVIDERS
    except ImportError:
        return set()
    return set(PROVIDERS)


def drop_missing(items: list[Any], pages: list[str], optional: set[str]) -> list[Any]:
    """Leave out nav entries for ``optional`` pages that do not exist; drop emptied sections.

    >>> drop_missing(["a.md", {"V": "v.md"}, {"S": [{"N": "n.md"}]}], ["a.md"], {"v.md", "n.md"})
    ['a.md']
    """
    out: list[Any] = []
    for item in items:
        if isinstance(item, str):
            if item in optional and item not in pages:
                continue
            out.append(item)
        elif isinstance(item, dict):
            section: dict[str, Any] = {}
            for title, value in item.items():
                if isinstance(value, list):
                    value = drop_missing(value, pages, optional)
                    if not value:
                        continue
                elif isinstance(value, str) and value in optional and value not in pages:
                    continue
                section[title] = value
            if section:
                out.append(section)
        else:
            out.append(item)
    return out


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    if config.nav:
        pages = _doc_pages(Path(config.docs_dir))
        nav = expand_nav(config.nav, pages, _listed(config.nav))
        config.nav = drop_missing(nav, pages, provided_pages())
    return config


_LEADING_COMMENTS = re.compile(r"\A(?:\s*<!--.*?-->)+\s*", re.DOTALL)
_H1 = re.compile(r"# +(.+?)(?: +#+)? *(?:\{[^}\n]*\})? *$", re.MULTILINE)


def title_after_comments(markdown: str) -> str | None:
    """The H1 of a page that starts with HTML comments (a generated-file marker), else None.

    MkDocs takes a page's title from its H1 only when the H1 is the first block; a marker
    comment above it would leave the page titled after its file name.

    >>> title_after_comments("<!-- generated -->\\n# Padding and `p = k - 1`\\n\\nText")
    'Padding and p = k - 1'
    >>> title_after_comments("# Plain\\n") is None
    True
    """
    lead = _LEADING_COMMENTS.match(markdown)
    if not lead:
        return None
    heading = _H1.match(markdown, lead.end())
    return heading[1].replace("`", "").strip() if heading else None


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    if "title" not in page.meta and (title := title_after_comments(markdown)):
        page.meta["title"] = title
    return markdown
