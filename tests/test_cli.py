"""The ``derive`` command line: shape formulas, formats, errors, start-up cost."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import derive
from derive import printing
from derive.cli import main
from derive.explorer.layer import Layer
from derive.grammar import size_symbol


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_numeric_conv_prints_the_value(capsys):
    code, out, err = run(
        capsys, "shape", "conv", "--size", "8", "--kernel", "3", "--padding", "1", "--stride", "2"
    )
    assert code == 0 and err == ""
    assert out.strip() == str(derive.conv_output_size(8, 3, 2, 1))


def test_symbolic_conv_prints_the_engine_formula(capsys):
    code, out, _ = run(capsys, "shape", "conv", "--size", "2*H+1", "--kernel", "3", "--stride", "2")
    H = size_symbol("H")
    assert code == 0
    assert out.strip() == printing.text(derive.conv_output_size(2 * H + 1, 3, 2))


def test_formulas_are_printed_as_readers_write_them(capsys):
    argv = ("shape", "conv", "--size", "H", "--kernel", "3", "--stride", "2", "--padding", "1")
    assert run(capsys, *argv)[1] == "floor((H - 1)/2) + 1\n"
    latex = r"\left\lfloor \frac{H - 1}{2} \right\rfloor + 1"
    assert run(capsys, *argv, "--latex")[1] == latex + "\n"
    payload = json.loads(run(capsys, *argv, "--json")[1])
    assert payload["formula"] == "floor((H - 1)/2) + 1"
    assert payload["sympy"] == str(derive.conv_output_size(size_symbol("H"), 3, 2, 1))


def test_url_links_the_explorer(capsys, monkeypatch):
    monkeypatch.setenv("DERIVE_SITE_URL", "https://example.org/derive")
    code, out, _ = run(capsys, "shape", "pool", "--size", "9", "--kernel", "3", "--ceil-mode",
                       "--url")  # fmt: skip
    assert code == 0
    # torch's pooling default, stride = kernel size, is left out of the link, as in torch
    assert (
        out == "https://example.org/derive/explorer/?op=max_pool&size=9&kernel_size=3&ceil_mode=1\n"
    )
    assert Layer.from_query(out.split("?", 1)[1].strip()).stride == (3,)
    code, _, err = run(capsys, "shape", "conv", "--size", "H", "--kernel", "3", "--url")
    assert code != 0 and "give size as an integer" in err


def test_json_output(capsys):
    code, out, _ = run(
        capsys, "shape", "pool", "--size", "H", "--kernel", "2", "--ceil-mode", "--json"
    )
    payload = json.loads(out)
    expected = derive.pool_output_size(size_symbol("H"), 2, ceil_mode=True)
    assert code == 0
    assert payload["operation"] == "pool"
    assert payload["formula"] == printing.text(expected)
    assert payload["latex"] == printing.latex(expected)
    assert payload["value"] is None and payload["free_symbols"] == ["H"]


def test_json_value_when_numeric(capsys):
    code, out, _ = run(
        capsys,
        "shape",
        "conv-transpose",
        "--size",
        "3",
        "--kernel",
        "3",
        "--stride",
        "2",
        "--output-padding",
        "1",
        "--json",
    )
    assert json.loads(out)["value"] == int(derive.conv_transpose_output_size(3, 3, 2, 0, 1))


def test_latex_output(capsys):
    code, out, _ = run(capsys, "shape", "conv", "--size", "n", "--kernel", "k", "--latex")
    expected = derive.conv_output_size(size_symbol("n"), size_symbol("k"))
    assert out.strip() == printing.latex(expected)


@pytest.mark.parametrize(
    "padding, expected",
    [("same", "same"), ("valid", "valid"), ("2", 2), ("1,2", (1, 2))],
)
def test_padding_forms(capsys, padding, expected):
    code, out, _ = run(
        capsys, "shape", "conv", "--size", "10", "--kernel", "4", "--padding", padding
    )
    assert code == 0
    assert int(out) == derive.conv_output_size(10, 4, padding=expected)


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["shape", "conv", "--size", "2", "--kernel", "3"], "kernel_size=3"),
        (["shape", "conv", "--size", "8", "--kernel", "3", "--stride", "0"], "stride=0"),
        (
            ["shape", "conv", "--size", "8", "--kernel", "3", "--stride", "2", "--padding", "same"],
            "padding='same'",
        ),
        (["shape", "pool", "--size", "8", "--kernel", "2", "--padding", "2"], "padding=2"),
        (["shape", "conv", "--size", "os.system('x')", "--kernel", "3"], "size="),
        (["shape", "conv", "--size", "8", "--kernel", "3", "--padding", "1,2,3"], "padding="),
        (["shape", "conv", "--size", "8", "--kernel", "3", "--ceil-mode"], "--ceil-mode"),
        (
            ["shape", "conv-transpose", "--size", "4", "--kernel", "3", "--output-padding", "1"],
            "output_padding=1",
        ),
        (["shape", "conv", "--kernel", "3"], "--size"),
        (["shape", "spin", "--size", "3", "--kernel", "3"], "spin"),
    ],
)
def test_bad_input_is_one_line_on_stderr(capsys, argv, fragment):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse usage errors
        code = exc.code
    out, err = capsys.readouterr()
    assert code != 0
    assert out == ""
    assert err.count("\n") == 1 and fragment in err
    assert "Traceback" not in err


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"derive {derive.__version__}"


def test_console_script_neither_imports_torch_nor_traces_back():
    code = (
        "import sys\n"
        "from derive.cli import main\n"
        "status = main(['shape', 'conv', '--size', 'H', '--kernel', '3'])\n"
        "assert 'torch' not in sys.modules, 'derive shape imported torch'\n"
        "sys.exit(status)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "derive.cli", "shape", "conv", "--size", "1", "--kernel", "5"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.startswith("derive: error: ") and bad.stderr.count("\n") == 1


def test_import_derive_does_not_import_torch():
    done = subprocess.run(
        [sys.executable, "-c", "import sys, derive; assert 'torch' not in sys.modules"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("op", list(derive.ops.OPS.values()), ids=lambda op: op.cli)
def test_every_registry_operation_is_a_command_with_its_own_parameters(capsys, op):
    """Choices, applicable options and the size function all come from derive.ops."""
    argv = ["shape", op.cli, "--size", "H", "--kernel", "3"]
    options = {"stride": ["--stride", "2"], "padding": ["--padding", "1"],
               "dilation": ["--dilation", "2"], "ceil_mode": ["--ceil-mode"],
               "output_padding": ["--output-padding", "1"]}  # fmt: skip
    taken = {name: flag for name, flag in options.items() if op.takes(name, shape=True)}
    code, out, err = run(capsys, *argv, *(part for flag in taken.values() for part in flag))
    assert code == 0, err
    values = {"stride": 2, "padding": 1, "dilation": 2, "ceil_mode": True, "output_padding": 1}
    expected = op.size(size_symbol("H"), 3, **{name: values[name] for name in taken})
    assert out.strip() == printing.text(expected)
    for name, flag in options.items():
        if name not in taken:
            code, out, err = run(capsys, *argv, *flag)
            assert code == 2 and out == "" and f"{flag[0]} applies to" in err
            assert f"only, not {op.cli}" in err
