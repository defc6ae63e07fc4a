"""MkDocs hook: executed snippets and docstring clean-up (listed under ``hooks:``).

* **executed snippets** (``on_page_markdown``): a fenced block whose info string is
  ``pycon derive-exec`` is run as a Python session and replaced by its transcript; a
  ``console derive-exec`` block runs ``derive`` command lines in-process (``expect=N`` for an
  exit status other than 0); the comment ``<!-- derive-commands -->`` becomes the ``--help`` of
  every subcommand. Every value these blocks show is computed at build time, never typed.
* **doctests** (``on_config``): a Markdown preprocessor fences the bare ``>>>`` examples of the
  engine's docstrings, which the API reference renders, as ``pycon`` code.
* **docstring roles** (``on_page_content``): Sphinx roles such as ``:func:`conv2d``` in the
  engine's docstrings become links to the API reference.
"""

from __future__ import annotations

import ast
import contextlib
import io
import os
import re
import shlex
import traceback
from typing import Any

from markdown import Markdown
from markdown.extensions import Extension
from markdown.preprocessors import Preprocessor
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page

__all__ = [
    "SnippetError",
    "run_pycon",
    "run_cli",
    "run_console",
    "commands_reference",
    "expand_snippets",
    "DoctestFences",
    "DoctestFencesExtension",
    "fence_doctests",
    "link_roles",
    "on_config",
    "on_page_markdown",
    "on_page_content",
]

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


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    if "derive-exec" in markdown or _COMMANDS_MARKER in markdown:
        return expand_snippets(markdown, page.file.src_uri)
    return markdown


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


@event_priority(100)  # before mkdocstrings reads the Markdown extensions
def on_config(config: MkDocsConfig) -> MkDocsConfig:
    if not any(isinstance(e, DoctestFencesExtension) for e in config.markdown_extensions):
        config.markdown_extensions.append(DoctestFencesExtension())  # type: ignore[arg-type]
    return config


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


def on_page_content(html: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    if page.file.src_uri.endswith(".ipynb") or ":<code>" not in html:
        return html
    return link_roles(html)
