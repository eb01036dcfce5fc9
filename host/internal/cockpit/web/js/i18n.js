// Languages and locale formatting. The language is the user's choice
// (kept in localStorage; it is a preference, not a secret) or else the
// first of the browser's languages we have; numbers, money and times use
// that language's conventions and the browser's time zone.
import en from './lang/en.js';
import ptBR from './lang/pt-BR.js';
import es from './lang/es.js';

export const LANGS = [
  {code: 'en', name: 'English', dict: en},
  {code: 'pt-BR', name: 'Português (Brasil)', dict: ptBR},
  {code: 'es', name: 'Español', dict: es},
];

const KEY = 'stc.lang';
let current = LANGS[0];

function pick(tag) {
  if (!tag) return null;
  const lower = tag.toLowerCase();
  return LANGS.find((l) => l.code.toLowerCase() === lower) ||
    LANGS.find((l) => l.code.split('-')[0] === lower.split('-')[0]) || null;
}

/** Chooses the language: saved choice, else the browser's. */
export function initLang() {
  let saved = null;
  try {
    saved = localStorage.getItem(KEY);
  } catch {
    saved = null;
  }
  current = pick(saved) || (navigator.languages || [navigator.language]).map(pick).find(Boolean) || LANGS[0];
  document.documentElement.lang = current.code;
}

export function lang() {
  return current.code;
}

export function setLang(code) {
  const l = pick(code);
  if (!l) return;
  current = l;
  try {
    localStorage.setItem(KEY, l.code);
  } catch {
    // private mode: the choice lasts this page only
  }
  document.documentElement.lang = l.code;
  fmtCache.clear();
}

/** t('key', {n: 3}) → the text in the current language ({n} replaced). */
export function t(key, vars) {
  let s = current.dict[key];
  if (s === undefined) s = en[key];
  if (s === undefined) s = key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  return s;
}

const fmtCache = new Map();
function fmt(kind, opts) {
  const k = kind + JSON.stringify(opts);
  let f = fmtCache.get(k);
  if (!f) {
    f = kind === 'n' ? new Intl.NumberFormat(current.code, opts) : new Intl.DateTimeFormat(current.code, opts);
    fmtCache.set(k, f);
  }
  return f;
}

export function money(v, currency) {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  return fmt('n', {style: 'currency', currency: currency || 'USD'}).format(v);
}

export function signedMoney(v, currency) {
  if (v === null || v === undefined) return '—';
  return fmt('n', {style: 'currency', currency: currency || 'USD', signDisplay: 'exceptZero'}).format(v);
}

export function num(v, digits = 2) {
  if (v === null || v === undefined) return '—';
  return fmt('n', {minimumFractionDigits: 0, maximumFractionDigits: digits}).format(v);
}

export function price(v) {
  if (v === null || v === undefined) return '—';
  return fmt('n', {minimumFractionDigits: 2, maximumFractionDigits: 6}).format(v);
}

/** pct(85) → "85%" (the value is in percent). */
export function pct(v) {
  if (v === null || v === undefined) return '—';
  return fmt('n', {style: 'percent', maximumFractionDigits: 1}).format(v / 100);
}

export function dateTime(v) {
  if (!v) return '—';
  return fmt('d', {dateStyle: 'short', timeStyle: 'medium'}).format(new Date(v));
}

export function time(v) {
  if (!v) return '—';
  return fmt('d', {timeStyle: 'medium'}).format(new Date(v));
}

export function date(v) {
  return fmt('d', {dateStyle: 'medium'}).format(new Date(v));
}

/** The browser's time zone, shown in settings. */
export function timeZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** 75 → "1:15"; a countdown. */
export function countdown(seconds) {
  const s = Math.max(0, Math.round(seconds));
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, '0')}`;
}

/** 60 → "1 min", 900 → "15 min", 45 → "45 s". */
export function duration(seconds) {
  if (seconds % 3600 === 0) return fmt('n', {style: 'unit', unit: 'hour', unitDisplay: 'short'}).format(seconds / 3600);
  if (seconds % 60 === 0) return fmt('n', {style: 'unit', unit: 'minute', unitDisplay: 'short'}).format(seconds / 60);
  return fmt('n', {style: 'unit', unit: 'second', unitDisplay: 'short'}).format(seconds);
}
