// Notices: a polite live region screen readers announce, each notice
// removed after a while. Text only.
import {h} from './dom.js';

let region = null;

export function toastRegion() {
  if (!region) region = h('div', {class: 'toasts', role: 'status', 'aria-live': 'polite', id: 'toasts'});
  return region;
}

/** kind: info | ok | warn | error */
export function toast(text, kind = 'info', ms = 6000) {
  const el = h('div', {class: 'toast ' + kind}, text);
  toastRegion().appendChild(el);
  setTimeout(() => el.remove(), ms);
  return el;
}
