// The REST client. The session lives in an HttpOnly cookie the page can
// neither read nor store; every request says it is a browser session
// (STC-Session: cookie), which the host requires on changes as part of
// its CSRF defence. No token is ever kept by this code.

/** An error answer: {status, code, message, details}. */
export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.details = details || {};
  }
  /** The request field the error is about, when the host said. */
  get field() {
    return this.details.field || null;
  }
}

const listeners = new Set();
/** fn() runs when any request answers 401: the session is gone. */
export function onSignedOut(fn) {
  listeners.add(fn);
}

/**
 * api('GET', '/api/v2/user') → parsed JSON (null for 204).
 * opts: {body, headers, signal}
 */
export async function api(method, path, opts = {}) {
  const headers = {'STC-Session': 'cookie', Accept: 'application/json', ...(opts.headers || {})};
  const init = {method, headers, credentials: 'same-origin', cache: 'no-store', signal: opts.signal};
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(opts.body);
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', e.message);
  }
  if (resp.status === 204) return null;
  const text = await resp.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!resp.ok) {
    const e = (data && data.error) || {};
    const err = new ApiError(resp.status, e.code || 'http_' + resp.status, e.message || resp.statusText, e.details);
    if (resp.status === 401 && !path.startsWith('/api/v2/auth/')) {
      for (const fn of listeners) fn();
    }
    throw err;
  }
  return data;
}

/** Pages through a list endpoint; stops at max items. */
export async function listAll(path, max = 5000) {
  const out = [];
  let cursor = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page = await api('GET', path + sep + 'limit=500' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''));
    out.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && out.length < max);
  return out;
}

/** A fresh Idempotency-Key. */
export function idempotencyKey() {
  if (crypto.randomUUID) return 'ck-' + crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return 'ck-' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
