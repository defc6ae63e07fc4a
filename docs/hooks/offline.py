"""MkDocs hook: a site that loads nothing from another host (listed under ``hooks:``).

* **MathJax from the site itself** (``on_files``): MathJax 3 is copied from the installed
  ``django-static-mathjax`` wheel (PyPI) into ``assets/vendor/mathjax/`` of the built site.
  Nothing is committed and nothing is fetched from a CDN.
* **notebook pages** (``on_page_content``): nbconvert writes ``<script>`` tags for MathJax 2 and
  mermaid from a CDN; they are removed (the site's MathJax typesets notebook math instead), and
  a download link to the ``.ipynb`` is put under the notebook's title.
* **no third-party loads** (``on_post_page``): a page that would load a script, stylesheet,
  image or frame from another host fails the build.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

__all__ = [
    "MATHJAX_PACKAGE",
    "MATHJAX_DEST",
    "MATHJAX_PARTS",
    "mathjax_root",
    "mathjax_files",
    "clean_notebook_html",
    "offsite_loads",
    "on_files",
    "on_page_content",
    "on_post_page",
]

MATHJAX_PACKAGE = "django-static-mathjax"
MATHJAX_DEST = "assets/vendor/mathjax"
#: what the site needs from MathJax's es5 build: the TeX-to-CHTML component, the TeX extensions
#: it autoloads, its web fonts, and the lazily loaded menu / accessibility parts.
MATHJAX_PARTS = (
    "tex-chtml.js",
    "input/tex/extensions",
    "output/chtml/fonts/woff-v2",
    "ui",
    "a11y",
    "sre",
)


def mathjax_root() -> Path:
    """The ``es5`` directory of the installed MathJax 3 (the ``django-static-mathjax`` wheel)."""
    try:
        import mathjax  # provided by django-static-mathjax
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise PluginError(
            f"MathJax is served from the site and comes from the PyPI package {MATHJAX_PACKAGE}: "
            f"install the docs extra (pip install -e '.[docs]')"
        ) from exc
    root = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    if not (root / "tex-chtml.js").is_file():  # pragma: no cover
        raise PluginError(f"{MATHJAX_PACKAGE} has no es5/tex-chtml.js under {root}")
    return root


def mathjax_files(root: Path) -> list[tuple[str, Path]]:
    """``(site path, source file)`` for every MathJax file the site serves, plus the licence."""
    out = [(f"{MATHJAX_DEST}/LICENSE", root.parent / "LICENSE")]
    for part in MATHJAX_PARTS:
        src = root / part
        paths = [src] if src.is_file() else sorted(p for p in src.rglob("*") if p.is_file())
        out.extend((f"{MATHJAX_DEST}/{p.relative_to(root).as_posix()}", p) for p in paths)
    return out


def on_files(files: Files, config: MkDocsConfig) -> Files:
    for uri, path in mathjax_files(mathjax_root()):
        if files.get_file_from_path(uri) is None:
            files.append(File.generated(config, uri, abs_src_path=str(path)))
    return files


_SCRIPT = re.compile(r"<script\b(?P<attrs>[^>]*)>(?P<body>.*?)</script>", re.DOTALL | re.IGNORECASE)
_SRC = re.compile(r"""\bsrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]*))""", re.IGNORECASE)
_OFFSITE = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)


def _drop_script(match: re.Match[str]) -> bool:
    attrs, body = match["attrs"], match["body"]
    src = _SRC.search(attrs)
    if src:
        url = next(g for g in src.groups() if g is not None)
        return not url.strip() or bool(_OFFSITE.match(url))  # empty or off-site
    if "text/x-mathjax-config" in attrs:
        return True  # MathJax 2 configuration, meaningless to MathJax 3
    return "mermaid" in body and bool(re.search(r"""import\(\s*["'](?:https?:)?//""", body))


def clean_notebook_html(content: str) -> str:
    """Remove nbconvert's CDN scripts (MathJax 2, require.js, mermaid) from a notebook page.

    >>> clean_notebook_html('<script src="https://c/x.js"> </script><p>$x$</p><script>f()</script>')
    '<p>$x$</p><script>f()</script>'
    """
    return _SCRIPT.sub(lambda m: "" if _drop_script(m) else m.group(0), content)


def on_page_content(html_: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    src = page.file.src_uri
    if not src.endswith(".ipynb"):
        return html_
    name = PurePosixPath(src).name
    link = (
        f'<p class="derive-nb-download"><a class="md-button" href="{html.escape(name)}" '
        f'download>Download the notebook <code>{html.escape(name)}</code></a></p>\n'
    )
    content = clean_notebook_html(html_)
    end = content.find("</h1>")  # after the notebook's title, if it has one
    if end < 0:
        return link + content
    end += len("</h1>")
    return content[:end] + "\n" + link + content[end:]


_LOADING_RELS = {"stylesheet", "preload", "modulepreload", "icon", "shortcut", "manifest",
                 "prefetch", "apple-touch-icon", "preconnect", "dns-prefetch"}
_URL_ATTRS = {
    "script": ("src",), "img": ("src", "srcset"), "iframe": ("src",), "source": ("src", "srcset"),
    "video": ("src", "poster"), "audio": ("src",), "embed": ("src",), "object": ("data",),
    "track": ("src",), "image": ("href", "xlink:href"), "input": ("src",), "frame": ("src",),
}
_CSS_URL = re.compile(r"""(?:url\(|@import)\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)
_JS_IMPORT = re.compile(r"""(?:\bimport\s*\(|\bfrom|importScripts\s*\()\s*["'](?:https?:)?//""")


class _OffsiteScanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        names = _URL_ATTRS.get(tag, ())
        if tag == "link" and _LOADING_RELS & set(values.get("rel", "").lower().split()):
            names = ("href",)
        for name in names:
            for url in values.get(name, "").split(","):
                if _OFFSITE.match(url):
                    self.found.append(f"<{tag} {name}={url.strip()!r}>")
        if _CSS_URL.search(values.get("style", "")):
            self.found.append(f"<{tag} style=...> loads {values['style'][:80]!r}")
        self._in = tag if tag in ("style", "script") else None

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        pattern = {"style": _CSS_URL, "script": _JS_IMPORT}.get(self._in or "")
        if pattern is not None and (m := pattern.search(data)):
            self.found.append(f"<{self._in}> loads {data[m.start() : m.start() + 80]!r}")


def offsite_loads(page_html: str) -> list[str]:
    """What a page would load from another host (``[]`` for none).

    >>> offsite_loads('<a href="https://x.org">ok</a><script src="//cdn.x/y.js"></script>')
    ["<script src='//cdn.x/y.js'>"]
    """
    scanner = _OffsiteScanner()
    scanner.feed(page_html)
    scanner.close()
    return scanner.found


def on_post_page(output: str, page: Page, config: MkDocsConfig) -> str:
    found = offsite_loads(output)
    if found:
        raise PluginError(
            f"{page.file.src_uri} would load from a third-party host: " + "; ".join(found[:5])
        )
