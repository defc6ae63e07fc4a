"""The explorer: its rules against derive's element functions, its URLs, its generated engine,
and the page itself driven in Debian's chromium over thousands of random configurations.

The browser part builds and serves the site as tests/test_site.py does (its fixtures are
reused) and drives the page through its own state function, ``deriveExplorer.load(query)``,
reading what the page shows (verdict, message, shape, the selected element's value) from
the DOM. Every answer is compared with derive in Python: :func:`derive.explorer.rules.evaluate`
(the same guards, substituted in Python) and derive's element functions
(:mod:`derive.explorer.reference`).
"""

from __future__ import annotations

import math
import random
import statistics
from typing import Any

import pytest
import sympy as sp

# the built, served site of tests/test_site.py (pytest puts tests/ on sys.path); the browser
# is this module's own, closed when the module ends (a session-long Playwright loop would
# be running under the notebook tests' asyncio)
from test_site import CHROMIUM, CHROMIUM_ARGS, LOCAL_HOST, TIMEOUT_MS, base_url, site_dir  # noqa: F401

from derive import conv as C
from derive import pool as PL
from derive.errors import ShapeError
from derive.explorer import jsgen, rules, taps
from derive.explorer.layer import EXPLORER_OPS, Layer, explorer_link, explorer_url
from derive.explorer.reference import input_shape, reference, weight_shape
from derive.transpose import _Plan

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


# ------------------------------------------------------------------------------------------
# Python: the explorer's rules are derive's


def test_rules_agree_with_derive_element_functions() -> None:
    rng = random.Random(7)
    checked = {op: [0, 0] for op in OPS}
    for op in OPS:
        for _ in range(150):
            layer = random_layer(rng, op)
            if min(layer.size) < 1 or (layer.op == "conv" and layer.groups < 1):
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


@pytest.mark.parametrize("groups, cin, cout", [(0, 2, 2), (2, 3, 2), (2, 2, 3), (3, 6, 4)])
def test_channel_messages_are_derives(groups: int, cin: int, cout: int) -> None:
    layer = Layer("conv", size=(4, 5), kernel_size=(2, 3), in_channels=cin, out_channels=cout,
                  groups=groups)  # fmt: skip
    x = [0] * math.prod(input_shape(layer))
    w = [0] * (cout * max(cin // max(groups, 1), 1) * 6)
    ws = (cout, max(cin // max(groups, 1), 1), 2, 3)
    with pytest.raises(ShapeError) as exc:
        C.conv2d(sp.Array(x, input_shape(layer)), sp.Array(w, ws), groups=groups)
    assert rules.evaluate(layer).message == str(exc.value)


def test_window_arithmetic_is_derives() -> None:
    sym = {**rules.AXIS_SYMBOLS, **taps.TAP_SYMBOLS}
    for n, k, s, d, lo, hi in [(7, 3, 2, 1, 1, 1), (9, 2, 3, 2, 2, 0), (5, 3, 1, 3, 0, 2)]:
        values = {sym["n"]: n, sym["k"]: k, sym["s"]: s, sym["d"]: d, sym["lo"]: lo,
                  sym["hi"]: hi}  # fmt: skip
        out = int(C.conv_output_size(n, k, s, (lo, hi), d))
        plan = C.plan_conv2d((1, 1, n), (1, 1, 1, k), (1, s), ((0, 0), (lo, hi)), (1, d))
        for i in range(out):
            index = [int(taps.WINDOW_INDEX.subs({**values, sym["i"]: i, sym["a"]: a}))
                     for a in range(k)]  # fmt: skip
            assert [(a, r) for a, r in enumerate(index) if 0 <= r < n] == plan.cols[i]
        if hi <= k // 2 and lo <= k // 2:
            (_, pw), windows = PL.pool2d_windows((1, 1, n), (1, k), (1, s), ((0, 0), (lo, hi)), 1)
            for i in range(pw):
                extent = taps.PADDED_EXTENT.subs({**values, sym["d"]: 1, sym["i"]: i})
                assert int(extent) == windows[i][2]
    plan = _Plan((1, 1, 4), (1, 1, 1, 3), (1, 2), (0, 1), (0, 0), 1, (1, 2), None)
    for r, gathered in enumerate(plan.cols):
        mine = [(i, a) for i in range(4) for a in range(3)
                if taps.SCATTER_INDEX.subs({sym["i"]: i, sym["a"]: a, sym["s"]: 2, sym["p"]: 1,
                                            sym["d"]: 2}) == r]  # fmt: skip
        assert mine == gathered


def test_group_channel_is_derives() -> None:
    x = sp.Array([sp.Symbol(f"x{c}") for c in range(6)], (6, 1, 1))
    w = sp.Array([1] * 4 * 3, (4, 3, 1, 1))
    y = C.conv2d(x, w, groups=2)
    sym = {**rules.CHANNEL_SYMBOLS, **taps.TAP_SYMBOLS}
    for o in range(4):
        channels = {int(taps.GROUP_CHANNEL.subs({sym["c"]: c, sym["o"]: o, sym["cin"]: 6,
                                                 sym["cout"]: 4, sym["g"]: 2}))
                    for c in range(3)}  # fmt: skip
        assert y[o, 0, 0].free_symbols == {sp.Symbol(f"x{c}") for c in channels}


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


def test_engine_module_is_marked_and_exact() -> None:
    js = jsgen.engine_js()
    assert js.startswith(jsgen.MARKER + " ")
    assert len(jsgen.engine_version(js)) == 12
    assert "Math.floor" not in js  # every floor is an exact integer division
    with pytest.raises(ValueError, match="outside a floor"):
        jsgen.ExactJavascriptPrinter().doprint(sp.Symbol("n") / 2)


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


@pytest.fixture(scope="module")
def context(base_url: str) -> Any:  # noqa: F811
    if not CHROMIUM.exists():
        pytest.skip(f"Debian's chromium is not at {CHROMIUM}")
    from urllib.parse import urlsplit

    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=CHROMIUM_ARGS)  # fmt: skip
        ctx = browser.new_context(service_workers="block")
        offsite: list[str] = []

        def route(r: Any) -> None:
            if urlsplit(r.request.url).hostname == LOCAL_HOST:
                r.continue_()
            else:
                offsite.append(r.request.url)
                r.abort("blockedbyclient")

        ctx.route("**/*", route)
        ctx.set_default_timeout(TIMEOUT_MS)
        ctx.offsite = offsite  # type: ignore[attr-defined]
        yield ctx
        ctx.close()
        browser.close()
        assert not offsite, f"requests left {LOCAL_HOST}: {offsite[:5]}"


@pytest.fixture(scope="module")
def explorer(context: Any, base_url: str) -> Any:  # noqa: F811
    page = context.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    page.on("pageerror", lambda e: page.errors.append(f"uncaught: {e}"))
    page.goto(base_url + "explorer/", wait_until="load")
    page.wait_for_function("() => document.getElementById('derive-explorer').dataset.ready")
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
    elif verdict.shape is not None and page_shape != str(verdict.shape).replace(",)", ",)"):
        wrong.append(f"shape {page_shape}, derive {verdict.shape}")
    if row["query"] != layer.query():
        wrong.append(f"query {row['query']!r}, Python {layer.query()!r}")
    if min(layer.size) >= 1 and not (layer.op == "conv" and layer.groups < 1):
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
        figures[op] = (len(rows), accepted, len(rows) - accepted)
        for layer, row in zip(layers, rows):
            disagreements += [f"{layer.query()}: {w}" for w in _compare(layer, row)]
    print("\nexplorer vs derive (configurations, accepted, rejected):", figures,
          "disagreements:", len(disagreements))  # fmt: skip
    assert not disagreements, disagreements[:10]
    for op, (total, accepted, rejected) in figures.items():
        assert total >= 2000 and accepted >= 400 and rejected >= 400, (op, figures[op])
    assert not explorer.errors


def test_url_round_trip_in_the_page(context: Any, base_url: str) -> None:  # noqa: F811
    layer = Layer("avg_pool", size=(7, 6), kernel_size=(3, 2), stride=(2, 2),
                  padding=((1, 0), 1), ceil_mode=True, count_include_pad=False,
                  input="random", seed=42)  # fmt: skip
    page = context.new_page()
    page.goto(explorer_url(layer, base=base_url), wait_until="load")
    page.wait_for_function("() => document.getElementById('derive-explorer').dataset.ready")
    assert Layer.from_query(page.evaluate("() => location.search")) == layer
    page.select_option("#dx-op", "max_pool")  # a change goes back into the URL
    changed = Layer.from_query(page.evaluate("() => location.search"))
    assert changed == layer.with_(op="max_pool")
    page.reload(wait_until="load")
    page.wait_for_function("() => document.getElementById('derive-explorer').dataset.ready")
    assert page.evaluate("() => window.deriveExplorer.query()") == changed.query()
    page.close()


def test_keyboard_moves_the_window(context: Any, base_url: str) -> None:  # noqa: F811
    layer = Layer("conv", size=(6, 6), kernel_size=(3, 3), padding=(1, 1))
    page = context.new_page()
    page.goto(explorer_url(layer, base=base_url), wait_until="load")
    page.wait_for_function("() => document.getElementById('derive-explorer').dataset.ready")
    page.focus("#dx-op")
    for _ in range(60):  # tab until the output grid's cell has the focus
        page.keyboard.press("Tab")
        if page.evaluate("() => !!document.activeElement.closest('#dx-output-grid')"):
            break
    else:
        pytest.fail("the output grid cannot be reached with Tab")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    focused = page.evaluate("() => document.activeElement.dataset.idx")
    expression = page.text_content("#dx-cell .dx-expr")
    page.close()
    assert focused == "2,1"
    assert expression.startswith("y_{0,2,1} = x_{0,1,0}·w_{0,0,0,0}")


def test_rejection_explains_what_does_not_fit(explorer: Any) -> None:
    layer = Layer("conv", size=(4,), kernel_size=(3,), dilation=(2,))
    explorer.evaluate("(q) => window.deriveExplorer.load(q, {noHistory: true})", layer.query())
    message = explorer.text_content("#dx-message")
    over = explorer.evaluate("() => document.querySelectorAll('#dx-input-grid .dx-over').length")
    with pytest.raises(ShapeError) as exc:
        C.conv_output_size(4, 3, dilation=2)
    assert message == str(exc.value)
    assert over == 1  # the span of 5 passes the 4 entries by one


def test_formula_is_typeset_from_the_reader_form(explorer: Any) -> None:
    layer = Layer("conv", size=(8,), kernel_size=(3,), stride=(2,), padding=(1,))
    explorer.evaluate("(q) => window.deriveExplorer.load(q, {noHistory: true})", layer.query())
    explorer.wait_for_function(
        "() => document.querySelector('#dx-formula mjx-container') !== null"
    )
    tex = explorer.evaluate("() => document.getElementById('dx-formula').dataset.tex")
    symbolic, _ = jsgen.formula_latex(rules.variants()["conv/int"].rule.size)
    assert symbolic in tex and tex.endswith(r"= 4\end{aligned}\]")
    assert not explorer.errors


def test_speed_in_the_browser(context: Any, base_url: str) -> None:  # noqa: F811
    """Figures, printed (no timed assertion): update latency at 32x32 and time to interactive."""
    figures = measure(context, base_url)
    print("\nexplorer speed:", figures)
    assert figures["update_ms_median"] >= 0 and figures["interactive_ms"] > 0


def measure(ctx: Any, base: str, repeats: int = 40) -> dict[str, float]:
    """Median update time of a 32x32 convolution and the time from navigation to ready."""
    layer = Layer("conv", size=(32, 32), kernel_size=(3, 3), padding=(1, 1))
    page = ctx.new_page()
    page.goto(explorer_url(layer, base=base), wait_until="load")
    page.wait_for_function("() => document.getElementById('derive-explorer').dataset.ready")
    ready = page.evaluate("() => window.deriveExplorer.readyMs")
    queries = [layer.with_(stride=(1 + i % 2, 1), dilation=(1, 1 + i % 3)).query()
               for i in range(repeats)]  # fmt: skip
    times = page.evaluate(
        """(qs) => qs.map((q) => { const X = window.deriveExplorer;
                                   X.load(q, {noHistory: true});
                                   return [X.lastNumericMs, X.lastUpdateMs]; })""",
        queries,
    )
    page.close()
    numeric, whole = [t[0] for t in times], [t[1] for t in times]
    return {"numeric_ms_median": statistics.median(numeric), "numeric_ms_max": max(numeric),
            "update_ms_median": statistics.median(whole), "update_ms_max": max(whole),
            "interactive_ms": ready}  # fmt: skip


def test_concept_pages_link_explorer_presets() -> None:
    import re
    from pathlib import Path

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
