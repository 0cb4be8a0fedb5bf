// Recent events (with the key that sent each), recent rejections (SPEC §7) and the
// audit log of one domain, newest first, with "Show older" paging.

import { api, enc } from './api.js';
import { h, field, table, timeEl, replace, errorBox } from './dom.js';

const ACTIONS = {
  'key.created': 'Key created',
  'key.revoked': 'Key revoked',
  'key.restored': 'Key restored',
  'key.deleted': 'Key deleted',
  'key.renamed': 'Key renamed',
  'key.rolled': 'Key rolled',
  'key.exposed': 'Key used from a browser',
  'key.allowed_ips_changed': 'Allowed IPs changed',
  'key.updated': 'Key changed',
  'domain.created': 'Domain added',
  'domain.plan_changed': 'Plan changed',
  'domain.deleted': 'Domain deleted',
};

function actionText(action) {
  if (ACTIONS[action]) return ACTIONS[action];
  const text = String(action || '').replace(/[._]/g, ' ').trim();
  return text ? text.charAt(0).toUpperCase() + text.slice(1) : '—';
}

function detailsText(details) {
  if (details === null || details === undefined) return '';
  if (typeof details !== 'object') return String(details);
  return Object.entries(details)
    .map(([k, v]) => `${k}: ${v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' · ');
}

function keyLabel(ctx, id, name, prefix) {
  const known = (ctx.keys || []).find((k) => k.id === id);
  const label = name || known?.name;
  const shownPrefix = prefix || known?.prefix;
  if (!id && !label) return h('span', { class: 'muted' }, '—');
  return h('span', {}, label ? h('strong', {}, label) : h('span', { class: 'muted' }, 'deleted key'),
    shownPrefix ? [' ', h('code', {}, `${shownPrefix}••••`)] : null);
}

/**
 * A paged listing: `fetchPage(before)` → { items, next }; `render(items)` → table;
 * `empty` is the sentence for a person when there is nothing yet.
 */
async function pagedListing(panel, ctx, { heading, intro, fetchPage, render, empty, missingText, search }) {
  const holder = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  replace(panel, h('h2', {}, heading), intro ? h('p', { class: 'muted' }, intro) : null, search || null, holder);
  const items = [];
  const load = async (before) => {
    let page;
    try {
      page = await fetchPage(before);
    } catch (err) {
      if (err.status === 401 || !ctx.view.current()) return;
      if (err.routeMissing && missingText) { replace(holder, h('p', { class: 'empty' }, missingText)); return; }
      replace(holder, errorBox(err));
      return;
    }
    if (!ctx.view.current()) return;
    items.push(...page.items);
    if (!items.length) { replace(holder, h('p', { class: 'empty' }, empty)); return; }
    replace(holder, render(items),
      page.next ? h('button', { type: 'button', class: 'load-more', onclick: () => load(page.next) }, 'Show older') : null);
  };
  await load(null);
}

function listingPath(base, domain, before) {
  return `${base}?domain=${enc(domain)}&limit=50${before ? `&before=${enc(before)}` : ''}`;
}

export function renderEvents(panel, ctx) {
  return pagedListing(panel, ctx, {
    heading: 'Recent events',
    intro: 'The newest events stored for this domain, with the key that sent each.',
    fetchPage: async (before) => {
      const page = await api('GET', listingPath('events', ctx.domain, before));
      return { items: page.events || [], next: page.next || null };
    },
    render: (events) => table(`Recent events of ${ctx.domain}`, ['Received', 'Event', 'Value', 'Sent with key', 'Event ID'], events.map((e) => [
      timeEl(e.received_at || e.timestamp),
      e.event,
      e.value_decimal ? `${e.value_decimal} ${e.currency || ''}`.trim() : (e.value !== null && e.value !== undefined ? `${e.value} ${e.currency || ''}`.trim() : '—'),
      keyLabel(ctx, e.key_id, e.key_name, e.key_prefix),
      h('code', {}, e.event_id || '—'),
    ])),
    empty: 'No events yet. Send one to POST /__cc/inbound with one of this domain\'s keys in the X-CC-Api-Key header; it shows up here with the key that sent it.',
  });
}

export function renderRejections(panel, ctx, requestId = '') {
  const input = h('input', { type: 'search', id: 'rejection-request-id', autocomplete: 'off', spellcheck: 'false', value: requestId, placeholder: 'req_…' });
  const search = h('form', {
    class: 'row compact',
    role: 'search',
    onsubmit: (e) => {
      e.preventDefault();
      renderRejections(panel, ctx, input.value.trim());
    },
  }, field('Find by request id', input), h('div', {}, h('button', { type: 'submit' }, 'Find')));
  const filter = requestId ? `&request_id=${enc(requestId)}` : '';
  return pagedListing(panel, ctx, {
    search,
    heading: 'Rejections',
    intro: 'Inbound requests of this domain that were refused after their key was identified, newest first. Search a customer\'s request id to see why.',
    fetchPage: async (before) => {
      const page = await api('GET', listingPath('rejections', ctx.domain, before) + filter);
      return { items: page.rejections || page.entries || page.items || [], next: page.next || null };
    },
    render: (rows) => table(`Rejections of ${ctx.domain}`, ['Time', 'Key', 'Status', 'Error', 'Details', 'Request ID', 'From'], rows.map((r) => {
      const code = r.code || r.error_code || r.error?.code || '—';
      const details = r.details || r.error?.details || [];
      return [
        timeEl(r.at || r.time || r.received_at),
        keyLabel(ctx, r.key_id, r.key_name, r.key_prefix || r.prefix),
        String(r.status ?? '—'),
        h('code', {}, code),
        Array.isArray(details) && details.length ? details.map((d) => `${d.field ? `${d.field}: ` : ''}${d.problem || ''}`).join('; ') : '—',
        h('code', {}, r.request_id || '—'),
        r.client_ip || r.client_address || '—',
      ];
    })),
    empty: requestId ? `No rejected request of this domain has the request id ${requestId}.` : 'No rejected requests in the last 7 days. When an integration\'s event is refused (a bad field, a revoked key, a blocked address) it is listed here.',
    missingText: 'This server does not record rejections yet.',
  });
}

export function renderAudit(panel, ctx) {
  return pagedListing(panel, ctx, {
    heading: 'Audit log',
    intro: 'Who changed what on this domain: keys created, revoked, restored, rolled and deleted, and plan changes.',
    fetchPage: async (before) => {
      const page = await api('GET', listingPath('audit', ctx.domain, before));
      return { items: page.entries || [], next: page.next || null };
    },
    render: (entries) => table(`Audit log of ${ctx.domain}`, ['Time', 'What', 'Key', 'By', 'From', 'Details'], entries.map((a) => [
      timeEl(a.at),
      actionText(a.action),
      a.key_id ? keyLabel(ctx, a.key_id, a.key_name, a.key_prefix) : h('span', { class: 'muted' }, '—'),
      a.actor ? h('code', {}, a.actor) : '—',
      a.client_ip || '—',
      detailsText(a.details) || '—',
    ])),
    empty: 'Nothing has changed on this domain yet. Creating, revoking, restoring or deleting a key, and changing the plan, are recorded here.',
  });
}
