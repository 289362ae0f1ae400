// api.js - the REST API (docs/api.md) with the staff token kept in
// sessionStorage. Errors become ApiError {status, code, message}; a 401
// empties the stored token (the console then shows the sign-in screen).

export const STAFF_KEY = 'vej.s.token';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function staffToken() { return sessionStorage.getItem(STAFF_KEY); }

export function setStaffToken(t) {
  if (t) sessionStorage.setItem(STAFF_KEY, t);
  else sessionStorage.removeItem(STAFF_KEY);
}

export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  const token = staffToken();
  if (token) headers.Authorization = 'Bearer ' + token;
  const init = { method, headers, credentials: 'omit', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch('/api/v1' + path, init);
  } catch (e) {
    throw new ApiError(0, 0, 'the court\'s server cannot be reached');
  }
  let data = null;
  try { data = await res.json(); } catch (e) { data = null; }
  if (!res.ok) {
    const err = (data && data.error) || {};
    if (res.status === 401 && path !== '/login') setStaffToken(null);
    throw new ApiError(res.status, err.code || res.status, err.message || res.statusText);
  }
  return data;
}

// Every page of a list route.
export async function listAll(path) {
  const out = [];
  let cursor = null;
  for (let i = 0; i < 50; i++) {
    const sep = path.includes('?') ? '&' : '?';
    const page = await api('GET', path + sep + 'limit=200' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''));
    out.push(...page.items);
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  return out;
}
