// The dashboard (SPEC §6) in a real headless Chromium: every flow walked by visible
// text and accessible role/label, checked against the inbound API.
// Run by ctest as browser.dashboard (tests/browser/run.sh).
// CC_DASHBOARD_SCREENSHOTS=<dir> also saves screenshots of the main screens there.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';
import { request as httpRequest } from 'node:http';
import { startServer } from './server.mjs';

const CHROMIUM = process.env.CC_CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.CC_DASHBOARD_SCREENSHOTS || '';
const KEY_RE = /cc_[0-9A-Za-z]{38}/;
const XSS_NAME = '<img src=x onerror=alert(1)>';
const DOMAIN = 'shop.example.com';

const aria = (name, role) => (role ? `::-p-aria([name="${name}"][role="${role}"])` : `::-p-aria(${name})`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let server;
let browser;
let page;
const requests = [];
const pageErrors = [];
const consoleProblems = [];
const nativeDialogs = [];

async function shot(name) {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.evaluate(() => { document.getElementById('toast').textContent = ''; });
  await sleep(150);
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: !(await page.$('.backdrop')) });
}

async function find(name, role, options = {}) {
  return page.waitForSelector(aria(name, role), { visible: true, timeout: 20000, ...options });
}

async function click(name, role = 'button') {
  await (await find(name, role)).click();
}

async function fill(label, text) {
  const el = await find(label);
  await el.click({ clickCount: 3 });
  await page.keyboard.press('Backspace');
  await el.type(text);
}

async function waitForText(text, timeout = 20000) {
  await page.waitForFunction((t) => document.body.innerText.includes(t), { timeout }, text);
}

/** The open dialog (role dialog or alertdialog) with this accessible name. */
async function dialogNamed(title) {
  return page.waitForFunction((t) => {
    for (const d of document.querySelectorAll('[role="dialog"], [role="alertdialog"]')) {
      const label = document.getElementById(d.getAttribute('aria-labelledby'));
      if (label && label.textContent === t && d.getAttribute('aria-modal') === 'true') return d;
    }
    return null;
  }, { timeout: 20000 }, title);
}

async function noDialogOpen() {
  await page.waitForFunction(() => !document.querySelector('[role="dialog"], [role="alertdialog"]'), { timeout: 20000 });
}

/** The text of the keys table row whose name cell is exactly `name`. */
async function rowText(name) {
  return page.evaluate((n) => {
    for (const tr of document.querySelectorAll('tbody tr')) {
      const strong = tr.querySelector('td strong');
      if (strong && strong.textContent === n) return tr.innerText;
    }
    return null;
  }, name);
}

async function waitForRow(name, predicate = () => true, timeout = 20000) {
  const deadline = Date.now() + timeout;
  let text = null;
  while (Date.now() < deadline) {
    text = await rowText(name);
    if (text !== null && predicate(text)) return text;
    await sleep(100);
  }
  throw new Error(`row ${name}: condition not met; last text: ${text}`);
}

async function inbound(key, fields = {}) {
  return server.call('POST', '/__cc/inbound', {
    admin: false,
    headers: { 'X-CC-Api-Key': key },
    body: { event: 'lead', email: `buyer${Math.random().toString(36).slice(2)}@example.org`, ...fields },
  });
}

/** An inbound request as a browser would send it (Origin header), over node:http. */
function inboundFromBrowser(key) {
  const body = JSON.stringify({ event: 'lead', email: 'web@example.org' });
  const url = new URL('/__cc/inbound', server.origin);
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-CC-Api-Key': key, Origin: 'https://shop.example.com', 'Content-Length': Buffer.byteLength(body) },
    }, (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => { let json = null; try { json = JSON.parse(text); } catch { /* not JSON */ } resolve({ status: res.statusCode, json }); });
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function fillArea(label, text) {
  const el = await find(label);
  await el.evaluate((a) => { a.value = ''; });
  await el.focus();
  await page.keyboard.type(text);
}

/** Everything the page holds as text, markup and form values (a shown-once key must be in none). */
async function pageHolds(text) {
  const html = await page.content();
  const values = await page.evaluate(() => [...document.querySelectorAll('input, textarea')].map((el) => el.value).join('\n'));
  return html.includes(text) || values.includes(text);
}

/** Creates a key through the page; returns the full key read from its dialog. */
async function createKeyInPage(name, { copy = true } = {}) {
  await fill('Key name', name);
  await click('Create key');
  await dialogNamed('Copy your new key now');
  const value = await page.$eval('[role="dialog"] input[readonly]', (el) => el.value);
  assert.match(value, KEY_RE);
  if (copy) {
    await click('Copy key');
    await waitForText('The key is on your clipboard');
    await click('Done');
  }
  return value;
}

async function openDomainTab(label) {
  await click(label, 'link');
  await page.waitForFunction((l) => document.querySelector('.tabs a[aria-current="page"]')?.textContent === l, {}, label);
}

describe('dashboard in a real browser', { concurrency: false }, () => {
  const keys = {};

  before(async () => {
    server = await startServer();
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-extensions', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    await browser.defaultBrowserContext().overridePermissions(server.origin, ['clipboard-read', 'clipboard-write', 'clipboard-sanitized-write']);
    page = await browser.newPage();
    await page.emulateTimezone('Asia/Tokyo');
    await page.setViewport({ width: 1280, height: 900 });
    page.on('request', (r) => requests.push(r.url()));
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => { if (/Content Security Policy|Refused to/i.test(m.text())) consoleProblems.push(m.text()); });
    page.on('dialog', async (d) => { nativeDialogs.push(`${d.type()}: ${d.message()}`); await d.dismiss(); });
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('serves the page with the security headers', async () => {
    const res = await page.goto(`${server.origin}/dashboard/`, { waitUntil: 'networkidle0' });
    assert.equal(res.status(), 200);
    const h = res.headers();
    assert.equal(h['content-security-policy'], "default-src 'self'; frame-ancestors 'none'");
    assert.equal(h['x-content-type-options'], 'nosniff');
    assert.equal(h['referrer-policy'], 'no-referrer');
    assert.match(h['content-type'], /^text\/html/);
    assert.match(h.etag, /^"[0-9a-f]+"$/);
    assert.equal(h['cache-control'], 'no-cache');
  });

  it('asks for a token, and a wrong one shows the sign-in again with the API\'s message', async () => {
    await find('Sign in', 'heading');
    await shot('01-sign-in');
    await fill('Admin token', 'not-the-token');
    await click('Sign in');
    await page.waitForSelector('[role="alert"]', { visible: true });
    const alert = await page.$eval('[role="alert"]', (el) => el.textContent);
    assert.match(alert, /A valid admin bearer token is required\./);
    await find('Admin token');
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  });

  it('signs in with the pasted token, kept in sessionStorage only', async () => {
    await fill('Admin token', server.token);
    await page.keyboard.press('Enter');
    await find('Configuration', 'heading');
    await waitForText('No domains yet');
    const stored = await page.evaluate(() => ({
      session: Object.values(sessionStorage),
      local: localStorage.length,
      cookie: document.cookie,
      url: location.href,
    }));
    assert.deepEqual(stored.session, [server.token]);
    assert.equal(stored.local, 0);
    assert.equal(stored.cookie, '');
    assert.ok(!stored.url.includes(server.token));
    assert.ok(!(await pageHolds(server.token)), 'the token is not in the page');
    await shot('02-no-domains');
  });

  it('adds a domain on the Pulse plan and shows "0 of 2 keys"', async () => {
    await fill('Domain name', DOMAIN);
    await page.select(aria('Plan', 'combobox'), 'pulse');
    await click('Add domain');
    await find(DOMAIN, 'heading');
    await waitForText('Pulse plan · 0 of 2 keys in use');
    await waitForText('No keys yet — create one for each integration');
    const api = await server.call('GET', `/admin/domains/${DOMAIN}`);
    assert.equal(api.status, 200);
    assert.equal(api.json.plan, 'pulse');
  });

  it('creates a key: shown once with a copy button and the warning, gone from the page after', async () => {
    await fill('Key name', 'Zapier Integration');
    await click('Create key');
    const dialog = await dialogNamed('Copy your new key now');
    const text = await dialog.evaluate((d) => d.innerText);
    assert.match(text, /will not be shown again/);
    const value = await page.$eval('[role="dialog"] input[readonly]', (el) => el.value);
    assert.match(value, KEY_RE);
    await shot('04-new-key');
    await click('Copy key');
    await waitForText('The key is on your clipboard');
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), value);
    await click('Done');
    await noDialogOpen();
    assert.ok(!(await pageHolds(value)), 'the full key left the DOM with its dialog');
    keys.zapier = value;
    const row = await waitForRow('Zapier Integration');
    assert.ok(row.includes(`${value.slice(0, 11)}••••`), row);
    assert.ok(!row.includes(value.slice(0, 12)), 'only the 11-character prefix is shown');
    assert.match(row, /Active/);
    assert.match(row, /Never/);
    const used = await inbound(value);
    assert.equal(used.status, 202, used.text);
  });

  it('asks before closing the key dialog when the key was not copied', async () => {
    await fill('Key name', XSS_NAME);
    await click('Create key');
    await dialogNamed('Copy your new key now');
    const value = await page.$eval('[role="dialog"] input[readonly]', (el) => el.value);
    await page.keyboard.press('Escape');
    await dialogNamed('Close without copying the key?');
    await shot('05-close-without-copying');
    await click('Back to the key');
    await dialogNamed('Copy your new key now');
    assert.ok(await pageHolds(value));
    await click('Done');
    await dialogNamed('Close without copying the key?');
    await click('Close without copying');
    await noDialogOpen();
    assert.ok(!(await pageHolds(value)));
    keys.xss = value;
  });

  it('renders a key named like markup as text and runs nothing', async () => {
    const row = await waitForRow(XSS_NAME);
    assert.ok(row.includes(XSS_NAME), row);
    const injected = await page.evaluate(() => document.querySelectorAll('img[src="x"], tbody img').length);
    assert.equal(injected, 0);
    assert.deepEqual(nativeDialogs, []);
    assert.deepEqual(pageErrors, []);
  });

  it('shows times in the browser\'s zone with UTC on hover', async () => {
    const listed = await server.call('GET', `/admin/keys?domain=${DOMAIN}`);
    const zap = listed.json.keys.find((k) => k.name === 'Zapier Integration');
    const info = await page.evaluate((iso) => {
      const el = document.querySelector(`time[datetime="${iso}"]`);
      return {
        zone: Intl.DateTimeFormat().resolvedOptions().timeZone,
        shown: el?.textContent,
        title: el?.getAttribute('title'),
        utcShown: new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' }).format(new Date(iso)),
        tokyoShown: new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso)),
      };
    }, zap.created_at);
    assert.equal(info.zone, 'Asia/Tokyo');
    assert.equal(info.shown, info.tokyoShown);
    assert.notEqual(info.shown, info.utcShown);
    assert.equal(info.title, `${zap.created_at.slice(0, 19).replace('T', ' ')} UTC`);
  });

  it('shows when and from where a key was last used', async () => {
    // last_used_at is written coalesced (within 2 s): reload the list until it shows.
    const lastUsed = () => page.evaluate(() => {
      for (const tr of document.querySelectorAll('tbody tr')) {
        if (tr.querySelector('td strong')?.textContent !== 'Zapier Integration') continue;
        const cell = tr.querySelector('td[data-label="Last used"]');
        return { text: cell?.innerText, title: cell?.querySelector('time')?.title, from: tr.querySelector('td[data-label="From"]')?.innerText };
      }
      return null;
    });
    const deadline = Date.now() + 8000;
    let seen;
    for (;;) {
      await page.reload({ waitUntil: 'networkidle0' });
      await waitForRow('Zapier Integration');
      seen = await lastUsed();
      if (seen.text !== 'Never' || Date.now() > deadline) break;
      await sleep(300);
    }
    assert.equal(seen.text, 'just now');
    assert.equal(seen.from, '127.0.0.1');
    assert.match(seen.title, /UTC\)$/);
  });

  it('disables Create at the plan limit, saying why and which plan allows more', async () => {
    await waitForText('Key limit reached');
    const button = await find('Create key');
    assert.equal(await button.evaluate((b) => b.disabled), true);
    const why = await button.evaluate((b) => document.getElementById(b.getAttribute('aria-describedby'))?.textContent);
    assert.match(why, /2 of 2 keys/);
    assert.match(why, /Pulse plan/);
    assert.match(why, /Signal plan \(up to 5 keys\)/);
    await shot('03-keys-at-limit');
  });

  it('revokes after a confirmation; the inbound API then answers revoked_api_key', async () => {
    await click('Revoke Zapier Integration');
    const dialog = await dialogNamed('Revoke “Zapier Integration”?');
    assert.equal(await dialog.evaluate((d) => d.getAttribute('role')), 'alertdialog');
    await click('Revoke key');
    await waitForRow('Zapier Integration', (t) => /Revoked/.test(t));
    const refused = await inbound(keys.zapier);
    assert.equal(refused.status, 401);
    assert.equal(refused.json.error.code, 'revoked_api_key');
  });

  it('restore at the plan limit shows the API\'s plan_limit_reached message', async () => {
    keys.backend = await createKeyInPage('Backend');
    await waitForRow('Backend');
    // The API's own answer, asked directly (it changes nothing: the domain is at its limit).
    const zapId = (await server.call('GET', `/admin/keys?domain=${DOMAIN}`)).json.keys.find((k) => k.name === 'Zapier Integration').id;
    const direct = await server.call('POST', `/admin/keys/${zapId}/restore`);
    assert.equal(direct.status, 409);
    assert.equal(direct.json.error.code, 'plan_limit_reached');
    await click('Restore Zapier Integration');
    await page.waitForFunction((m) => [...document.querySelectorAll('[role="alert"]')].some((a) => a.textContent.includes(m)), {}, direct.json.error.message);
    assert.match(await rowText('Zapier Integration'), /Revoked/);
  });

  it('changes the plan; restore then works and the same key value is accepted again', async () => {
    await page.select(aria('Plan', 'combobox'), 'signal');
    await click('Change plan');
    await waitForText('Signal plan · 2 of 5 keys in use');
    assert.equal((await server.call('GET', `/admin/domains/${DOMAIN}`)).json.plan, 'signal');
    await click('Restore Zapier Integration');
    await waitForRow('Zapier Integration', (t) => /Active/.test(t));
    const again = await inbound(keys.zapier);
    assert.equal(again.status, 202, again.text);
  });

  it('renames a key', async () => {
    await click('Rename Backend');
    await dialogNamed('Rename “Backend”');
    await fill('New name', 'Backend (production)');
    await click('Rename', 'button');
    await noDialogOpen();
    await waitForRow('Backend (production)');
    const listed = await server.call('GET', `/admin/keys?domain=${DOMAIN}`);
    assert.ok(listed.json.keys.some((k) => k.name === 'Backend (production)'));
  });

  it('rolls a key with the chosen grace; the new key is shown once and both work in the grace', async () => {
    await click('Roll Zapier Integration');
    await dialogNamed('Roll “Zapier Integration”');
    const grace = await find('The old key keeps working for', 'combobox');
    assert.equal(await grace.evaluate((s) => s.value), '86400');
    await click('Roll key');
    await dialogNamed('Copy the rolled key now');
    const value = await page.$eval('[role="dialog"] input[readonly]', (el) => el.value);
    assert.match(value, KEY_RE);
    assert.notEqual(value, keys.zapier);
    await click('Copy key');
    await click('Done');
    await noDialogOpen();
    assert.ok(!(await pageHolds(value)));
    await page.waitForFunction(() => [...document.querySelectorAll('tbody .badge')].some((b) => b.textContent === 'expires in 23 h'));
    assert.equal((await inbound(value)).status, 202);
    assert.equal((await inbound(keys.zapier)).status, 202);
    keys.rolled = value;
  });

  it('deletes only after the key\'s name is typed, saying it is irreversible', async () => {
    await click('Delete Backend (production)');
    const dialog = await dialogNamed('Delete “Backend (production)” permanently?');
    assert.match(await dialog.evaluate((d) => d.innerText), /irreversible/);
    const confirm = await find('Delete key');
    assert.equal(await confirm.evaluate((b) => b.disabled), true);
    await fill('Key name', 'Backend');
    assert.equal(await confirm.evaluate((b) => b.disabled), true);
    await shot('06-delete-confirm');
    await fill('Key name', 'Backend (production)');
    assert.equal(await confirm.evaluate((b) => b.disabled), false);
    await confirm.click();
    await noDialogOpen();
    await page.waitForFunction(() => ![...document.querySelectorAll('tbody td strong')].some((s) => s.textContent === 'Backend (production)'));
    const gone = await inbound(keys.backend);
    assert.equal(gone.status, 401);
    assert.equal(gone.json.error.code, 'invalid_api_key');
    await shot('03-keys');
  });

  it('cancelling a confirmation changes nothing', async () => {
    await click('Revoke Zapier Integration');
    await dialogNamed('Revoke “Zapier Integration”?');
    await click('Cancel');
    await noDialogOpen();
    await page.keyboard.press('Escape');
    const listed = await server.call('GET', `/admin/keys?domain=${DOMAIN}`);
    assert.ok(listed.json.keys.filter((k) => k.name === 'Zapier Integration').every((k) => k.status === 'active'));
    assert.equal((await inbound(keys.rolled)).status, 202);
  });

  it('shows usage and rejections where the server has them (SPEC §7), and hides them quietly where not', async () => {
    const listed = await server.call('GET', `/admin/keys?domain=${DOMAIN}`);
    const usage = await server.call('GET', `/admin/keys/${listed.json.keys[0].id}/usage?hours=48`);
    const headers = await page.$$eval('thead th', (ths) => ths.map((th) => th.textContent));
    if (usage.status === 404) {
      assert.ok(!headers.includes('Usage (48 h)'), headers.join(', '));
    } else {
      assert.equal(usage.status, 200);
      assert.ok(headers.includes('Usage (48 h)'), headers.join(', '));
      await page.waitForSelector('tbody svg[role="img"]');
    }
    const rejections = await server.call('GET', `/admin/rejections?domain=${DOMAIN}`);
    const tabs = await page.$$eval('.tabs a', (as) => as.map((a) => a.textContent));
    assert.equal(tabs.includes('Rejections'), rejections.status !== 404, tabs.join(', '));
    assert.deepEqual(pageErrors, []);
  });

  it('lists the domain\'s recent events with the key that sent each', async () => {
    await openDomainTab('Recent events');
    await find('Recent events', 'heading');
    await page.waitForSelector('tbody tr');
    const rows = await page.$$eval('tbody tr', (trs) => trs.map((tr) => tr.innerText));
    assert.ok(rows.length >= 4, rows.join('\n'));
    assert.ok(rows.every((r) => r.includes('Zapier Integration')), rows.join('\n'));
    assert.ok(rows.some((r) => r.includes(keys.rolled.slice(0, 11))), 'the rolled key\'s prefix is shown');
    await shot('07-events');
  });

  it('shows the audit log', async () => {
    await openDomainTab('Audit log');
    await page.waitForSelector('tbody tr');
    const text = await page.$eval('tbody', (b) => b.innerText);
    for (const what of ['Key created', 'Key revoked', 'Key restored', 'Key renamed', 'Key rolled', 'Key deleted', 'Plan changed']) {
      assert.ok(text.includes(what), `${what} in\n${text}`);
    }
    await shot('08-audit');
  });

  it('lists domains with their plan and "n of m keys", unlimited for command', async () => {
    await server.call('PUT', '/admin/domains/big.example.com', { body: { plan: 'command' } });
    await click('Configuration', 'link');
    await find('Domains', 'heading');
    await page.waitForSelector('tbody tr');
    const rows = await page.$$eval('tbody tr', (trs) => trs.map((tr) => tr.innerText.replace(/\s+/g, ' ')));
    assert.ok(rows.some((r) => r.includes(DOMAIN) && r.includes('Signal') && r.includes('3 of 5 keys')), rows.join('\n'));
    assert.ok(rows.some((r) => r.includes('big.example.com') && r.includes('Command') && r.includes('0 keys (unlimited)')), rows.join('\n'));
    await shot('02-domains');
    await click(DOMAIN, 'link');
    await find(DOMAIN, 'heading');
    await waitForRow('Zapier Integration');
  });

  it('every control is reachable with Tab, labelled, and shows a visible focus', async () => {
    const report = await page.evaluate(() => {
      const controls = [...document.querySelectorAll('a[href], button, input, select, textarea')]
        .filter((el) => !el.disabled && el.getClientRects().length > 0 && !el.closest('[inert]'));
      controls.forEach((el, i) => { el.dataset.probe = String(i); });
      const unlabelled = [...document.querySelectorAll('input, select, textarea')]
        .filter((el) => !(el.labels?.length || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')))
        .map((el) => el.outerHTML);
      return { count: controls.length, unlabelled };
    });
    assert.deepEqual(report.unlabelled, []);
    await page.evaluate(() => { document.activeElement?.blur(); window.scrollTo(0, 0); });
    await page.focus('body');
    const reached = new Set();
    let withoutOutline = [];
    for (let i = 0; i < report.count + 10; i++) {
      await page.keyboard.press('Tab');
      const info = await page.evaluate(() => {
        const el = document.activeElement;
        const style = el ? getComputedStyle(el) : null;
        return { probe: el?.dataset?.probe ?? null, outline: style ? `${style.outlineStyle} ${style.outlineWidth}` : '', html: el?.outerHTML?.slice(0, 80) };
      });
      if (info.probe !== null) reached.add(info.probe);
      if (info.probe !== null && (info.outline.startsWith('none') || info.outline.endsWith(' 0px'))) withoutOutline.push(info.html);
    }
    assert.equal(reached.size, report.count, `reached ${reached.size} of ${report.count} controls with Tab`);
    assert.deepEqual(withoutOutline, []);
  });

  it('traps focus in a dialog, closes on Escape and gives focus back', async () => {
    const opener = await find('Rename Zapier Integration');
    await opener.focus();
    await page.keyboard.press('Enter');
    await dialogNamed('Rename “Zapier Integration”');
    for (const key of ['Tab', 'Tab', 'Tab', 'Tab', 'Tab']) {
      await page.keyboard.press(key);
      assert.ok(await page.evaluate(() => Boolean(document.activeElement?.closest('[role="dialog"]'))), 'focus stays in the dialog');
    }
    await page.keyboard.down('Shift');
    for (let i = 0; i < 4; i++) {
      await page.keyboard.press('Tab');
      assert.ok(await page.evaluate(() => Boolean(document.activeElement?.closest('[role="dialog"]'))), 'Shift+Tab stays in the dialog');
    }
    await page.keyboard.up('Shift');
    assert.ok(await page.evaluate(() => document.querySelector('main').inert), 'the page behind is inert');
    await page.keyboard.press('Escape');
    await noDialogOpen();
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Rename Zapier Integration');
  });

  it('works with the keyboard alone: create a key and close its dialog', async () => {
    const input = await find('Key name');
    await input.focus();
    await page.keyboard.type('Keyboard only');
    await page.keyboard.press('Enter');
    await dialogNamed('Copy your new key now');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Copy key');
    keys.keyboard = await page.$eval('[role="dialog"] input[readonly]', (el) => el.value);
    await page.keyboard.press('Enter');
    await waitForText('The key is on your clipboard');
    await page.keyboard.press('Escape');
    await noDialogOpen();
    await waitForRow('Keyboard only');
  });

  it('edits a key\'s allowed IPs where the server has them (SPEC §7)', async (t) => {
    const listed = await server.call('GET', `/admin/keys?domain=${DOMAIN}`);
    if (!('allowed_ips' in listed.json.keys[0])) { t.skip('this server has no allowed_ips (SPEC §7)'); return; }
    await click('Allowed IPs Keyboard only');
    await dialogNamed('Allowed IPs for “Keyboard only”');
    await fillArea('Allowed addresses', 'not-an-address');
    await click('Save addresses');
    await page.waitForSelector('[role="dialog"] [role="alert"]', { visible: true });
    await fillArea('Allowed addresses', '203.0.113.0/24\n2001:db8::/32');
    await click('Save addresses');
    await noDialogOpen();
    await waitForRow('Keyboard only', (text) => text.includes('203.0.113.0/24'));
    const refused = await inbound(keys.keyboard);
    assert.equal(refused.status, 403);
    assert.equal(refused.json.error.code, 'ip_not_allowed');
    await click('Allowed IPs Keyboard only');
    await dialogNamed('Allowed IPs for “Keyboard only”');
    await fillArea('Allowed addresses', '');
    await click('Save addresses');
    await noDialogOpen();
    await waitForRow('Keyboard only', (text) => !text.includes('203.0.113.0/24'));
    assert.equal((await inbound(keys.keyboard)).status, 202);
  });

  it('warns about a key used from a browser and offers Roll now (SPEC §7)', async (t) => {
    const sent = await inboundFromBrowser(keys.keyboard);
    if (sent.json?.error?.code !== 'browser_request_refused') { t.skip('this server does not refuse browser requests yet (SPEC §7)'); return; }
    await page.reload({ waitUntil: 'networkidle0' });
    await waitForText('was sent from a web browser');
    const warning = await page.$eval('[role="note"]', (n) => n.innerText);
    assert.match(warning, /Keyboard only/);
    assert.match(warning, /https:\/\/shop\.example\.com/);
    await click('Roll now Keyboard only');
    await dialogNamed('Roll “Keyboard only”');
    await click('Roll key');
    await dialogNamed('Copy the rolled key now');
    await click('Copy key');
    await click('Done');
    await noDialogOpen();
    await page.waitForFunction(() => !document.body.innerText.includes('Roll now'));
  });

  it('finds a rejected request by its request id where the server records rejections (SPEC §7)', async (t) => {
    const probe = await server.call('GET', `/admin/rejections?domain=${DOMAIN}`);
    if (probe.status === 404) { t.skip('this server has no rejection log (SPEC §7)'); return; }
    const refused = await inbound(keys.rolled, { email: undefined, event: 'purchase', value: 5 });
    assert.equal(refused.status, 400, refused.text);
    const requestId = refused.headers.get('x-request-id');
    await openDomainTab('Rejections');
    await fill('Find by request id', requestId);
    await click('Find');
    await page.waitForFunction((id) => [...document.querySelectorAll('tbody tr')].some((tr) => tr.innerText.includes(id)), { timeout: 20000 }, requestId);
    const row = await page.$eval('tbody tr', (tr) => tr.innerText);
    assert.match(row, /validation_failed/);
    assert.ok(row.includes(keys.rolled.slice(0, 11)), row);
    await shot('11-rejections');
    await openDomainTab('Inbound Integration Keys');
    await waitForRow('Zapier Integration');
  });

  it('fits a 360 px wide screen', async () => {
    await page.setViewport({ width: 360, height: 780, isMobile: true, hasTouch: true });
    await page.reload({ waitUntil: 'networkidle0' });
    await waitForRow('Zapier Integration');
    const widths = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
    assert.ok(widths.scroll <= widths.client, `no horizontal scrolling: ${JSON.stringify(widths)}`);
    await shot('09-mobile-360');
    await page.setViewport({ width: 1280, height: 900 });
  });

  it('follows a dark colour scheme', async () => {
    const light = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'dark' }]);
    const dark = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.notEqual(dark, light);
    await shot('10-dark');
    await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'light' }]);
  });

  it('a token that stops working mid-session shows the sign-in with the API\'s message', async () => {
    // Swap the token and ask for a page in one step: the next request the page sends (the
    // new page's, or one still chained from the last view) meets the 401.
    const back = await page.evaluate(() => {
      const was = location.hash;
      sessionStorage.setItem('cc-inbound.admin-token', 'revoked-token');
      location.hash = `#/signin-check-${Date.now()}`;
      return was;
    });
    await find('Sign in', 'heading');
    await waitForText('A valid admin bearer token is required.');
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    // Back to the domain's page (signed out, it shows the sign-in) for the next test.
    await page.evaluate((hash) => { location.hash = hash; }, back);
    await find('Sign in', 'heading');
  });

  it('signs out', async () => {
    await fill('Admin token', server.token);
    await click('Sign in');
    await find(DOMAIN, 'heading');
    await click('Sign out');
    await find('Sign in', 'heading');
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  });

  it('sent no request outside the server\'s origin, broke no CSP rule, and logged no secret', () => {
    assert.ok(requests.length > 20, `${requests.length} requests`);
    // data: URLs are the browser's own built-in images (the date picker's icon): no network.
    const foreign = requests.filter((u) => !u.startsWith(`${server.origin}/`) && !u.startsWith('data:'));
    assert.deepEqual(foreign, []);
    assert.ok(requests.every((u) => !u.includes(server.token)), 'no token in a URL');
    assert.deepEqual(consoleProblems, []);
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(nativeDialogs, []);
    const log = server.log.join('\n');
    assert.ok(!log.includes(server.token), 'the admin token is not logged');
    for (const value of Object.values(keys)) assert.ok(!log.includes(value), 'no full key is logged');
  });
});
