// Forms generated from a plugin's schema (a broker's credentials, a
// strategy's parameters): one input per field, typed and bounded as the
// schema says, with a place for the host's error about that field.
import {h, field, setFieldError} from './dom.js';
import {t} from './i18n.js';

/** The label of a schema field: its name, humanized. */
export function fieldLabel(name) {
  const s = name.replace(/[_-]+/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/**
 * schemaFields(fields, values, {prefix}) → {wrap, fields: Map(name → field), values()}
 * values() returns the typed values to send (numbers as numbers,
 * booleans as booleans, empty optional fields left out).
 */
export function schemaFields(fields, values = {}, opts = {}) {
  const map = new Map();
  const wrap = h('div', {class: 'schema-fields'});
  for (const f of fields) {
    let input;
    const v = values[f.name] ?? f.default ?? '';
    if (f.options && f.options.length) {
      input = h('select', {name: f.name}, (f.required ? [] : [h('option', {value: ''}, '—')])
        .concat(f.options.map((o) => h('option', {value: o, selected: o === v}, o))));
    } else if (f.type === 'bool') {
      input = h('input', {type: 'checkbox', name: f.name, checked: v === 'true' || v === true});
    } else if (f.type === 'int' || f.type === 'float') {
      input = h('input', {type: 'number', name: f.name, inputmode: f.type === 'int' ? 'numeric' : 'decimal',
        step: f.type === 'int' ? '1' : 'any', min: f.min ?? null, max: f.max ?? null, value: v, required: f.required || null});
    } else {
      input = h('input', {type: f.sensitive ? 'password' : 'text', name: f.name, value: f.sensitive ? '' : v,
        autocomplete: f.sensitive ? 'off' : (opts.autocomplete || 'off'), required: f.required || null, spellcheck: 'false'});
    }
    const hint = [f.description, bounds(f)].filter(Boolean).join(' · ');
    const fl = field(fieldLabel(f.name) + (f.required ? ' *' : ''), input, hint || null);
    fl.schema = f;
    map.set(f.name, fl);
    wrap.appendChild(fl.wrap);
  }
  return {
    wrap,
    fields: map,
    values(asText = false) {
      const out = {};
      for (const [name, fl] of map) {
        const f = fl.schema;
        if (f.type === 'bool') {
          out[name] = asText ? String(fl.input.checked) : fl.input.checked;
          continue;
        }
        const raw = fl.input.value.trim();
        if (raw === '') continue;
        out[name] = !asText && (f.type === 'int' || f.type === 'float') && Number.isFinite(Number(raw)) ? Number(raw) : raw;
      }
      return out;
    },
    clearErrors() {
      for (const fl of map.values()) setFieldError(fl, '');
    },
  };
}

function bounds(f) {
  if (f.min !== undefined && f.max !== undefined) return t('form.between', {min: f.min, max: f.max});
  if (f.min !== undefined) return t('form.atLeast', {min: f.min});
  if (f.max !== undefined) return t('form.atMost', {max: f.max});
  return '';
}

/**
 * Finds the field an API error is about: details.field ("params.period",
 * "amount"), else a field named at the start of the message
 * ("period: must be…").
 */
export function errorField(err, names) {
  const f = err.field;
  if (f) return f;
  const m = /^([a-z_][a-z0-9_.]*)\s*[:]/i.exec(err.message || '');
  if (m && names.includes(m[1])) return m[1];
  for (const n of names) {
    const short = n.split('.').pop();
    if (new RegExp('\\b' + short.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '\\b').test(err.message || '')) return n;
  }
  return null;
}
