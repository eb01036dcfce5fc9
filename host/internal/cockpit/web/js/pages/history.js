// History and analytics: the trade table with filters, paging and CSV
// export; equity curve, P&L per day, win rate by symbol and by hour of
// day, and the per-bot comparison.
import {h, mount, field, setBusy, isBusy} from '../dom.js';
import {api, listAll} from '../api.js';
import {t, lang, money, signedMoney, pct, dateTime, price as fmtPrice, num, timeZone} from '../i18n.js';
import {tradesCSV, download} from '../csv.js';
import {analyze, fetchAnalytics} from '../analytics.js';
import {loadLib} from '../chart.js';
import {cssVar} from '../theme.js';

const STATUSES = ['pending', 'open', 'won', 'lost', 'draw', 'rejected', 'unknown', 'unresolved'];
const PAGE = 25;
const ANALYZE_MAX = 5000;

export async function render({root, app}) {
  const [bots, stats] = await Promise.all([listAll('/api/v2/bots'), api('GET', '/api/v2/user/stats')]);
  const botName = new Map(bots.map((b) => [b.id, b.name]));
  const q = new URLSearchParams(location.search);

  const botSel = h('select', {name: 'bot'}, h('option', {value: ''}, t('hist.allBots')), h('option', {value: 'manual', selected: q.get('bot') === 'manual'}, t('hist.manual')),
    bots.map((b) => h('option', {value: String(b.id), selected: q.get('bot') === String(b.id)}, b.name)));
  const symIn = h('input', {type: 'text', name: 'symbol', value: q.get('symbol') || '', placeholder: 'EURUSD-OTC', spellcheck: 'false', autocomplete: 'off'});
  const statusSel = h('select', {name: 'status'}, h('option', {value: ''}, t('hist.allStatuses')),
    STATUSES.map((s) => h('option', {value: s, selected: q.get('status') === s}, t('status.' + s))));
  const fromIn = h('input', {type: 'date', name: 'from', value: q.get('from') || ''});
  const toIn = h('input', {type: 'date', name: 'to', value: q.get('to') || ''});
  const filters = [field(t('hist.bot'), botSel), field(t('trade.symbol'), symIn), field(t('hist.status'), statusSel),
    field(t('hist.from'), fromIn), field(t('hist.to'), toIn)];
  const tableBody = h('tbody');
  const pager = h('div', {class: 'row pager'});
  const exportBtn = h('button', {type: 'button', class: 'btn ghost', id: 'export-csv'}, t('hist.export'));
  const note = h('p', {class: 'muted small', 'aria-live': 'polite'});
  const analyticsEl = h('section', {class: 'analytics', 'aria-labelledby': 'an-h'});

  const query = () => {
    const p = new URLSearchParams();
    if (botSel.value === 'manual') p.set('manual', 'true');
    else if (botSel.value) p.set('bot_id', botSel.value);
    if (symIn.value.trim()) p.set('symbol', symIn.value.trim());
    if (statusSel.value) p.set('status', statusSel.value);
    // Dates are the user's local days.
    if (fromIn.value) p.set('from', new Date(fromIn.value + 'T00:00:00').toISOString().replace(/\.\d+Z$/, 'Z'));
    if (toIn.value) p.set('to', new Date(new Date(toIn.value + 'T00:00:00').getTime() + 86400000).toISOString().replace(/\.\d+Z$/, 'Z'));
    return p;
  };
  const cursors = [null];
  let page = 0;

  async function load() {
    const p = query();
    p.set('limit', String(PAGE));
    if (cursors[page]) p.set('cursor', cursors[page]);
    let r;
    try {
      r = await api('GET', '/api/v2/user/trades?' + p);
    } catch (e) {
      note.textContent = e.message;
      return;
    }
    cursors[page + 1] = r.next_cursor;
    mount(tableBody, r.items.length ? r.items.map(row) : h('tr', null, h('td', {colspan: '9', class: 'empty'}, t('hist.none'))));
    mount(pager,
      h('button', {type: 'button', class: 'btn ghost small', disabled: page === 0, onclick: () => {
        page -= 1;
        load();
      }}, '← ', t('hist.prev')),
      h('span', {class: 'muted small'}, t('hist.page', {n: page + 1})),
      h('button', {type: 'button', class: 'btn ghost small', disabled: !r.next_cursor, onclick: () => {
        page += 1;
        load();
      }}, t('hist.next'), ' →'));
  }

  const row = (x) => h('tr', {dataset: {trade: String(x.id), status: x.status}},
    h('td', null, dateTime(x.opened_at || x.created_at)),
    h('td', null, x.bot_id ? (botName.get(x.bot_id) || '#' + x.bot_id) : t('hist.manual')),
    h('td', null, x.symbol),
    h('td', null, h('span', {class: 'dir ' + x.direction.toLowerCase()}, x.direction)),
    h('td', {class: 'num'}, money(x.amount)),
    h('td', {class: 'num'}, fmtPrice(x.open_price)),
    h('td', {class: 'num'}, fmtPrice(x.close_price)),
    h('td', null, h('span', {class: 'badge ' + x.status}, t('status.' + x.status))),
    h('td', {class: 'num'}, x.profit === null ? '—' : signedMoney(x.profit)));

  const apply = () => {
    const p = query();
    const shown = new URLSearchParams();
    for (const [k, el] of [['bot', botSel], ['symbol', symIn], ['status', statusSel], ['from', fromIn], ['to', toIn]]) if (el.value) shown.set(k, el.value.trim());
    history.replaceState(null, '', '/history' + (shown.size ? '?' + shown : ''));
    cursors.length = 1;
    page = 0;
    load();
    loadAnalytics(p);
  };
  for (const f of filters) f.input.addEventListener('change', apply);

  exportBtn.addEventListener('click', async () => {
    if (isBusy(exportBtn)) return;
    setBusy(exportBtn, true);
    note.textContent = t('hist.exporting');
    try {
      const all = await listAll('/api/v2/user/trades?' + query(), 100000);
      download(`stc-trades-${new Date().toISOString().slice(0, 10)}.csv`, tradesCSV(all));
      note.textContent = t('hist.exported', {n: all.length});
    } catch (e) {
      note.textContent = e.message;
    } finally {
      setBusy(exportBtn, false);
    }
  });

  let charts = [];
  async function loadAnalytics(p) {
    // The host's analytics routes cover every trade; they filter by bot
    // and dates only, so a symbol or status filter is computed here.
    let a = symIn.value.trim() || statusSel.value ? null : await fetchAnalytics(api, p, timeZone());
    if (!a) a = analyze(await listAll('/api/v2/user/trades?' + p, ANALYZE_MAX));
    for (const c of charts) c.remove();
    charts = [];
    const equityEl = h('div', {class: 'mini-chart', role: 'img', 'aria-label': t('an.equity')});
    const dailyEl = h('div', {class: 'mini-chart', role: 'img', 'aria-label': t('an.daily')});
    const rateRows = (rows, label) => h('table', {class: 'table compact'},
      h('thead', null, h('tr', null, h('th', {scope: 'col'}, label), h('th', {scope: 'col'}, t('stats.trades')), h('th', {scope: 'col'}, t('stats.winRate')), h('th', {scope: 'col'}, t('stats.profit')))),
      h('tbody', null, rows.length ? rows.map((r) => h('tr', null, h('th', {scope: 'row'}, r.key), h('td', {class: 'num'}, String(r.trades)),
        h('td', null, h('meter', {min: '0', max: '1', value: String(r.winRate), 'aria-label': pct(r.winRate * 100)}), ' ', h('span', {class: 'num'}, pct(r.winRate * 100))),
        h('td', {class: 'num'}, signedMoney(r.profit)))) : h('tr', null, h('td', {colspan: '4', class: 'empty'}, t('hist.none')))));
    const botRows = stats.bots.map((r) => h('tr', null, h('th', {scope: 'row'}, r.bot_id === null ? t('hist.manual') : (botName.get(r.bot_id) || '#' + r.bot_id)),
      h('td', {class: 'num'}, String(r.trades)), h('td', {class: 'num'}, r.trades ? pct(r.win_rate * 100) : '—'),
      h('td', {class: 'num'}, signedMoney(r.profit)), h('td', {class: 'num'}, money(r.max_drawdown))));
    mount(analyticsEl,
      h('h2', {id: 'an-h'}, t('an.title')),
      h('p', {class: 'muted small'}, t('an.basis', {n: num(a.count, 0)})),
      h('dl', {class: 'kv totals'}, h('dt', null, t('stats.trades')), h('dd', {class: 'num'}, String(a.count)),
        h('dt', null, t('stats.winRate')), h('dd', {class: 'num'}, a.decided ? pct(a.winRate * 100) : '—'),
        h('dt', null, t('stats.profit')), h('dd', {class: 'num'}, signedMoney(a.profit))),
      h('div', {class: 'an-grid'},
        h('div', {class: 'card'}, h('h3', null, t('an.equity')), equityEl),
        h('div', {class: 'card'}, h('h3', null, t('an.daily')), dailyEl),
        h('div', {class: 'card'}, h('h3', null, t('an.bySymbol')), rateRows(a.bySymbol, t('trade.symbol'))),
        h('div', {class: 'card'}, h('h3', null, t('an.byHour')), rateRows(a.byHour, t('an.hour'))),
        h('div', {class: 'card wide'}, h('h3', null, t('an.bots')), h('table', {class: 'table compact'},
          h('thead', null, h('tr', null, h('th', {scope: 'col'}, t('hist.bot')), h('th', {scope: 'col'}, t('stats.trades')), h('th', {scope: 'col'}, t('stats.winRate')),
            h('th', {scope: 'col'}, t('stats.profit')), h('th', {scope: 'col'}, t('stats.drawdown')))),
          h('tbody', null, botRows.length ? botRows : h('tr', null, h('td', {colspan: '5', class: 'empty'}, t('hist.none'))))))));
    if (!a.equity.length) return;
    const lib = await loadLib();
    const when = new Intl.DateTimeFormat(lang(), {dateStyle: 'short', timeStyle: 'short'});
    const day = new Intl.DateTimeFormat(lang(), {day: 'numeric', month: 'short'});
    const toDate = (x) => (typeof x === 'number' ? new Date(x * 1000) : typeof x === 'string' ? new Date(x + 'T12:00:00') : new Date(x.year, x.month - 1, x.day));
    const opts = {autoSize: true, layout: {background: {type: lib.ColorType.Solid, color: cssVar('--surface')}, textColor: cssVar('--text-muted'), attributionLogo: false},
      grid: {vertLines: {visible: false}, horzLines: {color: cssVar('--grid')}}, rightPriceScale: {borderVisible: false},
      timeScale: {borderVisible: false, timeVisible: true, tickMarkFormatter: (x) => day.format(toDate(x))},
      localization: {locale: lang(), timeFormatter: (x) => (typeof x === 'number' ? when : day).format(toDate(x)), priceFormatter: (v) => signedMoney(v)}};
    const eq = lib.createChart(equityEl, opts);
    eq.addSeries(lib.LineSeries, {color: cssVar('--accent'), lineWidth: 2}).setData(a.equity);
    eq.timeScale().fitContent();
    const daily = lib.createChart(dailyEl, opts);
    daily.addSeries(lib.HistogramSeries, {}).setData(a.daily.map((d) => ({...d, color: d.value >= 0 ? cssVar('--up') : cssVar('--down')})));
    daily.timeScale().fitContent();
    charts = [eq, daily];
  }

  mount(root,
    h('div', {class: 'page-head'}, h('h1', null, t('title.history')), exportBtn),
    h('form', {class: 'card filters', onsubmit: (e) => e.preventDefault()}, filters.map((f) => f.wrap)),
    note,
    h('div', {class: 'table-wrap card'}, h('table', {class: 'table', id: 'trades-table'},
      h('caption', {class: 'sr-only'}, t('title.history')),
      h('thead', null, h('tr', null, [t('hist.time'), t('hist.bot'), t('trade.symbol'), t('hist.dir'), t('trade.amount'), t('hist.open'), t('hist.close'), t('hist.status'), t('stats.profit')]
        .map((c) => h('th', {scope: 'col'}, c)))),
      tableBody), pager),
    analyticsEl);
  await load();
  loadAnalytics(query());
  return () => {
    for (const c of charts) c.remove();
  };
}
