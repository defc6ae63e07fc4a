"""MkDocs hooks of the derive site (listed under ``hooks:`` in mkdocs.yml).

What they do, in build order:

* **doctests** (``on_config``): a Markdown preprocessor fences the bare ``>>>`` examples of the
  engine's docstrings, which the API reference renders, as ``pycon`` code.
* **nav globs** (``on_config``): a nav entry such as ``examples/*.md`` expands to the matching
  pages, sorted, leaving out pages the nav lists elsewhere; a section left empty is dropped.
  Generated examples thus enter the nav without hand edits. A page that ``derive build``
  writes from a provider (``derive.build.PROVIDERS``) is left out of the nav while it does not
  exist, since the build skips a provider it cannot import; any other missing page is an error.
* **MathJax from the site itself** (``on_files``): MathJax 3 is copied from the installed
  ``django-static-mathjax`` wheel (PyPI) into ``assets/vendor/mathjax/`` of the built site.
  Nothing is committed and nothing is fetched from a CDN.
* **titles** (``on_page_markdown``): a page that opens with a comment (the marker of generated
  files) still takes its title from its H1.
* **executed snippets** (``on_page_markdown``): a fenced block whose info string is
  ``pycon derive-exec`` is run as a Python session and replaced by its transcript; a
  ``console derive-exec`` block runs ``derive`` command lines in-process; the comment
  ``<!-- derive-commands -->`` becomes the ``--help`` of every subcommand. Every value shown by
  these blocks is computed at build time, never typed.
* **docstring roles** (``on_page_content``): Sphinx roles such as ``:func:`conv2d``` in the
  engine's docstrings become links to the API reference.
* **notebook pages** (``on_page_content``): nbconvert writes ``<script>`` tags for MathJax 2 and
  mermaid from a CDN; they are removed (the site's MathJax typesets notebook math instead), and
  a download link to the ``.ipynb`` is put under the notebook's title.
* **no third-party loads** (``on_post_page``): a page that would load a script, stylesheet,
  image or frame from another host fails the build.
"""

from __future__ import annotations

import ast
import contextlib
import fnmatch
import html
import io
import os
import re
import shlex
import traceback
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from typing import Any

from markdown import Markdown
from markdown.extensions import Extension
from markdown.preprocessors import Preprocessor
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

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

# --------------------------------------------------------------------------------------------
# nav globs


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


# --------------------------------------------------------------------------------------------
# doctests in docstrings


class DoctestFences(Preprocessor):
    """Fence the bare doctests (``>>>`` lines and their output) of docstrings as ``pycon``.

    Markdown would read ``>>>`` as a nested quote; the engine's docstrings are doctests.
    """

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        fence: str | None = None
        i = 0
        while i < len(lines):
            line = lines[i]
            stripped = line.lstrip()
            indent = line[: len(line) - len(stripped)]
            opening = re.match(r"(`{3,}|~{3,})", stripped)
            if fence is not None or opening:
                if fence is None:
                    fence = opening.group(1) if opening else None
                elif stripped.startswith(fence) and not stripped[len(fence) :].strip():
                    fence = None
                out.append(line)
                i += 1
                continue
            if not stripped.startswith(">>>"):
                out.append(line)
                i += 1
                continue
            block = []
            while i < len(lines) and lines[i].strip() and lines[i].startswith(indent):
                block.append(lines[i])
                i += 1
            out.extend(["", indent + "```pycon", *block, indent + "```", ""])
        return out


class DoctestFencesExtension(Extension):
    def extendMarkdown(self, md: Markdown) -> None:  # noqa: N802 - Markdown's API
        md.preprocessors.register(DoctestFences(md), "derive_doctest_fences", 40)


def fence_doctests(markdown: str) -> str:
    """What :class:`DoctestFences` makes of a docstring.

    >>> fence_doctests("Text.\\n>>> 1 + 1\\n2\\n\\nMore.").splitlines()
    ['Text.', '', '```pycon', '>>> 1 + 1', '2', '```', '', '', 'More.']
    """
    return "\n".join(DoctestFences().run(markdown.split("\n")))


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


@event_priority(100)  # before mkdocstrings reads the Markdown extensions
def on_config(config: MkDocsConfig) -> MkDocsConfig:
    if not any(isinstance(e, DoctestFencesExtension) for e in config.markdown_extensions):
        config.markdown_extensions.append(DoctestFencesExtension())  # type: ignore[arg-type]
    if config.nav:
        pages = _doc_pages(Path(config.docs_dir))
        nav = expand_nav(config.nav, pages, _listed(config.nav))
        config.nav = drop_missing(nav, pages, provided_pages())
    return config


# --------------------------------------------------------------------------------------------
# MathJax, copied from the installed wheel


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


# --------------------------------------------------------------------------------------------
# executed snippets

_FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<lang>pycon|console) derive-exec(?P<opts>[^\n]*)\n"
    r"(?P<body>.*?)^(?P=indent)```[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
_COMMANDS_MARKER = "<!-- derive-commands -->"


_COMPOUND = (ast.FunctionDef, ast.ClassDef, ast.For, ast.While, ast.If, ast.With, ast.Try)


class SnippetError(PluginError):
    """An executed snippet of a page failed."""


def run_pycon(source: str, namespace: dict[str, Any]) -> str:
    """Run ``source`` statement by statement and return it as an interactive session.

    Expression statements echo their ``repr`` (nothing for ``None``); comments are kept.

    >>> run_pycon("x = 6  # six\\n# twice\\nx * 2\\nNone", {}).splitlines()
    ['>>> x = 6  # six', '>>> # twice', '>>> x * 2', '12', '>>> None']
    """
    lines = source.splitlines()
    tree = ast.parse(source)
    out: list[str] = []
    done = 0  # lines of source already shown
    for node in tree.body:
        for comment in lines[done : node.lineno - 1]:
            if comment.strip():
                out.append(">>> " + comment.strip())
        end = node.end_lineno or node.lineno
        stmt = lines[node.lineno - 1 : end]
        out.append(">>> " + stmt[0])
        out.extend("... " + line for line in stmt[1:])
        if isinstance(node, _COMPOUND):
            out.append("...")
        done = end
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            if isinstance(node, ast.Expr):
                value = eval(compile(ast.Expression(node.value), "<snippet>", "eval"), namespace)
                if value is not None:
                    print(repr(value))
            else:
                exec(compile(ast.Module([node], type_ignores=[]), "<snippet>", "exec"), namespace)
        out.extend(buffer.getvalue().rstrip("\n").splitlines())
    return "\n".join(out)


def run_cli(argv: list[str]) -> tuple[int, str]:
    """Run ``derive ARGV`` in this process; return its exit status and stdout + stderr."""
    from derive.cli import main

    buffer = io.StringIO()
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "88"  # argparse wraps help text to the terminal width
    try:
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            try:
                status = main(argv)
            except SystemExit as exc:  # --help and usage errors
                status = exc.code if isinstance(exc.code, int) else 1
    finally:
        if previous is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous
    return status, buffer.getvalue().rstrip("\n")


def run_console(source: str, expect: int) -> str:
    """Run each ``$ derive ...`` line of ``source``; every one must exit with ``expect``."""
    out: list[str] = []
    for line in source.splitlines():
        if not line.strip():
            continue
        argv = shlex.split(line.lstrip("$ "))
        if not argv or argv[0] != "derive":
            raise SnippetError(f"a console derive-exec line must run derive, got {line!r}")
        status, text = run_cli(argv[1:])
        if status != expect:
            raise SnippetError(f"{line!r} exited with {status}, expected {expect}:\n{text}")
        out.append("$ " + shlex.join(argv))
        if text:
            out.append(text)
    return "\n".join(out)


def commands_reference() -> str:
    """One section per ``derive`` subcommand with its ``--help``."""
    from derive.cli import COMMANDS

    parts = []
    for name in COMMANDS:
        _, text = run_cli([name, "--help"])
        parts.append(f"### `derive {name}`\n\n```text\n{text}\n```\n")
    return "\n".join(parts)


def _reindent(text: str, indent: str) -> str:
    return "\n".join(indent + line if line else line for line in text.splitlines())


def expand_snippets(markdown: str, where: str) -> str:
    """Replace the executed blocks and markers of one page's Markdown."""
    namespace: dict[str, Any] = {"__name__": "__snippet__"}

    def replace(match: re.Match[str]) -> str:
        indent, lang, opts = match["indent"], match["lang"], match["opts"].split()
        body = "\n".join(line[len(indent) :] for line in match["body"].splitlines())
        try:
            if lang == "pycon":
                text = run_pycon(body, namespace)
            else:
                expect = 0
                for opt in opts:
                    key, _, value = opt.partition("=")
                    if key != "expect" or not value.isdigit():
                        raise SnippetError(f"unknown option {opt!r} (only expect=N)")
                    expect = int(value)
                text = run_console(body, expect)
        except SnippetError as exc:
            raise SnippetError(f"{where}: {exc}") from exc
        except Exception as exc:
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            raise SnippetError(f"{where}: a {lang} derive-exec block failed: {detail}") from exc
        return _reindent(f"```{lang}\n{text}\n```", indent)

    markdown = _FENCE.sub(replace, markdown)
    if _COMMANDS_MARKER in markdown:
        markdown = markdown.replace(_COMMANDS_MARKER, commands_reference())
    return markdown


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
    if "derive-exec" in markdown or _COMMANDS_MARKER in markdown:
        return expand_snippets(markdown, page.file.src_uri)
    return markdown


# --------------------------------------------------------------------------------------------
# notebook pages

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


_ROLE = re.compile(
    r":(?:py:)?(?:mod|func|class|meth|attr|exc|data|obj|const):<code>(~?)([\w.]+?)(\(\))?</code>"
)


def link_roles(content: str) -> str:
    """Turn the Sphinx roles of docstrings (``:func:`conv2d```) into cross-references.

    They become mkdocs-autorefs references to ``derive.NAME``, resolved after every page is
    rendered; one that names nothing on the site stays plain code.

    >>> link_roles('see :func:<code>conv2d</code> and :mod:<code>~derive.cli</code>')
    'see <autoref identifier="derive.conv2d" optional><code>conv2d()</code></autoref> and \
<autoref identifier="derive.cli" optional><code>cli</code></autoref>'
    """

    def replace(match: re.Match[str]) -> str:
        tilde, name, call = match.groups()
        ident = name if name.split(".")[0] == "derive" else f"derive.{name}"
        shown = name.rsplit(".", 1)[-1] if tilde else name
        if call or ":func:" in match[0] or ":meth:" in match[0]:
            shown += "()"
        return f'<autoref identifier="{ident}" optional><code>{shown}</code></autoref>'

    return _ROLE.sub(replace, content)


def on_page_content(html_: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    src = page.file.src_uri
    if not src.endswith(".ipynb"):
        return link_roles(html_) if ":<code>" in html_ else html_
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


# --------------------------------------------------------------------------------------------
# guard: nothing loads from another host

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
    return output
