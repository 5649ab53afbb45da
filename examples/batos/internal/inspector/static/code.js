// Go source, highlighted, one element per line; and line diffs.

import { h } from './dom.js';

const KEYWORDS = new Set(('break case chan const continue default defer else fallthrough for func go goto if ' +
  'import interface map package range return select struct switch type var').split(' '));
const BUILTINS = new Set(('any bool byte comparable error float32 float64 int int8 int16 int32 int64 rune string ' +
  'uint uint8 uint16 uint32 uint64 uintptr nil true false iota append cap close copy delete len make new panic ' +
  'print println recover').split(' '));
const TOKEN = /(\/\/[^\n]*|\/\*[\s\S]*?\*\/)|("(?:\\.|[^"\\\n])*"|`[^`]*`|'(?:\\.|[^'\\\n])*')|(\b\d[\w.]*\b)|([A-Za-z_]\w*)(?=\s*\()|([A-Za-z_]\w*)/g;

// tokens splits Go source into [class, text] pairs ('' for plain text).
function tokens(src) {
  const out = [];
  let last = 0;
  for (const m of src.matchAll(TOKEN)) {
    if (m.index > last) out.push(['', src.slice(last, m.index)]);
    let cls = '';
    if (m[1]) cls = 'tok-com';
    else if (m[2]) cls = 'tok-str';
    else if (m[3]) cls = 'tok-num';
    else {
      const w = m[4] || m[5];
      if (KEYWORDS.has(w)) cls = 'tok-kw';
      else if (BUILTINS.has(w)) cls = 'tok-ty';
      else if (m[4]) cls = 'tok-fn';
    }
    out.push([cls, m[0]]);
    last = m.index + m[0].length;
  }
  if (last < src.length) out.push(['', src.slice(last)]);
  return out;
}

// lineElements renders source as one span.line per line; tokens that
// span lines (block comments, raw strings) are split at the newlines.
function lineElements(src) {
  const lines = [];
  let cur = h('span', { class: 'line' });
  for (const [cls, text] of tokens(src.replace(/\n$/, ''))) {
    const parts = text.split('\n');
    parts.forEach((p, i) => {
      if (i > 0) {
        lines.push(cur);
        cur = h('span', { class: 'line' });
      }
      if (p) cur.append(cls ? h('span', { class: cls }, p) : p);
    });
  }
  lines.push(cur);
  for (const l of lines) if (!l.childNodes.length) l.append('\u200b');
  return lines;
}

// goSource is a <pre> of highlighted Go source with line numbers.
export function goSource(src) {
  return h('pre', { class: 'code' }, h('code', null, lineElements(src || '')));
}

// diffLines compares two texts line by line (longest common subsequence)
// and returns [{op: ' ' | '-' | '+', text}], or null when they are too
// large to compare here.
export function diffLines(a, b) {
  const x = a.replace(/\n$/, '').split('\n');
  const y = b.replace(/\n$/, '').split('\n');
  const n = x.length, m = y.length;
  if (n * m > 4e6) return null;
  const w = m + 1;
  const L = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      L[i * w + j] = x[i] === y[j] ? L[(i + 1) * w + j + 1] + 1 : Math.max(L[(i + 1) * w + j], L[i * w + j + 1]);
    }
  }
  const out = [];
  let i = 0, j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) { out.push({ op: ' ', text: x[i] }); i++; j++; }
    else if (L[(i + 1) * w + j] >= L[i * w + j + 1]) out.push({ op: '-', text: x[i++] });
    else out.push({ op: '+', text: y[j++] });
  }
  while (i < n) out.push({ op: '-', text: x[i++] });
  while (j < m) out.push({ op: '+', text: y[j++] });
  return out;
}

// diffView renders a diff, folding long unchanged runs to three lines of
// context on each side.
export function diffView(ops) {
  const rows = [];
  const CONTEXT = 3;
  let k = 0;
  while (k < ops.length) {
    if (ops[k].op !== ' ') {
      const cls = ops[k].op === '+' ? 'line add' : 'line del';
      rows.push(h('span', { class: cls, 'data-mark': ops[k].op }, ops[k].text || '\u200b'));
      k++;
      continue;
    }
    let end = k;
    while (end < ops.length && ops[end].op === ' ') end++;
    const run = ops.slice(k, end);
    const head = k === 0 ? 0 : CONTEXT;
    const tail = end === ops.length ? 0 : CONTEXT;
    if (run.length > head + tail + 2) {
      run.slice(0, head).forEach(o => rows.push(h('span', { class: 'line', 'data-mark': ' ' }, o.text || '\u200b')));
      rows.push(h('span', { class: 'line gap', 'data-mark': '⋯' }, `${run.length - head - tail} unchanged lines`));
      run.slice(run.length - tail).forEach(o => rows.push(h('span', { class: 'line', 'data-mark': ' ' }, o.text || '\u200b')));
    } else {
      run.forEach(o => rows.push(h('span', { class: 'line', 'data-mark': ' ' }, o.text || '\u200b')));
    }
    k = end;
  }
  return h('pre', { class: 'code diff' }, h('code', null, rows));
}
