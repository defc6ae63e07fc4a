r"""Markdown pieces shared by every page writer of :mod:`derive.render.pages`.

Math is written for pymdownx.arithmatex: ``$...$`` inline and a ``$$`` block for display.

>>> display("n - k + 1")
'$$\nn - k + 1\n$$'
>>> print(table(["layer", "shape"], [["conv", "`(1, 6, 28, 28)`"]]))
| layer | shape |
|---|---|
| conv | `(1, 6, 28, 28)` |
>>> plural(1, "claim"), plural(3, "claim")
('1 claim', '3 claims')
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["display", "aligned", "math", "code", "table", "plural"]


def display(body: str) -> str:
    """A display-math block."""
    return f"$$\n{body}\n$$"


def aligned(rows: Sequence[str]) -> str:
    """A display of ``aligned`` rows (each row holds its own ``&``)."""
    return display("\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}")


def math(text: str) -> str:
    """Inline math."""
    return f"${text}$"


def code(text: str) -> str:
    """Inline code (a backtick inside becomes a quote, which Markdown cannot nest)."""
    return "`" + text.replace("`", "'") + "`"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def plural(n: int, word: str) -> str:
    """``1 claim``, ``2 claims``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
