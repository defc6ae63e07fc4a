"""The zoo (derive.networks.zoo) against torch, and exported with derive's dynamic shapes.

For every network: at least 30 input sizes around the edges of the accepted set (and
inputs with a wrong channel count, so that every network has rejected inputs), torch's
forward is compared with derive's exact accepted set and with its output formulas evaluated
at the size; a few sizes also go through derive's concrete trace. Then torch.export runs
with the ``dynamic_shapes`` derive prints, and the exported program is run at a second size
inside the specification.
"""

from __future__ import annotations

import warnings

import pytest
import sympy as sp

torch = pytest.importorskip("torch")

from networks_check import candidate_points as edge_points  # noqa: E402
from networks_check import (  # noqa: E402
    derive_shapes,
    evaluated,
    one_thread,  # noqa: E402, F401  (the autouse fixture)
    output_at,
    torch_shapes,
)

from derive.networks import zoo  # noqa: E402
from derive.networks.admissible import solve_constraints  # noqa: E402
from derive.networks.export import export, spec_from_trace  # noqa: E402
from derive.networks.trace import trace  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore")

#: largest size tried per number of symbolic dims (3-D networks run on small volumes)
LARGEST = {1: 140, 2: 72, 3: 20}
_CACHE: dict = {}


def solved(name):
    if name not in _CACHE:
        entry = zoo.ZOO[name]
        net = entry.factory()
        t = trace(net, entry.input_shape)
        _CACHE[name] = (net, t, solve_constraints(t.constraints, t.symbols))
    return _CACHE[name]


def candidate_points(name, count=30):
    """Sizes near every edge of the accepted set, then random ones, then the sample."""
    entry = zoo.ZOO[name]
    _, t, adm = solved(name)
    return edge_points(adm, t.symbols, entry.sample, LARGEST[len(t.symbols)], count, name)


def concrete(entry, point, channels=None):
    """The input shape at ``point``; with ``channels``, the first fixed size after the batch
    (channels, or features) replaced, which every network of the zoo rejects."""
    shape = [int(point.get(d, d)) if isinstance(d, sp.Symbol) else d for d in entry.input_shape]
    if channels is not None:
        i = next(i for i, d in enumerate(entry.input_shape) if i > 0 and isinstance(d, int))
        shape[i] = channels
    return tuple(shape)


@pytest.mark.parametrize("name", list(zoo.ZOO))
def test_zoo_network_agrees_with_torch(name):
    entry = zoo.ZOO[name]
    net, t, adm = solved(name)
    points = candidate_points(name)
    disagreements = []
    for i, point in enumerate(points):
        expected = torch_shapes(net, concrete(entry, point))
        accepted = point in adm
        if accepted != (expected is not None) or adm.accepts(point) != accepted:
            disagreements.append((point, expected, accepted))
        elif expected is not None and evaluated(output_at(t, point), point) != expected:
            disagreements.append((point, expected, output_at(t, point)))
        if i % 6 == 0:  # derive's concrete trace too, on some of the sizes
            got, _ = derive_shapes(net, concrete(entry, point))
            if got != expected:
                disagreements.append((point, expected, got))
    wrong = concrete(entry, entry.sample, channels=7)
    assert torch_shapes(net, wrong) is None and derive_shapes(net, wrong)[0] is None
    assert len(points) >= 30 and adm.exact and not disagreements, disagreements[:3]


def test_zoo_divisibility_and_cases_are_exact_formulas():
    _, _, unet = solved("unet2d")
    assert [b.to_text() for b in unet.boxes] == [
        "H >= 16 with H = 0 mod 16, W >= 32 with W = 0 mod 16",
        "H >= 32 with H = 0 mod 16, W >= 16 with W = 0 mod 16",
    ]
    assert unet.boxes[0].sizes[zoo.H].to_formula("H") == "H = 16*k with k >= 1"
    _, t, adm = solved("pad_to_even")
    assert len(t.cases) == 4 and adm.to_text() == "H >= 1, W >= 1"
    assert {str(a) for a in t.assumptions} == {
        "Eq(Mod(H, 2), 0)", "Ne(Mod(H, 2), 0)", "Eq(Mod(W, 2), 0)", "Ne(Mod(W, 2), 0)"
    }  # fmt: skip
    _, _, vit = solved("vit")
    assert len(vit.boxes) == 5 and (32, 39) in vit and (40, 32) not in vit


@pytest.mark.parametrize("name", list(zoo.ZOO))
def test_zoo_network_exports_with_derived_dynamic_shapes(name):
    entry = zoo.ZOO[name]
    net, t, _ = solved(name)
    spec = spec_from_trace(t, entry.sample)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = export(net, spec).module()
    other = {s: _next_inside(spec, s, entry.sample[s]) for s in t.symbols}
    x = torch.zeros(concrete(entry, other))
    with torch.no_grad():
        expected, got = net(x), program(x)
    assert _flat(got) == _flat(expected)


def _flat(y):
    return [tuple(v.shape) for v in y] if isinstance(y, tuple) else tuple(y.shape)


def _next_inside(spec, symbol, value):
    d = spec.symbols[symbol]
    if isinstance(d, int):
        return d
    for step in (1, 2, -1):
        candidate = value + step * d.multiple
        if d.contains(candidate) and candidate >= 2:
            return candidate
    return value


def test_zoo_summary_gives_the_page_writer_sizes_and_export_code():
    from derive.networks import zoo_entries, zoo_summary

    assert set(zoo_entries()) == set(zoo.ZOO)
    summary = zoo_summary("wavenet")
    assert summary.accepted_text() == ["L >= 1"] and summary.accepted_formulas() == ["L >= 1"]
    assert 'l = Dim("l", min=2)' in summary.export.text()
    unet = zoo_summary("unet3d")
    assert unet.accepted_formulas()[0].startswith("D = 4*k with k >= 1")
