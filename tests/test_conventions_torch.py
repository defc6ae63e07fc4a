"""torch's ``output_size`` for ``ConvTranspose*d.forward``, against torch itself.

For random layers and requested sizes (inside and outside the valid range), derive's
``conv_transpose_padding(..., output_size=t)`` must give the size torch gives, the output
padding torch used (the module's output equals ``F.conv_transpose1d`` with it), and, where
torch raises, the same message (torch prints the input size as ``torch.Size([n])``).
"""

from __future__ import annotations

import random

import pytest

import derive
from derive import ShapeError
from derive.conventions.layer import conv_transpose_padding

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _module(k: int, s: int, p: int, d: int):
    layer = torch.nn.ConvTranspose1d(1, 1, k, stride=s, padding=p, dilation=d, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.arange(1.0, k + 1).reshape(1, 1, k))
    return layer.double()


def test_output_size_matches_torch():
    rng, accepted, rejected = random.Random(41), 0, 0
    for _ in range(300):
        n, k, s = rng.randint(1, 8), rng.randint(1, 5), rng.randint(1, 4)
        p, d = rng.randint(0, 2), rng.randint(1, 3)
        low = (n - 1) * s - 2 * p + d * (k - 1) + 1
        target = rng.randint(max(1, low - 2), max(1, low + s + 1))
        x = torch.arange(1.0, n + 1, dtype=torch.float64).reshape(1, 1, n)
        layer = _module(k, s, p, d)
        try:
            theirs = layer(x, output_size=[target])
        except (ValueError, RuntimeError) as exc:
            with pytest.raises(ShapeError) as info:
                conv_transpose_padding(n, k, s, p, 0, d, output_size=target)
            expected = str(exc).replace(f"torch.Size([{n}])", f"[{n}]")
            if isinstance(exc, ValueError):
                assert str(info.value) == expected
            rejected += 1
            continue
        ours = conv_transpose_padding(n, k, s, p, 0, d, output_size=target)
        assert theirs.shape[-1] == int(ours.size) == target
        again = F.conv_transpose1d(x, layer.weight, stride=s, padding=p, dilation=d,
                                   output_padding=int(ours.output_padding))  # fmt: skip
        assert torch.equal(again, theirs)
        accepted += 1
    assert accepted > 100 and rejected > 60, (accepted, rejected)


def test_output_size_2d_elements_and_message_match_torch():
    x = [[[1, 2, 3], [4, 5, 6]]]
    w = [[[[1, 2], [3, 4]]]]
    layer = torch.nn.ConvTranspose2d(1, 1, 2, stride=2, padding=1, bias=False).double()
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(w, dtype=torch.float64))
    theirs = layer(torch.tensor(x, dtype=torch.float64)[None], output_size=[3, 5])
    ours = derive.conv_transpose2d(x, w, stride=2, padding=1, output_size=(3, 5))
    assert theirs[0].tolist() == [[[float(v) for v in row] for row in ours.tolist()[0]]]
    with pytest.raises(ValueError) as exc:
        layer(torch.tensor(x, dtype=torch.float64)[None], output_size=[7, 5])
    with pytest.raises(ShapeError) as info:
        derive.conv_transpose2d(x, w, stride=2, padding=1, output_size=(7, 5))
    assert str(info.value) == str(exc.value).replace("torch.Size([2, 3])", "[2, 3]")
