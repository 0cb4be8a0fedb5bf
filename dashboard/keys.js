// The Inbound Integration Keys tab: create (shown once), the masked list, revoke,
// restore, delete, roll, rename, allowed IPs, usage over 48 h and exposure warnings.

import { api, enc, planLabel, keysUsedText, planAllowingMore } from './api.js';
import { h, svg, field, table, timeEl, relativeText, replace, errorBox, toast, uid } from './dom.js';
import { confirmDialog, formDialog, showNewKey } from './dialogs.js';

// Features of SPEC §7 that an older server lacks (its route answers 404 not_found).
const missing = { usage: false };

const GRACE_CHOICES = [
  { seconds: 0, label: 'Stop at once (no grace)' },
  { seconds: 3600, label: '1 hour' },
  { seconds: 86400, label: '24 hours', default: true },
  { seconds: 7 * 86400, label: '7 days' },
  { seconds: 30 * 86400, label: '30 days' },
];

/** The masked form shown in lists: the 11-character prefix and dots. */
export function maskedKey(k) {
  return `${k.prefix}••••`;
}

/** Active, Revoked, Expired, or "expires in 23 h" for a key in a roll's grace. */
export function keyStatus(k, now = Date.now()) {
  if (k.status === 'revoked') return { text: 'Revoked', cls: 'revoked' };
  if (k.status === 'expired' || (k.expires_at && Date.parse(k.expires_at) <= now)) return { text: 'Expired', cls: 'expired' };
  const rolling = k.rolled_to || !('rolled_to' in k);
  if (k.expires_at && rolling) return { text: `expires ${relativeText(k.expires_at, now)}`, cls: 'grace' };
  return { text: 'Active', cls: 'active' };
}

function isActive(k) {
  return keyStatus(k).cls === 'active' || keyStatus(k).cls === 'grace';
}

function sparkline(usage) {
  const hours = Array.isArray(usage?.hours) ? usage.hours : [];
  const sum = (f) => hours.reduce((n, x) => n + (Number(x[f]) || 0), 0);
  const accepted = sum('accepted');
  const duplicate = sum('duplicate');
  const rejected = sum('rejected');
  const failed = sum('auth_failed');
  const label = `Last ${hours.length} h: ${accepted} accepted, ${duplicate} duplicate, ${rejected} rejected, ${failed} refused`;
  const max = Math.max(1, ...hours.map((x) => (Number(x.accepted) || 0) + (Number(x.duplicate) || 0) + (Number(x.rejected) || 0) + (Number(x.auth_failed) || 0)));
  const width = 96;
  const height = 24;
  const bar = width / Math.max(1, hours.length);
  const graph = svg('svg', { class: 'spark', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': label });
  graph.append(svg('title', {}, label));
  hours.forEach((x, i) => {
    const good = (Number(x.accepted) || 0) + (Number(x.duplicate) || 0);
    const bad = (Number(x.rejected) || 0) + (Number(x.auth_failed) || 0);
    const gh = (good / max) * (height - 1);
    const bh = (bad / max) * (height - 1);
    if (gh > 0) graph.append(svg('rect', { class: 'bar', x: (i * bar).toFixed(2), y: (height - 1 - gh).toFixed(2), width: Math.max(0.5, bar - 0.4).toFixed(2), height: gh.toFixed(2) }));
    if (bh > 0) graph.append(svg('rect', { class: 'bad', x: (i * bar).toFixed(2), y: (height - 1 - gh - bh).toFixed(2), width: Math.max(0.5, bar - 0.4).toFixed(2), height: bh.toFixed(2) }));
  });
  graph.append(svg('line', { class: 'base', x1: 0, y1: height - 0.5, x2: width, y2: height - 0.5 }));
  return graph;
}

/** Fills the usage cell of each key once the usage route answers (quietly nothing if absent). */
async function loadUsage(keys, cells, view) {
  if (missing.usage) return false;
  for (const k of keys) {
    try {
      const usage = await api('GET', `keys/${enc(k.id)}/usage?hours=48`);
      if (!view.current()) return true;
      replace(cells.get(k.id), sparkline(usage));
    } catch (err) {
      if (err.routeMissing) { missing.usage = true; return false; }
      cells.get(k.id)?.replaceChildren(h('span', { class: 'muted' }, 'unavailable'));
    }
  }
  return true;
}

function parseAllowedIps(text) {
  return text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
}

/** The keys tab of one domain. `ctx`: { domain, view, reload } */
export async function renderKeys(panel, ctx) {
  const { domain, view } = ctx;
  replace(panel, h('h2', { id: 'keys-heading' }, 'Inbound Integration Keys'), h('p', { class: 'muted' }, 'Loading keys…'));
  let listing;
  try {
    listing = await api('GET', `keys?domain=${enc(domain)}`);
  } catch (err) {
    if (err.status !== 401 && view.current()) replace(panel, h('h2', {}, 'Inbound Integration Keys'), errorBox(err));
    return;
  }
  if (!view.current()) return;
  ctx.keys = listing.keys || [];
  const keys = ctx.keys;
  const limit = listing.key_limit;
  const active = Number(listing.active_keys) || 0;
  const atLimit = limit !== null && limit !== undefined && active >= limit;
  const messages = h('div', { 'aria-live': 'polite' });

  const act = async (run) => {
    replace(messages);
    try {
      await run();
    } catch (err) {
      if (err.status !== 401) replace(messages, errorBox(err));
      return false;
    }
    return true;
  };

  // ---------------------------------------------------------------- create
  const nameInput = h('input', { type: 'text', id: 'new-key-name', maxlength: '100', autocomplete: 'off', placeholder: 'e.g. Zapier Integration' });
  const expiresInput = h('input', { type: 'datetime-local', id: 'new-key-expires' });
  const createErrors = h('div', {});
  const limitNoteId = uid('limit-note');
  const createButton = h('button', { type: 'submit', class: 'primary', disabled: atLimit, 'aria-describedby': atLimit ? limitNoteId : null }, 'Create key');
  let limitNote = null;
  if (atLimit) {
    const better = planAllowingMore(active);
    limitNote = h('p', { class: 'warning', id: limitNoteId },
      `Key limit reached: ${keysUsedText(active, limit)} are active, the most the ${planLabel(listing.plan)} plan allows. `
      + 'Revoke or delete a key you no longer use'
      + (better ? `, or change to the ${better.label} plan (${better.limit === null ? 'unlimited keys' : `up to ${better.limit} keys`}) to create more.` : '.'));
  }
  const createForm = h('form', {
    class: 'card',
    'aria-labelledby': 'create-heading',
    onsubmit: async (e) => {
      e.preventDefault();
      replace(createErrors);
      if (createButton.disabled) return;
      const name = nameInput.value.trim();
      if (!name) {
        replace(createErrors, errorBox(new Error('Give the key a name that says where it is used, e.g. "Zapier Integration".')));
        nameInput.focus();
        return;
      }
      const body = { domain, name };
      if (expiresInput.value) {
        const at = new Date(expiresInput.value);
        if (Number.isNaN(at.getTime())) {
          replace(createErrors, errorBox(new Error('The expiry date is not valid.')));
          return;
        }
        body.expires_at = at.toISOString();
      }
      createButton.disabled = true;
      try {
        const created = await api('POST', 'keys', body);
        const value = created.key;
        delete created.key;  // kept nowhere but in the dialog
        nameInput.value = '';
        expiresInput.value = '';
        await showNewKey({ keyValue: value, keyName: created.name });
        ctx.reload();
      } catch (err) {
        createButton.disabled = false;
        if (err.status !== 401) replace(createErrors, errorBox(err));
      }
    },
  },
  h('h3', { id: 'create-heading' }, 'Create a key'),
  h('div', { class: 'row' },
    field('Key name', nameInput),
    field('Expires (optional)', expiresInput),
    h('div', {}, createButton)),
  h('p', { class: 'hint' }, 'One key per integration (Zapier, your CRM, your backend), so you can revoke one without stopping the others.'),
  limitNote,
  createErrors);

  // ---------------------------------------------------------------- actions
  const revoke = (k) => act(async () => {
    const sure = await confirmDialog({
      title: `Revoke “${k.name}”?`,
      message: [`Integrations sending with ${maskedKey(k)} are refused from their next request (401 revoked_api_key).`, 'The key stays listed and you can restore it later.'],
      confirmText: 'Revoke key',
      danger: true,
    });
    if (!sure) return;
    await api('POST', `keys/${enc(k.id)}/revoke`);
    toast(`Revoked “${k.name}”.`);
    ctx.reload();
  });

  const restore = (k) => act(async () => {
    await api('POST', `keys/${enc(k.id)}/restore`);
    toast(`Restored “${k.name}”: the same key value works again.`);
    ctx.reload();
  });

  const remove = (k) => act(async () => {
    const sure = await confirmDialog({
      title: `Delete “${k.name}” permanently?`,
      message: [`Deleting is irreversible: ${maskedKey(k)} never works again and cannot be restored. Events it sent stay stored.`,
        'To confirm, type the key\'s name.'],
      requireText: k.name,
      requireLabel: 'Key name',
      confirmText: 'Delete key',
      danger: true,
    });
    if (!sure) return;
    await api('DELETE', `keys/${enc(k.id)}`);
    toast(`Deleted “${k.name}”.`);
    ctx.reload();
  });

  const rename = (k) => act(async () => {
    const input = h('input', { type: 'text', value: k.name, maxlength: '100', autocomplete: 'off', id: uid('rename') });
    const updated = await formDialog({
      title: `Rename “${k.name}”`,
      build: () => field('New name', input),
      submitText: 'Rename',
      submit: () => api('PATCH', `keys/${enc(k.id)}`, { name: input.value.trim() }),
    });
    if (!updated) return;
    toast(`Renamed to “${updated.name}”.`);
    ctx.reload();
  });

  const roll = (k) => act(async () => {
    const select = h('select', { id: uid('grace') }, GRACE_CHOICES.map((g) => h('option', { value: String(g.seconds), selected: Boolean(g.default) }, g.label)));
    const rolled = await formDialog({
      title: `Roll “${k.name}”`,
      intro: ['Rolling creates a new key with the same name, shown once. The old key keeps working during the grace period you choose, so you can put the new key into the integration first.'],
      build: () => field('The old key keeps working for', select),
      submitText: 'Roll key',
      submit: () => api('POST', `keys/${enc(k.id)}/roll`, { grace_seconds: Number(select.value) }),
    });
    if (!rolled) return;
    const value = rolled.key;
    delete rolled.key;
    const oldExpiry = rolled.rolled_from?.expires_at || new Date(Date.now() + Number(select.value) * 1000).toISOString();
    const note = Number(select.value) === 0
      ? `The old key ${maskedKey(k)} has stopped working.`
      : `The old key ${maskedKey(k)} keeps working until ${new Date(oldExpiry).toLocaleString()} (${relativeText(oldExpiry)}).`;
    await showNewKey({ title: 'Copy the rolled key now', keyValue: value, keyName: rolled.name, note });
    ctx.reload();
  });

  const allowedIps = (k) => act(async () => {
    const area = h('textarea', { id: uid('ips'), spellcheck: 'false', value: (k.allowed_ips || []).join('\n') });
    const updated = await formDialog({
      title: `Allowed IPs for “${k.name}”`,
      intro: 'Requests with this key are accepted only from these addresses. Leave it empty to accept any address.',
      build: () => field('Allowed addresses', area, 'One IPv4 or IPv6 address or CIDR block (e.g. 203.0.113.0/24) per line, at most 50.'),
      submitText: 'Save addresses',
      submit: () => api('PATCH', `keys/${enc(k.id)}`, { allowed_ips: parseAllowedIps(area.value) }),
    });
    if (!updated) return;
    const n = (updated.allowed_ips || []).length;
    toast(n ? `“${updated.name}” now works from ${n} allowed ${n === 1 ? 'entry' : 'entries'} only.` : `“${updated.name}” works from any address.`);
    ctx.reload();
  });

  // ---------------------------------------------------------------- list
  const hasIps = keys.some((k) => 'allowed_ips' in k);
  const usageCells = new Map();
  const showUsage = !missing.usage && keys.length > 0;
  const columns = ['Name', 'Key', 'Created', 'Last used', 'From', 'Expires', 'Status'];
  if (showUsage) columns.push('Usage (48 h)');
  columns.push('Actions');
  const rows = keys.map((k) => {
    const status = keyStatus(k);
    const buttons = [];
    const button = (text, handler, cls) => h('button', { type: 'button', class: `small ${cls || ''}`.trim(), 'aria-label': `${text} ${k.name}`, onclick: () => handler(k) }, text);
    buttons.push(button('Rename', rename));
    if (status.cls === 'active') buttons.push(button('Roll', roll));
    if ('allowed_ips' in k && status.cls !== 'expired') buttons.push(button('Allowed IPs', allowedIps));
    if (status.cls === 'active' || status.cls === 'grace') buttons.push(button('Revoke', revoke));
    if (k.status === 'revoked') buttons.push(button('Restore', restore));
    buttons.push(button('Delete', remove, 'danger'));
    const nameCell = [h('strong', {}, k.name)];
    if (hasIps && Array.isArray(k.allowed_ips) && k.allowed_ips.length) {
      nameCell.push(h('div', { class: 'hint' }, `Only from: ${k.allowed_ips.join(', ')}`));
    }
    const cells = [
      nameCell,
      h('code', {}, maskedKey(k)),
      timeEl(k.created_at),
      timeEl(k.last_used_at, { relative: true, empty: 'Never' }),
      k.last_used_ip ? h('span', { class: 'mono' }, k.last_used_ip) : h('span', { class: 'muted' }, '—'),
      timeEl(k.expires_at, { empty: 'Never' }),
      h('span', { class: `badge ${status.cls}` }, status.text),
    ];
    if (showUsage) {
      const cell = h('span', { class: 'muted' }, '…');
      const holder = h('div', {}, cell);
      usageCells.set(k.id, holder);
      cells.push(holder);
    }
    cells.push(h('div', { class: 'actions' }, buttons));
    return cells;
  });

  const exposed = keys.filter((k) => k.exposed_at && isActive(k));
  const warnings = exposed.map((k) => h('div', { class: 'warning', role: 'note' },
    h('p', {}, h('strong', {}, `“${k.name}” (${maskedKey(k)}) was sent from a web browser`),
      k.exposed_origin ? [' (page ', h('code', {}, k.exposed_origin), ')'] : null, ' ', timeEl(k.exposed_at, { relative: true }), '.'),
    h('p', {}, 'Inbound keys are for server-to-server use only: anyone who can open that page can read the key and send events with it. Roll it and keep the new key on your server.'),
    keyStatus(k).cls === 'active'
      ? h('button', { type: 'button', class: 'primary small', 'aria-label': `Roll now ${k.name}`, onclick: () => roll(k) }, 'Roll now')
      : h('p', { class: 'hint' }, 'It is already rolled; it stops working when its grace period ends.')));

  const list = keys.length
    ? table(`Inbound Integration Keys of ${domain}`, columns, rows)
    : h('p', { class: 'empty' }, 'No keys yet — create one for each integration that sends events for this domain (Zapier, your CRM, your backend).');

  replace(panel,
    h('h2', { id: 'keys-heading' }, 'Inbound Integration Keys'),
    h('p', { class: 'muted', id: 'keys-summary' }, `${keysUsedText(active, limit)} active on the ${planLabel(listing.plan)} plan. Revoked and expired keys do not count.`),
    createForm,
    messages,
    warnings,
    h('h3', {}, 'Keys'),
    list);

  if (showUsage) {
    const ok = await loadUsage(keys, usageCells, view);
    if (!ok && view.current()) {
      // The server has no usage route: drop the column rather than show a broken one.
      for (const table of panel.querySelectorAll('table')) {
        const index = [...table.querySelectorAll('thead th')].findIndex((th) => th.textContent === 'Usage (48 h)');
        if (index < 0) continue;
        for (const tr of table.querySelectorAll('tr')) tr.children[index]?.remove();
      }
    }
  }
}
