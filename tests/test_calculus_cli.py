"""``derive explain --receptive-field --cost --memory``: the columns are the API's formulas."""

from __future__ import annotations

import json

import pytest

from derive.cli import main
from derive.grammar import size_symbol
from derive.printing import text

pytest.importorskip("torch")

H, W, N = size_symbol("H"), size_symbol("W"), size_symbol("N")


def _run(capsys: pytest.CaptureFixture, *argv: str) -> str:
    assert main(["explain", *argv]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return out


def test_table_columns_are_the_api_formulas(capsys: pytest.CaptureFixture) -> None:
    import derive
    from derive.networks.classic import lenet

    out = _run(capsys, "derive.networks.classic:lenet", "--input", "N,1,H,W",
               "--receptive-field", "--cost", "--memory")  # fmt: skip
    header = out.splitlines()[0].split()
    assert header[:4] == ["layer", "type", "output", "shape"]
    assert "receptive" in header and "MACs" in header and "activation" in header
    rf = derive.receptive_field(lenet(), (N, 1, H, W))
    cost = derive.cost(lenet(), (N, 1, H, W))
    mem = derive.memory(lenet(), (N, 1, H, W))
    conv2 = next(line for line in out.splitlines() if line.startswith("3 "))
    layer = rf.layers[3]
    assert f"{layer.size[0]} x {layer.size[1]}" in conv2
    assert text(cost.layers[3].cost.macs) in conv2
    assert text(mem.layers[3].kept_bytes()) in conv2
    assert f"total params: {text(cost.params)}" in out
    assert f"total flops: {text(cost.flops)}" in out
    assert f"total saved bytes: {text(mem.saved_bytes)}" in out


def test_json_fields(capsys: pytest.CaptureFixture) -> None:
    import derive
    from derive.networks.classic import resnet18

    out = _run(capsys, "derive.networks.classic:resnet18", "--input", "1,1,H,W",
               "--receptive-field", "--cost", "--json")  # fmt: skip
    payload = json.loads(out)
    rf = derive.receptive_field(resnet18(), (1, 1, H, W))
    by_path = {row["path"]: row for row in payload["layers"]}
    stem = by_path["0.3"]  # the max pooling after the 7x7 convolution
    assert stem["size"] == [str(v) for v in rf.layers[3].size]
    assert stem["jump"] == [str(v) for v in rf.layers[3].jump]
    assert "params" in stem and "macs" in stem and "flops" in stem
    assert payload["totals"]["params"] == text(derive.cost(resnet18(), (1, 1, H, W)).params)
    assert "kept_bytes" not in stem  # --memory was not asked for


def test_without_the_flags_the_table_is_unchanged(capsys: pytest.CaptureFixture) -> None:
    out = _run(capsys, "derive.networks.classic:lenet", "--input", "1,1,H,W")
    assert out.splitlines()[0].split() == ["layer", "type", "output", "shape"]
    assert "total" not in out


def test_formulas_are_printed_in_the_readers_form(capsys: pytest.CaptureFixture) -> None:
    """Shapes, conditions and columns by derive.printing; JSON keeps SymPy's form beside."""
    import derive
    from derive.networks.classic import alexnet

    out = _run(capsys, "derive.networks.classic:alexnet", "--input", "1,1,H,W",
               "--receptive-field")  # fmt: skip
    t = derive.networks.trace(alexnet(), (1, 1, H, W))
    first = t.layers[0].shape[2]
    assert text(first) != str(first)  # floor((H - 9)/4) + 1, not floor(H/4 - 9/4) + 1
    assert text(first) in out and str(first) not in out
    payload = json.loads(_run(capsys, "derive.networks.classic:alexnet", "--input", "1,1,H,W",
                              "--receptive-field", "--json"))  # fmt: skip
    row, shape = payload["layers"][0], t.layers[0].shape
    assert row["shape"] == f"(1, 96, {text(shape[2])}, {text(shape[3])})"
    assert row["shape_sympy"] == f"(1, 96, {shape[2]}, {shape[3]})"
    field = derive.receptive_field(alexnet(), (1, 1, H, W)).layers[0]
    assert row["size"] == [text(v) for v in field.size]
    assert row["start_sympy"] == [str(v) for v in field.start]
    shown = {c["condition"] for c in payload["conditions"]}
    assert all("Eq(" not in c and "floor(H/4 - 9/4)" not in c for c in shown)
    assert {c["condition_sympy"] for c in payload["conditions"]} == {
        str(c.condition) for c in t.constraints}  # fmt: skip


def test_a_forward_that_branches_has_columns_per_case(capsys: pytest.CaptureFixture) -> None:
    out = _run(capsys, "derive.networks.zoo:PadToEven", "--input", "1,2,H,W", "--cost",
               "--receptive-field")  # fmt: skip
    assert out.count("receptive field") == 4  # one table per case, each with the columns
    assert "case 1, assuming W mod 2 != 0 and H mod 2 != 0:" in out
    assert "total params: 38" in out  # the same in every case: printed once
    assert "total macs: case 1: " in out
    add_rows = [line for line in out.splitlines() if line.startswith("add ")]
    assert len(add_rows) == 4 and all(" 3 x 3 " in line for line in add_rows)



def test_a_column_derive_refuses_is_named_not_dropped(capsys: pytest.CaptureFixture) -> None:
    out = _run(capsys, "derive.networks.zoo:ViT", "--input", "1,3,H,W", "--receptive-field",
               "--cost")  # fmt: skip
    assert "no cost columns: encoder (TransformerEncoder): derive has no cost rule" in out
    embed = next(line for line in out.splitlines() if line.startswith("embed "))
    assert "8 x 8" in embed and embed.split()[-2:] == ["-", "-"]
    add = next(line for line in out.splitlines() if line.startswith("add "))
    assert "Piecewise" not in add and " if " in add  # a size that differs, in pieces
    payload = json.loads(_run(capsys, "derive.networks.zoo:ViT", "--input", "1,3,H,W",
                              "--cost", "--json"))  # fmt: skip
    assert "TransformerEncoder" in payload["refused"]["cost"]
