// One bot: its configuration, stats, start/stop and a journal of its
// recent signals, status changes and orders: what the host's journal
// (GET /api/v2/bots/{id}/journal) holds, then what the live events bring.
import {h, mount, setBusy, isBusy} from '../dom.js';
import {api} from '../api.js';
import {t, money, signedMoney, pct, dateTime, time} from '../i18n.js';
import {botStatus, toggleBot, botStats} from '../bots.js';

export async function render({root, params, app}) {
  const id = Number(params[0]);
  let bot;
  try {
    bot = (await api('GET', '/api/v2/bots/' + id)).bot;
  } catch (e) {
    if (e.status !== 404) throw e;
    mount(root, h('p', {class: 'empty'}, t('bots.notFound')), h('a', {href: '/bots'}, t('nav.bots')));
    return null;
  }
  const [stats, trades, past] = await Promise.all([botStats(), api('GET', `/api/v2/user/trades?bot_id=${id}&limit=30`),
    api('GET', `/api/v2/bots/${id}/journal?limit=100`).catch((e) => {
      if (e.status === 404) return {items: []}; // a host without the event log
      throw e;
    })]);
  const journal = []; // {at, kind, text}
  const orders = new Map(trades.items.map((x) => [x.id, {trade: x, at: x.closed_at || x.opened_at || x.created_at}]));
  // The journal endpoint holds every state the bot went through (oldest
  // last); what changed between two of its snapshots is the entry.
  let prev = null;
  for (const e of past.items.slice().reverse()) {
    if (e.kind === 'bot' && e.bot) {
      noteBot(journal, prev, e.bot, e.at);
      prev = e.bot;
    } else if (e.kind === 'trade' && e.trade) {
      orders.set(e.trade.id, {trade: e.trade, at: e.at});
    }
  }
  if (!past.items.length && bot.last_signal_at) journal.push({at: bot.last_signal_at, kind: 'signal', text: t('bots.signal', {signal: bot.last_signal})});

  const head = h('div', {class: 'page-head'});
  const statsEl = h('dl', {class: 'kv stats'});
  const journalEl = h('ol', {class: 'journal', id: 'journal', 'aria-live': 'polite'});
  const err = h('p', {class: 'form-error', role: 'alert', hidden: true});
  const drawHead = () => {
    // The toggle is rebuilt: a keyboard user who pressed it keeps focus.
    const refocus = document.activeElement && document.activeElement.id === 'bot-toggle';
    const btn = h('button', {type: 'button', class: 'btn ' + (bot.status === 'running' ? 'ghost' : 'primary'), id: 'bot-toggle',
      onclick: async () => {
        if (isBusy(btn)) return;
        setBusy(btn, true);
        err.hidden = true;
        try {
          bot = await toggleBot(bot);
          drawHead(); // the new status and label; focus stays on the button
          draw();
        } catch (e) {
          setBusy(btn, false);
          err.textContent = e.message;
          err.hidden = false;
        }
      }}, bot.status === 'running' ? t('bots.stop') : t('bots.start'));
    mount(head, h('h1', {class: 'bot-name'}, bot.name), botStatus(bot),
      h('div', {class: 'row'}, btn, h('a', {class: 'btn ghost', href: `/bots/${id}/edit`}, t('bots.edit'))));
    if (refocus) btn.focus();
  };
  // draw redraws what has no focusable element; the head (with the
  // start/stop button) only when the bot's status or name changed, so a
  // keyboard user's focus survives the bot's signals.
  const draw = () => {
    const st = stats.get(id);
    mount(statsEl,
      h('dt', null, t('bots.strategy')), h('dd', null, bot.strategy + ' ' + Object.entries(bot.params).map(([k, v]) => `${k}=${v}`).join(' ')),
      h('dt', null, t('trade.symbol')), h('dd', null, `${bot.symbol} · ${bot.timeframe}`),
      h('dt', null, t('trade.amount')), h('dd', {class: 'num'}, money(bot.amount)),
      h('dt', null, t('bots.progression')), h('dd', null, bot.progression.kind === 'none' ? t('prog.none')
        : `${t('prog.' + bot.progression.kind)} ×${bot.progression.multiplier ?? ''} · ${bot.progression.max_steps} · ${money(bot.progression.max_stake)}`),
      h('dt', null, t('stats.trades')), h('dd', {class: 'num'}, st ? String(st.trades) : '0'),
      h('dt', null, t('stats.winRate')), h('dd', {class: 'num'}, st && st.trades ? pct(st.win_rate * 100) : '—'),
      h('dt', null, t('stats.profit')), h('dd', {class: 'num'}, st ? signedMoney(st.profit) : '—'),
      h('dt', null, t('stats.drawdown')), h('dd', {class: 'num'}, st ? money(st.max_drawdown) : '—'),
      bot.last_error ? [h('dt', null, t('bots.lastError')), h('dd', null, bot.last_error)] : null);
    const entries = journal.concat([...orders.values()].map(({trade: x, at}) => ({at, kind: 'order',
      text: `${x.direction} ${x.symbol} ${money(x.amount)} · ${t('status.' + x.status)}${x.profit !== null ? ' ' + signedMoney(x.profit) : ''}`, trade: x.id})))
      .sort((a, b) => Date.parse(b.at) - Date.parse(a.at)).slice(0, 50);
    mount(journalEl, entries.length ? entries.map((j) => h('li', {class: 'j-' + j.kind, dataset: j.trade ? {trade: String(j.trade)} : null},
      h('time', {datetime: j.at}, time(j.at)), ' ', h('span', {class: 'badge'}, t('bots.j.' + j.kind)), ' ', j.text)) : h('li', {class: 'empty'}, t('bots.journalEmpty')));
  };
  drawHead();
  draw();
  mount(root, head, err, h('section', {class: 'card'}, statsEl),
    h('section', {class: 'card', 'aria-labelledby': 'journal-h'}, h('h2', {id: 'journal-h'}, t('bots.journal')),
      h('p', {class: 'muted small'}, t('bots.created', {at: dateTime(bot.created_at)})), journalEl));

  const onBot = (e) => {
    if (e.detail.id !== id) return;
    const b = e.detail;
    if (b.status === 'deleted') {
      mount(root, h('p', {class: 'empty'}, t('bots.notFound')), h('a', {href: '/bots'}, t('nav.bots')));
      return;
    }
    noteBot(journal, bot, b, b.updated_at || new Date().toISOString());
    const headChanged = b.status !== bot.status || b.name !== bot.name;
    bot = b;
    if (headChanged) drawHead();
    draw();
  };
  const onTrade = async (e) => {
    if (e.detail.bot_id !== id) return;
    const x = e.detail;
    orders.set(x.id, {trade: x, at: x.closed_at || x.opened_at || x.created_at});
    if (['won', 'lost', 'draw'].includes(e.detail.status)) {
      const s = await botStats();
      stats.clear();
      for (const [k, v] of s) stats.set(k, v);
    }
    draw();
  };
  app.live.addEventListener('bot', onBot);
  app.live.addEventListener('trade', onTrade);
  return () => {
    app.live.removeEventListener('bot', onBot);
    app.live.removeEventListener('trade', onTrade);
  };
}

// noteBot adds to journal what changed from bot snapshot a to b: a new
// signal, a new status (with its reason).
function noteBot(journal, a, b, at) {
  if (b.last_signal_at && (!a || b.last_signal_at !== a.last_signal_at)) {
    journal.push({at: b.last_signal_at, kind: 'signal', text: t('bots.signal', {signal: b.last_signal})});
  }
  if (!a || b.status !== a.status || b.status_reason !== a.status_reason) {
    journal.push({at, kind: 'status', text: t('status.' + b.status) + (b.status_reason ? ' · ' + b.status_reason : '')});
  }
}
