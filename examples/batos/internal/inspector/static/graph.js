// The object graph: objects as boxes, parents above their children, an
// arrow from each object to each of its parents (the way a lookup goes).
// Layered layout, wide layers wrapped into rows; pan and zoom.

import { s, fmtNum } from './dom.js';

const W = 168, H = 46, HGAP = 20, ROWGAP = 16, VGAP = 70;

function label(n) {
  return n.names && n.names.length ? n.names[0] : `#${n.oid}`;
}

// clip shortens text to about px pixels of the node's 12px bold font.
function clip(text, px) {
  let w = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    w += /[A-Z]/.test(c) ? 8.7 : /[.,:;il|!'\s]/.test(c) ? 3.8 : /[mwMW]/.test(c) ? 10 : 7.1;
    if (w > px) return text.slice(0, Math.max(1, i - 1)) + '…';
  }
  return text;
}

// layout places the nodes of a graph answer (and a box for each object's
// children left out) and returns {items, edges, bounds}.
export function layout(graph) {
  const byId = new Map(graph.nodes.map(n => [n.oid, n]));
  const depth = new Map();
  const visiting = new Set();
  const depthOf = oid => {
    if (depth.has(oid)) return depth.get(oid);
    if (visiting.has(oid)) return 0; // a cycle in the parent graph
    visiting.add(oid);
    let d = 0;
    for (const p of byId.get(oid).parents) if (byId.has(p) && p !== oid) d = Math.max(d, depthOf(p) + 1);
    visiting.delete(oid);
    depth.set(oid, d);
    return d;
  };
  const items = graph.nodes.map(n => ({ key: 'o' + n.oid, node: n, parents: n.parents.filter(p => byId.has(p)), depth: depthOf(n.oid) }));
  for (const m of graph.more || []) {
    if (!byId.has(m.parent)) continue;
    items.push({ key: 'm' + m.parent, more: m, parents: [m.parent], depth: depthOf(m.parent) + 1 });
  }
  const itemOf = new Map(items.map(it => [it.key, it]));
  const children = new Map();
  for (const it of items) {
    for (const p of it.parents) {
      const k = 'o' + p;
      if (!children.has(k)) children.set(k, []);
      children.get(k).push(it);
    }
  }

  // Objects with no parent or child in view go to a grid of their own
  // below the rest, so they do not stretch the top layer.
  const linked = new Set();
  for (const it of items) {
    if (it.parents.length) {
      linked.add(it.key);
      it.parents.forEach(p => linked.add('o' + p));
    }
  }
  const alone = items.filter(it => !linked.has(it.key));
  const grid = alone.length >= 4 && alone.length < items.length ? alone : [];
  const inGrid = new Set(grid.map(it => it.key));

  const layers = [];
  for (const it of items) if (!inGrid.has(it.key)) (layers[it.depth] ||= []).push(it);
  for (let i = 0; i < layers.length; i++) layers[i] ||= [];
  layers[0].sort((a, b) => label(a.node).localeCompare(label(b.node)));
  const rank = new Map();
  const setRanks = layer => layer.forEach((it, i) => rank.set(it.key, layer.length > 1 ? i / (layer.length - 1) : 0.5));
  layers.forEach(setRanks);
  const mean = xs => xs.reduce((a, b) => a + b, 0) / xs.length;
  const byKey = (layer, keyOf) => {
    const keys = new Map(layer.map(it => [it.key, keyOf(it)]));
    layer.sort((a, b) => keys.get(a.key) - keys.get(b.key) || (a.more ? 1 : 0) - (b.more ? 1 : 0) ||
      (a.node && b.node ? label(a.node).localeCompare(label(b.node)) : 0));
    setRanks(layer);
  };
  const down = () => {
    for (let d = 1; d < layers.length; d++) {
      byKey(layers[d], it => {
        const ps = it.parents.map(p => rank.get('o' + p)).filter(r => r !== undefined);
        return ps.length ? mean(ps) + (it.more ? 1e-6 : 0) : rank.get(it.key);
      });
    }
  };
  const up = () => {
    for (let d = layers.length - 2; d >= 0; d--) {
      byKey(layers[d], it => {
        const cs = (children.get(it.key) || []).map(c => rank.get(c.key));
        return cs.length ? mean(cs) : rank.get(it.key);
      });
    }
  };
  down(); up(); down();

  // Positions: each layer in rows, centred on x = 0; the grid below.
  let y = 0;
  let minX = Infinity, maxX = -Infinity;
  let widest = 1;
  const place = (row, y) => {
    const width = row.length * W + (row.length - 1) * HGAP;
    row.forEach((it, i) => {
      it.x = -width / 2 + i * (W + HGAP) + W / 2;
      it.y = y + H / 2;
      minX = Math.min(minX, it.x - W / 2);
      maxX = Math.max(maxX, it.x + W / 2);
    });
  };
  for (const layer of layers) {
    if (!layer.length) continue;
    const perRow = Math.max(8, Math.ceil(Math.sqrt(layer.length) * 1.6));
    widest = Math.max(widest, Math.min(perRow, layer.length));
    for (let r = 0; r * perRow < layer.length; r++) {
      place(layer.slice(r * perRow, (r + 1) * perRow), y);
      y += H + ROWGAP;
    }
    y += VGAP - ROWGAP;
  }
  let gridLabel = null;
  if (grid.length) {
    grid.sort((a, b) => label(a.node).localeCompare(label(b.node)));
    const cols = Math.min(grid.length, Math.max(4, widest, Math.ceil(Math.sqrt(grid.length))));
    gridLabel = { y: y - 14, text: `${grid.length} objects with no parent or child in view` };
    for (let r = 0; r * cols < grid.length; r++) {
      place(grid.slice(r * cols, (r + 1) * cols), y);
      y += H + ROWGAP;
    }
    y += VGAP - ROWGAP;
  }
  const edges = [];
  for (const it of items) {
    it.parents.forEach((p, i) => {
      const to = itemOf.get('o' + p);
      if (to && to !== it) edges.push({ from: it, to, later: i > 0 && !it.more });
    });
  }
  return { items, edges, gridLabel, bounds: { minX, maxX, minY: 0, maxY: Math.max(0, y - VGAP) } };
}

// GraphView draws graphs into an <svg> and lets people pan and zoom.
export class GraphView {
  constructor(svg, viewport, { onSelect, onMore }) {
    this.svg = svg;
    this.viewport = viewport;
    this.onSelect = onSelect;
    this.onMore = onMore;
    this.t = { x: 0, y: 0, k: 1 };
    this.placed = null;
    this.pan();
  }

  pan() {
    let start = null;
    this.svg.addEventListener('pointerdown', e => {
      if (e.button !== 0 || e.target.closest('.node, .more')) return;
      start = { x: e.clientX, y: e.clientY, t: { ...this.t } };
      this.svg.setPointerCapture(e.pointerId);
      this.svg.classList.add('panning');
    });
    this.svg.addEventListener('pointermove', e => {
      if (!start) return;
      this.t.x = start.t.x + e.clientX - start.x;
      this.t.y = start.t.y + e.clientY - start.y;
      this.apply();
    });
    const end = () => { start = null; this.svg.classList.remove('panning'); };
    this.svg.addEventListener('pointerup', end);
    this.svg.addEventListener('pointercancel', end);
    this.svg.addEventListener('wheel', e => {
      e.preventDefault();
      const r = this.svg.getBoundingClientRect();
      this.zoomAt(Math.exp(-e.deltaY * 0.0015), e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });
  }

  apply() {
    const { x, y, k } = this.t;
    this.viewport.setAttribute('transform', `translate(${x.toFixed(1)},${y.toFixed(1)}) scale(${k.toFixed(4)})`);
  }

  zoomAt(f, px, py) {
    const k = Math.min(3, Math.max(0.08, this.t.k * f));
    this.t.x = px - (px - this.t.x) * (k / this.t.k);
    this.t.y = py - (py - this.t.y) * (k / this.t.k);
    this.t.k = k;
    this.apply();
  }

  zoomBy(f) {
    const r = this.svg.getBoundingClientRect();
    this.zoomAt(f, r.width / 2, r.height / 2);
  }

  // fit shows the whole graph, no larger than life.
  fit() {
    if (!this.placed) return;
    const r = this.svg.getBoundingClientRect();
    const b = this.placed.bounds;
    const bw = b.maxX - b.minX + 60, bh = b.maxY - b.minY + 110;
    const k = Math.max(0.08, Math.min(r.width / bw, r.height / bh, 1.1));
    this.t = { k, x: r.width / 2 - ((b.minX + b.maxX) / 2) * k, y: 50 + (r.height - 60 - (b.maxY - b.minY) * k) / 2 - b.minY * k };
    this.t.y = Math.max(this.t.y, 44);
    this.apply();
  }

  // centerOn brings an object to the middle, at the current zoom.
  centerOn(oid) {
    const it = this.placed && this.placed.items.find(i => i.node && i.node.oid === oid);
    if (!it) return;
    const r = this.svg.getBoundingClientRect();
    this.t.x = r.width / 2 - it.x * this.t.k;
    this.t.y = r.height / 2 - it.y * this.t.k;
    this.apply();
  }

  // fits reports whether the whole graph shows at a readable size.
  fits() {
    if (!this.placed) return true;
    const r = this.svg.getBoundingClientRect();
    const b = this.placed.bounds;
    return Math.min(r.width / (b.maxX - b.minX + 60), r.height / (b.maxY - b.minY + 110)) >= 0.55;
  }

  // render draws a graph answer; selected is highlighted with the chain of
  // its ancestors, focus marked, and the objects in flash briefly lit.
  render(graph, { selected = null, focus = null, flash = new Set() } = {}) {
    this.graph = graph;
    this.placed = layout(graph);
    this.draw({ selected, focus, flash });
  }

  select(selected) {
    if (this.graph) this.draw({ selected, focus: this.graph.focus || null, flash: new Set() });
  }

  draw({ selected, focus, flash }) {
    const { items, edges } = this.placed;
    const chain = new Set();
    const byOid = new Map(items.filter(i => i.node).map(i => [i.node.oid, i]));
    const walk = oid => {
      if (chain.has(oid) || !byOid.has(oid)) return;
      chain.add(oid);
      byOid.get(oid).parents.forEach(walk);
    };
    if (selected != null) walk(selected);

    const edgeEls = edges.map(({ from, to, later }) => {
      const x1 = from.x, y1 = from.y - H / 2, x2 = to.x, y2 = to.y + H / 2 + 2;
      const dy = Math.max(28, (y1 - y2) / 2);
      const hot = from.node && chain.has(from.node.oid) && chain.has(to.node.oid);
      return s('path', {
        class: `edge${later ? ' later' : ''}${hot ? ' hot' : ''}`,
        d: `M${x1},${y1} C${x1},${y1 - dy} ${x2},${y2 + dy} ${x2},${y2}`,
        'marker-end': hot ? 'url(#arrow-hot)' : 'url(#arrow)',
        'data-child': from.node ? from.node.oid : `more-${from.more.parent}`,
        'data-parent': to.node.oid,
      });
    });
    const nodeEls = items.map(it => it.node ? this.nodeEl(it, { selected, focus, chain, flash }) : this.moreEl(it));
    const gl = this.placed.gridLabel;
    this.viewport.replaceChildren(
      gl ? s('text', { class: 'grid-label', x: 0, y: gl.y, 'text-anchor': 'middle' }, gl.text) : '',
      s('g', { class: 'edges' }, edgeEls), s('g', { class: 'nodes' }, nodeEls));
  }

  nodeEl(it, { selected, focus, chain, flash }) {
    const n = it.node;
    const cls = ['node'];
    if (n.names && n.names.length) cls.push('root');
    if (n.oid === focus) cls.push('focus');
    if (n.oid === selected) cls.push('selected');
    else if (chain.has(n.oid)) cls.push('chain');
    if (n.detached) cls.push('detached');
    if (flash.has(n.oid)) cls.push('flash');
    const name = label(n);
    const info = `#${n.oid} · ${n.slots} slot${n.slots === 1 ? '' : 's'} · ${n.methods} method${n.methods === 1 ? '' : 's'}`;
    const title = [
      n.names && n.names.length ? `${n.names.join(', ')} (#${n.oid})` : `object #${n.oid}`,
      `${n.slots} slots, ${n.methods} methods, ${fmtNum(n.children)} children`,
      n.parents.length ? `parents: ${n.parents.map(p => '#' + p).join(' → ')}` : 'no parents',
      n.detached ? 'not reachable from the roots' : '',
    ].filter(Boolean).join('\n');
    return s('g', {
      class: cls.join(' '), transform: `translate(${it.x - W / 2},${it.y - H / 2})`,
      'data-oid': n.oid, 'data-name': n.names && n.names.length ? n.names[0] : '', tabindex: 0,
      onclick: () => this.onSelect(n.oid),
      onkeydown: e => { if (e.key === 'Enter') this.onSelect(n.oid); },
    },
    s('title', null, title),
    s('rect', { width: W, height: H, rx: 8 }),
    n.methods > 0 ? s('circle', { class: 'method-dot', cx: W - 12, cy: 12, r: 3 }) : null,
    s('text', { class: 'name', x: 10, y: 19 }, clip(name, W - 30)),
    s('text', { class: 'info', x: 10, y: 35 }, info));
  }

  moreEl(it) {
    const m = it.more;
    const hidden = m.total - m.shown;
    const text = m.offset || (this.graph && this.graph.focus === m.parent)
      ? `${fmtNum(m.total)} children in all`
      : `+${fmtNum(hidden)} more child${hidden === 1 ? '' : 'ren'}`;
    return s('g', {
      class: 'more', transform: `translate(${it.x - W / 2},${it.y - H / 2})`, 'data-more': m.parent, tabindex: 0,
      onclick: () => this.onMore(m),
      onkeydown: e => { if (e.key === 'Enter') this.onMore(m); },
    },
    s('title', null, `Show the children of #${m.parent}, a page at a time`),
    s('rect', { width: W, height: H, rx: 8 }),
    s('text', { x: W / 2, y: H / 2 + 4, 'text-anchor': 'middle' }, text));
  }
}
