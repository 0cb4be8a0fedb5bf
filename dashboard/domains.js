// Configuration: the domain list (plan and "n of m keys"), adding a domain, and the
// domain page's header with its plan change and section tabs.

import { api, enc, PLANS, planLabel, keysUsedText, ApiError } from './api.js';
import { h, field, table, timeEl, replace, errorBox, toast } from './dom.js';

function planSelect(current, id) {
  return h('select', { id }, PLANS.map((p) => h('option', { value: p.id, selected: p.id === current },
    `${p.label} (${p.limit === null ? 'unlimited keys' : `up to ${p.limit} keys`})`)));
}

export function domainHref(domain, tab = 'keys') {
  return `#/d/${enc(domain)}/${tab}`;
}

/** The Configuration page: every domain, and a form to add one. */
export async function renderDomains(view) {
  const list = h('div', {}, h('p', { class: 'muted' }, 'Loading domains…'));
  const nameInput = h('input', { type: 'text', id: 'new-domain', autocomplete: 'off', spellcheck: 'false', placeholder: 'example.com', required: true });
  const plan = planSelect('pulse', 'new-domain-plan');
  const formErrors = h('div', {});
  const form = h('form', {
    class: 'card',
    onsubmit: async (e) => {
      e.preventDefault();
      replace(formErrors);
      const domain = nameInput.value.trim().toLowerCase();
      if (!domain) {
        replace(formErrors, errorBox(new Error('Type the domain name of the site, for example example.com.')));
        nameInput.focus();
        return;
      }
      try {
        // PUT also changes the plan of an existing domain: say so instead of doing it silently.
        const existing = await api('GET', `domains/${enc(domain)}`).catch((err) => {
          if (err instanceof ApiError && err.status === 404) return null;
          throw err;
        });
        if (existing) {
          replace(formErrors, errorBox(new Error(`${existing.domain} is already added, on the ${planLabel(existing.plan)} plan. Open it to change its plan.`)));
          return;
        }
        const created = await api('PUT', `domains/${enc(domain)}`, { plan: plan.value });
        toast(`Added ${created.domain}.`);
        location.hash = domainHref(created.domain);
      } catch (err) {
        if (err.status !== 401) replace(formErrors, errorBox(err));
      }
    },
  },
  h('div', { class: 'row' },
    field('Domain name', nameInput),
    field('Plan', plan),
    h('div', {}, h('button', { type: 'submit', class: 'primary' }, 'Add domain'))),
  h('p', { class: 'hint' }, 'The site\'s host name, without https:// or a path. Events sent with its keys are stored for it.'),
  formErrors);

  replace(view.main,
    h('h1', {}, 'Configuration'),
    h('p', { class: 'lede' }, 'Pick a domain to manage its Inbound Integration Keys, recent events and audit log.'),
    h('section', { 'aria-labelledby': 'domains-heading' }, h('h2', { id: 'domains-heading' }, 'Domains'), list),
    h('section', { 'aria-labelledby': 'add-domain-heading' }, h('h2', { id: 'add-domain-heading' }, 'Add a domain'), form));

  const rows = [];
  const renderList = (next) => {
    if (!rows.length) {
      replace(list, h('p', { class: 'empty' }, 'No domains yet. Add the site you receive conversions for below (for example example.com); then create a key for each integration that sends its events.'));
      return;
    }
    const t = table('Domains', ['Domain', 'Plan', 'Keys', 'Added'], rows.map((d) => [
      h('a', { href: domainHref(d.domain) }, d.domain),
      planLabel(d.plan),
      keysUsedText(d.active_keys, d.key_limit),
      timeEl(d.created_at),
    ]));
    replace(list, t, next ? h('button', { type: 'button', class: 'load-more', onclick: () => load(next) }, 'Show more domains') : null);
  };
  const load = async (after) => {
    try {
      const page = await api('GET', after ? `domains?after=${enc(after)}` : 'domains');
      if (!view.current()) return;
      rows.push(...(page.domains || []));
      renderList(page.next || null);
    } catch (err) {
      if (err.status !== 401 && view.current()) replace(list, errorBox(err));
    }
  };
  await load(null);
}

export const TABS = [
  { id: 'keys', label: 'Inbound Integration Keys' },
  { id: 'events', label: 'Recent events' },
  { id: 'rejections', label: 'Rejections' },
  { id: 'audit', label: 'Audit log' },
];

/** The domain page: breadcrumb, plan, tabs; returns the panel for the tab's content. */
export function renderDomainFrame(view, domainInfo, tab, { hiddenTabs = new Set(), onPlanChanged }) {
  const domain = domainInfo.domain;
  const plan = planSelect(domainInfo.plan, 'domain-plan');
  const planErrors = h('div', {});
  const summary = h('p', { class: 'lede', id: 'plan-summary' },
    `${planLabel(domainInfo.plan)} plan · ${keysUsedText(domainInfo.active_keys, domainInfo.key_limit)} in use`);
  const planForm = h('form', {
    class: 'row compact',
    onsubmit: async (e) => {
      e.preventDefault();
      replace(planErrors);
      if (plan.value === domainInfo.plan) { toast(`${domain} is already on the ${planLabel(plan.value)} plan.`); return; }
      try {
        const updated = await api('PUT', `domains/${enc(domain)}`, { plan: plan.value });
        const over = updated.key_limit !== null && updated.active_keys > updated.key_limit;
        toast(`${domain} is now on the ${planLabel(updated.plan)} plan.${over ? ' Its existing keys keep working; new keys are blocked until it is under the limit.' : ''}`);
        onPlanChanged(updated);
      } catch (err) {
        if (err.status !== 401) replace(planErrors, errorBox(err));
      }
    },
  }, field('Plan', plan), h('div', {}, h('button', { type: 'submit' }, 'Change plan')));

  const panel = h('section', { id: 'panel', 'aria-labelledby': `tab-${tab}` });
  replace(view.main,
    h('nav', { class: 'breadcrumb', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/' }, 'Configuration'), ' › ', domain),
    h('h1', {}, domain),
    summary,
    planForm,
    planErrors,
    h('nav', { class: 'tabs', 'aria-label': `Sections of ${domain}` },
      TABS.filter((t) => !hiddenTabs.has(t.id)).map((t) => h('a', {
        href: domainHref(domain, t.id), id: `tab-${t.id}`, 'aria-current': t.id === tab ? 'page' : null,
      }, t.label))),
    panel);
  return panel;
}
