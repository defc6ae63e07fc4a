"""The explorer: its rules and window arithmetic against derive's core, its URLs, its generated
engine, and the page itself driven in Debian's chromium over thousands of random configurations.

The browser part opens the site built and served once per session (tests/conftest.py) in this
module's own browser, and drives the page through its state function,
``deriveExplorer.load(query)``, reading what the page shows (verdict, message, shape, the
selected element's value) from the DOM. Every answer is compared with derive in Python:
:func:`derive.explorer.rules.evaluate` (the same guards, substituted in Python) and derive's
element functions (:mod:`derive.explorer.reference`).
"""

from __future__ import annotations

import functools
import math
import random
import re
import statistics
from pathlib import Path
from typing import Any

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from derive import conv as C
from derive import transpose as T
from derive.errors import ShapeError
from derive.explorer import jsgen, rules, taps
from derive.explorer.layer import EXPLORER_OPS, Layer, explorer_link, explorer_url
from derive.explorer.reference import input_shape, reference, weight_shape, window_plan
from derive.ops import TransposedConvolution
from derive.shapes import conv_output_size
from derive.windows import AxisWindows

OPS = tuple(EXPLORER_OPS)
#: random configurations per operation driven through the page
PER_OP = 2000


def random_layer(rng: random.Random, op: str) -> Layer:
    """A layer from ranges where torch accepts about half the time (edge values included)."""
    dims = rng.choice((1, 2))

    def axis(lo: int, hi: int, bad: float = 0.06, low: int = 0) -> tuple[int, ...]:
        return tuple(rng.randint(low, lo - 1) if rng.random() < bad else rng.randint(lo, hi)
                     for _ in range(dims))  # fmt: skip

    def pad() -> object:
        forms = {"conv": ("int", "int", "pair", "same", "valid"), "conv_transpose": ("int",)}
        form = rng.choice(forms.get(op, ("int",) * 8 + ("pair", "pair", "same")))
        if form in ("same", "valid"):
            return form
        top = 3 if op.startswith("conv") else 1  # pooling pads at most half the kernel
        side = lambda: rng.randint(-1, 3) if rng.random() < 0.05 else rng.randint(0, top)  # noqa: E731
        return tuple((side(), side()) if form == "pair" else side() for _ in range(dims))

    groups = rng.choice((1, 1, 2, 3)) if rng.random() > 0.03 else 0
    fits = rng.random() < 0.85 and groups > 0  # channels that groups divide, mostly

    size_hi = 9 if dims == 2 else 16
    return Layer(
        op, size=axis(1, size_hi, 0.04, -1), kernel_size=axis(1, 5, 0.04, -1),
        stride=axis(1, 3, 0.04), padding=pad(), dilation=axis(1, 3, 0.04),  # type: ignore[arg-type]
        output_padding=tuple(rng.randint(0, 3) for _ in range(dims)),
        ceil_mode=rng.random() < 0.5, count_include_pad=rng.random() < 0.5,
        in_channels=groups * rng.randint(1, 2) if fits else rng.randint(1, 4),
        out_channels=groups * rng.randint(1, 2) if fits else rng.randint(1, 4), groups=groups,
        input=rng.choice(("ramp", "random", "edge")), seed=rng.randint(0, 999),
    )  # fmt: skip


def _numbers(layer: Layer, seed: int) -> tuple[list[int], list[int] | None]:
    rng = random.Random(seed)
    x = [rng.randint(-4, 9) for _ in range(math.prod(input_shape(layer)))]
    ws = weight_shape(layer)
    return x, ([rng.randint(-2, 2) for _ in range(math.prod(ws))] if ws else None)


def _has_tensors(layer: Layer) -> bool:
    """Whether derive's element functions can be given this layer's tensors at all.

    A transposed convolution whose ``groups`` does not divide ``out_channels`` has no weight
    ``(C_in, C_out/g, kH, kW)``: only the explorer's own check (torch's module check, see
    :func:`derive.explorer.rules.channel_guards`) speaks for it.
    """
    weighted = layer.operation.weighted
    if min(layer.size) < 1 or (weighted and layer.groups < 1):
        return False
    transposed = isinstance(layer.operation, TransposedConvolution)
    return not (transposed and layer.out_channels % layer.groups)


# ------------------------------------------------------------------------------------------
# Python: the explorer's rules are derive's


def test_rules_agree_with_derive_element_functions() -> None:
    rng = random.Random(7)
    checked = {op: [0, 0] for op in OPS}
    for op in OPS:
        for _ in range(150):
            layer = random_layer(rng, op)
            if not _has_tensors(layer):
                continue
            verdict = rules.evaluate(layer)
            ref = reference(layer, *_numbers(layer, rng.randint(0, 10**6)))
            checked[op][verdict.message is None] += 1
            assert (ref.message is None) == (verdict.message is None), layer
            assert ref.shape == verdict.shape, layer
            if layer.dims == 2:  # 1-D layers run derive's 2-D functions with a unit height
                assert ref.message == verdict.message, layer
    for op, (rejected, accepted) in checked.items():
        assert rejected > 10 and accepted > 10, (op, rejected, accepted)


@pytest.mark.parametrize("op", ["conv", "conv_transpose"])
@pytest.mark.parametrize("dims", [1, 2])
@pytest.mark.parametrize("groups, cin, cout", [(0, 2, 2), (2, 3, 2), (2, 2, 4), (3, 6, 6),
                                               (2, 4, 6), (2, 3, 3)])  # fmt: skip
def test_channel_messages_are_derives(op: str, dims: int, groups: int, cin: int,
                                      cout: int) -> None:  # fmt: skip
    layer = Layer(op, size=(4, 5)[:dims], kernel_size=(2, 3)[:dims], in_channels=cin,
                  out_channels=cout, groups=groups)  # fmt: skip
    verdict = rules.evaluate(layer)
    transposed = op == "conv_transpose"
    if groups >= 1 and transposed and cout % groups and not cin % groups:  # no weight exists:
        assert verdict.message == (f"out_channels must be divisible by groups, got "  # torch's
                                   f"out_channels={cout} and groups={groups}")  # module check
        return
    x = sp.Array([0] * math.prod(input_shape(layer)), input_shape(layer))
    ws = (cin, cout // max(groups, 1)) if transposed else (cout, cin // max(groups, 1))
    shape = (*ws, *((1,) if dims == 1 else ()), *layer.kernel_size)
    w = sp.Array([0] * math.prod(shape), shape)
    function = T.conv_transpose2d if transposed else C.conv2d
    try:
        function(x, w, groups=groups)
    except ShapeError as exc:
        assert verdict.message == str(exc)
    else:
        assert verdict.message is None and groups >= 1


# ------------------------------------------------------------------------------------------
# Python: the window arithmetic is the core's (derive.windows)


_SYMBOLS = {**taps.AXIS_SYMBOLS, **taps.CHANNEL_SYMBOLS, **taps.TAP_SYMBOLS}


@functools.cache
def _compiled(expr: sp.Expr) -> Any:
    """``expr`` as a Python function of every symbol (by keyword); exact on ints."""
    names = list(_SYMBOLS)
    return sp.lambdify([_SYMBOLS[n] for n in names], expr, modules="math"), names


def _at(expr: sp.Expr, **values: int) -> int:
    """``expr`` at ``values`` (the other symbols at 1)."""
    fn, names = _compiled(expr)
    return int(fn(*(values.get(n, 1) for n in names)))


@st.composite
def axis_windows(draw: Any) -> AxisWindows:
    fields = {name: draw(st.integers(least, 7)) for name, least in (
        ("size", 0), ("kernel", 1), ("stride", 1), ("dilation", 1), ("before", 0), ("after", 0),
        ("out", 0))}  # fmt: skip
    return AxisWindows(**fields)


@settings(max_examples=300)
@given(axis_windows())
def test_taps_are_what_the_core_windows_compute(w: AxisWindows) -> None:
    values = {name: getattr(w, field) for field, sym in taps.AXIS_FIELDS.items()
              for name in [sym.name]}  # fmt: skip
    for i in range(w.out):
        coords = [_at(taps.WINDOW_INDEX, i=i, a=a, **values) for a in range(w.kernel)]
        assert tuple(coords) == w.coords(i)
        places = [taps.PLACES[_at(taps.PLACE, r=r, **values)] for r in coords]
        assert places == [p.value for p in w.places(i)]
        assert _at(taps.EXTENT, i=i, **values) == w.extent(i)
    for r in range(w.size):  # a transposed convolution reads the windows backwards
        gathered = [(i, a) for i in range(w.out) for a in range(w.kernel)
                    if _at(taps.WINDOW_INDEX, i=i, a=a, **values) == r]  # fmt: skip
        assert tuple(gathered) == w.gather(r)


def _axis_fields(layer: Layer, axis: int, same: bool) -> dict[str, int]:
    """The AxisWindows fields the page puts into the taps for one axis (its windowAxis and
    scatterAxis), from the explorer's values and the size its engine computes."""
    v = {s.name: value for s, value in rules.axis_values(layer, axis, same).items()}
    verdict = rules.evaluate(layer)
    assert verdict.shape is not None
    out = verdict.shape[1 + axis]
    if isinstance(layer.operation, TransposedConvolution):
        return dict(size=out, kernel=v["k"], stride=v["s"], dilation=v["d"], before=v["p"],
                    after=v["p"], out=v["n"])  # fmt: skip
    return dict(size=v["n"], kernel=v["k"], stride=v["s"], dilation=v["d"], before=v["lo"],
                after=v["hi"], out=out)  # fmt: skip


def test_explorer_axes_are_the_core_plans() -> None:
    """The page's axis values, put into the taps, are the core's window plans of the layer."""
    rng = random.Random(11)
    compared = 0
    for _ in range(400):
        layer = random_layer(rng, rng.choice(OPS))
        if not _has_tensors(layer) or rules.evaluate(layer).message is not None:
            continue
        plan = window_plan(layer)
        same = layer.padding == "same" and layer.dims == 2
        mine = [AxisWindows(**_axis_fields(layer, k, same)) for k in range(layer.dims)]
        assert mine == [plan.rows, plan.cols][2 - layer.dims:], layer
        compared += 1
    assert compared > 100


@settings(max_examples=60)
@given(st.sampled_from([1, 2, 3]), st.integers(1, 3), st.integers(1, 3), st.booleans())
def test_group_channels_are_the_core_ones(groups: int, per_in: int, per_out: int,
                                          transposed: bool) -> None:  # fmt: skip
    cin, cout = groups * per_in, groups * per_out
    x = sp.Array([sp.Symbol(f"x{c}") for c in range(cin)], (cin, 1, 1))
    at = dict(cin=cin, cout=cout, g=groups)
    for o in range(cout):
        mine = {_at(taps.GROUP_CHANNEL, c=c, o=o, **at) for c in range(per_in)}
        if transposed:
            w = sp.Array([1] * cin * per_out, (cin, per_out, 1, 1))
            terms = T.conv_transpose2d_terms(x, w, (o, 0, 0), groups=groups)
            assert {t[2][1] for t in terms} == {_at(taps.GROUP_OUTPUT, o=o, **at)}
        else:
            w = sp.Array([1] * cout * per_in, (cout, per_in, 1, 1))
            terms = C.conv2d_terms(x, w, (o, 0, 0), groups=groups)
        assert {t[0][0] for t in terms} == mine


def test_channel_guards_are_the_core_ones() -> None:
    """The explorer's channel guards are derive.channels' (the one of its own excepted)."""
    from derive import channels

    for op in ("conv", "conv_transpose"):
        for dims in (1, 2):
            mine = rules.channel_guards(op, dims)
            transposed = op == "conv_transpose"
            shapes = rules.explorer_shapes(op, dims)
            core = channels.channel_guards(*shapes, rules.CHANNEL_SYMBOLS["g"],
                                           transposed=transposed)  # fmt: skip
            assert mine[: len(core)] == core
            assert len(mine) - len(core) == (1 if transposed else 0)


def test_url_round_trip_in_python() -> None:
    rng = random.Random(3)
    for op in OPS:
        for _ in range(200):
            layer = random_layer(rng, op)
            assert Layer.from_query(layer.query()) == layer
    assert explorer_url(Layer(), base="/x/") == "/x/explorer/?op=conv&size=5,5&kernel_size=3,3"
    assert explorer_link(Layer(), "concepts/padding.md").startswith("../explorer.md?op=conv")
    with pytest.raises(ShapeError, match="op must be one of"):
        Layer.from_query("op=fft&size=3")
    with pytest.raises(ShapeError, match="one int padding per axis"):
        Layer("conv_transpose", size=(4,), kernel_size=(2,), padding=((1, 0),))


def test_engine_module_is_marked_and_exact() -> None:
    js = jsgen.engine_js()
    assert js.startswith(jsgen.MARKER + " ")
    assert len(jsgen.engine_version(js)) == 12
    assert "Math.floor" not in js  # every floor is an exact integer division
    with pytest.raises(ValueError, match="outside a floor"):
        jsgen.ExactJavascriptPrinter().doprint(sp.Symbol("n") / 2)


def test_formulas_are_printed_in_the_book_order() -> None:
    forms = {key: jsgen.formula_forms(v.rule.size)  # type: ignore[arg-type]
             for key, v in rules.variants().items()}  # fmt: skip
    assert forms["conv/pair"]["latex"].startswith(r"\left\lfloor \frac{n + p_l + p_r - d")
    assert forms["conv_transpose/int"]["text"] == (
        "@s@·(@n@ − 1) − 2·@p@ + @d@·(@k@ − 1) + @q@ + 1")
    for form in forms.values():
        assert "@" not in form["latex"] and "@n@" in form["slots"] and "@n@" in form["text"]


# ------------------------------------------------------------------------------------------
# the page in the browser

_DRIVE = """
(batch) => {
  const X = window.deriveExplorer;
  const root = document.getElementById("derive-explorer");
  const out = [];
  for (const [query, pick] of batch) {
    X.load(query, {noHistory: true});
    const row = {
      accepted: root.dataset.accepted === "true",
      message: document.getElementById("dx-message").textContent,
      shape: document.getElementById("dx-shape").dataset.shape,
      query: X.query(),
    };
    if (row.accepted) {
      const shape = JSON.parse("[" + row.shape.slice(1, -1).replace(/,\\s*$/, "") + "]");
      const cell = shape.map((n, k) => Math.floor(pick[k] * n));
      X.select(cell[0], cell.slice(1));
      row.cell = cell;
      row.value = document.getElementById("dx-value").dataset.value;
      const t = X.tensors();
      row.x = t.x;
      row.w = t.w;
    }
    out.push(row);
  }
  return out;
}
"""

_READY = "() => document.getElementById('derive-explorer').dataset.ready"


def _open(ctx: Any, url: str) -> Any:
    page = ctx.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    page.on("pageerror", lambda e: page.errors.append(f"uncaught: {e}"))
    page.goto(url, wait_until="load")
    page.wait_for_function(_READY)
    return page


@pytest.fixture(scope="module")
def explorer(context: Any, base_url: str) -> Any:
    page = _open(context, base_url + "explorer/")
    yield page
    page.close()


def _compare(layer: Layer, row: dict[str, Any]) -> list[str]:
    """What the page got wrong about ``layer`` (``[]`` when it agrees with derive)."""
    wrong = []
    verdict = rules.evaluate(layer)
    page_shape = row["shape"] or None
    if row["accepted"] != (verdict.message is None):
        wrong.append(f"accepted={row['accepted']}, derive says {verdict.message!r}")
    elif verdict.message is not None and row["message"] != verdict.message:
        wrong.append(f"message {row['message']!r}, derive {verdict.message!r}")
    elif verdict.shape is not None and page_shape != str(verdict.shape):
        wrong.append(f"shape {page_shape}, derive {verdict.shape}")
    if row["query"] != layer.query():
        wrong.append(f"query {row['query']!r}, Python {layer.query()!r}")
    if _has_tensors(layer):
        w = row.get("w") or None
        x = row.get("x") or _numbers(layer, 0)[0]
        if w is None and weight_shape(layer):
            w = [1] * math.prod(weight_shape(layer))
        ref = reference(layer, x, w)
        if (ref.message is None) != row["accepted"]:
            wrong.append(f"derive's element functions say {ref.message!r}")
        elif ref.message and layer.dims == 2 and ref.message != row["message"]:
            wrong.append(f"message {row['message']!r}, derive's functions {ref.message!r}")
        elif ref.elements is not None:
            flat = ref.elements[_flat(ref.shape, row["cell"])]  # type: ignore[arg-type]
            if str(flat) != row["value"]:
                wrong.append(f"element {row['cell']} = {row['value']}, derive {flat}")
    return wrong


def _flat(shape: tuple[int, ...], index: list[int]) -> int:
    out = 0
    for n, i in zip(shape, index):
        out = out * n + i
    return out


def test_page_agrees_with_derive_on_random_configurations(explorer: Any) -> None:
    rng = random.Random(2024)
    figures = {}
    disagreements: list[str] = []
    for op in OPS:
        layers = [random_layer(rng, op) for _ in range(PER_OP)]
        picks = [[rng.random() for _ in range(3)] for _ in layers]
        rows: list[dict[str, Any]] = []
        for start in range(0, len(layers), 250):
            batch = [[layer.query(), pick] for layer, pick in
                     zip(layers[start:start + 250], picks[start:start + 250])]  # fmt: skip
            rows += explorer.evaluate(_DRIVE, batch)
        accepted = sum(r["accepted"] for r in rows)
        elements = sum(_has_tensors(layer) and r["accepted"] for layer, r in zip(layers, rows))
        own = sum(r["message"].startswith("out_channels must be divisible by groups, got "
                                          "out_channels=") and "weight" not in r["message"]
                  for r in rows)  # the explorer's one check of its own (nn.ConvTranspose2d's)
        figures[op] = dict(configurations=len(rows), accepted=accepted,
                           rejected=len(rows) - accepted, elements_compared=elements,
                           module_check=own)  # fmt: skip
        for layer, row in zip(layers, rows):
            disagreements += [f"{layer.query()}: {w}" for w in _compare(layer, row)]
    print("\nexplorer vs derive:", figures, "disagreements:", len(disagreements))
    assert not disagreements, disagreements[:10]
    for op, f in figures.items():
        assert f["configurations"] >= 2000 and f["accepted"] >= 400 and f["rejected"] >= 400, op
    assert not explorer.errors


def test_pooling_stride_left_out_is_the_kernel_size_as_in_torch(explorer: Any) -> None:
    """torch's pooling default (``stride=None``: the kernel size) on both sides of a link."""
    queries = ["op=max_pool&size=7,9&kernel_size=2,3", "op=avg_pool&size=5&kernel_size=2",
               "op=max_pool&size=7,9&kernel_size=2,3&stride=1,1", "op=conv&size=6&kernel_size=3"]
    layers = [Layer.from_query(q) for q in queries]
    assert [layer.stride for layer in layers] == [(2, 3), (2,), (1, 1), (1,)]
    assert [layer.query() for layer in layers] == queries
    rows = explorer.evaluate(_DRIVE, [[q, [0.5, 0.5, 0.5]] for q in queries])
    problems = [w for layer, row in zip(layers, rows) for w in _compare(layer, row)]
    assert not problems, problems
    assert [r["accepted"] for r in rows] == [True] * len(queries)


def test_url_round_trip_in_the_page(context: Any, base_url: str) -> None:
    layer = Layer("avg_pool", size=(7, 6), kernel_size=(3, 2), stride=(2, 2),
                  padding=((1, 0), 1), ceil_mode=True, count_include_pad=False,
                  input="random", seed=42)  # fmt: skip
    page = _open(context, explorer_url(layer, base=base_url))
    assert Layer.from_query(page.evaluate("() => location.search")) == layer
    page.select_option("#dx-op", "max_pool")  # a change goes back into the URL
    changed = layer.with_(op="max_pool")
    page.wait_for_function("(q) => location.search === '?' + q", arg=changed.query())
    page.reload(wait_until="load")
    page.wait_for_function(_READY)
    assert page.evaluate("() => window.deriveExplorer.query()") == changed.query()
    transposed = Layer("conv_transpose", size=(3, 4), kernel_size=(2, 3), in_channels=4,
                       out_channels=6, groups=2, padding=(1, 0))  # fmt: skip
    page.goto(explorer_url(transposed, base=base_url), wait_until="load")
    page.wait_for_function(_READY)
    assert page.evaluate("() => window.deriveExplorer.query()") == transposed.query()
    assert page.evaluate("() => document.getElementById('dx-groups').closest('[hidden]')") is None
    errors = page.errors
    page.close()
    assert not errors


def test_keyboard_reaches_every_control_and_moves_the_window(context: Any, base_url: str) -> None:
    layer = Layer("conv", size=(6, 6), kernel_size=(3, 3), padding=(1, 1), in_channels=2,
                  out_channels=2)  # fmt: skip
    page = _open(context, explorer_url(layer, base=base_url))
    # MathJax's typeset formula is focusable: list the controls once it is on the page
    try:
        page.wait_for_function(
            "() => document.getElementById('dx-formula').dataset.typeset === 'done'", timeout=20_000
        )
    except Exception:  # noqa: BLE001 - MathJax late: the formula is then text, not focusable
        pass
    visible = page.evaluate("""() => [...document.querySelectorAll('#derive-explorer input,'
        + ' #derive-explorer select, #derive-explorer button, #derive-explorer [tabindex]')]
        .filter((e) => e.offsetParent !== null && !e.disabled && e.tabIndex >= 0)
        .map((e) => e.id || (e.closest('#dx-formula') ? 'dx-formula' : e.tagName))""")
    page.focus("#dx-op")
    here = """() => { const e = document.activeElement;
        return e.id || (e.closest('#dx-formula') ? 'dx-formula' : e.tagName); }"""
    reached = [page.evaluate(here)]
    for _ in range(40):  # Tab through the page until the output grid has the focus
        page.keyboard.press("Tab")
        reached.append(page.evaluate(here))
        if reached[-1] == "dx-output-grid":
            break
    assert reached == visible, (reached, visible)  # every control, in reading order
    selected = lambda: page.evaluate("() => document.getElementById('dx-output-grid').dataset.idx")  # noqa: E731
    first = selected()
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    for key in ("ArrowRight", "ArrowDown", "ArrowDown"):
        page.keyboard.press(key)
    moved = selected()
    expression = page.text_content("#dx-cell .dx-expr")
    page.keyboard.press("End")
    end = selected()
    page.keyboard.press("Control+Home")
    home = selected()
    focused = page.evaluate("() => document.activeElement.id")
    page.focus("#dx-step")
    page.keyboard.press("Enter")  # the Step button moves the window by one
    stepped = selected()
    page.focus("#dx-play")
    page.keyboard.press(" ")
    playing = page.get_attribute("#dx-play", "aria-pressed")
    page.keyboard.press(" ")
    paused = page.get_attribute("#dx-play", "aria-pressed")
    errors = page.errors
    page.close()
    assert first == "0,0" and focused == "dx-output-grid"
    assert outline not in ("none", "")  # the focus is visible
    assert moved == "2,1"
    assert expression.startswith("y_{0,2,1} = x_{0,1,0}·w_{0,0,0,0}")
    assert (end, home, stepped) == ("2,5", "0,0", "0,1")
    assert (playing, paused) == ("true", "false")
    assert not errors


def test_rejection_explains_what_does_not_fit(explorer: Any) -> None:
    layer = Layer("conv", size=(4,), kernel_size=(3,), dilation=(2,))
    explorer.evaluate("(q) => window.deriveExplorer.load(q, {noHistory: true})", layer.query())
    message = explorer.text_content("#dx-message")
    over = explorer.evaluate("() => Number(document.getElementById('dx-input-grid').dataset.over)")
    with pytest.raises(ShapeError) as exc:
        conv_output_size(4, 3, dilation=2)
    assert message == str(exc.value)
    assert over == 1  # the span of 5 passes the 4 entries by one


def test_formula_is_shown_at_once_then_typeset(explorer: Any) -> None:
    layer = Layer("conv", size=(8,), kernel_size=(3,), stride=(2,), padding=(1,))
    text = explorer.evaluate(
        "(q) => { window.deriveExplorer.load(q, {noHistory: true});"
        " return document.getElementById('dx-formula').textContent; }", layer.query())
    assert text == "length: n_out = ⌊(8 + 2·1 − 1·(3 − 1) − 1)/2⌋ + 1 = 4"
    explorer.wait_for_function(
        "() => document.getElementById('dx-formula').dataset.typeset === 'done'"
    )
    assert explorer.evaluate("() => !!document.querySelector('#dx-formula mjx-container')")
    tex = explorer.evaluate("() => document.getElementById('dx-formula').dataset.tex")
    symbolic = jsgen.formula_forms(rules.variants()["conv/int"].rule.size)["latex"]  # type: ignore[arg-type]
    assert symbolic in tex and tex.endswith(r"= 4\end{aligned}\]")
    assert not explorer.errors


_CHANGES = """
async ([field, values]) => {
  const X = window.deriveExplorer;
  const root = document.getElementById("derive-explorer");
  const input = document.getElementById(field);
  const frame = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
  const out = [];
  for (let i = 0; i < values.length; i++) {
    await frame(); // a frame between changes, as between a reader's keystrokes
    input.value = values[i];
    const t0 = performance.now();
    input.dispatchEvent(new Event("change", { bubbles: true }));
    root.getBoundingClientRect(); // style and layout of what changed, as before a paint
    out.push([X.lastNumericMs, X.lastUpdateMs, performance.now() - t0]);
  }
  return out;
}
"""


def _summary(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
    return f"median {statistics.median(times):.2f} ms, p95 {p95:.2f} ms, max {ordered[-1]:.2f} ms"


def test_speed_in_the_browser(context: Any, base_url: str) -> None:
    """Figures, printed (no timed assertion): a parameter change on a 32x32 convolution, from
    the control's event to the new verdict, shape, formula and grids laid out; and the time
    from navigation to an interactive page."""
    layer = Layer("conv", size=(32, 32), kernel_size=(3, 3), padding=(1, 1), input="random")
    page = _open(context, explorer_url(layer, base=base_url))
    ready = page.evaluate("() => window.deriveExplorer.readyMs")
    scenarios = {
        "stride 1 <-> 2 (grid 32x32 <-> 16x16)": ("dx-stride", ["2", "1"] * 30),
        "seed (same grids, new values)": ("dx-seed", [str(i) for i in range(1, 61)]),
    }
    print(f"\nexplorer speed: interactive {ready:.0f} ms after navigation")
    figures = {}
    for name, (field, values) in scenarios.items():
        times = page.evaluate(_CHANGES, [field, values])
        figures[name] = times
        print(f"  {name}: numeric part {_summary([t[0] for t in times])};"
              f" whole update with layout {_summary([t[2] for t in times])}")
    shape = page.text_content("#dx-shape")
    page.close()
    assert shape == "output shape (1, 32, 32)"  # the last change put stride 1 back
    assert ready > 0 and all(len(t) == 60 for t in figures.values())


_OVERFLOW = """
() => {
  const width = document.documentElement.clientWidth;
  const controls = [...document.querySelectorAll(
      '#derive-explorer input, #derive-explorer select, #derive-explorer button')]
    .filter((e) => e.offsetParent !== null && !e.closest('.dx-grid'));
  const box = (e) => e.getBoundingClientRect();
  const grid = document.getElementById('dx-output-grid');
  return {
    page: document.documentElement.scrollWidth - width,
    outside: controls.filter((e) => box(e).left < 0 || box(e).right > width + 0.5)
      .map((e) => e.id),
    small: controls.filter((e) => box(e).height < 24 || box(e).width < 24).map((e) => e.id),
    cell: grid.dataset.idx ? window.deriveExplorer.look().cell : null,
  };
}
"""


def test_phone_width(new_context: Any, base_url: str) -> None:
    """At 390 px (a phone), nothing overflows the page and the controls are large enough to
    tap; tapping a cell and typing in a field work."""
    ctx = new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                      device_scale_factor=2)  # fmt: skip
    layers = [
        Layer(),
        Layer("conv", size=(32, 32), kernel_size=(3, 3), padding=(1, 1), in_channels=2,
              out_channels=4, groups=2),
        Layer("conv", size=(4, 3), kernel_size=(5, 5), dilation=(3, 3)),  # a long message
        Layer("conv_transpose", size=(6, 6), kernel_size=(3, 3), stride=(2, 2), in_channels=2,
              out_channels=4, groups=2, output_padding=(1, 1)),
        Layer("avg_pool", size=(16,), kernel_size=(3,), stride=(2,), padding=(1,),
              ceil_mode=True),
    ]  # fmt: skip
    page = _open(ctx, explorer_url(layers[0], base=base_url))
    found = {}
    for layer in layers:
        page.evaluate("(q) => window.deriveExplorer.load(q, {noHistory: true})", layer.query())
        found[layer.query()] = page.evaluate(_OVERFLOW)
    page.evaluate("(q) => window.deriveExplorer.load(q, {noHistory: true})", layers[1].query())
    cell = page.evaluate("() => window.deriveExplorer.look().cell")
    page.tap("#dx-output-grid canvas", position={"x": 2.5 * cell, "y": 1.5 * cell})
    tapped = page.evaluate("() => document.getElementById('dx-output-grid').dataset.idx")
    page.fill("#dx-stride", "2")
    shape = page.text_content("#dx-shape")
    errors = page.errors
    page.close()
    for query, f in found.items():
        assert f["page"] <= 0, (query, f)
        assert not f["outside"] and not f["small"], (query, f)
        assert f["cell"] is None or f["cell"] >= 24, (query, f)
    assert tapped == "1,2" and shape == "output shape (4, 16, 16)"
    assert not errors


_COLORS = """
async (scheme) => {
  if (!document.getElementById("dx-test-still")) { // the palette itself, not a fade into it
    const still = document.createElement("style");
    still.id = "dx-test-still";
    still.textContent = "*, *::before, *::after { transition: none !important; }";
    document.head.append(still);
  }
  document.body.setAttribute("data-md-color-scheme", scheme);
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  window.deriveExplorer.relook();
  const backgrounds = (el) => {
    const out = [];
    for (let node = el; node; node = node.parentElement) {
      out.push(getComputedStyle(node).backgroundColor);
    }
    return out;
  };
  const selectors = ["#dx-verdict", "#dx-message", "#dx-shape", "#dx-formula", ".dx-field label",
    "#dx-size", "#dx-op", "#dx-play", ".dx-legend", "figcaption", "#dx-cell .dx-expr"];
  const out = {};
  for (const sel of selectors) {
    const el = [...document.querySelectorAll(sel)].find((e) => e.offsetParent !== null &&
      (e.value || e.textContent).trim());
    if (el) out[sel] = [getComputedStyle(el).color, backgrounds(el)];
  }
  // the canvases' cells: text on a plain cell, in the window, on the selected output
  const colors = window.deriveExplorer.look().colors;
  for (const kind of ["plain", "win", "sel"]) {
    out["cell " + kind] = [colors[kind].fg, [colors[kind].bg]];
  }
  return out;
}
"""


def _rgba(css: str) -> tuple[float, float, float, float]:
    """A computed CSS colour (``rgb()``, ``rgba()`` or ``color(srgb ...)``) as 0-255 RGB + alpha."""
    numbers = [float(x) for x in re.findall(r"[-\d.]+", css.split("(", 1)[1])]
    if css.startswith("color(srgb"):
        numbers = [255 * x for x in numbers[:3]] + numbers[3:]
    return (*numbers[:3], numbers[3] if len(numbers) > 3 else 1.0)  # type: ignore[return-value]


def _over(top: tuple[float, ...], below: tuple[float, ...]) -> tuple[float, ...]:
    return tuple(t * top[3] + b * (1 - top[3]) for t, b in zip(top[:3], below[:3]))


def _contrast(fg: str, backgrounds: list[str]) -> float:
    """WCAG's contrast ratio of text ``fg`` over the stack of ``backgrounds`` (innermost first)."""
    stack = []
    for css in backgrounds:  # down to the first opaque background
        stack.append(_rgba(css))
        if stack[-1][3] >= 1:
            break
    bg: tuple[float, ...] = (255.0, 255.0, 255.0)
    for layer in reversed(stack):
        bg = _over(layer, bg)
    text = _over(_rgba(fg), bg)

    def luminance(rgb: tuple[float, ...]) -> float:
        c = [v / 255 for v in rgb]
        c = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in c]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]

    hi, lo = sorted((luminance(text), luminance(bg)), reverse=True)
    return round((hi + 0.05) / (lo + 0.05), 2)


@pytest.mark.parametrize("scheme", ["default", "slate"])
def test_palettes_are_readable(explorer: Any, scheme: str) -> None:
    """Every kind of text on the page, the grids' cells included, meets WCAG's 4.5:1 contrast
    in the light and the dark palette (a rejected layer, then an accepted one)."""
    ratios = {}
    for layer in (Layer("conv", size=(4,), kernel_size=(5,)),
                  Layer("conv", size=(5, 5), kernel_size=(3, 3), padding=(1, 1))):
        explorer.evaluate("(q) => window.deriveExplorer.load(q, {noHistory: true})", layer.query())
        colors = explorer.evaluate(_COLORS, scheme)
        ratios.update({k: _contrast(fg, bgs) for k, (fg, bgs) in colors.items()})
    explorer.evaluate("() => document.body.setAttribute('data-md-color-scheme', 'default')")
    explorer.evaluate("() => window.deriveExplorer.relook()")
    print(f"\ncontrast ({scheme}):", ratios)
    assert len(ratios) == 14, ratios
    assert all(r >= 4.5 for r in ratios.values()), ratios


def test_concept_pages_link_explorer_presets() -> None:
    concepts = Path(__file__).resolve().parents[1] / "docs" / "concepts"
    found = 0
    for page in sorted(concepts.glob("*.md")):
        links = re.findall(r"\(\.\./explorer\.md\?([^)\s]+)\)", page.read_text(encoding="utf-8"))
        assert links, f"{page.name} links no explorer preset"
        for query in links:
            layer = Layer.from_query(query)
            assert layer.query() == query  # the link is what derive.explorer writes
            found += 1
    assert found >= 9


def test_no_request_left_the_machine(context: Any, explorer: Any) -> None:
    assert not context.offsite, context.offsite[:5]
    assert not explorer.errors
