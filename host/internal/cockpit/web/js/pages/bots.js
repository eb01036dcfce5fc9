// The bot list: status and reason, per-bot stats, start/stop.
import {h, mount, setBusy, isBusy} from '../dom.js';
import {api, listAll} from '../api.js';
import {t, signedMoney, pct, dateTime} from '../i18n.js';
import {botStatus, toggleBot, botStats} from '../bots.js';

export async function render({root, app}) {
  const [list, stats] = await Promise.all([listAll('/api/v2/bots'), botStats()]);
  const bots = new Map(list.map((b) => [b.id, b]));
  const body = h('div', {class: 'bot-list', id: 'bot-list'});
  const draw = () => {
    const rows = [...bots.values()].sort((a, b) => b.id - a.id);
    mount(body, rows.length ? rows.map(card) : h('p', {class: 'empty'}, t('bots.none')));
  };
  const card = (b) => {
    const st = stats.get(b.id);
    const err = h('p', {class: 'form-error', role: 'alert', hidden: true});
    const btn = h('button', {type: 'button', class: 'btn small ' + (b.status === 'running' ? 'ghost' : 'primary'), dataset: {action: b.status === 'running' ? 'stop' : 'start'},
      onclick: async () => {
        if (isBusy(btn)) return;
        setBusy(btn, true);
        try {
          bots.set(b.id, await toggleBot(b));
          draw();
        } catch (e) {
          setBusy(btn, false);
          err.textContent = e.message;
          err.hidden = false;
        }
      }}, b.status === 'running' ? t('bots.stop') : t('bots.start'));
    return h('article', {class: 'card bot', dataset: {bot: String(b.id)}},
      h('div', {class: 'bot-head'}, h('a', {href: '/bots/' + b.id, class: 'bot-name'}, b.name), botStatus(b)),
      h('p', {class: 'muted small'}, `${b.strategy} · ${b.symbol} · ${b.timeframe} · ${b.amount}`),
      h('dl', {class: 'kv compact'},
        h('dt', null, t('stats.trades')), h('dd', {class: 'num'}, st ? String(st.trades) : '0'),
        h('dt', null, t('stats.winRate')), h('dd', {class: 'num'}, st && st.trades ? pct(st.win_rate * 100) : '—'),
        h('dt', null, t('stats.profit')), h('dd', {class: 'num'}, st ? signedMoney(st.profit) : '—'),
        h('dt', null, t('bots.lastSignal')), h('dd', null, b.last_signal ? `${b.last_signal} · ${dateTime(b.last_signal_at)}` : '—')),
      h('div', {class: 'row'}, btn, h('a', {class: 'btn ghost small', href: `/bots/${b.id}/edit`}, t('bots.edit'))), err);
  };
  draw();
  mount(root, h('div', {class: 'page-head'}, h('h1', null, t('title.bots')), h('a', {class: 'btn primary', href: '/bots/new', id: 'new-bot'}, t('bots.new'))), body);
  const onBot = (e) => {
    if (e.detail.status === 'deleted') bots.delete(e.detail.id);
    else bots.set(e.detail.id, e.detail);
    draw();
  };
  const onTrade = async (e) => {
    if (e.detail.bot_id && ['won', 'lost', 'draw'].includes(e.detail.status)) {
      const s = await botStats();
      stats.clear();
      for (const [k, v] of s) stats.set(k, v);
      draw();
    }
  };
  const resync = async () => {
    const all = await listAll('/api/v2/bots');
    bots.clear();
    for (const b of all) bots.set(b.id, b);
    draw();
  };
  app.live.addEventListener('bot', onBot);
  app.live.addEventListener('trade', onTrade);
  app.live.addEventListener('resync', resync);
  return () => {
    app.live.removeEventListener('bot', onBot);
    app.live.removeEventListener('trade', onTrade);
    app.live.removeEventListener('resync', resync);
  };
}
