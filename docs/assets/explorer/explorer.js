// The derive explorer: the page around the engine that derive generates (engine.js).
//
// This file is the user interface only. Every acceptance rule, message, size formula, tensor
// shape and window index comes from window.deriveEngine, which derive.explorer.jsgen prints
// from derive's own rules at site-build time; nothing here decides what torch accepts.
(function () {
  "use strict";
  const E = window.deriveEngine;
  const root = document.getElementById("derive-explorer");
  if (!E || !root) return;

  const FIELDS = E.fields;
  const FIELD = Object.fromEntries(FIELDS.map((f) => [f.name, f]));
  const OPS = E.ops;
  const ALWAYS = ["op", "size", "kernel_size"];
  const AXIS_NAMES = { 1: ["length"], 2: ["height", "width"] };
  const ON_INPUT = E.places.indexOf("input");
  const ON_PADDING = E.places.indexOf("padding");
  const MAX_CELLS = 4096; // a grid with more cells is summarised, not drawn
  const URL_DELAY_MS = 250; // the address follows the settings, at most four times a second

  // ------------------------------------------------------------------ configuration

  const applies = (layer, name) => FIELD[name].ops.includes(layer.op);
  const dimsOf = (layer) => layer.size.length;

  function fieldDefault(f, dims) {
    if (f.kind === "axes" || f.kind === "padding") return f.default.slice(0, dims);
    return f.default;
  }

  // the value a setting has when left out: its own default, or (torch's pooling stride)
  // the value of the setting it follows
  function layerDefault(layer, f) {
    if (f.follows && f.follows.ops.includes(layer.op)) return layer[f.follows.field].slice();
    return fieldDefault(f, dimsOf(layer));
  }

  function defaults(dims) {
    const layer = {};
    for (const f of FIELDS) layer[f.name] = fieldDefault(f, dims);
    return layer;
  }

  const INT = /^-?\d{1,6}$/;

  // one per-axis entry: an integer, or "before:after" where pairs are allowed
  function axisEntry(text, pairs) {
    if (pairs && text.includes(":")) {
      const [lo, hi] = text.split(":").map((s) => s.trim());
      return INT.test(lo) && INT.test(hi) ? [Number(lo), Number(hi)] : undefined;
    }
    return INT.test(text) ? Number(text) : undefined;
  }

  function decode(f, text) {
    if (f.kind === "choice") return f.choices.includes(text) ? text : undefined;
    if (f.kind === "flag") return !["0", "false", ""].includes(text);
    if (f.kind === "int") return INT.test(text) ? Number(text) : undefined;
    if (f.kind === "padding" && (text === "same" || text === "valid")) return text;
    const out = text.split(",").map((part) => axisEntry(part, f.kind === "padding"));
    return out.includes(undefined) ? undefined : out;
  }

  function encode(f, value) {
    if (f.kind === "flag") return value ? "1" : "0";
    if (f.kind === "padding" && typeof value === "string") return value;
    if (f.kind === "axes" || f.kind === "padding") {
      return value.map((v) => (Array.isArray(v) ? v[0] + ":" + v[1] : String(v))).join(",");
    }
    return String(value);
  }

  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

  // the layer a URL query describes; settings that do not parse keep their default
  function parseQuery(query) {
    const raw = new URLSearchParams(query);
    const dims = raw.get("size") ? Math.min(2, raw.get("size").split(",").length) : 2;
    const layer = defaults(dims);
    const given = new Set();
    for (const f of FIELDS) {
      if (!raw.has(f.name)) continue;
      const value = decode(f, raw.get(f.name));
      const fits = value !== undefined &&
        (!(f.kind === "axes" || f.kind === "padding") || typeof value === "string" ||
          value.length === dims);
      if (fits) {
        layer[f.name] = value;
        given.add(f.name);
      }
    }
    for (const f of FIELDS) { // left out: the default, which may follow another setting
      if (f.follows && !given.has(f.name)) layer[f.name] = layerDefault(layer, f);
    }
    return normalise(layer);
  }

  // settings the operation does not take go back to their default; a transposed
  // convolution takes one int padding per axis (derive.explorer.layer.Layer says why)
  function normalise(layer) {
    const dims = dimsOf(layer);
    for (const f of FIELDS) {
      if (!applies(layer, f.name)) layer[f.name] = fieldDefault(f, dims);
    }
    if (OPS[layer.op].transposed &&
      (typeof layer.padding === "string" || layer.padding.some(Array.isArray))) {
      layer.padding = fieldDefault(FIELD.padding, dims);
    }
    return layer;
  }

  function toQuery(layer) {
    const dims = dimsOf(layer);
    const parts = [];
    for (const f of FIELDS) {
      const value = layer[f.name];
      if (!ALWAYS.includes(f.name) &&
        (!applies(layer, f.name) || same(value, layerDefault(layer, f)))) continue;
      parts.push(f.name + "=" + encodeURIComponent(encode(f, value)).replace(/%2C/g, ",")
        .replace(/%3A/g, ":"));
    }
    return parts.join("&");
  }

  // ------------------------------------------------------------------ derive's verdict

  // the first guard that holds, with derive's message (E.message fills its template)
  function firstGuard(guards, values) {
    const guard = guards.find((g) => g.rejects(values));
    return guard ? { guard, message: E.message(guard, values) } : null;
  }

  function paddingForm(layer, axis) {
    if (typeof layer.padding === "string") return layer.padding;
    return Array.isArray(layer.padding[axis]) ? "pair" : "int";
  }

  function axisValues(layer, axis, samePad) {
    const k = layer.kernel_size[axis];
    const d = applies(layer, "dilation") ? layer.dilation[axis] : 1;
    const v = { n: layer.size[axis], k, s: layer.stride[axis], d,
      q: layer.output_padding[axis], p: 0, lo: 0, hi: 0 };
    if (samePad || layer.padding === "same") { // torch's 'same' zeros, derive's same_padding
      v.lo = E.SAME.lo(v);
      v.hi = E.SAME.hi(v);
    } else if (typeof layer.padding !== "string") {
      const pad = layer.padding[axis];
      if (Array.isArray(pad)) [v.lo, v.hi] = pad;
      else { v.p = pad; v.lo = pad; v.hi = pad; }
    }
    return v;
  }

  function channelValues(layer) {
    const v = { cin: layer.in_channels, cout: layer.out_channels, g: layer.groups };
    layer.size.forEach((n, i) => {
      v["n" + i] = n;
      v["k" + i] = layer.kernel_size[i];
      v["s" + i] = layer.stride[i];
    });
    return v;
  }

  function planKey(layer) {
    const form = typeof layer.padding === "string" ? layer.padding : "num";
    const ceil = layer.ceil_mode && applies(layer, "ceil_mode") ? "/ceil" : "";
    return layer.op + "/" + dimsOf(layer) + "d/" + form + ceil;
  }

  // derive's answer: the first guard of the plan that holds, or the output shape
  function evaluate(layer) {
    const axes = [];
    const verdict = { accepted: false, shape: null, message: null, axes, failedAxis: null };
    for (const step of E.plans[planKey(layer)]) {
      let hit = null;
      if (step.kind === "fixed") {
        verdict.message = step.message;
        return verdict;
      } else if (step.kind === "channels") {
        hit = firstGuard(E.CHANNELS[layer.op][dimsOf(layer)], channelValues(layer));
      } else if (step.kind === "same2d") {
        hit = firstGuard(E.SAME2D, channelValues(layer));
      } else {
        const axis = step.axis || 0;
        const key = step.variant.replace("*", paddingForm(layer, axis));
        const values = axisValues(layer, axis, !!step.same);
        const variant = E.VARIANTS[key];
        hit = firstGuard(variant.guards, values);
        axes[axis] = { values, variant: key, size: hit ? null : variant.size(values) };
        if (hit) verdict.failedAxis = axis;
      }
      if (hit) {
        verdict.message = hit.message;
        verdict.guard = hit.guard;
        return verdict;
      }
    }
    const channels = applies(layer, "out_channels") ? layer.out_channels : 1;
    verdict.accepted = true;
    verdict.shape = [channels, ...axes.map((a) => a.size)];
    return verdict;
  }

  // ------------------------------------------------------------------ tensors

  function mulberry32(seed) {
    let a = seed >>> 0;
    return function () {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  const product = (xs) => xs.reduce((a, b) => a * b, 1);

  // the entries the elements are computed on, in the shapes of derive's computation
  // (E.SHAPES: x is (C, H, W), w torch's weight (A, B, kH, kW), with H = kH = 1 in 1-D)
  function tensors(layer) {
    const shapes = E.SHAPES[layer.op][dimsOf(layer)];
    const xs = shapes.input(channelValues(layer));
    const ws = shapes.weight(channelValues(layer));
    const whole = (shape) => shape.every((n) => Number.isInteger(n) && n >= 1 && n <= 4096);
    if (!whole(xs) || !whole(ws) || product(xs) * Math.max(1, product(ws)) > 1e7) {
      return { x: [], w: [], xs, ws }; // no tensor has this shape: nothing to compute on
    }
    const x = new Array(product(xs));
    const w = new Array(ws.length ? product(ws) : 0);
    fillEntries(layer, x, w, xs[xs.length - 1], ws.length ? ws[ws.length - 1] : 0);
    return { x, w, xs, ws };
  }

  function fillEntries(layer, x, w, width, kw) {
    if (layer.input === "random") {
      const rand = mulberry32(layer.seed);
      for (let i = 0; i < x.length; i++) x[i] = Math.floor(rand() * 10);
      for (let i = 0; i < w.length; i++) w[i] = Math.floor(rand() * 5) - 2;
    } else if (layer.input === "edge") {
      // the book's image: white (1) with a dark band over the middle half of the columns,
      // and its kernel [1, -1]
      const lo = Math.floor(width / 4);
      const hi = Math.floor((3 * width) / 4);
      for (let i = 0; i < x.length; i++) x[i] = i % width >= lo && i % width < hi ? 0 : 1;
      for (let i = 0; i < w.length; i++) w[i] = i % kw === 0 ? 1 : i % kw === 1 ? -1 : 0;
    } else {
      for (let i = 0; i < x.length; i++) x[i] = i;
      w.fill(1);
    }
  }

  // ------------------------------------------------------------------ windows and elements

  // One axis of derive's window plan (derive.windows.AxisWindows): for output position i,
  // its taps {a, r, place} - tap a reads input coordinate r, which lies on the input, the
  // padding or past it (E.TAPS.window, E.TAPS.place).
  function windowAxis(av, out) {
    const windows = new Array(out);
    const extents = new Array(out);
    for (let i = 0; i < out; i++) {
      const taps = new Array(av.k);
      for (let a = 0; a < av.k; a++) {
        const r = E.TAPS.window({ i, a, s: av.s, lo: av.lo, d: av.d });
        taps[a] = { a, r, place: E.TAPS.place({ r, n: av.n, lo: av.lo, hi: av.hi }) };
      }
      windows[i] = taps;
      extents[i] = E.TAPS.extent({ i, s: av.s, d: av.d, k: av.k, lo: av.lo, hi: av.hi, n: av.n });
    }
    return { n: av.n, lo: av.lo, hi: av.hi, windows, extents };
  }

  // A transposed convolution's axis: derive plans it as the windows of the convolution it
  // inverts (one window per input entry i, over the output padded by p), so output r
  // gathers the taps {a, r: i} whose window index with p before is r.
  function scatterAxis(av, out) {
    const windows = Array.from({ length: out }, () => []);
    for (let i = 0; i < av.n; i++) {
      for (let a = 0; a < av.k; a++) {
        const r = E.TAPS.window({ i, a, s: av.s, lo: av.p, d: av.d });
        if (E.TAPS.place({ r, n: out, lo: av.p, hi: av.p }) === ON_INPUT) {
          windows[r].push({ a, r: i, place: ON_INPUT });
        }
      }
    }
    return { n: av.n, lo: 0, hi: 0, windows, extents: null };
  }

  // a 1-D layer is derive's 2-D one with a unit height: one row, one tap
  const UNIT_AXIS = { n: 1, lo: 0, hi: 0, windows: [[{ a: 0, r: 0, place: ON_INPUT }]],
    extents: [1] };

  // [rows, cols] of an accepted layer
  function planAxes(layer, ev) {
    const axes = ev.axes.map((a, k) => (OPS[layer.op].transposed ? scatterAxis : windowAxis)(
      a.values, ev.shape[k + 1]));
    return axes.length === 1 ? [UNIT_AXIS, axes[0]] : axes;
  }

  // per input channel c of output channel o's group: where its input plane and its kernel
  // start in the flat x and w (derive's channel arithmetic, E.TAPS.channel/groupOutput)
  function planes(layer, t, o) {
    const [, H, W] = t.xs;
    if (!OPS[layer.op].weighted) return [{ c: 0, ch: 0, x0: 0, w0: 0, wi: null }];
    const cv = channelValues(layer);
    const [, B, KH, KW] = t.ws;
    const transposed = OPS[layer.op].transposed;
    const oo = transposed ? E.TAPS.groupOutput({ ...cv, o }) : o;
    const out = [];
    for (let c = 0; c < Math.floor(layer.in_channels / layer.groups); c++) {
      const ch = E.TAPS.channel({ ...cv, c, o });
      const wi = transposed ? [ch, oo] : [o, c];
      out.push({ c, ch, x0: ch * H * W, w0: (wi[0] * B + wi[1]) * KH * KW, wi });
    }
    return out;
  }

  // every output value of channel o, row-major, as derive prints it
  function outputValues(layer, t, o, axes) {
    const [rows, cols] = axes;
    const W = t.xs[2];
    const KW = t.ws.length ? t.ws[3] : 0;
    const reduction = OPS[layer.op].reduction;
    const ps = planes(layer, t, o);
    const values = [];
    for (let i = 0; i < rows.windows.length; i++) {
      for (let j = 0; j < cols.windows.length; j++) {
        let sum = 0;
        let count = 0;
        let max = -Infinity;
        for (const p of ps) {
          for (const tr of rows.windows[i]) {
            if (tr.place !== ON_INPUT) continue;
            for (const tc of cols.windows[j]) {
              if (tc.place !== ON_INPUT) continue;
              const xv = t.x[p.x0 + tr.r * W + tc.r];
              if (reduction === null) sum += xv * t.w[p.w0 + tr.a * KW + tc.a];
              else { sum += xv; count += 1; if (xv > max) max = xv; }
            }
          }
        }
        if (reduction === null) values.push(String(sum));
        else if (reduction === "max") values.push(count ? String(max) : "-oo");
        else values.push(exact(sum, layer.count_include_pad
          ? rows.extents[i] * cols.extents[j] : count));
      }
    }
    return values;
  }

  function gcd(a, b) {
    a = Math.abs(a);
    b = Math.abs(b);
    while (b) [a, b] = [b, a % b];
    return a;
  }

  // exact value as SymPy prints it: 3, -7/4, nan
  function exact(num, den) {
    if (den === 0) return "nan";
    if (den < 0) { num = -num; den = -den; }
    const g = gcd(num, den) || 1;
    return den / g === 1 ? String(num / g) : num / g + "/" + den / g;
  }

  // the products (or window entries) of output (o, i, j), and the input cells they read
  function cellTerms(layer, t, o, i, j, axes) {
    const [rows, cols] = axes;
    const W = t.xs[2];
    const KW = t.ws.length ? t.ws[3] : 0;
    const one = dimsOf(layer) === 1;
    const terms = [];
    const marks = [];
    const ps = planes(layer, t, o);
    for (const p of ps) {
      for (const tr of rows.windows[i]) {
        for (const tc of cols.windows[j]) {
          const pad = tr.place !== ON_INPUT || tc.place !== ON_INPUT;
          const xi = one ? [p.ch, tc.r] : [p.ch, tr.r, tc.r];
          const term = { xi, xv: pad ? 0 : t.x[p.x0 + tr.r * W + tc.r], pad };
          if (p.wi) {
            term.wi = one ? [...p.wi, tc.a] : [...p.wi, tr.a, tc.a];
            term.wv = t.w[p.w0 + tr.a * KW + tc.a];
          }
          terms.push(term);
          if (p.c === 0) marks.push([tr.r, tc.r]);
        }
      }
    }
    return { terms, marks, plane: ps.length ? ps[0].ch : 0 };
  }

  // ------------------------------------------------------------------ page: building blocks

  const el = (tag, attrs, text) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  };

  // ----- grids, drawn on canvases
  //
  // A 32×32 layer has over two thousand input and output cells; laying out that many
  // elements costs tens of milliseconds, drawing them a few. The look of a cell (size,
  // font, colours of the palette) is read from the stylesheet through hidden probes, so the
  // CSS stays the one place that says how the explorer looks.

  const KINDS = ["plain", "pad", "over", "win", "sel"];
  const look = { cell: 22, font: "10px sans-serif", bold: "bold 10px sans-serif", colors: {} };

  function toRgba(ctx, css) {
    ctx.clearRect(0, 0, 1, 1);
    ctx.fillStyle = "rgba(0, 0, 0, 0)";
    ctx.fillStyle = css;
    ctx.fillRect(0, 0, 1, 1);
    const d = ctx.getImageData(0, 0, 1, 1).data;
    return [d[0], d[1], d[2], d[3] / 255];
  }

  const over = (top, below) => top.slice(0, 3).map((c, k) => c * top[3] + below[k] * (1 - top[3]));
  const rgb = (c) => "rgb(" + c.map(Math.round).join(", ") + ")";

  // the page's background under the explorer, opaque
  function pageBackground(ctx) {
    const layers = [];
    for (let node = root; node; node = node.parentElement) {
      const bg = toRgba(ctx, getComputedStyle(node).backgroundColor);
      if (bg[3] > 0) layers.push(bg);
      if (bg[3] >= 1) break;
    }
    return layers.reverse().reduce((below, top) => over(top, below), [255, 255, 255]);
  }

  function resolveLook() {
    const ctx = document.createElement("canvas").getContext("2d", { willReadFrequently: true });
    const page = pageBackground(ctx);
    const colors = {};
    for (const kind of KINDS) {
      const style = getComputedStyle(ui.probes[kind]);
      const bg = over(toRgba(ctx, style.backgroundColor), page);
      colors[kind] = { bg: rgb(bg), bgRgb: bg, fg: rgb(over(toRgba(ctx, style.color), bg)),
        border: rgb(over(toRgba(ctx, style.borderTopColor), bg)) };
    }
    const style = getComputedStyle(ui.probes.plain);
    look.cell = ui.probes.plain.getBoundingClientRect().width || 22;
    look.font = style.fontSize + " " + style.fontFamily;
    look.bold = "bold " + look.font;
    look.colors = colors;
  }

  function makeGrid(canvas) {
    return { canvas, ctx: canvas.getContext("2d"), rows: -1, cols: -1, cell: 0, dpr: 0 };
  }

  // draw rows × cols cells; cellOf(k) gives {kind, text, mark} of cell k (row-major).
  // Fills first, then every border of a style as one path, then the texts: the canvas's
  // state (colour, font, dash) changes as seldom as possible, which is what drawing costs.
  function drawGrid(g, rows, cols, cellOf) {
    const size = look.cell;
    const dpr = Math.min(2, window.devicePixelRatio || 1);
    if (g.rows !== rows || g.cols !== cols || g.cell !== size || g.dpr !== dpr) {
      g.canvas.width = Math.round(cols * size * dpr);
      g.canvas.height = Math.round(rows * size * dpr);
      g.canvas.style.width = cols * size + "px";
      g.canvas.style.height = rows * size + "px";
      Object.assign(g, { rows, cols, cell: size, dpr });
      g.ctx._dx_fillStyle = g.ctx._dx_font = null; // a resized canvas forgets its state
    }
    const ctx = g.ctx;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, cols * size, rows * size);
    const borders = new Map();
    const texts = [];
    for (let k = 0; k < rows * cols; k++) {
      const c = cellOf(k);
      const x = (k % cols) * size + 1;
      const y = Math.floor(k / cols) * size + 1;
      const paint = look.colors[c.mark && c.kind === "plain" ? "win" : c.kind];
      setStyle(ctx, "fillStyle", paint.bg);
      ctx.fillRect(x, y, size - 2, size - 2);
      if (c.mark && c.kind !== "plain" && c.kind !== "sel") { // the window over padding
        setStyle(ctx, "fillStyle", look.colors.win.bg);
        ctx.fillRect(x, y, (size - 2) / 2, size - 2);
      }
      const edge = c.kind === "sel" || c.mark ? c.kind : c.kind === "over" ? "over" : "plain";
      const key = edge + (c.mark ? "+win" : "");
      if (!borders.has(key)) borders.set(key, []);
      borders.get(key).push(x, y);
      if (c.text) texts.push(c.kind === "sel", paint.fg, c.text, x, y);
    }
    for (const [key, corners] of borders) strokeAll(ctx, key, corners, size - 2);
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    for (let t = 0; t < texts.length; t += 5) {
      setStyle(ctx, "font", texts[t] ? look.bold : look.font);
      setStyle(ctx, "fillStyle", texts[t + 1]);
      ctx.fillText(texts[t + 2], texts[t + 3] + size / 2 - 1, texts[t + 4] + size / 2 - 0.5,
        size - 4);
    }
  }

  // a canvas setting, written only when it changes (the canvas parses every write)
  function setStyle(ctx, name, value) {
    if (ctx["_dx_" + name] !== value) {
      ctx[name] = value;
      ctx["_dx_" + name] = value;
    }
  }

  // the borders of one style (plain, over, sel, with "+win" when in the window), as one path
  function strokeAll(ctx, key, corners, side) {
    const [kind, win] = key.split("+");
    ctx.strokeStyle = win || kind === "sel" ? look.colors[kind === "sel" ? "sel" : "win"].border
      : look.colors[kind].border;
    ctx.lineWidth = kind === "sel" ? 2 : 1;
    ctx.setLineDash(kind === "over" ? [2, 2] : []);
    ctx.beginPath();
    for (let k = 0; k < corners.length; k += 2) ctx.rect(corners[k], corners[k + 1], side, side);
    ctx.stroke();
  }

  function clearGrid(g) {
    g.ctx._dx_fillStyle = g.ctx._dx_font = null;
    g.canvas.width = 0;
    g.canvas.height = 0;
    g.canvas.style.width = "0px";
    g.canvas.style.height = "0px";
    Object.assign(g, { rows: 0, cols: 0 });
  }

  const state = { layer: null, verdict: null, o: 0, cell: [0, 0], playing: null, t: null,
    axes: null, values: null };
  const ui = {};

  const LABELS = {
    op: "operation", size: "input size", kernel_size: "kernel_size", stride: "stride",
    padding: "padding", dilation: "dilation", output_padding: "output_padding",
    ceil_mode: "ceil_mode", count_include_pad: "count_include_pad",
    in_channels: "in_channels", out_channels: "out_channels", groups: "groups",
    input: "input values", seed: "seed",
  };
  const AXIS_FIELDS = ["size", "kernel_size", "stride", "padding", "dilation", "output_padding"];

  // ------------------------------------------------------------------ page: controls

  function buildControls() {
    const form = el("form", { class: "dx-controls", "aria-label": "layer configuration" });
    form.addEventListener("submit", (e) => e.preventDefault());
    const row = (label, control, id) => {
      const wrap = el("div", { class: "dx-field" });
      wrap.append(el("label", { for: id }, label), control);
      form.append(wrap);
      return wrap;
    };
    const select = (id, options) => {
      const node = el("select", { id });
      for (const [v, t] of options) node.append(el("option", { value: v }, t));
      return node;
    };
    ui.op = select("dx-op", FIELD.op.choices.map((name) => [name, OPS[name].title]));
    row(LABELS.op, ui.op, "dx-op");
    ui.dims = select("dx-dims", [["1", "1-D"], ["2", "2-D"]]);
    row("dimensions", ui.dims, "dx-dims");
    ui.axisFields = {};
    for (const name of AXIS_FIELDS) {
      const input = el("input", { id: "dx-" + name, type: "text", inputmode: "numeric",
        autocomplete: "off", spellcheck: "false" });
      ui.axisFields[name] = { input, wrap: row(LABELS[name], input, "dx-" + name) };
    }
    ui.padMode = select("dx-padmode", [["num", "numbers"], ["same", "'same'"],
      ["valid", "'valid'"]]);
    ui.padModeWrap = row("padding form", ui.padMode, "dx-padmode");
    ui.flags = {};
    for (const name of ["ceil_mode", "count_include_pad"]) {
      const input = el("input", { id: "dx-" + name, type: "checkbox" });
      ui.flags[name] = { input, wrap: row(LABELS[name], input, "dx-" + name) };
    }
    ui.ints = {};
    for (const name of ["in_channels", "out_channels", "groups"]) {
      const input = el("input", { id: "dx-" + name, type: "number", min: "1", max: "8", step: "1" });
      ui.ints[name] = { input, wrap: row(LABELS[name], input, "dx-" + name) };
    }
    ui.input = select("dx-input", [["ramp", "ramp 0, 1, 2, …"], ["random", "random small integers"],
      ["edge", "the book's edge image"]]);
    row(LABELS.input, ui.input, "dx-input");
    ui.seed = el("input", { id: "dx-seed", type: "number", min: "0", step: "1" });
    ui.seedWrap = row(LABELS.seed, ui.seed, "dx-seed");
    form.addEventListener("input", fromControls);
    form.addEventListener("change", fromControls);
    return form;
  }

  const axisText = (value) =>
    value.map((v) => (Array.isArray(v) ? v[0] + ":" + v[1] : String(v))).join(", ");

  function readAxes(text, dims, pairs) {
    const parts = text.split(",").map((s) => s.trim()).filter((s) => s.length);
    if (parts.length === 1 && dims === 2) parts.push(parts[0]);
    if (parts.length !== dims) return null;
    const out = parts.map((part) => axisEntry(part, pairs));
    return out.includes(undefined) ? null : out;
  }

  function readAxisFields(layer, dims) {
    for (const [name, f] of Object.entries(ui.axisFields)) {
      if (name === "padding") continue;
      const v = readAxes(f.input.value, dims, false);
      f.input.setAttribute("aria-invalid", v ? "false" : "true");
      if (v) layer[name] = v;
    }
    if (ui.padMode.value !== "num") {
      layer.padding = ui.padMode.value;
    } else {
      const v = readAxes(ui.axisFields.padding.input.value, dims, true);
      ui.axisFields.padding.input.setAttribute("aria-invalid", v ? "false" : "true");
      if (v) layer.padding = v;
      else if (typeof layer.padding === "string") layer.padding = fieldDefault(FIELD.padding, dims);
    }
  }

  function fromControls(event) {
    const old = state.layer;
    const dims = Number(ui.dims.value);
    const layer = dims === dimsOf(old) ? { ...old } : defaults(dims);
    layer.op = ui.op.value;
    if (dims === dimsOf(old)) readAxisFields(layer, dims);
    for (const [name, f] of Object.entries(ui.flags)) layer[name] = f.input.checked;
    for (const [name, f] of Object.entries(ui.ints)) {
      const v = Number(f.input.value);
      if (Number.isInteger(v) && v >= 1 && v <= 8) layer[name] = v;
    }
    layer.input = ui.input.value;
    const seed = Number(ui.seed.value);
    if (Number.isInteger(seed) && seed >= 0) layer.seed = seed;
    // while a text field is being typed in, leave what the reader types alone
    const typing = event && event.type === "input" && event.target.type === "text";
    update(normalise(layer), { keepControls: typing });
  }

  function syncControls(layer) {
    ui.op.value = layer.op;
    ui.dims.value = String(dimsOf(layer));
    for (const [name, f] of Object.entries(ui.axisFields)) {
      f.wrap.hidden = !applies(layer, name);
      if (name === "padding") {
        f.input.value = typeof layer.padding === "string" ? "" : axisText(layer.padding);
        f.input.disabled = typeof layer.padding === "string";
      } else {
        f.input.value = axisText(layer[name]);
      }
      f.input.setAttribute("aria-invalid", "false");
    }
    ui.padModeWrap.hidden = OPS[layer.op].transposed;
    ui.padMode.value = typeof layer.padding === "string" ? layer.padding : "num";
    for (const [name, f] of Object.entries(ui.flags)) {
      f.wrap.hidden = !applies(layer, name);
      f.input.checked = !!layer[name];
    }
    for (const [name, f] of Object.entries(ui.ints)) {
      f.wrap.hidden = !applies(layer, name);
      f.input.value = String(layer[name]);
    }
    ui.input.value = layer.input;
    ui.seed.value = String(layer.seed);
    ui.seedWrap.hidden = layer.input !== "random";
  }

  // ------------------------------------------------------------------ page: results and grids

  function buildResults() {
    const box = el("div", { class: "dx-results" });
    ui.verdict = el("p", { id: "dx-verdict", class: "dx-verdict", role: "status",
      "aria-live": "polite" });
    ui.message = el("p", { id: "dx-message", class: "dx-message" });
    ui.shape = el("p", { id: "dx-shape", class: "dx-shape" });
    ui.formula = el("div", { id: "dx-formula", class: "dx-formula" });
    box.append(ui.verdict, ui.message, ui.shape, ui.formula);
    return box;
  }

  function buildGrid() {
    const box = el("div", { class: "dx-gridbox" });
    const bar = el("div", { class: "dx-bar", role: "group", "aria-label": "window animation" });
    ui.play = el("button", { type: "button", id: "dx-play", class: "md-button",
      "aria-pressed": "false" }, "Play");
    ui.step = el("button", { type: "button", id: "dx-step", class: "md-button" }, "Step");
    ui.channel = el("select", { id: "dx-o" });
    ui.channelWrap = el("label", { class: "dx-inline", for: "dx-o" }, "output channel ");
    const channelBox = el("span", { class: "dx-inline" });
    channelBox.append(ui.channelWrap, ui.channel);
    ui.channelBox = channelBox;
    bar.append(ui.play, ui.step, channelBox);
    ui.play.addEventListener("click", togglePlay);
    ui.step.addEventListener("click", () => stepCell(1));
    ui.channel.addEventListener("change", () => setChannel(Number(ui.channel.value)));
    ui.inputGrid = el("canvas", { id: "dx-input-grid", class: "dx-grid", role: "img" });
    // the output grid is one tab stop; arrow keys move the window, and the selected cell's
    // expression (#dx-cell, a live region) is what a screen reader reads
    ui.outputGrid = el("div", { id: "dx-output-grid", class: "dx-grid dx-out", tabindex: "0",
      role: "group", "aria-roledescription": "grid", "aria-describedby": "dx-cell",
      "aria-label": "output cells: arrow keys move the window, Home and End go to a row's ends" });
    ui.outputCanvas = el("canvas", { "aria-hidden": "true" });
    ui.outputGrid.append(ui.outputCanvas);
    ui.outputGrid.addEventListener("click", (e) => {
      const box = ui.outputCanvas.getBoundingClientRect();
      const col = Math.floor((e.clientX - box.left) / look.cell);
      const row = Math.floor((e.clientY - box.top) / look.cell);
      const g = ui.output;
      if (row >= 0 && col >= 0 && row < g.rows && col < g.cols) {
        selectCell(outSizes().length === 2 ? [row, col] : [col], true);
      }
    });
    ui.outputGrid.addEventListener("keydown", onGridKey);
    ui.inputCells = makeGrid(ui.inputGrid);
    ui.output = makeGrid(ui.outputCanvas);
    // hidden cells the stylesheet styles: the canvases read their look from them
    ui.probes = {};
    const probes = el("div", { class: "dx-probes", "aria-hidden": "true" });
    for (const kind of KINDS) {
      ui.probes[kind] = el("span", { class: "dx-c" + (kind === "plain" ? "" : " dx-" + kind) }, "0");
      probes.append(ui.probes[kind]);
    }
    box.append(probes);
    const legend = el("p", { class: "dx-legend" });
    legend.innerHTML =
      '<span class="dx-swatch dx-pad"></span> padding ' +
      '<span class="dx-swatch dx-win"></span> window (dilated footprint) ' +
      '<span class="dx-swatch dx-over"></span> beyond the padded input';
    const grids = el("div", { class: "dx-grids" });
    const inBox = el("figure", { class: "dx-figure" });
    ui.inputCaption = el("figcaption", {}, "input");
    inBox.append(ui.inputCaption, ui.inputGrid);
    const outBox = el("figure", { class: "dx-figure" });
    ui.outputCaption = el("figcaption", {}, "output");
    outBox.append(ui.outputCaption, ui.outputGrid);
    grids.append(inBox, outBox);
    ui.cell = el("div", { id: "dx-cell", class: "dx-cell", "aria-live": "polite" });
    ui.expr = el("p", { class: "dx-expr" });
    ui.nums = el("p", { class: "dx-nums" });
    ui.value = el("p", { id: "dx-value" });
    ui.padNote = el("p", { class: "dx-padnote" });
    ui.cell.append(ui.expr, ui.nums, ui.value, ui.padNote);
    box.append(bar, legend, grids, ui.cell);
    return box;
  }

  const outSizes = () => state.verdict.shape.slice(1);
  const gridWidth = () => outSizes()[outSizes().length - 1];
  const cellAt = (k) => (outSizes().length === 2
    ? [Math.floor(k / gridWidth()), k % gridWidth()] : [k]);
  const indexOf = (cell) => (cell.length === 2 ? cell[0] * gridWidth() + cell[1] : cell[0]);

  function stepCell(delta) {
    const v = state.verdict;
    if (!v || !v.accepted) return;
    const count = product(outSizes());
    selectCell(cellAt((indexOf(state.cell) + delta + count) % count), false);
  }

  function togglePlay() {
    if (state.playing) {
      clearInterval(state.playing);
      state.playing = null;
    } else {
      state.playing = setInterval(() => stepCell(1), 700);
    }
    ui.play.textContent = state.playing ? "Pause" : "Play";
    ui.play.setAttribute("aria-pressed", String(!!state.playing));
  }

  const KEYS = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] };

  function onGridKey(e) {
    const v = state.verdict;
    if (!v || !v.accepted) return;
    const sizes = outSizes();
    const cell = state.cell.slice();
    const last = sizes.length - 1;
    if (e.key === "Home" || e.key === "End") {
      cell[last] = e.key === "Home" ? 0 : sizes[last] - 1;
      if (e.ctrlKey && last) cell[0] = e.key === "Home" ? 0 : sizes[0] - 1;
    } else if (KEYS[e.key]) {
      const d = sizes.length === 1 ? [KEYS[e.key][0] + KEYS[e.key][1]] : KEYS[e.key];
      for (let t = 0; t < sizes.length; t++) {
        cell[t] = Math.min(sizes[t] - 1, Math.max(0, cell[t] + d[t]));
      }
    } else {
      return;
    }
    e.preventDefault();
    selectCell(cell, true);
  }

  function selectCell(cell, focus) {
    state.cell = cell;
    renderGrids();
    if (focus) ui.outputGrid.focus();
  }

  // ----- rendering

  const sub = (idx) => idx.join(",");
  const symX = (xi) => "x_{" + sub(xi) + "}";
  const symW = (wi) => "w_{" + sub(wi) + "}";
  const pretty = (v) => (v === "-oo" ? "−∞ (the window holds only padding)" :
    v === "nan" ? "NaN (a divisor of 0)" : v.replace(/^-/, "−"));
  const short = (v) => (v === "-oo" ? "−∞" : v === "nan" ? "NaN" : v.replace(/^-/, "−"));

  function renderCell(layer, e, value) {
    const o = state.o;
    const where = "y_{" + sub([o, ...state.cell]) + "}";
    const kept = e.terms.filter((term) => !term.pad); // products with padding are zeros
    const reduction = OPS[layer.op].reduction;
    let symbols;
    let numbers;
    if (reduction === null) {
      symbols = kept.map((term) => symX(term.xi) + "·" + symW(term.wi)).join(" + ") || "0";
      numbers = kept.map((term) => term.xv + "·" + term.wv).join(" + ") || "0";
    } else if (reduction === "max") {
      symbols = "max(" + kept.map((term) => symX(term.xi)).join(", ") + ")";
      numbers = "max(" + kept.map((term) => term.xv).join(", ") + ")";
    } else {
      const divisor = divisorOf(layer);
      symbols = "(" + (kept.map((term) => symX(term.xi)).join(" + ") || "0") + ") / " + divisor;
      numbers = "(" + (kept.map((term) => term.xv).join(" + ") || "0") + ") / " + divisor;
    }
    const padded = e.terms.filter((term) => term.pad);
    ui.expr.textContent = where + " = " + symbols;
    ui.nums.textContent = "= " + numbers;
    ui.value.dataset.value = value;
    ui.value.textContent = "= " + pretty(value);
    ui.padNote.textContent = OPS[layer.op].transposed ? "" : padded.length
      ? padded.length + " of the " + e.terms.length + " window positions fall on padding " +
        "(zeros, left out): " +
        padded.map((term) => (term.wi ? "0·" + symW(term.wi) : "x at " + sub(term.xi.slice(1))))
          .join(", ")
      : "no window position falls on padding";
  }

  // count_include_pad's divisor (the window clipped to the padded input) or the taps on input
  function divisorOf(layer) {
    const [rows, cols] = state.axes;
    const [i, j] = state.cell.length === 2 ? state.cell : [0, state.cell[0]];
    if (layer.count_include_pad) return rows.extents[i] * cols.extents[j];
    const inside = (taps) => taps.filter((tap) => tap.place === ON_INPUT).length;
    return inside(rows.windows[i]) * inside(cols.windows[j]);
  }

  // the input plane, padded (convolution, pooling), with the window of the selected cell
  function renderInputGrid(layer, axes, marks, plane) {
    const transposed = OPS[layer.op].transposed;
    const spans = axes.map((a, axis) => {
      const lo = transposed ? 0 : Math.max(0, a.lo);
      const hi = transposed ? 0 : Math.max(0, a.hi);
      const n = Math.max(0, a.n);
      // a ceil_mode window, or one that does not fit, reaches past the padded input
      const extra = Math.max(0, ...marks.map((m) => m[axis] + 1 - n - hi));
      return { n, lo, hi, size: lo + n + hi + extra };
    });
    const [rows, cols] = spans;
    const g = ui.inputCells;
    if (rows.size * cols.size > MAX_CELLS) {
      clearGrid(g);
      ui.inputGrid.setAttribute("aria-label", "input: too many entries to draw");
      return;
    }
    const marked = new Set(marks.map(([r, q]) => (r + rows.lo) * cols.size + q + cols.lo));
    const t = state.t;
    const [, H, W] = t.xs;
    const places = (span) => Array.from({ length: span.size }, (_, K) => transposed ? ON_INPUT
      : E.TAPS.place({ r: K - span.lo, n: span.n, lo: span.lo, hi: span.hi }));
    const [pr, pq] = [places(rows), places(cols)];
    let past = 0;
    drawGrid(g, rows.size, cols.size, (k) => {
      const R = Math.floor(k / cols.size);
      const C = k % cols.size;
      const place = Math.max(pr[R], pq[C]); // the worse axis decides (derive.windows.Windows2d)
      const mark = marked.has(k);
      if (place !== ON_INPUT && place !== ON_PADDING) past += 1;
      const kind = place === ON_INPUT ? "plain" : place === ON_PADDING ? "pad" : "over";
      const text = place === ON_INPUT && t.x.length
        ? String(t.x[(plane * H + R - rows.lo) * W + C - cols.lo]) : "";
      return { kind, text, mark };
    });
    ui.inputGrid.dataset.over = String(past);
    ui.inputGrid.dataset.marks = String(marked.size);
    ui.inputGrid.setAttribute("aria-label", "input channel " + plane + ": " +
      (rows.n > 1 || axes.length === 2 && !transposed ? rows.n + " × " : "") + cols.n +
      " entries" + (rows.size * cols.size > rows.n * cols.n ? ", drawn with its padding" : "") +
      "; the selected window covers " + marked.size + " cells");
  }

  function renderOutputGrid() {
    const sizes = outSizes();
    const nr = sizes.length === 2 ? sizes[0] : 1;
    const nc = sizes[sizes.length - 1];
    const drawn = nr * nc <= MAX_CELLS;
    ui.outputCaption.textContent = drawn ? "output channel " + state.o
      : "output channel " + state.o + " (" + nr * nc + " entries: too many to draw)";
    ui.outputGrid.dataset.idx = state.cell.join(",");
    if (!drawn) {
      clearGrid(ui.output);
      return;
    }
    const selected = indexOf(state.cell);
    const values = state.values;
    drawGrid(ui.output, nr, nc, (k) => ({ kind: k === selected ? "sel" : "plain",
      text: values ? short(values[k]) : "", mark: false }));
  }

  // what does not fit: the window at the first output position, past the padded input
  function renderRejected(layer, ev) {
    clearGrid(ui.output);
    ui.outputGrid.dataset.idx = "";
    for (const node of [ui.expr, ui.nums, ui.value, ui.padNote]) node.textContent = "";
    ui.value.dataset.value = "";
    // the kernel_size guard that holds when every value is in range: the window does not fit
    const values = layer.size.map((_, k) => (ev.axes && ev.axes[k] ? ev.axes[k].values
      : axisValues(layer, k)));
    const drawable = values.every((v) => v.n >= 1 && v.n <= 64 && v.k >= 1 && v.k <= 64 &&
      v.s >= 1 && v.d >= 1 && v.lo >= 0 && v.hi >= 0);
    if (!(drawable && ev.failedAxis !== null && ev.guard && ev.guard.argument === "kernel_size")) {
      clearGrid(ui.inputCells);
      ui.inputGrid.dataset.over = "0";
      ui.inputGrid.setAttribute("aria-label", "input: nothing to draw");
      ui.inputCaption.textContent = "input";
      return;
    }
    const windows = values.map((v) => windowAxis(v, 1));
    const axes = windows.length === 1 ? [UNIT_AXIS, windows[0]] : windows;
    const marks = [];
    for (const tr of axes[0].windows[0]) for (const tc of axes[1].windows[0]) marks.push([tr.r, tc.r]);
    renderInputGrid(layer, axes, marks, 0);
    ui.inputCaption.textContent = "input: the window at the first output position does not fit";
  }

  function renderGrids() {
    const { layer, verdict: ev } = state;
    if (!ev.accepted) {
      renderRejected(layer, ev);
      return;
    }
    const sizes = outSizes();
    state.cell = sizes.map((n, k) => Math.max(0, Math.min(state.cell[k] || 0, n - 1)));
    const [i, j] = sizes.length === 2 ? state.cell : [0, state.cell[0]];
    const e = state.t.x.length ? cellTerms(layer, state.t, state.o, i, j, state.axes)
      : { terms: [], marks: [], plane: 0 };
    const value = state.values ? state.values[indexOf(state.cell)] : "";
    renderCell(layer, e, value);
    renderInputGrid(layer, state.axes, e.marks, e.plane);
    ui.inputCaption.textContent = OPS[layer.op].transposed
      ? "input channel " + e.plane + " (entries scattered onto the selected output)"
      : "input channel " + e.plane + " (padding shaded)";
    renderOutputGrid();
  }

  // ------------------------------------------------------------------ page: formula

  function fill(slots, values, negative) {
    return slots.replace(/@(\w+)@/g, (m, name) => {
      const v = values[name];
      return v < 0 ? "(" + negative + -v + ")" : String(v);
    });
  }

  // one line per axis: the size formula in symbols, with the values, and its value
  function formulaLines(layer, ev) {
    const names = AXIS_NAMES[dimsOf(layer)];
    const lines = [];
    layer.size.forEach((_, k) => {
      const form = paddingForm(layer, k);
      const ceil = layer.ceil_mode && applies(layer, "ceil_mode") ? "/ceil" : "";
      const shown = E.VARIANTS[layer.op + "/" + form + ceil] ||
        E.VARIANTS[(ev.axes[k] || {}).variant];
      if (!shown) return;
      const values = axisValues(layer, k, form === "same" && dimsOf(layer) === 2);
      if (form === "same" && dimsOf(layer) === 1) values.lo = values.hi = 0;
      const size = ev.axes[k] && ev.axes[k].size !== null ? ev.axes[k].size : null;
      lines.push({ name: names[k], shown, values, size });
    });
    return lines;
  }

  function renderFormula(layer, ev) {
    const lines = formulaLines(layer, ev);
    const tex = "\\[\\begin{aligned}" + lines.map((l) => "\\text{" + l.name +
      "}: &\\quad n_\\text{out} = " + l.shown.latex + " = " + fill(l.shown.slots, l.values, "-") +
      (l.size === null ? "" : " = " + l.size)).join("\\\\") + "\\end{aligned}\\]";
    if (tex === ui.formula.dataset.tex) return; // already shown (typeset, or about to be)
    // shown at once as text; MathJax typesets it once the reader pauses
    ui.formula.textContent = lines.map((l) => l.name + ": n_out = " +
      fill(l.shown.text, l.values, "−") + (l.size === null ? "" : " = " + l.size)).join("\n");
    ui.formula.dataset.tex = tex;
    ui.formula.dataset.typeset = "pending";
    scheduleTypeset();
  }

  let typesetTimer = null;
  function scheduleTypeset() {
    clearTimeout(typesetTimer);
    typesetTimer = setTimeout(() => {
      const idle = window.requestIdleCallback || ((f) => setTimeout(f, 0));
      idle(typeset, { timeout: 500 });
    }, 120);
  }

  function typeset() {
    const tex = ui.formula.dataset.tex;
    const mj = window.MathJax;
    if (!(mj && mj.typesetPromise && mj.startup && mj.startup.promise)) {
      if (mj) scheduleTypeset(); // MathJax is still loading
      return;
    }
    mj.startup.promise.then(() => {
      if (ui.formula.dataset.tex !== tex) return null; // a newer formula waits its turn
      mj.typesetClear([ui.formula]);
      ui.formula.textContent = tex;
      return mj.typesetPromise([ui.formula]).then(() => {
        if (ui.formula.dataset.tex === tex) ui.formula.dataset.typeset = "done";
      });
    }).catch(() => { ui.formula.textContent = tex; });
  }

  // ------------------------------------------------------------------ page: update

  function renderVerdict(layer, ev) {
    root.dataset.accepted = String(ev.accepted);
    ui.verdict.className = "dx-verdict " + (ev.accepted ? "dx-ok" : "dx-no");
    ui.verdict.textContent = ev.accepted
      ? "derive (and torch) accept this layer."
      : "derive (and torch) reject this layer:";
    ui.message.textContent = ev.accepted ? "" : ev.message;
    ui.message.hidden = ev.accepted;
    ui.shape.textContent = ev.accepted ? "output shape " + E.show(ev.shape) : "";
    ui.shape.dataset.shape = ev.accepted ? E.show(ev.shape) : "";
    ui.channelBox.hidden = !(ev.accepted && ev.shape[0] > 1);
    if (ev.accepted && ui.channel.options.length !== ev.shape[0]) {
      ui.channel.textContent = "";
      for (let o = 0; o < ev.shape[0]; o++) ui.channel.append(el("option", { value: o }, o));
    }
    if (ev.accepted) ui.channel.value = String(Math.min(state.o, ev.shape[0] - 1));
  }

  // the numbers: the input, the windows, every output value of the shown channel
  function compute() {
    const { layer, verdict } = state;
    state.values = null;
    state.axes = null;
    if (!verdict.accepted) return;
    state.o = Math.min(state.o, verdict.shape[0] - 1);
    const cells = product(verdict.shape.slice(1));
    if (cells > MAX_CELLS * 4) return;
    state.axes = planAxes(layer, verdict);
    if (state.t.x.length) state.values = outputValues(layer, state.t, state.o, state.axes);
  }

  function setChannel(o) {
    state.o = o;
    compute();
    renderGrids();
  }

  let urlTimer = null;
  function followInUrl(layer) {
    clearTimeout(urlTimer);
    urlTimer = setTimeout(() => {
      const query = toQuery(layer);
      if (location.search.slice(1) !== query) history.replaceState(null, "", "?" + query);
    }, URL_DELAY_MS);
  }

  function update(layer, options) {
    const start = performance.now();
    state.layer = layer;
    state.verdict = evaluate(layer);
    state.t = tensors(layer);
    compute();
    api.lastNumericMs = performance.now() - start;
    if (!(options && options.keepControls)) syncControls(layer);
    renderVerdict(layer, state.verdict);
    renderFormula(layer, state.verdict);
    if (state.verdict.accepted && !state.axes) {
      renderRejected(layer, { failedAxis: null }); // too large to draw: the shape says it
    } else {
      renderGrids();
    }
    if (!(options && options.noHistory)) followInUrl(layer);
    api.lastUpdateMs = performance.now() - start;
  }

  const api = {
    engine: E.ENGINE,
    lastUpdateMs: null,
    lastNumericMs: null,
    readyMs: null,
    load(query, options) {
      update(parseQuery(query), options);
    },
    layer: () => JSON.parse(JSON.stringify(state.layer)),
    query: () => toQuery(state.layer),
    tensors: () => ({ x: state.t.x.slice(), w: state.t.w.slice() }),
    select(o, idx) {
      if (o !== state.o) {
        state.o = o;
        compute();
      }
      selectCell(idx, false);
    },
    evaluate: (query) => {
      const v = evaluate(parseQuery(query));
      return { accepted: v.accepted, shape: v.shape, message: v.message };
    },
  };
  window.deriveExplorer = api;

  root.textContent = "";
  root.append(buildControls(), buildResults(), buildGrid());
  resolveLook();
  update(parseQuery(location.search.slice(1)), { noHistory: true });
  // the palette toggle, a rotated phone or a zoom change the look: read it again and redraw
  let lookTimer = null;
  const relook = () => {
    clearTimeout(lookTimer);
    lookTimer = setTimeout(() => {
      resolveLook();
      if (state.verdict) renderGrids();
    }, 50);
  };
  new MutationObserver(relook).observe(document.body,
    { attributes: true, attributeFilter: ["data-md-color-scheme", "data-md-color-primary"] });
  window.addEventListener("resize", relook);
  api.relook = () => { resolveLook(); renderGrids(); };
  api.look = () => JSON.parse(JSON.stringify(look));
  api.readyMs = performance.now();
  root.dataset.ready = "1";
})();
