// Settings: risk limits, API keys (the secret is shown once), plan and
// subscription, language and time zone.
import {h, mount, field, setFieldError} from '../dom.js';
import {api} from '../api.js';
import {t, money, dateTime, timeZone, duration} from '../i18n.js';
import {errorField} from '../forms.js';

const LIMITS = [
  {name: 'max_stake', kind: 'money'}, {name: 'max_daily_loss', kind: 'money'}, {name: 'max_open_trades', kind: 'count'},
  {name: 'max_trades_per_day', kind: 'count'}, {name: 'cooldown_losses', kind: 'count'}, {name: 'cooldown_seconds', kind: 'count'},
];

export async function render({root, app}) {
  const [limits, keys, plans, sub] = await Promise.all([
    api('GET', '/api/v2/user/limits'), api('GET', '/api/v2/user/api-keys'), api('GET', '/api/v2/plans'), api('GET', '/api/v2/user/subscription'),
  ]);

  // Risk limits.
  const lf = new Map();
  for (const l of LIMITS) {
    lf.set(l.name, field(t('limit.' + l.name), h('input', {type: 'number', name: l.name, min: '0', step: l.kind === 'money' ? '0.01' : '1',
      inputmode: l.kind === 'money' ? 'decimal' : 'numeric', value: String(limits[l.name])}), t('limit.zeroOff')));
  }
  const limitsNote = h('p', {class: 'form-note', role: 'status'});
  const limitsForm = h('form', {class: 'card', novalidate: true, id: 'limits-form', onsubmit: async (e) => {
    e.preventDefault();
    for (const f of lf.values()) setFieldError(f, '');
    limitsNote.textContent = '';
    const body = {};
    for (const l of LIMITS) {
      const v = lf.get(l.name).input.value.trim();
      body[l.name] = v === '' ? 0 : Number(v);
    }
    try {
      await api('PUT', '/api/v2/user/limits', {body});
      limitsNote.textContent = t('settings.saved');
    } catch (err) {
      const f = lf.get(errorField(err, LIMITS.map((l) => l.name)));
      if (f) setFieldError(f, err.message);
      else limitsNote.textContent = err.message;
    }
  }}, h('h2', null, t('settings.limits')), h('p', {class: 'muted small'}, t('settings.limitsHint')),
  h('div', {class: 'grid2'}, [...lf.values()].map((f) => f.wrap)), limitsNote, h('button', {type: 'submit', class: 'btn primary'}, t('common.save')));

  // API keys.
  const keyList = h('ul', {class: 'keys', id: 'api-keys'});
  const secretBox = h('div', {class: 'secret', id: 'key-secret', hidden: true, role: 'status'});
  const drawKeys = (items) => mount(keyList, items.length ? items.map((k) => {
    const revoke = h('button', {type: 'button', class: 'btn ghost small', onclick: async () => {
      revoke.disabled = true;
      await api('DELETE', '/api/v2/user/api-keys/' + k.id);
      drawKeys((await api('GET', '/api/v2/user/api-keys')).items);
    }}, t('settings.revoke'));
    return h('li', {class: 'key', dataset: {key: String(k.id)}}, h('strong', null, k.name), ' ', h('code', null, k.prefix + '…'), ' ',
      h('span', {class: 'muted small'}, k.scopes.join(', '), ' · ', t('settings.lastUsed'), ' ', k.last_used_at ? dateTime(k.last_used_at) : '—'), ' ', revoke);
  }) : h('li', {class: 'empty'}, t('settings.noKeys')));
  drawKeys(keys.items);
  const keyName = field(t('settings.keyName'), h('input', {type: 'text', name: 'key-name', maxlength: '64', autocomplete: 'off'}));
  const scopes = ['read', 'trade', 'bots'].concat(app.user.role === 'admin' ? ['admin'] : []);
  const scopeBoxes = scopes.map((s) => h('label', {class: 'check'}, h('input', {type: 'checkbox', name: 'scope', value: s, checked: s === 'read'}), ' ', t('scope.' + s)));
  const keyErr = h('p', {class: 'form-error', role: 'alert', hidden: true});
  const keyForm = h('form', {class: 'key-form', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    setFieldError(keyName, '');
    keyErr.hidden = true;
    const chosen = scopeBoxes.map((l) => l.querySelector('input')).filter((i) => i.checked).map((i) => i.value);
    try {
      const r = await api('POST', '/api/v2/user/api-keys', {body: {name: keyName.input.value.trim(), scopes: chosen}});
      // The secret is shown here once and kept nowhere.
      const code = h('code', {class: 'secret-value'}, r.api_key.secret);
      mount(secretBox, h('p', null, t('settings.secretOnce')), code, ' ',
        h('button', {type: 'button', class: 'btn small', onclick: () => navigator.clipboard?.writeText(r.api_key.secret)}, t('settings.copy')),
        h('button', {type: 'button', class: 'btn ghost small', onclick: () => {
          mount(secretBox);
          secretBox.hidden = true;
        }}, t('settings.done')));
      secretBox.hidden = false;
      keyName.input.value = '';
      drawKeys((await api('GET', '/api/v2/user/api-keys')).items);
    } catch (err) {
      if (errorField(err, ['name']) === 'name') setFieldError(keyName, err.message);
      else {
        keyErr.textContent = err.message;
        keyErr.hidden = false;
      }
    }
  }}, keyName.wrap, h('fieldset', {class: 'scopes'}, h('legend', null, t('settings.scopes')), scopeBoxes), keyErr,
  h('button', {type: 'submit', class: 'btn primary'}, t('settings.createKey')));

  // Plan.
  const ent = sub.entitlements;
  const planCards = plans.items.map((p) => h('li', {class: 'card plan' + (p.id === sub.plan_id ? ' current' : ''), dataset: {plan: p.id}},
    h('strong', null, p.name), ' ', p.id === sub.plan_id ? h('span', {class: 'badge running'}, t('settings.current')) : null,
    h('p', {class: 'num'}, p.price > 0 ? money(p.price, p.currency) + ' / ' + duration(p.period_days * 86400) : t('settings.free')),
    h('p', {class: 'muted small'}, t('settings.planLine', {bots: p.max_bots || '∞', accounts: p.max_accounts || '∞',
      brokers: p.brokers.join(', '), live: p.live_trading ? t('settings.live') : t('settings.practiceOnly')}))));

  mount(root, h('h1', null, t('title.settings')),
    limitsForm,
    h('section', {class: 'card', 'aria-labelledby': 'keys-h'}, h('h2', {id: 'keys-h'}, t('settings.keys')), h('p', {class: 'muted small'}, t('settings.keysHint')),
      secretBox, keyList, keyForm),
    h('section', {class: 'card', 'aria-labelledby': 'plan-h'}, h('h2', {id: 'plan-h'}, t('settings.plan')),
      h('p', null, t('settings.planNow', {plan: sub.plan_id, status: t('sub.' + sub.status)}),
        sub.current_period_end ? ' · ' + t('settings.until', {at: dateTime(sub.current_period_end)}) : ''),
      h('p', {class: 'muted small'}, t('settings.ent', {bots: ent.max_bots || '∞', accounts: ent.max_accounts || '∞', brokers: ent.brokers.join(', ')})),
      h('ul', {class: 'plans'}, planCards), h('p', {class: 'muted small'}, t('settings.upgrade'))),
    h('section', {class: 'card'}, h('h2', null, t('settings.region')), h('p', null, t('settings.tz', {tz: timeZone()}))));
  return null;
}
