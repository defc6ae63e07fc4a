"""Operations are named by registry entries, not strings (issue 8): a guard against ladders
such as ``if kind == "conv"`` coming back.

Every string literal of ``derive/`` equal to a spelling of an operation (any name, spelling or
command-line name in :mod:`derive.ops`) is counted, leaving out docstrings, ``__all__``,
f-strings and exception messages. Only the registry and the spec reader may hold them; the
files listed in :data:`KNOWN` hold at most as many as they did when this test was written
(they are another branch's to convert, or a framework's own word for its function).
"""

from __future__ import annotations

import ast
from pathlib import Path

from derive.ops import OPS, spellings

ROOT = Path(__file__).resolve().parent.parent
NAMES = set(spellings()) | {op.name for op in OPS.values()} | {op.cli for op in OPS.values()}
#: where operations may be spelled: the registry and the reader of spec files
HOMES = {"derive/ops.py", "derive/specs.py"}
#: file -> the most literals it may hold
KNOWN = {
    "derive/render/pages/frameworks.py": 1,  # jax.lax.conv_transpose, JAX's own name
}


def _ignored(tree: ast.AST) -> set[int]:
    """The ids of string nodes that are prose or exports: docstrings, __all__, f-strings,
    exception messages."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            first = body[0] if body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                skip.add(id(first.value))
        exports = isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        )
        if exports or isinstance(node, ast.JoinedStr):
            skip.update(id(n) for n in ast.walk(node))
        if isinstance(node, ast.Raise) and node.exc is not None:
            skip.update(id(n) for n in ast.walk(node.exc))
    return skip


def op_literals(path: Path) -> list[tuple[int, str]]:
    """``(line, text)`` of each literal in ``path`` that spells an operation."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _ignored(tree)
    return sorted(
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        and node.value in NAMES and id(node) not in skip
    )  # fmt: skip


def test_operations_are_spelled_only_in_the_registry_and_the_spec_reader():
    found = {}
    for path in sorted((ROOT / "derive").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        hits = [] if rel in HOMES else op_literals(path)
        if len(hits) > KNOWN.get(rel, 0):
            found[rel] = hits
    assert not found, f"dispatch on registry entries (derive.ops), not on names: {found}"


def test_the_counter_sees_a_ladder(tmp_path):
    source = tmp_path / "ladder.py"
    source.write_text(
        '"""conv"""\n__all__ = ["conv2d"]\n'
        'def f(kind):\n    """pool"""\n'
        '    if kind == "conv":\n        raise ValueError("pool")\n'
        '    return {"avg-pool": 1, "transpose": 2}[f"{kind}"]\n'
    )
    assert op_literals(source) == [(5, "conv"), (7, "avg-pool")]
