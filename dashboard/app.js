// cc-inbound dashboard: sign-in with a pasted admin token, then Configuration → a
// domain → its Inbound Integration Keys, events, rejections and audit log.
// Hash routes: #/ (domains) and #/d/<domain>/<tab>. The token never enters a URL.

import { api, enc, session, onUnauthorized } from './api.js';
import { h, field, replace, errorBox } from './dom.js';
import { closeAllDialogs } from './dialogs.js';
import { renderDomains, renderDomainFrame } from './domains.js';
import { renderKeys } from './keys.js';
import { renderEvents, renderRejections, renderAudit } from './activity.js';

const main = document.getElementById('main');
const signOut = document.getElementById('sign-out');
let generation = 0;
// SPEC §7 routes an older server may lack; undefined until first asked.
let rejectionsAvailable;

/** A render pass; stale passes (the user navigated on) stop writing to the page. */
function newView() {
  generation += 1;
  const mine = generation;
  return { main, current: () => mine === generation };
}

function showSignIn(message) {
  newView();
  closeAllDialogs();
  signOut.hidden = true;
  document.title = 'Sign in · CleanClicks inbound';
  const input = h('input', { type: 'password', id: 'admin-token', autocomplete: 'off', spellcheck: 'false', required: true });
  const form = h('form', {
    class: 'card signin',
    'aria-labelledby': 'signin-heading',
    onsubmit: (e) => {
      e.preventDefault();
      const token = input.value.trim();
      if (!token) { input.focus(); return; }
      input.value = '';
      session.set(token);
      route();
    },
  },
  h('h1', { id: 'signin-heading' }, 'Sign in'),
  message ? errorBox({ message }) : null,
  field('Admin token', input,
    'Paste an admin token of this server (scripts/run.sh keeps one in data/admin-token). It stays in this browser tab only and is sent to this server\'s admin API.'),
  h('p', {}, h('button', { type: 'submit', class: 'primary' }, 'Sign in')));
  replace(main, form);
  input.focus();
}

onUnauthorized((err) => {
  const hadToken = Boolean(session.token);
  session.clear();
  showSignIn(hadToken ? `${err.message} Check the token and sign in again.` : err.message);
});

async function probeRejections(domain) {
  if (rejectionsAvailable !== undefined) return rejectionsAvailable;
  try {
    await api('GET', `rejections?domain=${enc(domain)}&limit=1`);
    rejectionsAvailable = true;
  } catch (err) {
    if (err.status === 401) throw err;
    rejectionsAvailable = !err.routeMissing;
  }
  return rejectionsAvailable;
}

async function showDomain(view, domain, tab) {
  document.title = `${domain} · CleanClicks inbound`;
  replace(main, h('p', { class: 'muted' }, `Loading ${domain}…`));
  let info;
  try {
    info = await api('GET', `domains/${enc(domain)}`);
    if (!view.current()) return;
  } catch (err) {
    if (err.status === 401 || !view.current()) return;
    if (err.status === 404) {
      replace(main, h('h1', {}, domain), h('p', { class: 'empty' }, `${domain} is not registered on this server. `,
        h('a', { href: '#/' }, 'Back to Configuration'), ' to add it.'));
    } else {
      replace(main, h('h1', {}, domain), errorBox(err));
    }
    return;
  }
  const hidden = new Set();
  try {
    if (!(await probeRejections(domain))) hidden.add('rejections');
  } catch {
    return;
  }
  if (!view.current()) return;
  if (hidden.has(tab)) tab = 'keys';
  const ctx = { domain: info.domain, view, keys: [] };
  const panel = renderDomainFrame(view, info, tab, {
    hiddenTabs: hidden,
    onPlanChanged: () => route(),
  });
  ctx.reload = () => route({ keepFocus: true });
  if (tab !== 'keys') {
    // Events and the audit log name keys by id: know their names and prefixes first.
    try {
      const listing = await api('GET', `keys?domain=${enc(info.domain)}`);
      ctx.keys = listing.keys || [];
    } catch (err) {
      if (err.status === 401) return;
    }
    if (!view.current()) return;
  }
  if (tab === 'events') await renderEvents(panel, ctx);
  else if (tab === 'rejections') await renderRejections(panel, ctx);
  else if (tab === 'audit') await renderAudit(panel, ctx);
  else await renderKeys(panel, ctx);
}

/** Renders the page for the current hash. */
async function route({ keepFocus = false } = {}) {
  if (!session.token) { showSignIn(); return; }
  signOut.hidden = false;
  const view = newView();
  // After an action re-renders the list, put focus back on the same control where it still exists.
  const active = keepFocus ? document.activeElement : null;
  const focused = active ? { id: active.id, label: active.getAttribute('aria-label') } : null;
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map((p) => {
    try { return decodeURIComponent(p); } catch { return p; }
  });
  if (parts[0] === 'd' && parts[1]) {
    await showDomain(view, parts[1], parts[2] || 'keys');
  } else {
    document.title = 'Configuration · CleanClicks inbound';
    await renderDomains(view);
  }
  if (!view.current()) return;
  const again = focused && ((focused.id && document.getElementById(focused.id))
    || (focused.label && main.querySelector(`[aria-label="${CSS.escape(focused.label)}"]`)));
  if (again) again.focus();
  else main.focus({ preventScroll: true });
}

signOut.addEventListener('click', () => {
  session.clear();
  showSignIn();
});
document.querySelector('.skip')?.addEventListener('click', (e) => {
  e.preventDefault();
  main.focus();
});
window.addEventListener('hashchange', () => route());
route();
