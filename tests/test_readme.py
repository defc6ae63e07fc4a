"""The README's examples are executed: Python blocks as doctests, console blocks as commands."""

from __future__ import annotations

import doctest
import re
import shlex
from pathlib import Path

import pytest

from derive.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"


def test_python_examples():
    result = doctest.testfile(str(README), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


def console_examples():
    blocks = re.findall(r"```console\n(.*?)```", README.read_text(), flags=re.S)
    examples = []
    for block in blocks:
        for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, _, output = chunk.partition("\n")
            examples.append((command, output.rstrip("\n")))
    return examples


@pytest.mark.parametrize("command, expected", console_examples())
def test_console_examples(capsys, command, expected):
    argv = shlex.split(command)
    assert argv[0] == "derive"
    status = main(argv[1:])
    out, err = capsys.readouterr()
    if expected.startswith("derive: error:"):
        assert status != 0 and err.rstrip("\n") == expected
    else:
        assert status == 0 and out.rstrip("\n") == expected
