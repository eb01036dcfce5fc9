// Create or edit a bot. The parameter inputs are generated from the
// strategy's schema; every error the host returns is shown at the field
// it names (details.field: "name", "params.period", "limits.max_stake").
import {h, mount, field, setFieldError, setBusy, isBusy, autofocus} from '../dom.js';
import {api, idempotencyKey, listAll} from '../api.js';
import {t, duration, pct} from '../i18n.js';
import {schemaFields, errorField} from '../forms.js';

const TIMEFRAMES = ['1m', '5m', '15m', '30m', '1h', '4h', '1d'];

export async function render({root, params, app}) {
  const editing = params.length ? Number(params[0]) : null;
  const [strats, accts, bot] = await Promise.all([
    api('GET', '/api/v2/strategies'), listAll('/api/v2/user/accounts'),
    editing ? api('GET', '/api/v2/bots/' + editing).then((r) => r.bot) : null,
  ]);
  const ent = app.user.subscription.entitlements;
  const strategies = strats.items.filter((s) => ent.strategies.includes('*') || ent.strategies.includes(s.name));
  const accounts = accts.filter((a) => a.status !== 'disconnected');
  if (!accounts.length) {
    mount(root, h('div', {class: 'card empty-state'}, h('p', null, t('trade.noAccount')), h('a', {class: 'btn primary', href: '/accounts'}, t('trade.connectFirst'))));
    return null;
  }
  const v = bot || {name: '', strategy: (strategies[0] || {}).name, params: {}, account_id: accounts[0].id, symbol: '', timeframe: '1m',
    amount: 5, expiration: 60, limits: {}, progression: {kind: 'none'}};
  const fields = new Map(); // API field name → field
  const add = (name, f) => {
    fields.set(name, f);
    return f.wrap;
  };
  const text = (name, label, input, hint) => add(name, field(label, input, hint));
  const numIn = (name, value, attrs = {}) => h('input', {type: 'number', name, inputmode: 'decimal', step: 'any', value: value ?? '', ...attrs});

  const nameIn = h('input', {type: 'text', name: 'name', value: v.name, maxlength: '64', required: true, autocomplete: 'off'});
  const stratSel = h('select', {name: 'strategy'}, strategies.map((s) => h('option', {value: s.name, selected: s.name === v.strategy}, s.name)));
  const paramsSlot = h('fieldset', {class: 'params'}, h('legend', null, t('bots.params')));
  let paramForm = null;
  const drawParams = () => {
    const s = strategies.find((x) => x.name === stratSel.value);
    paramForm = schemaFields(s ? s.params : [], stratSel.value === v.strategy ? v.params : {});
    mount(paramsSlot, h('legend', null, t('bots.params')), s && s.description ? h('p', {class: 'muted small'}, s.description) : null, paramForm.wrap);
    for (const [n, f] of paramForm.fields) fields.set('params.' + n, f);
  };
  stratSel.addEventListener('change', drawParams);
  const acctSel = h('select', {name: 'account_id'}, accounts.map((a) => h('option', {value: String(a.id), selected: a.id === v.account_id}, `${a.broker} · ${a.login}`)));
  const symSel = h('select', {name: 'symbol'});
  const expSel = h('select', {name: 'expiration'});
  let symbols = [];
  const drawExpiry = () => {
    const ins = symbols.find((s) => s.symbol === symSel.value);
    const opts = ins ? ins.expirations : [60, 120, 300];
    mount(expSel, opts.map((s) => h('option', {value: String(s), selected: s === v.expiration}, duration(s))));
  };
  const loadSymbols = async () => {
    const a = accounts.find((x) => String(x.id) === acctSel.value);
    symbols = (await api('GET', '/api/v2/symbols?broker=' + encodeURIComponent(a.broker))).items;
    mount(symSel, symbols.map((s) => h('option', {value: s.symbol, selected: s.symbol === v.symbol}, `${s.symbol} · ${pct(s.payout)}`)));
    drawExpiry();
  };
  acctSel.addEventListener('change', loadSymbols);
  symSel.addEventListener('change', drawExpiry);
  const tfSel = h('select', {name: 'timeframe'}, TIMEFRAMES.map((x) => h('option', {value: x, selected: x === v.timeframe}, x)));
  const amountIn = numIn('amount', v.amount, {min: '0.01', step: '0.01', required: true});

  const L = v.limits || {};
  const limitInputs = {
    max_stake: numIn('max_stake', L.max_stake, {min: '0'}), max_daily_loss: numIn('max_daily_loss', L.max_daily_loss, {min: '0'}),
    max_open_trades: numIn('max_open_trades', L.max_open_trades, {min: '0', step: '1'}), max_trades_per_day: numIn('max_trades_per_day', L.max_trades_per_day, {min: '0', step: '1'}),
    cooldown_losses: numIn('cooldown_losses', L.cooldown_losses, {min: '0', step: '1'}), cooldown_candles: numIn('cooldown_candles', L.cooldown_candles, {min: '0', step: '1'}),
  };
  const P = v.progression || {kind: 'none'};
  const progKind = h('select', {name: 'progression.kind'}, ['none', 'martingale', 'soros'].map((k) => h('option', {value: k, selected: k === P.kind}, t('prog.' + k))));
  const progMult = numIn('multiplier', P.multiplier, {min: '1', max: '10'});
  const progSteps = numIn('max_steps', P.max_steps, {min: '1', step: '1'});
  const progMax = numIn('progression_max_stake', P.max_stake, {min: '0'});
  const progExtra = h('div', {class: 'grid2'});
  const drawProg = () => {
    progExtra.hidden = progKind.value === 'none';
    fields.get('progression.multiplier').wrap.hidden = progKind.value !== 'martingale';
  };
  progKind.addEventListener('change', drawProg);

  const formError = h('p', {class: 'form-error', role: 'alert', hidden: true});
  const submit = h('button', {type: 'submit', class: 'btn primary'}, editing ? t('common.save') : t('bots.create'));
  const key = idempotencyKey(); // one form, one bot, however often it is submitted
  const form = h('form', {class: 'card bot-form', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    if (isBusy(submit)) return;
    for (const f of fields.values()) setFieldError(f, '');
    formError.hidden = true;
    const numOrUndef = (el) => (el.value.trim() === '' ? undefined : Number(el.value));
    const limits = {};
    for (const [k, el] of Object.entries(limitInputs)) {
      const n = numOrUndef(el);
      if (n !== undefined) limits[k] = n;
    }
    const progression = {kind: progKind.value};
    if (progKind.value !== 'none') {
      if (progKind.value === 'martingale') progression.multiplier = numOrUndef(progMult);
      progression.max_steps = numOrUndef(progSteps) ?? 0;
      progression.max_stake = numOrUndef(progMax);
    }
    const body = {name: nameIn.value, strategy: stratSel.value, params: paramForm.values(), account_id: Number(acctSel.value),
      symbol: symSel.value, timeframe: tfSel.value, amount: numOrUndef(amountIn), expiration: Number(expSel.value), limits, progression};
    if (body.amount === undefined) {
      setFieldError(fields.get('amount'), t('auth.required'));
      return;
    }
    setBusy(submit, true);
    try {
      const r = editing ? await api('PATCH', '/api/v2/bots/' + editing, {body})
        : await api('POST', '/api/v2/bots', {body, headers: {'Idempotency-Key': key}});
      app.toast(editing ? t('bots.saved', {name: r.bot.name}) : t('bots.created2', {name: r.bot.name}), 'ok');
      app.navigate('/bots/' + r.bot.id);
    } catch (err) {
      setBusy(submit, false);
      const name = errorField(err, [...fields.keys()]);
      const f = name && fields.get(name);
      if (f) {
        // The host's message names the field; next to the input it need not.
        setFieldError(f, err.message.startsWith(name + ': ') ? err.message.slice(name.length + 2) : err.message);
        f.input.focus();
        if (f.wrap.closest('details')) f.wrap.closest('details').open = true;
      } else {
        formError.textContent = err.message;
        formError.hidden = false;
      }
    }
  }},
  text('name', t('bots.name'), nameIn),
  text('strategy', t('bots.strategy'), stratSel),
  paramsSlot,
  h('div', {class: 'grid2'}, text('account_id', t('trade.account'), acctSel), text('symbol', t('trade.symbol'), symSel),
    text('timeframe', t('trade.timeframe'), tfSel), text('expiration', t('trade.expiry'), expSel),
    text('amount', t('trade.amount'), amountIn, t('bots.amountHint'))),
  h('details', {class: 'more', open: P.kind !== 'none' || null}, h('summary', null, t('bots.progression')),
    text('progression.kind', t('prog.kind'), progKind, t('prog.hint')),
    h('div', null, progExtra)),
  h('details', {class: 'more', open: Object.values(L).some(Boolean) || null}, h('summary', null, t('bots.limits')),
    h('p', {class: 'muted small'}, t('bots.limitsHint')),
    h('div', {class: 'grid2'}, Object.entries(limitInputs).map(([k, el]) => text('limits.' + k, t('limit.' + k), el)))),
  formError,
  h('div', {class: 'row'}, submit, h('a', {class: 'btn ghost', href: editing ? '/bots/' + editing : '/bots'}, t('common.cancel'))));
  mount(progExtra, text('progression.multiplier', t('prog.multiplier'), progMult), text('progression.max_steps', t('prog.maxSteps'), progSteps),
    text('progression.max_stake', t('prog.maxStake'), progMax));
  drawParams();
  drawProg();
  await loadSymbols();
  mount(root, h('h1', null, editing ? t('bots.editTitle', {name: v.name}) : t('bots.newTitle')), form);
  autofocus(root, nameIn);
  return null;
}
