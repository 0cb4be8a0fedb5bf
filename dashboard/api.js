// The admin API client. The token lives in sessionStorage only (this tab, until it is
// closed); it is sent as a Bearer header, never in a URL, a cookie or localStorage.

const TOKEN_KEY = 'cc-inbound.admin-token';

export const session = {
  get token() { return sessionStorage.getItem(TOKEN_KEY); },
  set(token) { sessionStorage.setItem(TOKEN_KEY, token); },
  clear() { sessionStorage.removeItem(TOKEN_KEY); },
};

/** A refused or failed API call: the HTTP status and the API's error object. */
export class ApiError extends Error {
  constructor(status, body, requestId) {
    const error = body && typeof body === 'object' && body.error ? body.error : {};
    super(error.message || (status ? `The server answered ${status}.` : 'The server could not be reached.'));
    this.status = status;
    this.code = error.code || (status ? `http_${status}` : 'network_error');
    this.details = Array.isArray(error.details) ? error.details : [];
    this.requestId = error.request_id || requestId || null;
  }

  /** True when the route itself does not exist on this server (a newer feature). */
  get routeMissing() { return this.status === 404 && this.code === 'not_found'; }
}

let unauthorized = () => {};
/** Called with the ApiError whenever the API answers 401. */
export function onUnauthorized(handler) { unauthorized = handler; }

// The API sits beside the dashboard: /dashboard/ → /admin/... (works behind a path prefix).
const BASE = new URL('../admin/', document.baseURI);

/** Calls the admin API; returns the parsed JSON (null for 204), throws ApiError. */
export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  const token = session.token;
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(new URL(path, BASE), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
    });
  } catch {
    throw new ApiError(0, { error: { message: 'The server could not be reached. Is cc-inbound running?' } });
  }
  let data = null;
  if (res.status !== 204) {
    try { data = await res.json(); } catch { data = null; }
  }
  if (!res.ok) {
    const err = new ApiError(res.status, data, res.headers.get('X-Request-Id'));
    if (res.status === 401) unauthorized(err);
    throw err;
  }
  return data;
}

/** encodeURIComponent for a path segment or query value. */
export const enc = encodeURIComponent;

/** The plans of SPEC §1, in order, with their key limits (null = unlimited). */
export const PLANS = [
  { id: 'pulse', label: 'Pulse', limit: 2 },
  { id: 'signal', label: 'Signal', limit: 5 },
  { id: 'clarity', label: 'Clarity', limit: 10 },
  { id: 'command', label: 'Command', limit: null },
];

export function planLabel(id) {
  return PLANS.find((p) => p.id === id)?.label || String(id);
}

/** "3 of 5 keys", or "3 keys (unlimited)" on a plan without a limit. */
export function keysUsedText(active, limit) {
  const n = Number(active) || 0;
  if (limit === null || limit === undefined) return `${n} ${n === 1 ? 'key' : 'keys'} (unlimited)`;
  return `${n} of ${limit} keys`;
}

/** The smallest plan that allows more than `active` keys. */
export function planAllowingMore(active) {
  return PLANS.find((p) => p.limit === null || p.limit > active);
}
