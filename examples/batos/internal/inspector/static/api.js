// The kernel's JSON routes, with its bearer token and its error bodies.

const TOKEN_KEY = 'batos.token';
let token = '';
let askToken = null; // set by the page: shows the token dialog, resolves once a token is given

// KernelError is an error the kernel answered ({"error", "kind", …}) or
// the kernel being unreachable (kind "unreachable").
export class KernelError extends Error {
  constructor(status, body) {
    super(body.error || `the kernel answered ${status}`);
    this.status = status;
    this.kind = body.kind || 'internal';
    this.body = body;
  }
}

// initToken takes ?token= from the address (and removes it from the
// address bar), else the token kept for this tab.
export function initToken() {
  const u = new URL(location.href);
  const t = u.searchParams.get('token');
  if (t !== null) {
    sessionStorage.setItem(TOKEN_KEY, t);
    u.searchParams.delete('token');
    history.replaceState(null, '', u);
  }
  token = sessionStorage.getItem(TOKEN_KEY) || '';
}

export function getToken() { return token; }

export function setToken(t) {
  token = t;
  sessionStorage.setItem(TOKEN_KEY, t);
}

export function onTokenNeeded(fn) { askToken = fn; }

// api calls a route and returns its JSON answer, or throws a KernelError.
// A 401 asks for the token and tries again.
export async function api(path, opts = {}) {
  for (let attempt = 0; ; attempt++) {
    const headers = {};
    if (token) headers.Authorization = 'Bearer ' + token;
    let body;
    if (opts.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(opts.body);
    }
    let resp;
    try {
      resp = await fetch(path, { method: opts.method || 'GET', headers, body, signal: opts.signal });
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      throw new KernelError(0, { error: `the kernel does not answer (${e.message})`, kind: 'unreachable' });
    }
    const text = await resp.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = null; }
    if (resp.ok) return data;
    const err = new KernelError(resp.status, data && data.error
      ? data : { error: `the kernel answered ${resp.status} ${resp.statusText}`, kind: 'internal' });
    if (resp.status === 401 && askToken && attempt < 5) {
      await askToken(attempt === 0 && !token ? '' : 'That token was refused.');
      continue;
    }
    throw err;
  }
}

// ref encodes an object reference (OID or root name) for a path.
export function ref(r) { return encodeURIComponent(String(r)); }
