// DOM building without HTML strings: every text, whoever wrote it (a bot
// name, a symbol, an error message), goes in as a text node, so nothing a
// user or a broker sends can become markup. No HTML string is ever parsed.

/**
 * h('button', {class: 'x', onclick: fn, disabled: true}, 'text', child…)
 * Attributes starting with "on" become listeners; `dataset` takes an
 * object; null, undefined and false attributes are left out; children may
 * be strings, numbers, nodes, arrays or null.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') {
        el.addEventListener(k.slice(2), v);
      } else if (k === 'dataset') {
        Object.assign(el.dataset, v);
      } else if (k === 'class') {
        el.className = v;
      } else if (k === 'value') {
        el.value = v;
      } else if (k === 'checked' || k === 'selected') {
        el[k] = Boolean(v);
      } else {
        el.setAttribute(k, v === true ? '' : String(v));
      }
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/**
 * Replaces el's children. When focus was inside el, the control in the
 * same place of the new content takes it, so a keyboard user's focus
 * survives a redraw (a live update, a toggled button's new label).
 */
export function mount(el, ...children) {
  const place = focusPlace(el);
  el.replaceChildren();
  append(el, children);
  if (place) refocus(el, place);
  return el;
}

// What identifies an element across redraws: focus goes back to the
// same item's control even when a list is drawn in another order, and is
// never guessed for an element without one (nor its ancestors).
const IDENTITY = ['id', 'data-account', 'data-bot', 'data-trade', 'data-broker', 'data-tf'];

function focusPlace(el) {
  const a = document.activeElement;
  if (!a || a === el || !el.contains(a)) return null;
  const path = [];
  for (let n = a; n && n !== el; n = n.parentElement) {
    const key = IDENTITY.find((k) => n.hasAttribute(k));
    if (key) return {sel: `[${key}="${CSS.escape(n.getAttribute(key))}"]`, path, tag: a.tagName};
    path.unshift(Array.prototype.indexOf.call(n.parentElement.children, n));
  }
  return null;
}

function refocus(el, {sel, path, tag}) {
  let n = el.querySelector(sel);
  for (const i of path) n = n && n.children[i];
  if (n && n.tagName === tag && n !== document.activeElement) n.focus({preventScroll: true});
}

/**
 * Marks a button busy while its request runs, or no longer. It says it
 * is unavailable (aria-disabled) but keeps focus: a disabled button would
 * drop the keyboard's focus to the top of the page. Handlers check
 * isBusy, as a disabled button would not have fired.
 */
export function setBusy(btn, on) {
  if (on) btn.setAttribute('aria-disabled', 'true');
  else btn.removeAttribute('aria-disabled');
}

/** Whether setBusy marked btn busy. */
export function isBusy(btn) {
  return btn.getAttribute('aria-disabled') === 'true';
}

/**
 * Puts focus on a page's first field when the page opens, unless the
 * user has it on a control outside the page (the header's language
 * picker, which redraws the page in the new language).
 */
export function autofocus(page, el) {
  const a = document.activeElement;
  if (!a || a === document.body || page.contains(a)) el.focus();
}

/** A unique id for label/for pairs. */
let seq = 0;
export function uid(prefix = 'f') {
  seq += 1;
  return `${prefix}-${seq}`;
}

/** A labelled form field; returns {wrap, input, error}. */
export function field(label, input, hint) {
  const id = input.id || uid();
  input.id = id;
  const error = h('p', {class: 'field-error', id: id + '-err', role: 'alert', hidden: true});
  const hintEl = hint ? h('p', {class: 'hint', id: id + '-hint'}, hint) : null;
  input.setAttribute('aria-describedby', [hintEl ? id + '-hint' : '', id + '-err'].filter(Boolean).join(' '));
  const wrap = h('div', {class: 'field'}, h('label', {for: id}, label), input, hintEl, error);
  return {wrap, input, error};
}

/** Shows msg under a field (or clears it with ''). */
export function setFieldError(f, msg) {
  f.error.textContent = msg || '';
  f.error.hidden = !msg;
  if (msg) f.input.setAttribute('aria-invalid', 'true');
  else f.input.removeAttribute('aria-invalid');
}
