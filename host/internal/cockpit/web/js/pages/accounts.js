// Brokers and accounts: the brokers the plan includes (the others locked,
// with the plan that unlocks them), a connect form generated from the
// broker's credential schema, the second-factor prompt, and each
// account's live status and balance.
import {h, mount, field, setFieldError, setBusy, isBusy} from '../dom.js';
import {api} from '../api.js';
import {t, money} from '../i18n.js';
import {schemaFields, errorField} from '../forms.js';

export async function render({root, app}) {
  const [brokers, plans, accts] = await Promise.all([
    api('GET', '/api/v2/brokers'), api('GET', '/api/v2/plans'), api('GET', '/api/v2/user/accounts'),
  ]);
  const ent = app.user.subscription.entitlements;
  // A broker answer may say itself what the caller's plan allows of it
  // (access: included, modes, the plans that include it); otherwise the
  // entitlements and the plan list tell.
  const allowed = (b) => (b.access ? b.access.included : ent.brokers.includes('*') || ent.brokers.includes(b.name));
  const unlockPlan = (b) => (b.access ? b.access.plans[0] : plans.items.find((p) => p.brokers.includes('*') || p.brokers.includes(b.name)));
  const hasReal = (b) => (b.modes ? b.modes.includes('real') : Boolean(b.real_accounts));
  const realAllowed = (b) => (b.access ? b.access.modes.includes('real') : hasReal(b) && ent.live_trading);
  const secret = (f) => Boolean(f.sensitive ?? f.secret);
  const accounts = new Map(accts.items.map((a) => [a.id, a]));
  // Accounts show the broker's display name, as the broker cards do.
  const brokerName = (name) => (brokers.items.find((b) => b.name === name) || {}).display_name || name;

  const listEl = h('div', {class: 'accounts', id: 'account-list'});
  // Where focus goes when the account that had it is disconnected.
  const listHead = h('h2', {id: 'accts-h', tabindex: '-1'}, t('acct.yours'));
  const formSlot = h('div', {id: 'connect-slot'});
  const drawList = () => {
    const rows = [...accounts.values()].filter((a) => a.status !== 'disconnected').sort((a, b) => b.id - a.id);
    mount(listEl, rows.length ? rows.map((a) => accountCard(a)) : h('p', {class: 'empty'}, t('acct.none')));
  };

  const accountCard = (a) => {
    const reason = h('p', {class: 'form-error', role: 'alert', hidden: true});
    let armed = false;
    const disc = h('button', {type: 'button', class: 'btn ghost small', onclick: async () => {
      if (isBusy(disc)) return;
      // Two clicks: the first asks (no modal dialog to trap the keyboard).
      if (!armed) {
        armed = true;
        disc.textContent = t('acct.confirmDisconnect');
        disc.classList.add('danger');
        setTimeout(() => {
          armed = false;
          disc.textContent = t('acct.disconnect');
          disc.classList.remove('danger');
        }, 5000);
        return;
      }
      setBusy(disc, true);
      try {
        await api('POST', '/api/v2/user/disconnect', {body: {account_id: a.id}});
        accounts.delete(a.id);
        app.toast(t('acct.disconnected', {login: a.login}), 'ok');
        drawList();
        listHead.focus();
      } catch (e) {
        setBusy(disc, false);
        reason.textContent = t('acct.refused') + ' ' + e.message;
        reason.hidden = false;
      }
    }}, t('acct.disconnect'));
    return h('article', {class: 'card account', dataset: {account: String(a.id), status: a.status}},
      h('div', {class: 'account-head'},
        h('strong', {class: 'account-login'}, a.login),
        h('span', {class: 'badge ' + a.status}, t('status.' + a.status))),
      h('dl', {class: 'kv'},
        h('dt', null, t('acct.broker')), h('dd', null, brokerName(a.broker)),
        h('dt', null, t('acct.mode')), h('dd', null, t('mode.' + a.mode)),
        h('dt', null, t('acct.balance')), h('dd', {class: 'balance num'}, a.balance === null ? '—' : money(a.balance, a.currency)),
        a.status_reason ? [h('dt', null, t('acct.reason')), h('dd', null, a.status_reason)] : null),
      h('div', {class: 'row'}, disc), reason);
  };

  // The connect form opens under the broker's card; closing it (Cancel,
  // or connected) gives focus back to that card.
  const connectForm = (b, opener) => {
    const close = () => {
      mount(formSlot);
      opener.focus();
    };
    const creds = b.credentials.filter((f) => f.name !== 'code').map((f) => ({...f, sensitive: secret(f)}));
    const sf = schemaFields(creds, {}, {autocomplete: 'username'});
    const realOK = realAllowed(b);
    const modeName = 'mode-' + b.name;
    const mode = h('fieldset', {class: 'modes'}, h('legend', null, t('acct.mode')),
      h('label', null, h('input', {type: 'radio', name: modeName, value: 'practice', checked: true}), ' ', t('mode.practice')),
      h('label', {class: realOK ? null : 'disabled'}, h('input', {type: 'radio', name: modeName, value: 'real', disabled: !realOK}), ' ', t('mode.real'),
        realOK ? null : h('span', {class: 'muted'}, ' — ', hasReal(b) ? t('acct.realNeedsPlan') : t('acct.realUnsupported'))));
    const codeField = field(t('acct.code'), h('input', {type: 'text', name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code'}), t('acct.codeHint'));
    codeField.wrap.hidden = true;
    codeField.wrap.id = 'twofa';
    const formError = h('p', {class: 'form-error', role: 'alert', hidden: true});
    const submit = h('button', {type: 'submit', class: 'btn primary'}, t('acct.connect'));
    const form = h('form', {class: 'card connect', novalidate: true, dataset: {broker: b.name}, onsubmit: async (e) => {
      e.preventDefault();
      if (isBusy(submit)) return;
      sf.clearErrors();
      setFieldError(codeField, '');
      formError.hidden = true;
      const credentials = sf.values(true);
      if (!codeField.wrap.hidden) {
        if (!codeField.input.value.trim()) {
          setFieldError(codeField, t('auth.required'));
          return;
        }
        credentials.code = codeField.input.value.trim();
      }
      setBusy(submit, true);
      try {
        const r = await api('POST', '/api/v2/user/account', {body: {broker: b.name, mode: form.querySelector(`input[name="${modeName}"]:checked`).value, credentials}});
        accounts.set(r.account.id, r.account);
        app.toast(t('acct.connected', {login: r.account.login}), 'ok');
        drawList();
        close();
      } catch (err) {
        setBusy(submit, false);
        if (err.code === 'second_factor_required') {
          codeField.wrap.hidden = false;
          codeField.input.focus();
          formError.textContent = t('acct.codeSent');
          formError.className = 'form-note';
          formError.hidden = false;
          return;
        }
        formError.className = 'form-error';
        // The host names a credential as credentials.<name>.
        const fname = (errorField(err, creds.map((c) => 'credentials.' + c.name)) || '').replace(/^credentials\./, '');
        if (fname && sf.fields.has(fname)) setFieldError(sf.fields.get(fname), err.message);
        else if (err.code === 'broker_auth_failed' && !codeField.wrap.hidden) setFieldError(codeField, err.message);
        else {
          formError.textContent = err.message;
          formError.hidden = false;
        }
      }
    }},
    h('h2', null, t('acct.connectTo', {broker: b.display_name || b.name})),
    b.description ? h('p', {class: 'muted'}, b.description) : null,
    sf.wrap, mode, codeField.wrap, formError,
    h('div', {class: 'row'}, submit, h('button', {type: 'button', class: 'btn ghost', onclick: close}, t('common.cancel'))));
    return form;
  };

  const brokerCards = brokers.items.map((b) => {
    const ok = allowed(b);
    const plan = ok ? null : unlockPlan(b);
    return h('button', {type: 'button', class: 'card broker' + (ok ? '' : ' locked'), dataset: {broker: b.name}, disabled: !ok,
      'aria-describedby': 'broker-' + b.name + '-state',
      onclick: (e) => {
        mount(formSlot, connectForm(b, e.currentTarget));
        formSlot.querySelector('input')?.focus();
      }},
    h('strong', null, b.display_name || b.name),
    h('span', {class: 'muted small'}, b.description),
    h('span', {class: 'broker-state', id: 'broker-' + b.name + '-state'},
      ok ? t('acct.included') : (plan ? t('acct.unlockWith', {plan: plan.name}) : t('acct.notOffered'))));
  });

  drawList();
  mount(root,
    h('h1', null, t('title.accounts')),
    h('section', {'aria-labelledby': 'brokers-h'}, h('h2', {id: 'brokers-h'}, t('acct.brokers')),
      h('p', {class: 'muted'}, t('acct.plan', {plan: ent.plan_id, n: ent.max_accounts || '∞'})),
      h('div', {class: 'brokers'}, brokerCards), formSlot),
    h('section', {'aria-labelledby': 'accts-h'}, listHead, listEl));

  const onAccount = (e) => {
    const a = e.detail;
    if (a.removed) accounts.delete(a.id);
    else accounts.set(a.id, a);
    drawList();
  };
  const resync = async () => {
    const r = await api('GET', '/api/v2/user/accounts');
    accounts.clear();
    for (const a of r.items) accounts.set(a.id, a);
    drawList();
  };
  app.live.addEventListener('account', onAccount);
  app.live.addEventListener('resync', resync);
  return () => {
    app.live.removeEventListener('account', onAccount);
    app.live.removeEventListener('resync', resync);
  };
}
