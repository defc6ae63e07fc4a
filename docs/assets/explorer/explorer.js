// The derive explorer: the page around the engine that derive generates (engine.js).
//
// This file is the user interface only. Every acceptance rule, message, size formula and
// window index comes from window.deriveEngine, which derive.explorer.jsgen prints from
// derive's own rules at site-build time; nothing here decides what torch accepts.
(function () {
  "use strict";
  const E = window.deriveEngine;
  const root = document.getElementById("derive-explorer");
  if (!E || !root) return;

  const FIELDS = E.fields;
  const FIELD = Object.fromEntries(FIELDS.map((f) => [f.name, f]));
  const ALWAYS = ["op", "size", "kernel_size"];
  const AXIS_NAMES = { 1: ["length"], 2: ["height", "width"] };

  // ------------------------------------------------------------------ configuration

  const applies = (layer, name) => FIELD[name].ops.includes(layer.op);
  const dimsOf = (layer) => layer.size.length;

  function fieldDefault(f, dims) {
    if (f.kind === "axes" || f.kind === "padding") return f.default.slice(0, dims);
    return f.default;
  }

  function defaults(dims) {
    const layer = {};
    for (const f of FIELDS) layer[f.name] = fieldDefault(f, dims);
    return layer;
  }

  const INT = /^-?\d{1,6}$/;

  function decode(f, text) {
    if (f.kind === "choice") return f.choices.includes(text) ? text : undefined;
    if (f.kind === "flag") return !["0", "false", ""].includes(text);
    if (f.kind === "int") return INT.test(text) ? Number(text) : undefined;
    if (f.kind === "padding" && (text === "same" || text === "valid")) return text;
    const out = [];
    for (const part of text.split(",")) {
      if (f.kind === "padding" && part.includes(":")) {
        const [lo, hi] = part.split(":");
        if (!INT.test(lo) || !INT.test(hi)) return undefined;
        out.push([Number(lo), Number(hi)]);
      } else if (INT.test(part)) {
        out.push(Number(part));
      } else {
        return undefined;
      }
    }
    return out;
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
    for (const f of FIELDS) {
      if (!raw.has(f.name)) continue;
      const value = decode(f, raw.get(f.name));
      const fits = value !== undefined &&
        (!(f.kind === "axes" || f.kind === "padding") || typeof value === "string" ||
          value.length === dims);
      if (fits) layer[f.name] = value;
    }
    return normalise(layer);
  }

  function normalise(layer) {
    const dims = dimsOf(layer);
    for (const f of FIELDS) {
      if (!applies(layer, f.name)) layer[f.name] = fieldDefault(f, dims);
    }
    if (layer.op === "conv_transpose" &&
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
        (!applies(layer, f.name) || same(value, fieldDefault(f, dims)))) continue;
      parts.push(f.name + "=" + encodeURIComponent(encode(f, value)).replace(/%2C/g, ",")
        .replace(/%3A/g, ":"));
    }
    return parts.join("&");
  }

  // ------------------------------------------------------------------ derive's verdict

  // a value as derive's messages show it (Python's str of ints and tuples)
  function show(v) {
    if (Array.isArray(v)) return "(" + v.map(show).join(", ") + (v.length === 1 ? ",)" : ")");
    if (typeof v === "string") return "'" + v + "'";
    return String(v);
  }

  function firstGuard(guards, values) {
    for (const g of guards) {
      if (g.rejects(values)) {
        const fields = Object.fromEntries(g.fields.map(([name, fn]) => [name, fn(values)]));
        const text = g.template.replace(/\{(\w+)\}/g, (m, name) => show(fields[name]));
        return { guard: g, message: text };
      }
    }
    return null;
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
    const plan = E.plans[planKey(layer)];
    const axes = [];
    const verdict = { accepted: false, shape: null, message: null, axes, failedAxis: null };
    for (const step of plan) {
      let hit = null;
      if (step.kind === "fixed") {
        verdict.message = step.message;
        return verdict;
      } else if (step.kind === "channels") {
        hit = firstGuard(E.CHANNELS[dimsOf(layer)], channelValues(layer));
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

  // ------------------------------------------------------------------ tensors and elements

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

  function weightShape(layer) {
    if (layer.op === "conv") {
      return [layer.out_channels, Math.floor(layer.in_channels / layer.groups),
        ...layer.kernel_size];
    }
    if (layer.op === "conv_transpose") return [1, 1, ...layer.kernel_size];
    return [];
  }

  function inputShape(layer) {
    return [applies(layer, "in_channels") ? layer.in_channels : 1, ...layer.size];
  }

  // the entries the elements are computed on: x in input order, w in torch's weight order
  function tensors(layer) {
    const xs = inputShape(layer);
    const ws = weightShape(layer);
    const whole = (shape) => shape.every((n) => Number.isInteger(n) && n >= 1 && n <= 4096);
    if (!whole(xs) || !whole(ws) || product(xs) * Math.max(1, product(ws)) > 1e7) {
      return { x: [], w: [], xs, ws }; // no tensor has this shape: nothing to compute on
    }
    const nx = product(xs);
    const nw = ws.length ? product(ws) : 0;
    const width = xs[xs.length - 1];
    const kw = ws.length ? ws[ws.length - 1] : 0;
    const x = new Array(nx);
    const w = new Array(nw);
    if (layer.input === "random") {
      const rand = mulberry32(layer.seed);
      for (let i = 0; i < nx; i++) x[i] = Math.floor(rand() * 10);
      for (let i = 0; i < nw; i++) w[i] = Math.floor(rand() * 5) - 2;
    } else if (layer.input === "edge") {
      // the book's image: white (1) with a dark band over the middle half of the columns
      const lo = Math.floor(width / 4);
      const hi = Math.floor((3 * width) / 4);
      for (let i = 0; i < nx; i++) {
        const col = i % width;
        x[i] = col >= lo && col < hi ? 0 : 1;
      }
      for (let i = 0; i < nw; i++) {
        const e = i % kw;
        w[i] = e === 0 ? 1 : e === 1 ? -1 : 0;
      }
    } else {
      for (let i = 0; i < nx; i++) x[i] = i;
      w.fill(1);
    }
    return { x, w, xs, ws };
  }

  const flatIndex = (shape, idx) => idx.reduce((acc, v, t) => acc * shape[t] + v, 0);

  // taps of output position i along one axis: [{a, r, inside}]
  function windowTaps(av, i) {
    const out = [];
    for (let a = 0; a < av.k; a++) {
      const r = E.TAPS.window({ i, a, s: av.s, lo: av.lo, d: av.d });
      out.push({ a, r, inside: r >= 0 && r < av.n });
    }
    return out;
  }

  // pairs (input i, tap a) that a transposed convolution scatters onto output r
  function scatterTaps(av, r) {
    const out = [];
    for (let i = 0; i < av.n; i++) {
      for (let a = 0; a < av.k; a++) {
        if (E.TAPS.scatter({ i, a, s: av.s, p: av.p, d: av.d }) === r) {
          out.push({ a, r: i, inside: true });
        }
      }
    }
    return out;
  }

  function cartesian(lists) {
    return lists.reduce((acc, list) => {
      const out = [];
      for (const prefix of acc) for (const item of list) out.push([...prefix, item]);
      return out;
    }, [[]]);
  }

  function gcd(a, b) {
    a = Math.abs(a);
    b = Math.abs(b);
    while (b) [a, b] = [b, a % b];
    return a;
  }

  // exact value as SymPy prints it: 3, -7/4, nan, -oo
  function exact(num, den) {
    if (den === 0) return "nan";
    if (den < 0) { num = -num; den = -den; }
    const g = gcd(num, den) || 1;
    return den / g === 1 ? String(num / g) : num / g + "/" + den / g;
  }

  // one output element: its products (or window entries), which fall on padding, its value
  // the taps of every output position, per axis (computed once per update)
  function axisTaps(layer, ev) {
    return ev.axes.map((a, k) => Array.from({ length: ev.shape[k + 1] }, (_, i) =>
      layer.op === "conv_transpose" ? scatterTaps(a.values, i) : windowTaps(a.values, i)));
  }

  function element(layer, ev, t, o, idx, tapsAt) {
    const axes = ev.axes.map((a) => a.values);
    const perAxis = idx.map((i, k) => (tapsAt ? tapsAt[k][i] :
      layer.op === "conv_transpose" ? scatterTaps(axes[k], i) : windowTaps(axes[k], i)));
    const terms = [];
    if (layer.op === "conv_transpose") {
      const combos = cartesian(perAxis);
      let sum = 0;
      for (const combo of combos) {
        const xi = [0, ...combo.map((c) => c.r)];
        const wi = [0, 0, ...combo.map((c) => c.a)];
        const xv = t.x[flatIndex(t.xs, xi)];
        const wv = t.w[flatIndex(t.ws, wi)];
        sum += xv * wv;
        terms.push({ xi, wi, xv, wv, pad: false });
      }
      return { terms, value: String(sum), taps: combos };
    }
    const combos = cartesian(perAxis);
    if (layer.op === "conv") {
      const cg = Math.floor(layer.in_channels / layer.groups);
      const cv = channelValues(layer);
      let sum = 0;
      for (let c = 0; c < cg; c++) {
        const ch = E.TAPS.channel({ ...cv, c, o });
        for (const combo of combos) {
          const pad = combo.some((tap) => !tap.inside);
          const xi = [ch, ...combo.map((tap) => tap.r)];
          const wi = [o, c, ...combo.map((tap) => tap.a)];
          const wv = t.w[flatIndex(t.ws, wi)];
          const xv = pad ? 0 : t.x[flatIndex(t.xs, xi)];
          sum += xv * wv;
          terms.push({ xi, wi, xv, wv, pad });
        }
      }
      return { terms, value: String(sum), taps: combos };
    }
    const inside = combos.filter((combo) => combo.every((tap) => tap.inside));
    for (const combo of combos) {
      const pad = combo.some((tap) => !tap.inside);
      const xi = [0, ...combo.map((tap) => tap.r)];
      terms.push({ xi, xv: pad ? 0 : t.x[flatIndex(t.xs, xi)], pad });
    }
    const vals = terms.filter((term) => !term.pad).map((term) => term.xv);
    if (layer.op === "max_pool") {
      return { terms, value: vals.length ? String(Math.max(...vals)) : "-oo", taps: combos };
    }
    let divisor = inside.length;
    if (layer.count_include_pad) {
      divisor = product(idx.map((i, k) => E.TAPS.extent({ ...axes[k], i, d: 1 })));
    }
    const sum = vals.reduce((a, b) => a + b, 0);
    return { terms, value: exact(sum, divisor), divisor, taps: combos };
  }

  // every output value of channel o, in the order of the output grid
  function outputValues(layer, ev, t, o) {
    const sizes = ev.shape.slice(1);
    const tapsAt = axisTaps(layer, ev);
    return outputCellsOf(sizes).map((idx) => element(layer, ev, t, o, idx, tapsAt).value);
  }

  function outputCellsOf(sizes) {
    return cartesian(sizes.map((n) => Array.from({ length: n }, (_, i) => i)));
  }

  // ------------------------------------------------------------------ page

  const el = (tag, attrs, text) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  };

  const state = { layer: null, verdict: null, o: 0, cell: [0, 0], playing: null, t: null };
  const ui = {};

  const LABELS = {
    op: "operation", size: "input size", kernel_size: "kernel_size", stride: "stride",
    padding: "padding", dilation: "dilation", output_padding: "output_padding",
    ceil_mode: "ceil_mode", count_include_pad: "count_include_pad",
    in_channels: "in_channels", out_channels: "out_channels", groups: "groups",
    input: "input values", seed: "seed",
  };

  function buildControls() {
    const form = el("form", { class: "dx-controls", "aria-label": "layer configuration" });
    form.addEventListener("submit", (e) => e.preventDefault());
    const row = (label, control, id) => {
      const wrap = el("div", { class: "dx-field" });
      wrap.append(el("label", { for: id }, label), control);
      form.append(wrap);
      return wrap;
    };
    const opSel = el("select", { id: "dx-op" });
    for (const name of FIELD.op.choices) opSel.append(el("option", { value: name }, E.ops[name].title));
    ui.op = opSel;
    row(LABELS.op, opSel, "dx-op");
    const dimSel = el("select", { id: "dx-dims" });
    dimSel.append(el("option", { value: "1" }, "1-D"), el("option", { value: "2" }, "2-D"));
    ui.dims = dimSel;
    row("dimensions", dimSel, "dx-dims");
    ui.axisFields = {};
    for (const name of ["size", "kernel_size", "stride", "padding", "dilation", "output_padding"]) {
      const input = el("input", { id: "dx-" + name, type: "text", inputmode: "numeric",
        autocomplete: "off", spellcheck: "false" });
      ui.axisFields[name] = { input, wrap: row(LABELS[name], input, "dx-" + name) };
    }
    ui.padMode = el("select", { id: "dx-padmode" });
    for (const [v, t] of [["num", "numbers"], ["same", "'same'"], ["valid", "'valid'"]]) {
      ui.padMode.append(el("option", { value: v }, t));
    }
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
    ui.input = el("select", { id: "dx-input" });
    for (const [v, t] of [["ramp", "ramp 0, 1, 2, …"], ["random", "random small integers"],
      ["edge", "the book's edge image"]]) ui.input.append(el("option", { value: v }, t));
    row(LABELS.input, ui.input, "dx-input");
    ui.seed = el("input", { id: "dx-seed", type: "number", min: "0", step: "1" });
    ui.seedWrap = row(LABELS.seed, ui.seed, "dx-seed");
    form.addEventListener("input", fromControls);
    form.addEventListener("change", fromControls);
    return form;
  }

  function axisText(value) {
    return value.map((v) => (Array.isArray(v) ? v[0] + ":" + v[1] : String(v))).join(", ");
  }

  function readAxes(text, dims, pairs) {
    const parts = text.split(",").map((s) => s.trim()).filter((s) => s.length);
    if (parts.length === 1 && dims === 2) parts.push(parts[0]);
    if (parts.length !== dims) return null;
    const out = [];
    for (const part of parts) {
      if (pairs && part.includes(":")) {
        const [lo, hi] = part.split(":").map((s) => s.trim());
        if (!INT.test(lo) || !INT.test(hi)) return null;
        out.push([Number(lo), Number(hi)]);
      } else if (INT.test(part)) {
        out.push(Number(part));
      } else {
        return null;
      }
    }
    return out;
  }

  function fromControls(event) {
    const old = state.layer;
    const dims = Number(ui.dims.value);
    const layer = dims === dimsOf(old) ? { ...old } : defaults(dims);
    layer.op = ui.op.value;
    if (dims === dimsOf(old)) {
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
    } else {
      layer.input = old.input;
      layer.seed = old.seed;
    }
    for (const [name, f] of Object.entries(ui.flags)) layer[name] = f.input.checked;
    for (const [name, f] of Object.entries(ui.ints)) {
      const v = Number(f.input.value);
      if (Number.isInteger(v) && v >= 1 && v <= 8) layer[name] = v;
    }
    layer.input = ui.input.value;
    const seed = Number(ui.seed.value);
    if (Number.isInteger(seed) && seed >= 0) layer.seed = seed;
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
    const strings = layer.op !== "conv_transpose";
    ui.padModeWrap.hidden = !strings;
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

  function buildResults() {
    const box = el("div", { class: "dx-results" });
    ui.verdict = el("p", { id: "dx-verdict", class: "dx-verdict", role: "status",
      "aria-live": "polite" });
    ui.message = el("p", { id: "dx-message", class: "dx-message" });
    ui.shape = el("p", { id: "dx-shape", class: "dx-shape" });
    ui.formula = el("div", { id: "dx-formula", class: "dx-formula" });
    ui.link = el("p", { class: "dx-link" });
    box.append(ui.verdict, ui.message, ui.shape, ui.formula);
    return box;
  }

  function buildGrid() {
    const box = el("div", { class: "dx-gridbox" });
    const bar = el("div", { class: "dx-bar", role: "group", "aria-label": "window animation" });
    ui.play = el("button", { type: "button", id: "dx-play", class: "md-button" }, "Play");
    ui.step = el("button", { type: "button", id: "dx-step", class: "md-button" }, "Step");
    ui.channel = el("select", { id: "dx-o", "aria-label": "output channel" });
    ui.channelWrap = el("label", { class: "dx-inline" }, "output channel ");
    ui.channelWrap.append(ui.channel);
    bar.append(ui.play, ui.step, ui.channelWrap);
    ui.play.addEventListener("click", togglePlay);
    ui.step.addEventListener("click", () => stepCell(1));
    ui.channel.addEventListener("change", () => setChannel(Number(ui.channel.value)));
    ui.inputGrid = el("div", { id: "dx-input-grid", class: "dx-grid", role: "img" });
    ui.outputGrid = el("div", { id: "dx-output-grid", class: "dx-grid dx-out", role: "grid",
      "aria-label": "output: arrow keys move the window" });
    ui.outputGrid.addEventListener("click", (e) => {
      const cell = e.target.closest("[data-idx]");
      if (cell) selectCell(cell.dataset.idx.split(",").map(Number), true);
    });
    ui.outputGrid.addEventListener("keydown", onGridKey);
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
    outBox.append(el("figcaption", {}, "output"), ui.outputGrid);
    grids.append(inBox, outBox);
    ui.cell = el("div", { id: "dx-cell", class: "dx-cell", "aria-live": "polite" });
    box.append(bar, legend, grids, ui.cell);
    return box;
  }

  const outputCells = (verdict) => outputCellsOf(verdict.shape.slice(1));

  function stepCell(delta) {
    const v = state.verdict;
    if (!v || !v.accepted) return;
    const cells = outputCells(v);
    const at = cells.findIndex((c) => same(c, state.cell));
    const next = cells[(at + delta + cells.length) % cells.length];
    selectCell(next, false);
  }

  function togglePlay() {
    if (state.playing) {
      clearInterval(state.playing);
      state.playing = null;
      ui.play.textContent = "Play";
      ui.play.setAttribute("aria-pressed", "false");
    } else {
      state.playing = setInterval(() => stepCell(1), 700);
      ui.play.textContent = "Pause";
      ui.play.setAttribute("aria-pressed", "true");
    }
  }

  function onGridKey(e) {
    const v = state.verdict;
    if (!v || !v.accepted) return;
    const moves = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] };
    const move = moves[e.key];
    if (!move) return;
    e.preventDefault();
    const sizes = v.shape.slice(1);
    const cell = state.cell.slice();
    const d = sizes.length === 1 ? [move[0] + move[1]] : move;
    for (let t = 0; t < sizes.length; t++) {
      cell[t] = Math.min(sizes[t] - 1, Math.max(0, cell[t] + d[t]));
    }
    selectCell(cell, true);
  }

  function selectCell(cell, focus) {
    state.cell = cell;
    renderGrids();
    if (focus) {
      const node = ui.outputGrid.querySelector('[data-idx="' + cell.join(",") + '"]');
      if (node) node.focus();
    }
  }

  // ----- rendering

  const sub = (idx) => idx.join(",");
  const symX = (xi) => "x_{" + sub(xi) + "}";
  const symW = (wi) => "w_{" + sub(wi) + "}";

  function renderCell(layer, ev, t) {
    const idx = state.cell;
    const o = state.o;
    const e = element(layer, ev, t, o, idx);
    const where = "y_{" + sub([o, ...idx]) + "}";
    let symbols;
    let numbers;
    if (layer.op === "conv" || layer.op === "conv_transpose") {
      // products with padding are zero: left out of the sum, listed below
      const real = e.terms.filter((term) => !term.pad);
      symbols = real.map((term) => symX(term.xi) + "·" + symW(term.wi)).join(" + ") || "0";
      numbers = real.map((term) => term.xv + "·" + term.wv).join(" + ") || "0";
    } else {
      const xs = e.terms.filter((term) => !term.pad);
      const inner = xs.map((term) => symX(term.xi)).join(", ");
      const vals = xs.map((term) => term.xv).join(", ");
      if (layer.op === "max_pool") {
        symbols = "max(" + inner + ")";
        numbers = "max(" + vals + ")";
      } else {
        symbols = "(" + (xs.map((term) => symX(term.xi)).join(" + ") || "0") + ") / " + e.divisor;
        numbers = "(" + (xs.map((term) => term.xv).join(" + ") || "0") + ") / " + e.divisor;
      }
    }
    const padded = e.terms.filter((term) => term.pad);
    const padText = padded.length
      ? padded.length + " of the " + e.terms.length + " window positions fall on padding " +
        "(zeros, left out): " +
        padded.map((term) => (term.wi ? "0·" + symW(term.wi) : "x at " + sub(term.xi.slice(1))))
          .join(", ")
      : "no window position falls on padding";
    ui.cell.innerHTML = "";
    ui.cell.append(
      el("p", { class: "dx-expr" }, where + " = " + symbols),
      el("p", { class: "dx-nums" }, "= " + numbers),
    );
    const value = el("p", { id: "dx-value", "data-value": e.value }, "= " + pretty(e.value));
    ui.cell.append(value, el("p", { class: "dx-padnote" }, padText));
    return e;
  }

  const pretty = (v) => (v === "-oo" ? "−∞ (the window holds only padding)" :
    v === "nan" ? "NaN (a divisor of 0)" : v.replace(/^-/, "−"));

  function gridStyle(node, rows, cols) {
    node.style.gridTemplateColumns = "repeat(" + cols + ", var(--dx-cell))";
    node.style.gridTemplateRows = "repeat(" + rows + ", var(--dx-cell))";
  }

  function renderInputGrid(layer, ev, t, taps) {
    const axes = layer.size.map((n, k) => {
      const av = ev.axes[k] ? ev.axes[k].values : axisValues(layer, k, false);
      const lo = layer.op === "conv_transpose" ? 0 : Math.max(0, av.lo);
      const hi = layer.op === "conv_transpose" ? 0 : Math.max(0, av.hi);
      return { n: Math.max(0, n), lo, hi, extra: 0 };
    });
    const marks = new Map();
    for (const combo of taps || []) {
      combo.forEach((tap, k) => {
        axes[k].extra = Math.max(axes[k].extra, tap.r + 1 - axes[k].n - axes[k].hi);
      });
      marks.set(combo.map((tap) => tap.r).join(","), true);
    }
    const rows = axes.length === 2 ? axes[0] : { n: 1, lo: 0, hi: 0, extra: 0 };
    const cols = axes[axes.length - 1];
    const nr = rows.lo + rows.n + rows.hi + rows.extra;
    const nc = cols.lo + cols.n + cols.hi + cols.extra;
    const big = nr * nc > 6000;
    const plane = layer.op === "conv" && ev.accepted
      ? E.TAPS.channel({ ...channelValues(layer), c: 0, o: state.o }) : 0;
    const parts = [];
    for (let R = 0; R < nr; R++) {
      for (let C = 0; C < nc; C++) {
        const r = axes.length === 2 ? R - rows.lo : 0;
        const q = C - cols.lo;
        const inR = axes.length === 1 || (r >= 0 && r < rows.n);
        const inQ = q >= 0 && q < cols.n;
        const beyond = (axes.length === 2 && r >= rows.n + rows.hi) || q >= cols.n + cols.hi;
        let cls = inR && inQ ? "dx-c" : beyond ? "dx-c dx-over" : "dx-c dx-pad";
        const key = axes.length === 2 ? r + "," + q : String(q);
        if (marks.has(key)) cls += " dx-win";
        let text = "";
        if (inR && inQ && !big) {
          const idx = axes.length === 2 ? [plane, r, q] : [plane, q];
          text = String(t.x[flatIndex(t.xs, idx)]);
        }
        parts.push('<span class="' + cls + '">' + text + "</span>");
      }
    }
    ui.inputGrid.innerHTML = parts.join("");
    gridStyle(ui.inputGrid, nr, nc);
    ui.inputCaption.textContent = layer.op === "conv"
      ? "input channel " + plane + " (padding shaded)"
      : layer.op === "conv_transpose" ? "input (entries scattered onto the selected output)"
        : "input (padding shaded)";
  }

  function renderOutputGrid(layer, ev, t) {
    const sizes = ev.shape.slice(1);
    const nr = sizes.length === 2 ? sizes[0] : 1;
    const nc = sizes[sizes.length - 1];
    const big = nr * nc > 4000;
    const parts = [];
    const selected = state.cell.join(",");
    for (let i = 0; i < nr; i++) {
      for (let j = 0; j < nc; j++) {
        const key = sizes.length === 2 ? i + "," + j : String(j);
        const on = key === selected;
        const value = big ? "" : state.values[i * nc + j];
        parts.push('<button type="button" role="gridcell" class="dx-c' + (on ? " dx-sel" : "") +
          '" data-idx="' + key + '" tabindex="' + (on ? 0 : -1) + '" aria-label="output ' +
          key + " = " + value + '">' + pretty(value).split(" ")[0] + "</button>");
      }
    }
    ui.outputGrid.innerHTML = parts.join("");
    gridStyle(ui.outputGrid, nr, nc);
  }

  function renderGrids() {
    const { layer, verdict: ev } = state;
    const t = state.t;
    if (!ev.accepted) {
      ui.outputGrid.innerHTML = "";
      ui.cell.innerHTML = "";
      const axes = ev.axes;
      const fits = layer.size.every((n) => n >= 1 && n <= 64) &&
        layer.size.every((_, k) => axes[k] || ev.failedAxis !== null);
      if (fits && ev.failedAxis !== null && ev.guard && ev.guard.argument === "kernel_size") {
        // what does not fit: the window at the first output position, past the padded input
        const full = layer.size.map((_, k) => axes[k] ? axes[k].values : axisValues(layer, k));
        const taps = cartesian(full.map((av) => windowTaps(av, 0)));
        ev.axes = full.map((values) => ({ values }));
        renderInputGrid(layer, ev, t, taps);
        ev.axes = axes;
      } else {
        ui.inputGrid.innerHTML = "";
      }
      return;
    }
    const sizes = ev.shape.slice(1);
    state.cell = state.cell.slice(0, sizes.length);
    while (state.cell.length < sizes.length) state.cell.push(0);
    state.cell = state.cell.map((c, k) => Math.min(c, sizes[k] - 1));
    const e = renderCell(layer, ev, t);
    renderInputGrid(layer, ev, t, e.taps);
    renderOutputGrid(layer, ev, t);
  }

  function fill(slots, values) {
    return slots.replace(/@(\w+)@/g, (m, name) => {
      const v = values[name];
      return v < 0 ? "(" + v + ")" : String(v);
    });
  }

  function renderFormula(layer, ev) {
    const names = AXIS_NAMES[dimsOf(layer)];
    const lines = [];
    layer.size.forEach((_, k) => {
      const form = paddingForm(layer, k);
      const ceil = layer.ceil_mode && applies(layer, "ceil_mode") ? "/ceil" : "";
      const shown = E.VARIANTS[layer.op + "/" + form + ceil] || E.VARIANTS[(ev.axes[k] || {}).variant];
      if (!shown) return;
      const values = axisValues(layer, k, form === "same" && dimsOf(layer) === 2);
      if (form === "same" && dimsOf(layer) === 1) values.lo = values.hi = 0;
      const result = ev.axes[k] && ev.axes[k].size !== null ? " = " + ev.axes[k].size : "";
      lines.push("\\text{" + names[k] + "}: \\quad n_\\text{out} = " + shown.latex +
        " = " + fill(shown.slots, values) + result);
    });
    const tex = "\\[\\begin{aligned}" + lines.map((l) => l.replace(": \\quad", ": &\\quad"))
      .join("\\\\") + "\\end{aligned}\\]";
    ui.formula.dataset.tex = tex;
    scheduleTypeset();
  }

  // MathJax (served by the site) typesets the formula once the numbers have settled
  let typesetTimer = null;
  function scheduleTypeset(delay) {
    clearTimeout(typesetTimer);
    typesetTimer = setTimeout(() => {
      const tex = ui.formula.dataset.tex;
      const mj = window.MathJax;
      if (!(mj && mj.typesetPromise && mj.startup && mj.startup.promise)) {
        ui.formula.textContent = tex;
        if (mj) scheduleTypeset(100); // MathJax is still loading
        return;
      }
      mj.startup.promise.then(() => {
        if (ui.formula.dataset.tex !== tex) return null;
        mj.typesetClear([ui.formula]);
        ui.formula.textContent = tex;
        return mj.typesetPromise([ui.formula]);
      }).catch(() => { ui.formula.textContent = tex; });
    }, delay === undefined ? 60 : delay);
  }

  function renderVerdict(layer, ev) {
    root.dataset.accepted = String(ev.accepted);
    ui.verdict.className = "dx-verdict " + (ev.accepted ? "dx-ok" : "dx-no");
    ui.verdict.textContent = ev.accepted
      ? "derive (and torch) accept this layer."
      : "derive (and torch) reject this layer:";
    ui.message.textContent = ev.accepted ? "" : ev.message;
    ui.message.hidden = ev.accepted;
    ui.shape.textContent = ev.accepted ? "output shape " + show(ev.shape) : "";
    ui.shape.dataset.shape = ev.accepted ? show(ev.shape) : "";
    ui.channelWrap.hidden = !(ev.accepted && ev.shape[0] > 1);
    if (ev.accepted && ui.channel.options.length !== ev.shape[0]) {
      ui.channel.innerHTML = "";
      for (let o = 0; o < ev.shape[0]; o++) ui.channel.append(el("option", { value: o }, o));
    }
    if (ev.accepted) ui.channel.value = String(Math.min(state.o, ev.shape[0] - 1));
  }

  // the numbers: derive's verdict, the input, every output value of the shown channel
  function compute() {
    const { layer, verdict } = state;
    state.values = null;
    if (!verdict.accepted) return;
    state.o = Math.min(state.o, verdict.shape[0] - 1);
    state.values = outputValues(layer, verdict, state.t, state.o);
  }

  function setChannel(o) {
    state.o = o;
    compute();
    renderGrids();
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
    renderGrids();
    renderFormula(layer, state.verdict);
    const query = toQuery(layer);
    if (!(options && options.noHistory) && location.search.slice(1) !== query) {
      history.replaceState(null, "", "?" + query);
    }
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
  update(parseQuery(location.search.slice(1)));
  api.readyMs = performance.now();
  root.dataset.ready = "1";
})();
