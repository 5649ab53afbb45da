// The batos inspector: the object graph, the selected object, the cycles
// as they run (fed by the kernel's event stream), a cycle's record, and
// the approvals the kernel will hold. See package inspector.

import { api, ref, initToken, getToken, setToken, onTokenNeeded, KernelError } from './api.js';
import { h, fill, fmtNum, fmtMs, fmtBytes, fmtTime } from './dom.js';
import { GraphView } from './graph.js';
import { goSource, diffLines, diffView } from './code.js';

const STATES = ['IDLE', 'DECOMPOSING', 'DELEGATING', 'SYNTHESIZING', 'VALIDATING', 'COMPLETE'];
const CYCLE_PAGE = 50;
const $ = id => document.getElementById(id);

const state = {
  names: new Map(), // OID → root name
  summary: null,
  graph: null,
  focus: null, // the graph's focus (OID), null for the roots
  offset: 0, // page of the focus's children
  selected: null, // the object in the Object tab
  object: null,
  openMethods: new Map(), // selector → {version, compare}
  cycles: new Map(), // id → cycle (see cycleOf)
  nextCycles: '',
  selectedCycle: null,
  openDetails: new Set(), // event keys whose <details> are open
  es: null,
  lastEventId: 0,
  sendAbort: null,
};

let graphView;

// ---------------------------------------------------------------- errors

function toast(message, { kind = '', info = false, ms = 9000 } = {}) {
  const el = h('div', { class: 'toast' + (info ? ' info' : ''), role: info ? null : 'alert' },
    message, kind ? h('span', { class: 'kind' }, kind) : null);
  $('toasts').append(el);
  setTimeout(() => el.remove(), ms);
  while ($('toasts').children.length > 4) $('toasts').firstChild.remove();
}

// showError shows what the kernel said, in its words.
function showError(err, what = '') {
  if (err && err.name === 'AbortError') return;
  const prefix = what ? what + ': ' : '';
  if (err instanceof KernelError) {
    const where = err.body.state ? ` (cycle ${err.body.cycle}, in ${err.body.state})` : '';
    toast(prefix + err.message + where, { kind: `${err.status || ''} ${err.kind}`.trim() });
  } else {
    toast(prefix + String(err && err.message || err), { kind: 'page' });
    console.error(err);
  }
}

// ---------------------------------------------------------------- token

let tokenPrompt = null;

function askToken(reason) {
  if (tokenPrompt) return tokenPrompt;
  tokenPrompt = new Promise(resolve => {
    const dlg = $('token-dialog');
    $('token-reason').textContent = reason ||
      'Give the token the kernel was started with (--token or $BATOS_TOKEN).';
    $('token-input').value = '';
    $('token-form').onsubmit = e => {
      e.preventDefault();
      setToken($('token-input').value.trim());
      dlg.close();
      tokenPrompt = null;
      connectEvents();
      resolve();
    };
    dlg.showModal();
    $('token-input').focus();
  });
  return tokenPrompt;
}

// ---------------------------------------------------------------- names

function nameOf(oid) {
  return state.names.get(oid) || `#${oid}`;
}

function objectLink(oid, text) {
  return h('a', { href: '#', 'data-oid': oid, onclick: e => { e.preventDefault(); selectObject(oid); } }, text || nameOf(oid));
}

function learnNames(nodes) {
  for (const n of nodes) if (n.names && n.names.length) state.names.set(n.oid, n.names[0]);
}

// ---------------------------------------------------------------- summary and graph

async function loadSummary() {
  const sum = await api('/api/objects');
  state.summary = sum;
  for (const r of sum.roots) if (!state.names.has(r.oid)) state.names.set(r.oid, r.name);
  fill($('root-names'), sum.roots.map(r => h('option', { value: r.name })));
  renderStats();
  return sum;
}

function renderStats() {
  const g = state.graph, sum = state.summary;
  const parts = [];
  if (g) parts.push(`${fmtNum(g.objects)}${g.partial ? '+' : ''} objects`);
  if (sum) parts.push(`${fmtNum(sum.roots.length)} roots`);
  const cycles = Math.max(sum ? sum.cycles : 0, state.cycles.size);
  parts.push(`${fmtNum(cycles)} cycles`);
  $('stats').textContent = parts.join(' · ');
}

async function loadGraph({ refit = true, flash = new Set() } = {}) {
  const q = new URLSearchParams();
  if (state.focus != null) {
    q.set('focus', state.focus);
    if (state.offset) q.set('offset', state.offset);
  }
  const g = await api('/api/graph?' + q);
  state.graph = g;
  learnNames(g.nodes);
  graphView.render(g, { selected: state.selected, focus: state.focus, flash });
  if (refit) {
    if (state.focus != null && !graphView.fits()) graphView.centerOn(state.focus);
    else graphView.fit();
  }
  renderGraphNote();
  renderStats();
}

function renderGraphNote() {
  const g = state.graph;
  const note = $('graph-note');
  const parts = [];
  if (state.focus != null) {
    const more = g.more.find(m => m.parent === state.focus);
    const node = g.nodes.find(n => n.oid === state.focus);
    const total = node ? node.children : 0;
    parts.push(h('span', null, 'Around ', h('b', null, nameOf(state.focus)), ': its ancestors',
      total ? `, children ${fmtNum(Math.min(state.offset + 1, total))}–${fmtNum(Math.min(state.offset + g.limit, total))} of ${fmtNum(total)}` : ', no children',
      ', and the roots'));
    if (more && state.offset > 0) {
      parts.push(h('button', { type: 'button', onclick: () => pageChildren(-1) }, '◀ previous'));
    }
    if (total > state.offset + g.limit) {
      parts.push(h('button', { type: 'button', onclick: () => pageChildren(1) }, 'next ▶'));
    }
  } else {
    parts.push(h('span', null, 'The roots and their ancestors'));
  }
  if (g.roots_hidden) parts.push(h('span', null, `· ${fmtNum(g.roots_hidden)} roots folded into “more”`));
  if (g.partial) parts.push(h('span', null, '· the index stopped early: the image is larger than it reads'));
  fill(note, parts);
}

function pageChildren(dir) {
  state.offset = Math.max(0, state.offset + dir * state.graph.limit);
  loadGraph({ refit: false }).catch(e => showError(e, 'graph'));
}

function focusGraph(oid, offset = 0) {
  state.focus = oid;
  state.offset = offset;
  return loadGraph().catch(e => showError(e, 'graph'));
}

// ---------------------------------------------------------------- the object

async function selectObject(oid, { focus = true } = {}) {
  if (state.selected !== oid) state.openMethods.clear();
  state.selected = oid;
  showTab('object');
  if (focus) focusGraph(oid);
  else graphView.select(oid);
  try {
    const o = await api(`/api/objects/${ref(oid)}`);
    if (state.selected !== oid) return;
    state.object = o;
    if (o.names && o.names.length) state.names.set(o.oid, o.names[0]);
    renderObject(o);
  } catch (e) {
    showError(e, `object ${nameOf(oid)}`);
  }
}

async function reloadObject() {
  if (state.selected == null) return;
  try {
    const o = await api(`/api/objects/${ref(state.selected)}`);
    if (o.oid !== state.selected) return;
    state.object = o;
    renderObject(o);
  } catch (e) {
    showError(e);
  }
}

function slotValue(sl) {
  switch (sl.kind) {
    case 'ref':
      return objectLink(sl.value.oid, sl.value.name ? `${sl.value.name} (#${sl.value.oid})` : `#${sl.value.oid}`);
    case 'blob':
      return h('span', null, `blob ${sl.value.id} (${fmtBytes(sl.value.size)})`);
    case 'primitive':
      return h('span', null, `primitive ${sl.value}`);
  }
  const out = h('span');
  valueInto(out, sl.value, sl.truncated);
  return out;
}

// valueInto writes a value in its JSON form (see imageview.Plain), with
// references as links; truncated marks a preview of a larger value.
function valueInto(el, v, truncated = false) {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === '$ref') {
      el.append(objectLink(v.$ref, state.names.has(v.$ref) ? `${nameOf(v.$ref)} #${v.$ref}` : `#${v.$ref}`));
      return;
    }
    el.append('{');
    keys.forEach((k, i) => {
      if (i) el.append(', ');
      el.append(JSON.stringify(k) + ': ');
      valueInto(el, v[k]);
    });
    el.append(truncated ? ', …}' : '}');
    return;
  }
  if (Array.isArray(v)) {
    el.append('[');
    v.forEach((x, i) => {
      if (i) el.append(', ');
      valueInto(el, x);
    });
    el.append(truncated ? ', …]' : ']');
    return;
  }
  el.append(JSON.stringify(v) ?? String(v));
}

function renderObject(o) {
  const title = o.names && o.names.length ? o.names[0] : `#${o.oid}`;
  const slots = o.slots.filter(sl => sl.kind !== 'primitive');
  const prims = o.slots.filter(sl => sl.kind === 'primitive');
  const el = $('tab-object');
  fill(el,
    h('div', { class: 'obj-title', 'data-object': o.oid },
      h('span', { class: 'big' }, title),
      h('span', { class: 'dim mono' }, `#${o.oid}`),
      (o.names || []).slice(1).map(n => h('span', { class: 'chip' }, n)),
      h('button', { type: 'button', class: 'ghost', onclick: () => focusGraph(o.oid) }, 'Show in graph')),
    h('h4', null, 'Parents', h('span', { class: 'dim' }, ' — lookup order')),
    o.parents.length
      ? h('div', { class: 'chips' }, o.parents.map((p, i) => [
        i ? h('span', { class: 'arrowsep' }, '→') : null,
        h('span', { class: 'chip' }, objectLink(p.oid, p.name ? `${p.name} #${p.oid}` : `#${p.oid}`))]))
      : h('p', { class: 'dim' }, 'none: the top of a delegation chain'),
    h('h4', null, 'Send a message'),
    sendForm(o),
    h('h4', null, `Slots (${slots.length})`),
    slots.length
      ? h('table', { class: 'slots' }, h('tbody', null, slots.map(sl => h('tr', { 'data-slot': sl.name },
        h('td', { class: 'k' }, sl.name),
        h('td', { class: 't' }, sl.kind === 'data' ? sl.type : sl.kind, sl.len ? h('div', { class: 'small' }, `len ${fmtNum(sl.len)}`) : null),
        h('td', { class: 'v' }, slotValue(sl),
          sl.truncated ? h('div', null, h('a', { href: '#', onclick: e => { e.preventDefault(); showSlot(o.oid, sl.name, e.target); } }, 'show all')) : null)))))
      : h('p', { class: 'dim' }, 'no slots of its own'),
    h('h4', null, `Methods (${o.methods.length + prims.length})`),
    o.methods.length + prims.length ? null : h('p', { class: 'dim' }, 'no methods of its own: sends go to its parents'),
    o.methods.map(m => methodBlock(o, m)),
    prims.map(p => h('div', { class: 'method', 'data-method': p.name },
      h('div', { class: 'mhead' }, h('span', { class: 'sel' }, p.name), h('span', { class: 'dim' }, `primitive ${p.value}`)))));
}

async function showSlot(oid, name, link) {
  try {
    const sl = await api(`/api/objects/${ref(oid)}/slots/${ref(name)}`);
    const cell = link.closest('td');
    fill(cell, slotValue(sl));
  } catch (e) {
    showError(e);
  }
}

// parseArgs reads the arguments box: a JSON array, or words, each a JSON
// value when it parses as one (42, true, "x", [1,2], {"$ref": 3}), else a
// string — as the batos command reads its arguments.
function parseArgs(text) {
  text = text.trim();
  if (!text) return [];
  if (text.startsWith('[')) {
    try {
      const v = JSON.parse(text);
      if (Array.isArray(v)) return v;
    } catch { /* words, then */ }
  }
  const words = text.match(/"(?:\\.|[^"\\])*"|\{[^}]*\}|\[[^\]]*\]|\S+/g) || [];
  return words.map(w => { try { return JSON.parse(w); } catch { return w; } });
}

function sendForm(o) {
  const sel = h('input', { placeholder: 'selector', 'aria-label': 'selector', spellcheck: 'false', name: 'selector' });
  const args = h('input', { placeholder: 'arguments: 2 40, or ["Ada"]', 'aria-label': 'arguments', spellcheck: 'false', name: 'args' });
  const out = h('div', { class: 'answer' });
  const button = h('button', { type: 'submit', class: 'primary' }, 'Send');
  const form = h('form', {
    class: 'send-form', onsubmit: async e => {
      e.preventDefault();
      if (state.sendAbort) { state.sendAbort.abort(); return; }
      const selector = sel.value.trim();
      if (!selector) { sel.focus(); return; }
      const ctl = new AbortController();
      state.sendAbort = ctl;
      button.textContent = 'Cancel';
      out.className = 'answer dim';
      out.textContent = `sending ${selector} to ${nameOf(o.oid)}… (a new selector starts a cycle: watch it on the left)`;
      try {
        const a = await api('/api/send', { method: 'POST', body: { object: o.oid, selector, args: parseArgs(args.value) }, signal: ctl.signal });
        out.className = 'answer';
        out.textContent = `→ ${JSON.stringify(a.answer)}  (${fmtMs(a.ms)})`;
      } catch (err) {
        out.className = 'answer bad';
        if (err.name === 'AbortError') out.textContent = 'cancelled: the kernel ends the cycle, and the image stays as it was';
        else out.textContent = err.message + (err.kind ? `  [${err.kind}]` : '');
      } finally {
        state.sendAbort = null;
        button.textContent = 'Send';
      }
    },
  }, sel, args, button);
  return h('div', null, form, out);
}

function methodBlock(o, m) {
  const open = state.openMethods.has(m.selector);
  const body = h('div', { class: 'mbody', hidden: !open });
  const block = h('div', { class: 'method', 'data-method': m.selector },
    h('div', {
      class: 'mhead', role: 'button', tabindex: 0, onclick: () => toggleMethod(o, m, body),
      onkeydown: e => { if (e.key === 'Enter') toggleMethod(o, m, body); },
    },
    h('span', { class: 'sel' }, m.selector),
    h('span', { class: 'badge s-VALIDATING' }, `v${m.version}`),
    h('span', { class: 'dim' }, [m.persona, m.versions > 1 ? `${m.versions} versions` : '1 version', `${m.lines} lines`].filter(Boolean).join(' · '))),
    body);
  if (open) loadVersions(o, m, body);
  return block;
}

function toggleMethod(o, m, body) {
  if (body.hidden) {
    state.openMethods.set(m.selector, state.openMethods.get(m.selector) || {});
    body.hidden = false;
    loadVersions(o, m, body);
  } else {
    state.openMethods.delete(m.selector);
    body.hidden = true;
  }
}

async function loadVersions(o, m, body) {
  if (!body.childNodes.length) body.append(h('p', { class: 'dim' }, 'loading versions…'));
  try {
    const mv = await api(`/api/objects/${ref(o.oid)}/methods/${ref(m.selector)}`);
    renderVersions(o, mv, body);
  } catch (e) {
    fill(body, h('p', { class: 'answer bad' }, e.message));
  }
}

function renderVersions(o, mv, body) {
  const st = state.openMethods.get(mv.selector) || {};
  state.openMethods.set(mv.selector, st);
  const byNum = new Map(mv.versions.map(v => [v.version, v]));
  if (!st.pinned || !byNum.has(st.version)) st.version = mv.current; // follow the current version unless one was chosen
  const v = byNum.get(st.version) || mv.versions[mv.versions.length - 1];
  const others = mv.versions.filter(x => x.version !== v.version);
  const diffArea = h('div', { class: 'diff-area' });
  const showDiff = other => {
    st.compare = other;
    const a = byNum.get(other);
    const ops = diffLines(a.source || '', v.source || '');
    fill(diffArea,
      h('h4', null, `Diff v${other} → v${v.version}`),
      ops ? diffView(ops) : h('p', { class: 'dim' }, 'too large to compare here'));
  };
  const compare = others.length
    ? h('select', {
      'aria-label': 'compare with', onchange: e => { if (e.target.value) showDiff(Number(e.target.value)); else { st.compare = null; fill(diffArea); } },
    }, h('option', { value: '' }, 'diff with…'), others.map(x => h('option', { value: x.version, selected: st.compare === x.version }, `v${x.version}`)))
    : null;
  fill(body,
    h('div', { class: 'versions' },
      mv.versions.map(x => h('button', {
        type: 'button', class: x.version === v.version ? 'on' : '', 'data-version': x.version,
        onclick: () => { st.version = x.version; st.pinned = true; renderVersions(o, mv, body); },
      }, `v${x.version}${x.version === mv.current ? ' (current)' : ''}`))),
    h('div', { class: 'kv' },
      h('span', null, 'persona'), h('span', null, v.persona || '—'),
      h('span', null, 'cycle'), h('span', null, v.cycle ? h('a', { href: '#', onclick: e => { e.preventDefault(); openCycle(v.cycle); } }, v.cycle) : '— (written by hand)'),
      h('span', null, 'created'), h('span', null, v.created ? new Date(v.created).toLocaleString() : '—'),
      v.intent ? [h('span', null, 'intent'), h('span', null, v.intent)] : null,
      v.policy ? [h('span', null, 'policy'), h('span', null, v.policy)] : null,
      h('span', null, 'lines'), h('span', null, String(v.lines))),
    h('div', { class: 'actions' },
      compare,
      others.length && v.version > 1 && byNum.has(v.version - 1)
        ? h('button', { type: 'button', onclick: () => showDiff(v.version - 1) }, `Diff with v${v.version - 1}`) : null,
      v.version !== mv.current
        ? h('button', { type: 'button', class: 'danger', onclick: () => revert(o, mv.selector, v.version) }, `Revert to v${v.version}`) : null),
    goSource(v.source || ''),
    diffArea);
  if (st.compare && byNum.has(st.compare) && st.compare !== v.version) showDiff(st.compare);
}

async function revert(o, selector, version) {
  try {
    await api(`/api/objects/${ref(o.oid)}/methods/${ref(selector)}/revert`, { method: 'POST', body: { version } });
    toast(`${selector} reverted to v${version}`, { info: true });
    reloadObject();
  } catch (e) {
    showError(e, `revert ${selector} to v${version}`);
  }
}

// ---------------------------------------------------------------- cycles

function cycleOf(id) {
  let c = state.cycles.get(id);
  if (!c) {
    c = { id, selector: '', target: 0, parent: '', depth: 0, persona: '', started: '', ended: '', state: 'IDLE',
      outcome: '', failedIn: '', error: '', attempts: 0, version: 0, events: [], seqs: new Set(), seen: [], live: false,
      record: null };
    state.cycles.set(id, c);
  }
  return c;
}

// fromSummary takes a row of GET /api/cycles (or a whole record).
function fromSummary(r) {
  const c = cycleOf(r.id);
  c.selector = r.selector || (r.mission && r.mission.selector) || c.selector;
  c.target = r.target || (r.mission && r.mission.target) || c.target;
  c.parent = r.parent || c.parent;
  c.depth = r.depth || c.depth;
  c.persona = r.persona || c.persona;
  c.started = r.started || c.started;
  c.ended = r.ended || c.ended;
  c.outcome = r.outcome || c.outcome;
  c.failedIn = r.failed_in || c.failedIn;
  c.error = r.error || c.error;
  c.attempts = r.attempts || c.attempts;
  c.version = r.version || c.version;
  if (!c.live || c.outcome) c.state = c.outcome || r.state || c.state;
  if (c.outcome) c.live = false;
  return c;
}

const MISSION = /^mission: "((?:\\.|[^"\\])*)" for object (\d+)(?: \(nested in cycle ([^)]+)\))?/;

function onCycleEvent(e) {
  const c = cycleOf(e.cycle);
  if (c.seqs.has(e.seq)) return;
  c.seqs.add(e.seq);
  c.events.push(e);
  c.events.sort((a, b) => a.seq - b.seq);
  if (!c.started || e.seq === 1) c.started = c.started && e.seq !== 1 ? c.started : e.time;
  if (e.kind === 'state') {
    c.state = e.state;
    c.seen.push(e.state);
    if (!c.outcome) c.live = true;
    if (e.state === 'IDLE') {
      const m = MISSION.exec(e.text || '');
      if (m) {
        c.selector = JSON.parse(`"${m[1]}"`);
        c.target = Number(m[2]);
        if (m[3]) c.parent = m[3];
      }
    }
    if (e.state === 'FAILED') {
      c.error = e.error || c.error;
      const f = /^failed in (\w+)/.exec(e.text || '');
      if (f) c.failedIn = f[1];
    }
  }
  if (e.kind === 'prompt' && e.state === 'SYNTHESIZING') c.persona = e.persona;
  if (e.kind === 'outcome') {
    c.outcome = e.state;
    c.state = e.state;
    c.ended = e.time;
    c.live = false;
    if (e.error) c.error = e.error;
    if (e.state === 'COMPLETE') onComplete(c);
  }
  scheduleCycles();
  if (state.selectedCycle === c.id) scheduleCycleDetail();
}

let refreshTimer = null;

// onComplete shows what a completed cycle changed: the new method in the
// object view, the graph's counts.
function onComplete(c) {
  const flash = new Set([c.target]);
  if (state.selected === c.target) reloadObject();
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => {
    loadGraph({ refit: false, flash }).catch(e => showError(e, 'graph'));
    loadSummary().catch(() => {});
  }, 150);
}

async function loadCycles(more = false) {
  const q = new URLSearchParams({ limit: CYCLE_PAGE });
  if (more && state.nextCycles) q.set('before', state.nextCycles);
  const page = await api('/api/cycles?' + q);
  page.cycles.forEach(fromSummary);
  state.nextCycles = page.next || '';
  $('cycles-more').hidden = !state.nextCycles;
  scheduleCycles();
}

let cyclesFrame = 0;

function scheduleCycles() {
  if (!cyclesFrame) cyclesFrame = requestAnimationFrame(() => { cyclesFrame = 0; renderCycles(); });
}

function elapsed(c) {
  if (!c.started) return '';
  const end = c.ended ? Date.parse(c.ended) : (c.live ? Date.now() : NaN);
  return fmtMs(end - Date.parse(c.started));
}

function stateIndex(s) {
  return STATES.indexOf(s);
}

function cycleRow(c) {
  const shown = c.outcome || c.state;
  const failedAt = c.outcome === 'FAILED' ? stateIndex(c.failedIn || c.seen.filter(s => s !== 'FAILED').at(-1) || 'IDLE') : -1;
  const reached = c.outcome === 'COMPLETE' ? STATES.length - 1 : Math.max(...c.seen.map(stateIndex), stateIndex(c.state), failedAt);
  const track = STATES.map((st, i) => {
    let cls = '';
    if (i === failedAt) cls = 'passed s-FAILED';
    else if (i < reached || (i === reached && !c.live)) cls = `passed s-${st}`;
    else if (i === reached && c.live) cls = `now s-${st}`;
    return h('span', { class: cls, title: st });
  });
  const firstLine = (c.error || '').split('\n')[0];
  return h('li', {
    class: `cycle s-${shown}${c.parent ? ' nested' : ''}${state.selectedCycle === c.id ? ' selected' : ''}`,
    'data-cycle': c.id, 'data-state': c.state, 'data-outcome': c.outcome, 'data-seen': c.seen.join(' '),
    onclick: () => openCycle(c.id),
  },
  h('div', { class: 'head' },
    h('span', { class: 'sel' }, c.selector || '…'),
    h('span', { class: 'on' }, c.target ? `on ${nameOf(c.target)}` : ''),
    h('span', { class: `badge s-${shown}` }, shown)),
  h('div', { class: 'track' }, track),
  h('div', { class: 'meta' },
    h('span', { class: 'elapsed' }, elapsed(c)),
    c.persona ? h('span', null, c.persona) : null,
    c.attempts > 1 ? h('span', null, `${c.attempts} attempts`) : null,
    h('span', { class: 'mono' }, c.id)),
  firstLine ? h('div', { class: 'err', title: c.error }, firstLine) : null);
}

function renderCycles() {
  const all = [...state.cycles.values()];
  const kids = new Map();
  const top = [];
  for (const c of all) {
    if (c.parent && state.cycles.has(c.parent)) {
      if (!kids.has(c.parent)) kids.set(c.parent, []);
      kids.get(c.parent).push(c);
    } else top.push(c);
  }
  const byStart = (a, b) => (b.started || '').localeCompare(a.started || '') || b.id.localeCompare(a.id);
  top.sort(byStart);
  const rows = [];
  const add = c => {
    rows.push(cycleRow(c));
    (kids.get(c.id) || []).sort((a, b) => -byStart(a, b)).forEach(add);
  };
  top.forEach(add);
  fill($('cycle-list'), rows.length ? rows : h('li', { class: 'empty' }, 'No cycles yet. Send an object a message it does not understand.'));
  const live = all.filter(c => c.live).length;
  $('cycle-count').textContent = live ? `${live} running` : '';
  renderStats();
}

// ---------------------------------------------------------------- a cycle's record

async function openCycle(id) {
  state.selectedCycle = id;
  state.openDetails.clear();
  showTab('cycle');
  scheduleCycles();
  renderCycleDetail();
  try {
    const rec = await api(`/api/cycles/${ref(id)}`);
    const c = fromSummary(rec);
    c.record = rec;
    for (const e of rec.events || []) {
      if (!c.seqs.has(e.seq)) {
        c.seqs.add(e.seq);
        c.events.push(e);
        if (e.kind === 'state' && !c.seen.length) c.seen = rec.events.filter(x => x.kind === 'state').map(x => x.state);
      }
    }
    c.events.sort((a, b) => a.seq - b.seq);
    if (state.selectedCycle === id) renderCycleDetail();
    scheduleCycles();
  } catch (e) {
    if (e.status !== 404) showError(e, `cycle ${id}`);
  }
}

let detailFrame = 0;

function scheduleCycleDetail() {
  if (!detailFrame) detailFrame = requestAnimationFrame(() => { detailFrame = 0; renderCycleDetail(); });
}

// stateTimes: each state the cycle entered, with the time spent in it.
function stateTimes(c) {
  const st = c.events.filter(e => e.kind === 'state');
  const end = c.ended ? Date.parse(c.ended) : (c.live ? Date.now() : (st.length ? Date.parse(st.at(-1).time) : 0));
  return st.map((e, i) => ({
    state: e.state,
    ms: Math.max(0, (i + 1 < st.length ? Date.parse(st[i + 1].time) : end) - Date.parse(e.time)),
  }));
}

// modelCalls pairs each prompt with its reply.
function modelCalls(c) {
  const calls = [];
  const open = [];
  for (const e of c.events) {
    if (e.kind === 'prompt') {
      const call = { persona: e.persona, state: e.state, attempt: e.attempt, prompt: e, reply: null };
      calls.push(call);
      open.push(call);
    } else if (e.kind === 'reply') {
      const i = open.findIndex(x => x.persona === e.persona);
      if (i >= 0) open.splice(i, 1)[0].reply = e;
    }
  }
  return calls;
}

function detailsFor(key, summary, body) {
  const d = h('details', { open: state.openDetails.has(key) }, h('summary', null, summary), body);
  d.addEventListener('toggle', () => { if (d.open) state.openDetails.add(key); else state.openDetails.delete(key); });
  return d;
}

function renderCycleDetail() {
  const el = $('tab-cycle');
  const c = state.selectedCycle && state.cycles.get(state.selectedCycle);
  if (!c) {
    fill(el, h('p', { class: 'empty' }, 'Select a cycle on the left.'));
    return;
  }
  const rec = c.record || {};
  const shown = c.outcome || c.state;
  const times = stateTimes(c);
  const total = times.reduce((a, t) => a + t.ms, 0) || 1;
  const perState = new Map();
  for (const t of times) perState.set(t.state, (perState.get(t.state) || 0) + t.ms);
  const calls = modelCalls(c);
  const t0 = c.started ? Date.parse(c.started) : 0;
  const scroll = el.parentElement ? el.parentElement.scrollTop : 0;

  fill(el,
    h('div', { class: 'obj-title', 'data-cycle-detail': c.id },
      h('span', { class: 'big mono' }, c.selector || '…'),
      c.target ? h('span', null, 'on ', objectLink(c.target)) : null,
      h('span', { class: `badge s-${shown}` }, shown)),
    h('div', { class: 'kv', style: { marginTop: '8px' } },
      h('span', null, 'cycle'), h('span', { class: 'mono' }, c.id),
      c.parent ? [h('span', null, 'nested in'), h('span', null, h('a', { href: '#', onclick: e => { e.preventDefault(); openCycle(c.parent); } }, c.parent))] : null,
      h('span', null, 'persona'), h('span', null, c.persona || '—'),
      h('span', null, 'started'), h('span', null, c.started ? fmtTime(c.started) : '—'),
      h('span', null, 'took'), h('span', null, elapsed(c) + (c.live ? ' so far' : '')),
      h('span', null, 'attempts'), h('span', null, String(c.attempts || calls.filter(x => x.state === 'SYNTHESIZING').length || 0)),
      c.version ? [h('span', null, 'installed'), h('span', null, `version ${c.version}`)] : null,
      rec.mission && rec.mission.args && rec.mission.args.length
        ? [h('span', null, 'arguments'), h('span', { class: 'mono' }, JSON.stringify(rec.mission.args))] : null,
      rec.mission && rec.mission.intent ? [h('span', null, 'intent'), h('span', null, rec.mission.intent)] : null),
    c.error ? h('div', { class: 'notice bad' }, h('b', null, `Failed${c.failedIn ? ' in ' + c.failedIn : ''}: `), c.error,
      h('div', { class: 'dim small' }, 'The image is as it was before the cycle.')) : null,
    h('h4', null, 'Time per state'),
    times.length
      ? [h('div', { class: 'timeline' }, times.map(t => h('span', { class: `s-${t.state}`, title: `${t.state} ${fmtMs(t.ms)}`, style: { flexGrow: String(Math.max(t.ms / total, 0.004)) } }))),
        h('div', { class: 'tl-legend' }, [...perState].map(([st, ms]) => h('span', { class: `s-${st}` }, h('b', null, st), ' ', h('span', { class: 'dim' }, fmtMs(ms)))))]
      : h('p', { class: 'dim' }, 'no states recorded yet'),
    h('h4', null, `Model calls (${calls.length})`),
    calls.length
      ? h('table', { class: 'calls' },
        h('thead', null, h('tr', null, ['persona', 'state', 'prompt', 'reply', 'time'].map(x => h('th', null, x)))),
        h('tbody', null, calls.map(k => h('tr', null,
          h('td', null, k.persona),
          h('td', null, h('span', { class: `s-${k.state}` }, k.state), k.attempt ? ` #${k.attempt}` : ''),
          h('td', null, fmtBytes((k.prompt.text || '').length)),
          h('td', { class: k.reply && k.reply.error ? 'answer bad' : '' }, k.reply ? (k.reply.error ? 'failed' : fmtBytes((k.reply.text || '').length)) : (c.live ? 'waiting…' : '—')),
          h('td', null, k.reply ? fmtMs(Date.parse(k.reply.time) - Date.parse(k.prompt.time)) : '')))))
      : h('p', { class: 'dim' }, 'none'),
    rec.queries && rec.queries.length
      ? [h('h4', null, `Memory queries${rec.queries_fallback ? ' (derived: the plan was unusable)' : ''}`),
        h('ul', null, rec.queries.map(q => h('li', null, q)))] : null,
    h('h4', null, `Events (${c.events.length})`),
    h('ul', { class: 'events' }, c.events.map(e => {
      const key = `${c.id}/${e.seq}`;
      const when = h('span', { class: 'when' }, t0 ? `+${fmtMs(Date.parse(e.time) - t0)}` : fmtTime(e.time));
      const head = [when, h('span', { class: `badge s-${e.state}` }, e.state), ' ', h('span', { class: 'kind' }, e.kind + (e.persona ? ` · ${e.persona}` : '') + (e.attempt ? ` · attempt ${e.attempt}` : ''))];
      let body = null;
      if ((e.kind === 'prompt' || e.kind === 'reply') && e.text) {
        body = detailsFor(key, `${e.kind === 'prompt' ? 'prompt' : 'reply'} (${fmtBytes(e.text.length)})`, h('pre', { class: 'text' }, e.text));
      } else if (e.text) {
        body = h('span', null, e.text);
      }
      return h('li', { 'data-event': e.seq, 'data-kind': e.kind }, head, ' ', body, e.error ? h('div', { class: 'error' }, e.error) : null);
    })),
    rec.source ? [h('h4', null, c.outcome === 'COMPLETE' ? 'Installed source' : 'Last source written'), goSource(rec.source)] : null);
  if (el.parentElement) el.parentElement.scrollTop = scroll;
}

// ---------------------------------------------------------------- approvals

async function loadPending() {
  const el = $('tab-pending');
  fill(el, h('p', { class: 'dim' }, 'asking the kernel…'));
  try {
    const p = await api('/api/pending');
    const items = Array.isArray(p) ? p : (p && p.pending) || [];
    fill(el, items.length
      ? items.map(pendingItem)
      : h('p', { class: 'empty' }, 'No cycle is waiting for a decision.'));
  } catch (e) {
    if (e.status === 501) {
      fill(el, h('div', { class: 'notice warn', 'data-kind': e.kind },
        h('b', null, 'Approvals are not available yet. '),
        h('div', { class: 'mono small', style: { margin: '6px 0' } }, e.message),
        h('div', { class: 'dim' }, 'When psm holds cycles for approval, they appear here with Approve, Reject and Edit; the buttons call POST /api/pending/{id}/approve, /reject and /edit.')));
    } else {
      fill(el, h('div', { class: 'notice bad' }, e.message));
    }
  }
}

function pendingItem(p) {
  const source = h('textarea', { rows: 12, style: { width: '100%', fontFamily: 'var(--mono)' } });
  source.value = p.source || '';
  const decide = async (decision, body) => {
    try {
      await api(`/api/pending/${ref(p.id)}/${decision}`, { method: 'POST', body });
      toast(`${decision}: ${p.id}`, { info: true });
      loadPending();
    } catch (e) {
      showError(e, decision);
    }
  };
  return h('div', { class: 'pending-item', 'data-pending': p.id },
    h('div', null, h('b', { class: 'mono' }, p.selector || p.id), p.object != null ? [' on ', objectLink(p.object)] : null,
      p.cycle ? [' · cycle ', h('a', { href: '#', onclick: e => { e.preventDefault(); openCycle(p.cycle); } }, p.cycle)] : null),
    p.source ? goSource(p.source) : null,
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'primary', onclick: () => decide('approve', {}) }, 'Approve'),
      h('button', { type: 'button', class: 'danger', onclick: () => decide('reject', {}) }, 'Reject'),
      h('button', { type: 'button', onclick: () => decide('edit', { source: source.value }) }, 'Save edit')),
    h('details', null, h('summary', null, 'Edit the source'), source));
}

// ---------------------------------------------------------------- events

function setConn(st, title) {
  const el = $('conn');
  el.dataset.state = st;
  el.title = 'event stream: ' + (title || st);
  el.textContent = st === 'up' ? 'live' : st === 'down' ? 'offline' : 'connecting';
}

function connectEvents() {
  if (state.es) state.es.close();
  const q = new URLSearchParams({ last_event_id: String(state.lastEventId) });
  if (getToken()) q.set('access_token', getToken());
  const es = new EventSource('/api/events?' + q);
  state.es = es;
  setConn('connecting');
  es.onopen = () => setConn('up', 'live');
  es.addEventListener('cycle', e => {
    const id = Number(e.lastEventId);
    if (id > state.lastEventId) state.lastEventId = id;
    try {
      onCycleEvent(JSON.parse(e.data));
    } catch (err) {
      showError(err, 'event');
    }
  });
  es.addEventListener('shutdown', () => {
    setConn('down', 'the kernel shut down');
    es.close();
    toast('The kernel is shutting down; the page reconnects when it is back.', { info: true });
    setTimeout(() => { if (state.es === es) connectEvents(); }, 3000);
  });
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) {
      setConn('down', 'closed; retrying');
      setTimeout(() => { if (state.es === es) connectEvents(); }, 3000);
    } else {
      setConn('connecting', 'reconnecting');
    }
  };
}

// ---------------------------------------------------------------- tabs and wiring

function showTab(name) {
  for (const b of document.querySelectorAll('.tabs button')) b.setAttribute('aria-selected', String(b.dataset.tab === name));
  for (const t of ['object', 'cycle', 'pending']) $('tab-' + t).hidden = t !== name;
  if (name === 'pending') loadPending();
}

async function search(text) {
  text = text.trim().replace(/^#/, '');
  if (!text) return;
  try {
    const o = await api(`/api/objects/${ref(text)}`);
    selectObject(o.oid);
  } catch (e) {
    showError(e, `find “${text}”`);
  }
}

function wire() {
  graphView = new GraphView($('graph'), $('viewport'), {
    onSelect: oid => selectObject(oid),
    onMore: m => {
      if (state.focus === m.parent) pageChildren(1);
      else selectObject(m.parent);
    },
  });
  $('search').addEventListener('submit', e => { e.preventDefault(); search($('search-input').value); });
  $('graph-fit').onclick = () => graphView.fit();
  $('graph-in').onclick = () => graphView.zoomBy(1.25);
  $('graph-out').onclick = () => graphView.zoomBy(0.8);
  $('graph-roots').onclick = () => focusGraph(null);
  $('cycles-more').onclick = () => loadCycles(true).catch(e => showError(e, 'cycles'));
  $('token-button').onclick = () => askToken('Change the bearer token this tab sends.').then(boot);
  $('token-dialog').addEventListener('cancel', e => { if (tokenPrompt) e.preventDefault(); });
  for (const b of document.querySelectorAll('.tabs button')) b.onclick = () => showTab(b.dataset.tab);
  setInterval(() => {
    if ([...state.cycles.values()].some(c => c.live)) {
      for (const li of document.querySelectorAll('.cycle')) {
        const c = state.cycles.get(li.dataset.cycle);
        if (c && c.live) li.querySelector('.elapsed').textContent = elapsed(c);
      }
      if (state.selectedCycle && state.cycles.get(state.selectedCycle)?.live) scheduleCycleDetail();
    }
  }, 500);
}

async function boot() {
  try {
    const sum = await loadSummary();
    await loadGraph();
    await loadCycles();
    connectEvents();
    const genesis = sum.roots.find(r => r.name === 'genesis') || sum.roots[0];
    if (genesis && state.selected == null) selectObject(genesis.oid, { focus: false });
    document.body.dataset.ready = 'true';
  } catch (e) {
    showError(e);
    setConn('down', e.message);
  }
}

initToken();
onTokenNeeded(askToken);
wire();
boot();
