"""Example specs: the committed ones load, malformed ones fail naming file, example and field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from derive import ShapeError
from derive.ops import OPS as REGISTRY
from derive.ops import op_named
from derive.specs import OPS, SHAPE_OPS, BuildError, load_specs, parse_spec, spelling

try:
    import tomllib
except ImportError:  # pragma: no cover
    import tomli as tomllib  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

SLUGS = [
    "01-cross-correlation",
    "02-conv-layer",
    "03-edge-detection",
    "04-padding",
    "05-stride",
    "06-multi-input-channels",
    "07-multi-output-channels",
    "08-one-by-one",
    "09-pooling",
    "10-dilation",
    "11-ceil-mode",
    "12-transposed-convolution",
]

GOOD = """
title = "T"
summary = "S"

[tensors.X]
values = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]

[tensors.K]
values = [[1, 0], [0, -1]]

[[steps]]
id = "one"
title = "One"
kind = "elements"
op = "corr2d"
input = "X"
weight = "K"
highlight = [[0, 0]]
"""


def test_every_example_of_the_issue_has_a_spec_that_loads():
    specs = load_specs(EXAMPLES, ROOT)
    assert [s.slug for s in specs] == SLUGS
    for spec in specs:
        assert spec.title and spec.summary and "\n" not in spec.summary
        assert spec.path == f"examples/{spec.slug}.toml"


def test_a_good_spec_parses():
    spec = parse_spec(GOOD, "examples/x.toml")
    assert spec.slug == "x"
    assert spec.tensors["K"].values == [[1, 0], [0, -1]]
    assert spec.tensors["K"].symbol == "k"
    assert spec.steps[0].highlight == ((0, 0),)
    assert spec.figures == [("x-one-1.svg", "one", 0)]


def test_generators_build_the_tensors_they_describe():
    spec = parse_spec(
        """
title = "T"
summary = "S"
[tensors.A]
arange = [2, 3]
start = 1
[tensors.F]
shape = [2, 4]
fill = 1
set = [{ cols = [1, 3], value = 0 }]
[tensors.S]
stack = [{ of = "A" }, { of = "A", add = 10 }]
[tensors.T]
transpose = "A"
[tensors.R]
random = { seed = 3, low = -2, high = 2 }
shape = [4, 4]
[tensors.E]
values = [["2*a", 1]]
[[steps]]
id = "s"
title = "S"
kind = "shape"
op = "conv2d"
size = [8]
params = { kernel_size = 3 }
""",
        "t.toml",
    )
    t = spec.tensors
    assert t["A"].values == [[1, 2, 3], [4, 5, 6]]
    assert t["F"].values == [[1, 0, 0, 1], [1, 0, 0, 1]]
    assert t["S"].shape == (2, 2, 3) and t["S"].values[1][0] == [11, 12, 13]
    assert t["T"].values == [[1, 4], [2, 5], [3, 6]]
    flat = [v for row in t["R"].values for v in row]
    assert all(-2 <= v <= 2 for v in flat) and len(set(flat)) > 1
    same_seed = parse_spec(
        'title = "T"\nsummary = "S"\n[tensors.R]\nrandom = { seed = 3, low = -2, high = 2 }\n'
        'shape = [4, 4]\n[[steps]]\nid = "s"\ntitle = "S"\nkind = "shape"\nop = "conv2d"\n'
        "size = [8]\nparams = { kernel_size = 3 }\n",
        "u.toml",
    )
    assert same_seed.tensors["R"].values == t["R"].values  # the seed alone fixes the values
    a = sp.Symbol("a", integer=True, positive=True)
    assert t["E"].values == [[2 * a, 1]]


# (mutation of GOOD, field the error must name)
BAD = [
    (lambda s: s.replace('title = "T"\n', "", 1), "title"),
    (lambda s: s.replace('summary = "S"', 'summary = "two\\nlines"'), "summary"),
    (lambda s: s.replace("values = [[1, 2, 3]", "valuez = [[1, 2, 3]"), "tensors.X.valuez"),
    (lambda s: s.replace("[7, 8, 9]", "[7, 8]"), "tensors.X.values"),
    (lambda s: s.replace("[7, 8, 9]", "[7, 8, \"__import__('os')\"]"), "tensors.X.values"),
    (lambda s: s.replace("[7, 8, 9]", "[7, 8, 9.5]"), "tensors.X.values"),
    (lambda s: s.replace('kind = "elements"', 'kind = "movie"'), "steps[0].kind"),
    (lambda s: s.replace('op = "corr2d"', 'op = "conv3d"'), "steps[0].op"),
    (lambda s: s.replace('weight = "K"', 'weight = "Q"'), "steps[0].weight"),
    (
        lambda s: s.replace("highlight = [[0, 0]]", "highlight = [[0, 0, 0]]"),
        "steps[0].highlight[0]",
    ),
    (lambda s: s.replace("highlight = [[0, 0]]", "highlight = [[0, -1]]"), "steps[0].highlight[0]"),
    (lambda s: s.replace('id = "one"', 'id = "One Step"'), "steps[0].id"),
    (lambda s: s + "animate = 1\n", "steps[0].animate"),
    (lambda s: s + "params = { stride = 2 }\n", "steps[0].params.stride"),
    (lambda s: s + "[steps.book]\noutput = [[1, 2], [3]]\n", "steps[0].book.output"),
    (lambda s: s + "[steps.book]\nsecret = 1\n", "steps[0].book.secret"),
    (lambda s: s + '[steps.book]\nwhere = { P = "2" }\n', "steps[0].book.where"),
    (
        lambda s: (
            s + '[[steps]]\nid = "one"\ntitle = "Again"\nkind = "shape"\nop = "conv2d"\n'
            "size = [8]\nparams = { kernel_size = 3 }\n"
        ),
        "steps[1].id",
    ),
    (
        lambda s: (
            s + '[[steps]]\nid = "two"\ntitle = "Shape"\nkind = "shape"\nop = "conv2d"\n'
            'size = ["2**n"]\nparams = { kernel_size = 3 }\n'
        ),
        "steps[1].size[0]",
    ),
    (
        lambda s: (
            s + '[[steps]]\nid = "two"\ntitle = "Shape"\nkind = "shape"\nop = "conv2d"\n'
            "size = [8]\n"
        ),
        "steps[1].params.kernel_size",
    ),
    (lambda s: s.replace("[tensors.K]", '[tensors.K]\nstack = [{ of = "Z" }]'), "tensors.K"),
    (lambda s: s.replace('title = "One"', 'title = "One"\nbias = "X"'), "steps[0].bias"),
    (lambda s: s + "]]", "(file)"),
]


@pytest.mark.parametrize("mutate, field", BAD)
def test_a_malformed_spec_names_file_example_and_field(mutate, field):
    with pytest.raises(BuildError) as info:
        parse_spec(mutate(GOOD), "examples/07-broken.toml")
    message = str(info.value)
    assert message.startswith("examples/07-broken.toml: example '07-broken', field ")
    assert f"field {field}" in message, message
    # a broken spec is not a layer torch rejects: the two meanings have their own types
    assert not isinstance(info.value, ShapeError)


def _one_step(kind: str, op: str, params: str) -> str:
    extra = "size = [8]" if kind == "shape" else 'input = "X"'
    return (
        f'title = "T"\nsummary = "S"\n[tensors.X]\narange = [1, 3, 3]\n[[steps]]\nid = "s"\n'
        f'title = "S"\nkind = "{kind}"\nop = "{op}"\n{extra}\nparams = {{ {params} }}\n'
    )


@pytest.mark.parametrize("kind", ["elements", "shape"])
def test_operations_and_their_parameters_come_from_the_registry(kind):
    """Each operation a spec names is the registry's, and takes exactly the registry's
    parameters (for elements, or for sizes), each read as the kind the registry gives it."""
    table = OPS if kind == "elements" else SHAPE_OPS
    assert set(table.values()) <= set(REGISTRY.values())
    for written, op in table.items():
        assert op_named(written) is op and spelling(op) == written
        params = op.element_params if kind == "elements" else op.shape_params
        with pytest.raises(BuildError) as info:
            parse_spec(_one_step(kind, written, "bogus = 1"), "examples/x.toml")
        expected = ", ".join(p.name for p in params)
        assert str(info.value).endswith(f"params.bogus: unknown key; expected one of {expected}")
        for p in params:
            bad = {"flag": "1", "count": "0", "divisor": "true"}.get(p.kind, "true")
            with pytest.raises(BuildError, match=rf"field steps\[0\]\.params\.{p.name}: must be"):
                parse_spec(_one_step(kind, written, f"{p.name} = {bad}"), "examples/x.toml")


def test_size_text_is_never_evaluated(tmp_path):
    marker = tmp_path / "pwned"
    text = GOOD + (
        '[[steps]]\nid = "two"\ntitle = "S"\nkind = "shape"\nop = "conv2d"\n'
        f"size = [\"__import__('pathlib').Path('{marker}').touch()\"]\n"
        "params = { kernel_size = 3 }\n"
    )
    with pytest.raises(BuildError, match=r"field steps\[1\]\.size\[0\]"):
        parse_spec(text, "examples/x.toml")
    assert not marker.exists()


def _set_path(data, path, value):
    *head, last = path
    target = data
    for key in head:
        target = target[key]
    target[last] = value


def _paths(data, prefix=()):
    if isinstance(data, dict):
        for k, v in data.items():
            yield prefix + (k,)
            yield from _paths(v, prefix + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield prefix + (i,)
            yield from _paths(v, prefix + (i,))


def _toml(value, key=None):
    """Just enough TOML writing for the mutation test (inline tables and arrays)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return "{" + ", ".join(f'"{k}" = {_toml(v)}' for k, v in value.items()) + "}"


def _dump(data):
    return "\n".join(f'"{k}" = {_toml(v)}' for k, v in data.items()) + "\n"


JUNK = st.one_of(
    st.integers(-3, 20),
    st.booleans(),
    st.sampled_from(["", "x", "n_h", "2*m + 1", "(", "same", "conv2d", "X", "1/2"]),
    st.lists(st.integers(-1, 4), max_size=3),
    st.just([[1, 2], [3]]),
    st.just({}),
)


@settings(max_examples=80, deadline=None)
@given(
    slug=st.sampled_from(SLUGS),
    pick=st.integers(0, 10_000),
    junk=JUNK,
    delete=st.booleans(),
)
def test_any_damaged_spec_is_accepted_or_rejected_with_a_named_field(slug, pick, junk, delete):
    data = tomllib.loads((EXAMPLES / f"{slug}.toml").read_text())
    paths = list(_paths(data))
    path = paths[pick % len(paths)]
    if delete:
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        del parent[path[-1]]
    else:
        _set_path(data, path, junk)
    try:
        parse_spec(_dump(data), f"examples/{slug}.toml")
    except BuildError as exc:
        assert re.match(rf"examples/{slug}\.toml: example '{slug}', field \S+", str(exc)), exc


PARAM_JUNK = st.one_of(
    st.integers(-1, 6),
    st.lists(st.integers(-1, 4), min_size=2, max_size=2),
    st.sampled_from(["same", "valid", [[0, 1], [1, 0]], True, False]),
)


@settings(max_examples=40, deadline=None)
@given(
    slug=st.sampled_from(SLUGS),
    step=st.integers(0, 20),
    key=st.sampled_from(
        ["stride", "padding", "dilation", "kernel_size", "ceil_mode", "groups", "output_padding"]
    ),
    value=PARAM_JUNK,
)
def test_any_parameter_either_builds_and_checks_or_fails_with_a_named_field(slug, step, key, value):
    """Through the whole derivation (torch included): a BuildError naming the step, or success."""
    from derive.render.compute import compute_example

    data = tomllib.loads((EXAMPLES / f"{slug}.toml").read_text())
    target = data["steps"][step % len(data["steps"])]
    target.setdefault("params", {})[key] = value
    try:
        spec = parse_spec(_dump(data), f"examples/{slug}.toml")
        compute_example(spec)
    except BuildError as exc:
        assert re.match(rf"examples/{slug}\.toml: example '{slug}', field \S+", str(exc)), exc
