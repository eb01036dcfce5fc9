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

/** Replaces el's children. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
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
