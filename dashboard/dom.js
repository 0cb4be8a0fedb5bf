// DOM helpers. Every value that comes from the API goes into the page as text
// (textContent, attribute values), never as markup: a key named
// <img src=x onerror=alert(1)> shows those characters and runs nothing.

const PROPERTIES = new Set(['value', 'checked', 'disabled', 'hidden', 'readOnly', 'required', 'selected', 'inert']);

/**
 * Creates an element. `props`: attributes (strings), `class`, `on<event>` listeners,
 * and the DOM properties in PROPERTIES; children: nodes or text (null/false skipped).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  setProps(el, props);
  append(el, children);
  return el;
}

/** An SVG element (for the usage sparkline). */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  append(el, children);
  return el;
}

function setProps(el, props) {
  for (const [name, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') el.className = value;
    else if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (PROPERTIES.has(name)) el[name] = value;
    else el.setAttribute(name, value === true ? '' : String(value));
  }
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

let counter = 0;
/** A document-unique id for label/aria wiring. */
export function uid(prefix) {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** A labelled form field: label, control, optional hint wired by aria-describedby. */
export function field(labelText, control, hintText) {
  const id = control.id || uid('field');
  control.id = id;
  const parts = [h('label', { for: id }, labelText), control];
  if (hintText) {
    const hint = h('p', { class: 'hint', id: uid('hint') }, hintText);
    control.setAttribute('aria-describedby', hint.id);
    parts.push(hint);
  }
  return h('div', { class: 'field' }, parts);
}

/** A table whose cells carry their column name (shown as a label on narrow screens). */
export function table(caption, columns, rows) {
  const head = h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c))));
  const body = h('tbody', {}, rows.map((cells) => {
    const tr = h('tr', {});
    cells.forEach((cell, i) => tr.append(h('td', { 'data-label': columns[i] }, cell)));
    return tr;
  }));
  return h('div', { class: 'table-wrap' }, h('table', {}, h('caption', { class: 'visually-hidden' }, caption), head, body));
}

// ------------------------------------------------------------------ times

const localFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** "2026-12-01 20:00:00 UTC" from the API's RFC 3339 text. */
export function utcText(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** The time in the browser's zone. */
export function localText(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : localFormat.format(d);
}

const exactFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
/** The time in the browser's zone, to the second (for hover titles). */
export function exactLocalText(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : exactFormat.format(d);
}

/** "just now", "5 min ago", "3 h ago", "2 days ago", "in 23 h". */
export function relativeText(iso, now = Date.now()) {
  const seconds = (new Date(iso).getTime() - now) / 1000;
  const abs = Math.abs(seconds);
  if (abs < 45) return seconds <= 0 ? 'just now' : 'in under a minute';
  let text;
  if (abs < 3600) text = `${Math.max(1, Math.floor(abs / 60))} min`;
  else if (abs < 48 * 3600) text = `${Math.floor(abs / 3600)} h`;
  else text = `${Math.floor(abs / 86400)} days`;
  return seconds < 0 ? `${text} ago` : `in ${text}`;
}

/**
 * A <time>: local time shown, UTC on hover; with `relative`, "3 min ago" shown and the
 * exact local time plus UTC on hover. null → an em dash (or `empty`).
 */
export function timeEl(iso, { relative = false, empty = '—' } = {}) {
  if (!iso) return h('span', { class: 'muted' }, empty);
  const title = relative ? `${exactLocalText(iso)} (${utcText(iso)})` : utcText(iso);
  return h('time', { datetime: iso, title }, relative ? relativeText(iso) : localText(iso));
}

// ------------------------------------------------------------------ announcements

let toastTimer = 0;
/** A short polite announcement at the bottom of the page. */
export function toast(message) {
  const el = document.getElementById('toast');
  if (!el) return;
  el.textContent = message;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.textContent = ''; }, 6000);
}

/** An error box for an ApiError (its message and each field problem) or any Error. */
export function errorBox(err) {
  const details = Array.isArray(err?.details) ? err.details : [];
  return h('div', { class: 'error', role: 'alert' },
    h('p', {}, err?.message || 'Something went wrong.'),
    details.length ? h('ul', {}, details.map((d) => h('li', {}, d.field ? `${d.field}: ${d.problem}` : d.problem))) : null,
    err?.requestId ? h('p', { class: 'hint' }, `Request id: ${err.requestId}`) : null);
}
