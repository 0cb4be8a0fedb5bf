// Modal dialogs: focus moves in and is trapped (Tab wraps, the page behind is inert),
// Escape cancels, and focus returns to the control that opened the dialog.

import { h, uid, errorBox, replace } from './dom.js';

const stack = [];
const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

function updateInert() {
  const top = stack[stack.length - 1];
  for (const child of document.body.children) {
    if (child.id === 'toast') continue;
    child.inert = Boolean(top) && child !== top.layer;
  }
}

function focusables(box) {
  return [...box.querySelectorAll(FOCUSABLE)].filter((el) => el.getClientRects().length > 0);
}

/**
 * Opens a modal dialog. `onCancel` runs on Escape (and is what a Cancel button should
 * call); it decides whether to close. Returns { box, close }.
 */
export function openDialog({ title, content, onCancel, role = 'dialog', initialFocus }) {
  const titleId = uid('dialog-title');
  const box = h('div', { class: 'dialog', role, 'aria-modal': 'true', 'aria-labelledby': titleId, tabindex: '-1' },
    h('h2', { id: titleId }, title), content);
  const layer = h('div', { class: 'backdrop' }, box);
  const opener = document.activeElement;
  const entry = { layer };
  box.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      onCancel();
      return;
    }
    if (e.key !== 'Tab') return;
    const items = focusables(box);
    if (!items.length) { e.preventDefault(); box.focus(); return; }
    const first = items[0];
    const last = items[items.length - 1];
    if (e.shiftKey && (document.activeElement === first || document.activeElement === box)) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault();
      first.focus();
    }
  });
  document.body.append(layer);
  stack.push(entry);
  updateInert();
  (initialFocus?.() || focusables(box)[0] || box).focus();

  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    layer.remove();
    stack.splice(stack.indexOf(entry), 1);
    updateInert();
    if (opener && opener.isConnected && typeof opener.focus === 'function') opener.focus();
    else document.getElementById('main')?.focus();
  };
  return { box, close };
}

/** Closes every open dialog (after a sign-out, for instance). */
export function closeAllDialogs() {
  while (stack.length) {
    const { layer } = stack.pop();
    layer.remove();
  }
  updateInert();
}

/**
 * Asks a yes/no question. `requireText`: the confirm button stays disabled until that
 * exact text is typed (for irreversible actions). Resolves true when confirmed.
 */
export function confirmDialog({ title, message, confirmText, cancelText = 'Cancel', danger = false, requireText, requireLabel }) {
  return new Promise((resolve) => {
    let dialog;
    const finish = (answer) => { dialog.close(); resolve(answer); };
    const confirm = h('button', { type: 'submit', class: danger ? 'danger' : 'primary' }, confirmText);
    let typed = null;
    if (requireText !== undefined) {
      typed = h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', id: uid('confirm') });
      confirm.disabled = true;
      typed.addEventListener('input', () => { confirm.disabled = typed.value.trim() !== requireText.trim(); });
    }
    const form = h('form', {
      onsubmit: (e) => {
        e.preventDefault();
        if (!confirm.disabled) finish(true);
      },
    },
    (Array.isArray(message) ? message : [message]).map((m) => (m instanceof Node ? m : h('p', {}, m))),
    typed ? [h('label', { for: typed.id }, requireLabel), typed] : null,
    h('div', { class: 'buttons' }, h('button', { type: 'button', onclick: () => finish(false) }, cancelText), confirm));
    dialog = openDialog({
      title,
      content: form,
      role: 'alertdialog',
      onCancel: () => finish(false),
      initialFocus: () => typed || form.querySelector('button'),
    });
  });
}

/**
 * A dialog with a form: `build()` returns its fields; `submit(form)` runs the action
 * and returns a result (the dialog closes and the promise resolves with it) or throws
 * an ApiError (shown in the dialog, which stays open). Cancel resolves null.
 */
export function formDialog({ title, intro, build, submitText, danger = false, submit }) {
  return new Promise((resolve) => {
    let dialog;
    const errors = h('div', {});
    const ok = h('button', { type: 'submit', class: danger ? 'danger' : 'primary' }, submitText);
    const form = h('form', {
      novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        ok.disabled = true;
        replace(errors);
        try {
          const result = await submit(form);
          dialog.close();
          resolve(result);
        } catch (err) {
          if (err?.status === 401) { resolve(null); return; }
          replace(errors, errorBox(err));
          ok.disabled = false;
        }
      },
    },
    intro ? (Array.isArray(intro) ? intro : [intro]).map((m) => (m instanceof Node ? m : h('p', {}, m))) : null,
    build(),
    errors,
    h('div', { class: 'buttons' }, h('button', { type: 'button', onclick: () => { dialog.close(); resolve(null); } }, 'Cancel'), ok));
    dialog = openDialog({ title, content: form, onCancel: () => { dialog.close(); resolve(null); } });
  });
}

async function copyText(input) {
  try {
    await navigator.clipboard.writeText(input.value);
    return true;
  } catch {
    // Plain-HTTP origins other than localhost have no Clipboard API: fall back to a selection copy.
    input.focus();
    input.select();
    try { return document.execCommand('copy'); } catch { return false; }
  }
}

/**
 * Shows a freshly created key once: the full value, a copy button and the warning that
 * it will not be shown again. Closing before copying asks first. When the dialog closes
 * the value is wiped and the dialog removed, so the key is no longer in the page.
 */
export function showNewKey({ title = 'Copy your new key now', keyValue, keyName, note }) {
  return new Promise((resolve) => {
    let dialog;
    let copied = false;
    const warningId = uid('warning');
    const input = h('input', {
      type: 'text', readOnly: true, value: keyValue, spellcheck: 'false', autocomplete: 'off',
      id: uid('secret'), 'aria-describedby': warningId, class: 'secret',
    });
    input.addEventListener('copy', () => { copied = true; });
    const status = h('p', { class: 'hint', role: 'status' });
    const copy = h('button', {
      type: 'button', class: 'primary',
      onclick: async () => {
        if (await copyText(input)) {
          copied = true;
          copy.textContent = 'Copied';
          status.textContent = 'The key is on your clipboard. Paste it into your integration now.';
        } else {
          status.textContent = 'This browser would not copy it: select the key and press Ctrl+C (⌘C on a Mac).';
        }
      },
    }, 'Copy key');
    const close = async () => {
      if (!copied) {
        const sure = await confirmDialog({
          title: 'Close without copying the key?',
          message: 'You have not copied this key. Once this window closes, the full key cannot be shown again: you would have to roll the key to get a new value.',
          confirmText: 'Close without copying',
          cancelText: 'Back to the key',
          danger: true,
        });
        if (!sure) return;
      }
      input.value = '';
      input.removeAttribute('value');
      dialog.close();
      resolve();
    };
    const content = [
      h('p', {}, 'Key for ', h('strong', {}, keyName), ':'),
      h('div', { class: 'secret-row' }, h('label', { for: input.id, class: 'visually-hidden' }, 'Full key'), input, copy),
      status,
      h('p', { class: 'warning', id: warningId }, 'This is the only time the full key is shown. Copy it into your integration now: it will not be shown again. Send it as the X-CC-Api-Key header, from your server only.'),
      note ? h('p', { class: 'notice' }, note) : null,
      h('div', { class: 'buttons' }, h('button', { type: 'button', onclick: close }, 'Done')),
    ];
    dialog = openDialog({ title, content, onCancel: close, initialFocus: () => copy });
  });
}
