"""The inverse questions against brute force over the forward rules (every convention)."""

from __future__ import annotations

import random

import pytest
import sympy as sp

from derive import ShapeError, conv_output_size, pool_output_size
from derive.ops import AVG_POOL, CONV, CONV_TRANSPOSE, MAX_POOL
from derive.solve import Layer, input_sizes, paddings, smallest_input

M = sp.Symbol("m", integer=True, positive=True)

CONV_PADDINGS = {
    "torch": lambda rng: rng.choice((rng.randint(0, 2), (rng.randint(0, 2), rng.randint(0, 2)))),
    "tf": lambda rng: rng.choice(("SAME", "VALID", (rng.randint(0, 2), rng.randint(0, 2)))),
    "keras": lambda rng: rng.choice(("same", "valid", "causal", "full")),
    "jax": lambda rng: rng.choice(("SAME", "SAME_LOWER", "VALID", (rng.randint(0, 3), 1))),
    "onnx": lambda rng: rng.choice(("SAME_UPPER", "SAME_LOWER", "VALID", (rng.randint(0, 3), 0))),
}


def _random_layer(rng: random.Random) -> Layer:
    convention = rng.choice(tuple(CONV_PADDINGS))
    k, s = rng.randint(1, 4), rng.randint(1, 3)
    d = 1 if convention in ("tf", "keras") and s > 1 else rng.randint(1, 2)
    kind = rng.random()
    if kind < 0.5:
        return Layer(CONV, k, s, CONV_PADDINGS[convention](rng), d, convention=convention)
    if kind < 0.8:
        p = min(rng.randint(0, 1), k // 2)
        return Layer(MAX_POOL, k, s, p, d, ceil_mode=rng.random() < 0.5)
    return Layer(CONV_TRANSPOSE, k, s, rng.randint(0, 1), d, output_padding=rng.randint(0, s - 1))


def test_input_sizes_are_exactly_the_preimage():
    rng, checked = random.Random(51), 0
    for _ in range(40):
        layer = _random_layer(rng)
        if layer.output(40) is None:  # rejected for every size (a pooling pad, say)
            with pytest.raises(ShapeError):
                input_sizes(layer, 1)
            continue
        outputs = {n: layer.output(n) for n in range(1, 40)}
        for target in (1, 2, 3, 5):
            expected = [n for n, out in outputs.items() if out == target]
            found = input_sizes(layer, target)
            assert list(range(int(found.low), int(found.high) + 1)) == expected, (layer, target)
            checked += 1
    assert checked > 100


def test_symbolic_input_sizes_match_numbers():
    rng, checked = random.Random(52), 0
    for _ in range(30):
        layer = _random_layer(rng)
        try:
            found = input_sizes(layer, M)
        except ShapeError as exc:  # ceil_mode's case split is solved with numbers only
            assert layer.ceil_mode and "symbolically" in str(exc)
            continue
        for target in range(1, 6):
            numeric = input_sizes(layer, target)
            values = {M: target}
            assert (int(found.low.subs(values)), int(found.high.subs(values))) == (
                numeric.low, numeric.high), (layer, target)  # fmt: skip
            checked += 1
    assert checked > 80


def test_a_conv_preimage_has_stride_sizes():
    n_sizes = input_sizes(Layer(CONV, 5, stride=3, padding=1), M)
    assert sp.simplify(n_sizes.high - n_sizes.low + 1) == 3
    same = input_sizes(Layer(CONV, 3, stride=4, padding="SAME", convention="tf"), M)
    assert (same.low, same.high) == (4 * M - 3, 4 * M)


def test_paddings_match_brute_force():
    rng, checked = random.Random(53), 0
    for _ in range(30):
        n, k, s, d = rng.randint(1, 9), rng.randint(1, 4), rng.randint(1, 3), rng.randint(1, 2)
        pool = rng.random() < 0.4
        op, d = (MAX_POOL, d) if pool else (CONV, d)
        for target in (1, 2, 3, 4):
            expected = set()
            for lo in range(0, 6):
                for hi in range(0, 6):
                    try:
                        size = (pool_output_size(n, k, s, (lo, hi), d) if pool
                                else conv_output_size(n, k, s, (lo, hi), d))  # fmt: skip
                    except ShapeError:
                        continue
                    if size == target:
                        expected.add((lo, hi))
            found = paddings(target, n, k, s, d, op)
            pairs = set(found.pairs()) if found.total.low <= found.total.high else set()
            assert {p for p in pairs if max(p) < 6} == expected, (n, k, s, d, pool, target)
            symmetric = {p for p in range(6) if (p, p) in expected}
            values = set(range(int(found.symmetric.low), min(int(found.symmetric.high) + 1, 6)))
            assert values == symmetric
            checked += 1
    assert checked == 120


def test_smallest_input_of_a_stack_matches_brute_force():
    rng = random.Random(54)
    for _ in range(15):
        layers = [_random_layer(rng) for _ in range(rng.randint(1, 3))]
        try:
            smallest = int(smallest_input(layers))
        except ShapeError:
            continue

        def through(n: int, layers=layers) -> int | None:
            for layer in layers:
                n = layer.output(n)
                if n is None or n < 1:
                    return None
            return n

        assert through(smallest) is not None
        assert smallest == 1 or through(smallest - 1) is None


def test_lenet_smallest_input():
    pool = Layer(AVG_POOL, 2, 2)
    lenet = [Layer(CONV, 5, padding=2), pool, Layer(CONV, 5), pool]
    assert smallest_input(lenet) == 12
    assert smallest_input(lenet, 5) == 28


def _cli(capsys, *argv):
    from derive.cli import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_solve_input_reads_the_shape_grammar(capsys):
    code, out, _ = _cli(capsys, "solve", "input", "conv", "--output", "7", "--kernel", "3",
                        "--stride", "2")  # fmt: skip
    found = input_sizes(Layer(CONV, 3, 2), 7)
    assert code == 0 and out == f"{found.low} <= n <= {found.high}\n"
    code, out, _ = _cli(capsys, "solve", "input", "conv", "--output", "m", "--kernel", "3",
                        "--stride", "2", "--padding", "SAME", "--convention", "tf")  # fmt: skip
    assert code == 0 and out == "2*m - 1 <= n <= 2*m\n"
    code, _, err = _cli(capsys, "solve", "input", "conv", "--output", "__import__('os')",
                        "--kernel", "3")  # fmt: skip
    assert code == 2 and "unexpected" in err


def test_cli_solve_padding_and_smallest(capsys):
    code, out, _ = _cli(capsys, "solve", "padding", "conv", "--size", "15", "--output", "8",
                        "--kernel", "3", "--stride", "2")  # fmt: skip
    found = paddings(8, 15, 3, 2)
    assert code == 0 and f"(before, after): {', '.join(map(str, found.pairs()))}" in out
    layers = ["--layer", "conv --kernel 5 --padding 2", "--layer", "avg-pool --kernel 2"] * 1
    code, out, _ = _cli(capsys, "solve", "smallest", *layers, "--layer", "conv --kernel 5",
                        "--layer", "avg-pool --kernel 2")  # fmt: skip
    assert code == 0 and out == "12\n"


def test_cli_solve_padding_reads_each_operation_from_the_registry(capsys):
    """Pooling's stride defaults to its kernel, a convolution's to 1; a --dilation the
    operation does not take is refused (as ``derive solve input`` refuses it); a transposed
    layer and the plain cross-correlation are not offered."""
    for op, cli, stride in ((MAX_POOL, "pool", 3), (AVG_POOL, "avg-pool", 3), (CONV, "conv", 1)):
        code, out, _ = _cli(capsys, "solve", "padding", cli, "--size", "9", "--output", "3",
                            "--kernel", "3", "--json")  # fmt: skip
        found = paddings(3, 9, 3, stride, op=op)
        assert code == 0 and f'"total_high": {{"formula": "{found.total.high}"' in out
    assert paddings(3, 9, 3, 3, op=MAX_POOL).total != paddings(3, 9, 3, 1, op=MAX_POOL).total
    code, _, err = _cli(capsys, "solve", "padding", "avg-pool", "--size", "9", "--output", "4",
                        "--kernel", "3", "--dilation", "2")  # fmt: skip
    assert code == 2 and "--dilation applies to conv, pool and conv-transpose only" in err
    code, out, _ = _cli(capsys, "solve", "padding", "pool", "--size", "9", "--output", "4",
                        "--kernel", "3", "--stride", "2", "--dilation", "2")  # fmt: skip
    assert code == 0 and "(before, after): (1, 1)" in out
    for cli in ("conv-transpose", "corr2d"):
        with pytest.raises(SystemExit):
            _cli(capsys, "solve", "padding", cli, "--size", "9", "--output", "4", "--kernel", "3")
