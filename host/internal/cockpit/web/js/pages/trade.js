// The trade view: symbol and timeframe pickers, the live chart with the
// user's trades, the ticket and the open trades with their countdown.
import {h, mount, setBusy} from '../dom.js';
import {api, idempotencyKey} from '../api.js';
import {t, money, signedMoney, pct, duration, countdown, price as fmtPrice} from '../i18n.js';
import {CandleChart, loadLib, tradeMarkText, TF_SECONDS} from '../chart.js';

const TIMEFRAMES = ['1m', '5m', '15m', '30m', '1h'];
const FINAL = ['won', 'lost', 'draw', 'rejected', 'unresolved'];
const PREF = 'stc.trade';

export async function render({root, app}) {
  const accts = (await api('GET', '/api/v2/user/accounts')).items.filter((a) => a.status !== 'disconnected');
  if (!accts.length) {
    mount(root, h('div', {class: 'card empty-state'}, h('h1', null, t('title.trade')), h('p', null, t('trade.noAccount')),
      h('a', {class: 'btn primary', href: '/accounts'}, t('trade.connectFirst'))));
    return null;
  }
  const pref = loadPref();
  let account = accts.find((a) => a.id === pref.account) || accts.find((a) => a.status === 'connected') || accts[0];
  let symbols = [];
  let symbol = pref.symbol;
  let tf = TIMEFRAMES.includes(pref.tf) ? pref.tf : '1m';
  let chart = null;
  let lib = null;
  const open = new Map(); // open and pending trades by id
  let offset = 0; // market clock − wall clock, learned from trades
  let disposed = false;

  const acctSel = h('select', {id: 'trade-account', onchange: async () => {
    account = accts.find((a) => String(a.id) === acctSel.value);
    savePref({account: account.id});
    await loadSymbols();
  }}, accts.map((a) => h('option', {value: String(a.id), selected: a.id === account.id}, `${a.broker} · ${a.login} · ${t('mode.' + a.mode)}`)));
  const balance = h('span', {class: 'balance num', id: 'trade-balance'});
  const symSel = h('select', {id: 'trade-symbol', onchange: () => {
    symbol = symSel.value;
    savePref({symbol});
    drawTicket();
    loadChart();
  }});
  const tfGroup = h('div', {class: 'segmented', role: 'radiogroup', 'aria-label': t('trade.timeframe')});
  const drawTF = () => mount(tfGroup, TIMEFRAMES.map((x) => h('button', {type: 'button', role: 'radio', 'aria-checked': x === tf ? 'true' : 'false',
    tabindex: x === tf ? '0' : '-1', dataset: {tf: x}, onclick: () => {
      tf = x;
      savePref({tf});
      drawTF();
      loadChart();
    }, onkeydown: (e) => {
      const i = TIMEFRAMES.indexOf(tf);
      const next = e.key === 'ArrowRight' || e.key === 'ArrowDown' ? i + 1 : e.key === 'ArrowLeft' || e.key === 'ArrowUp' ? i - 1 : null;
      if (next === null) return;
      e.preventDefault();
      tf = TIMEFRAMES[(next + TIMEFRAMES.length) % TIMEFRAMES.length];
      savePref({tf});
      drawTF();
      tfGroup.querySelector('[aria-checked="true"]').focus();
      loadChart();
    }}, x)));
  drawTF();
  const market = h('p', {class: 'market-state', id: 'market-state', 'aria-live': 'polite'});
  const chartEl = h('div', {class: 'chart', id: 'chart', role: 'img', 'aria-label': t('trade.chart')});
  const chartTrades = h('ul', {class: 'sr-only', id: 'chart-trades', 'aria-label': t('trade.onChart')});
  const attribution = h('p', {class: 'attribution'}, h('a', {href: 'https://www.tradingview.com/', target: '_blank', rel: 'noopener noreferrer'},
    t('trade.attribution')));

  // The ticket.
  const amount = h('input', {type: 'number', id: 'ticket-amount', inputmode: 'decimal', step: '0.01', min: '1', value: pref.amount || '10'});
  const expiry = h('select', {id: 'ticket-expiry'});
  const payout = h('output', {id: 'ticket-payout', class: 'num'});
  const profit = h('output', {id: 'ticket-profit', class: 'num'});
  const ticketError = h('p', {class: 'form-error', role: 'alert', hidden: true, id: 'ticket-error'});
  const callBtn = h('button', {type: 'button', class: 'btn call', id: 'ticket-call', disabled: true, onclick: () => place('CALL')}, '▲ ', t('trade.call'));
  const putBtn = h('button', {type: 'button', class: 'btn put', id: 'ticket-put', disabled: true, onclick: () => place('PUT')}, '▼ ', t('trade.put'));
  const ticket = h('section', {class: 'card ticket', 'aria-labelledby': 'ticket-h'},
    h('h2', {id: 'ticket-h'}, t('trade.ticket')),
    h('div', {class: 'ticket-row'},
      h('div', {class: 'field'}, h('label', {for: 'ticket-amount'}, t('trade.amount')), amount),
      h('div', {class: 'field'}, h('label', {for: 'ticket-expiry'}, t('trade.expiry')), expiry)),
    h('dl', {class: 'kv'}, h('dt', null, t('trade.payout')), h('dd', null, payout), h('dt', null, t('trade.potential')), h('dd', null, profit)),
    h('div', {class: 'call-put'}, callBtn, putBtn), ticketError);
  amount.addEventListener('input', () => {
    savePref({amount: amount.value});
    drawTicket();
  });

  const openList = h('ul', {class: 'open-trades', id: 'open-trades'});
  const openSection = h('section', {class: 'card', 'aria-labelledby': 'open-h'}, h('h2', {id: 'open-h'}, t('trade.open')), openList);

  mount(root, h('div', {class: 'trade-layout'},
    h('div', {class: 'trade-main'},
      h('div', {class: 'trade-bar'},
        h('label', {class: 'sr-only', for: 'trade-account'}, t('trade.account')), acctSel, balance,
        h('label', {class: 'sr-only', for: 'trade-symbol'}, t('trade.symbol')), symSel, tfGroup),
      market, chartEl, chartTrades, attribution),
    h('div', {class: 'trade-side'}, ticket, openSection)));

  const instrument = () => symbols.find((s) => s.symbol === symbol);

  function drawBalance() {
    balance.textContent = account.balance === null ? '' : money(account.balance, account.currency);
  }

  function drawTicket() {
    const ins = instrument();
    const amt = Number(amount.value);
    if (!ins) {
      payout.textContent = profit.textContent = '—';
      callBtn.disabled = putBtn.disabled = true;
      return;
    }
    const keep = expiry.value || String(pref.expiry || '');
    mount(expiry, ins.expirations.map((s) => h('option', {value: String(s), selected: String(s) === keep}, duration(s))));
    amount.min = String(ins.min_amount || 1);
    amount.max = String(ins.max_amount || '');
    payout.textContent = pct(ins.payout);
    profit.textContent = Number.isFinite(amt) && amt > 0 ? money(amt * ins.payout / 100, account.currency) : '—';
    const connected = account.status === 'connected';
    const closed = !ins.open;
    market.textContent = closed ? t('trade.closed', {symbol: ins.symbol}) : connected ? '' : t('trade.notConnected');
    market.className = 'market-state' + (closed || !connected ? ' warn' : '');
    callBtn.disabled = putBtn.disabled = closed || !connected;
    // While a trade is sent the button keeps focus (place ignores it).
    setBusy(callBtn, busy);
    setBusy(putBtn, busy);
  }

  async function loadSymbols() {
    drawBalance();
    const r = await api('GET', '/api/v2/symbols?broker=' + encodeURIComponent(account.broker));
    symbols = r.items;
    if (!symbols.find((s) => s.symbol === symbol)) symbol = (symbols.find((s) => s.open) || symbols[0] || {}).symbol;
    mount(symSel, symbols.map((s) => h('option', {value: s.symbol, selected: s.symbol === symbol},
      `${s.symbol} · ${pct(s.payout)} · ${s.open ? t('trade.isOpen') : t('trade.isClosed')}`)));
    drawTicket();
    await loadChart();
  }

  let chartSeq = 0;
  async function loadChart() {
    const seq = ++chartSeq;
    if (!symbol) return;
    app.live.setCandles([`${account.broker}:${symbol}:${tf}`]);
    let candles;
    let trades;
    try {
      if (!lib) lib = await loadLib();
      [candles, trades] = await Promise.all([
        api('GET', `/api/v2/candles?broker=${encodeURIComponent(account.broker)}&symbol=${encodeURIComponent(symbol)}&timeframe=${tf}&limit=300`),
        api('GET', `/api/v2/user/trades?symbol=${encodeURIComponent(symbol)}&limit=100`),
      ]);
    } catch (e) {
      if (seq !== chartSeq || disposed) return; // a newer choice is loading
      // The host's market-data budget asks to wait a moment (the arrow
      // keys go through the timeframes one by one): try again.
      if (e.status === 429) {
        setTimeout(() => {
          if (seq === chartSeq && !disposed) loadChart();
        }, 1000);
        return;
      }
      market.textContent = e.message;
      market.className = 'market-state warn';
      return;
    }
    if (seq !== chartSeq || disposed) return;
    if (chart) chart.destroy();
    chart = new CandleChart(lib, chartEl, tf);
    chart.setCandles(candles.candles);
    chart.setTrades(trades.items.filter((x) => x.broker === account.broker));
    drawChartTrades();
  }

  function drawChartTrades() {
    if (!chart) return;
    const list = [...chart.trades.values()].sort((a, b) => b.id - a.id).slice(0, 20);
    mount(chartTrades, list.map((x) => h('li', {dataset: {trade: String(x.id), status: x.status}}, tradeMarkText(x))));
  }

  async function loadOpen() {
    const [o, p] = await Promise.all([api('GET', '/api/v2/user/trades?status=open&limit=100'), api('GET', '/api/v2/user/trades?status=pending&limit=100')]);
    open.clear();
    for (const x of [...o.items, ...p.items]) open.set(x.id, x);
    learnOffset([...open.values()]);
    drawOpen();
  }

  function learnOffset(list) {
    for (const x of list) {
      if (x.opened_at && x.created_at) offset = Date.parse(x.opened_at) - Date.parse(x.created_at);
    }
  }

  function drawOpen() {
    const list = [...open.values()].sort((a, b) => a.id - b.id);
    mount(openList, list.length ? list.map((x) => h('li', {class: 'open-trade', dataset: {trade: String(x.id), status: x.status}},
      h('span', {class: 'dir ' + x.direction.toLowerCase()}, x.direction === 'CALL' ? '▲' : '▼', ' ', x.direction),
      h('span', {class: 'sym'}, x.symbol),
      h('span', {class: 'num'}, money(x.amount, account.currency)),
      h('span', {class: 'num', dataset: {countdown: String(x.id)}}, remaining(x)),
      x.open_price ? h('span', {class: 'num muted'}, fmtPrice(x.open_price)) : null)) : h('li', {class: 'empty'}, t('trade.noOpen')));
  }

  function remaining(x) {
    if (!x.expires_at) return t('status.pending');
    const left = (Date.parse(x.expires_at) - (Date.now() + offset)) / 1000;
    return left > 0 ? countdown(left) : t('trade.settling');
  }

  const tick = setInterval(() => {
    for (const el of openList.querySelectorAll('[data-countdown]')) {
      const x = open.get(Number(el.dataset.countdown));
      if (x) el.textContent = remaining(x);
    }
  }, 1000);

  let busy = false;
  async function place(direction) {
    if (busy) return; // one click is one trade
    const ins = instrument();
    ticketError.hidden = true;
    const amt = amount.value.trim();
    if (!(Number(amt) > 0)) {
      ticketError.textContent = t('trade.badAmount');
      ticketError.hidden = false;
      amount.focus();
      return;
    }
    busy = true;
    drawTicket();
    const key = idempotencyKey();
    const body = {account_id: account.id, symbol: ins.symbol, direction, amount: Number(amt), expiration: Number(expiry.value)};
    savePref({expiry: Number(expiry.value)});
    try {
      let r;
      try {
        r = await api('POST', '/api/v2/user/trade', {body, headers: {'Idempotency-Key': key}});
      } catch (e) {
        // A lost answer is retried once with the same key: the host
        // returns the trade it already placed instead of a second one.
        if (e.code !== 'network') throw e;
        r = await api('POST', '/api/v2/user/trade', {body, headers: {'Idempotency-Key': key}});
      }
      const tr = r.trade;
      learnOffset([tr]);
      if (FINAL.includes(tr.status)) {
        app.toast(t('trade.rejected', {reason: tr.error || tr.status}), 'error');
      } else {
        open.set(tr.id, tr);
        drawOpen();
        app.toast(t('trade.placed', {dir: tr.direction, symbol: tr.symbol, amount: money(tr.amount, account.currency)}), 'ok', 3000);
      }
      if (chart && tr.symbol === symbol) {
        chart.upsertTrade(tr);
        drawChartTrades();
      }
    } catch (e) {
      ticketError.textContent = e.message;
      ticketError.hidden = false;
    } finally {
      busy = false;
      drawTicket();
    }
  }

  const onTrade = (e) => {
    const tr = e.detail;
    const was = open.get(tr.id);
    if (['open', 'pending'].includes(tr.status)) {
      open.set(tr.id, tr);
    } else {
      open.delete(tr.id);
      if (was || FINAL.includes(tr.status)) notifySettled(tr);
    }
    drawOpen();
    if (chart && tr.symbol === symbol && tr.broker === account.broker) {
      chart.upsertTrade(tr);
      drawChartTrades();
    }
  };
  const settledShown = new Set();
  function notifySettled(tr) {
    if (settledShown.has(tr.id) || !FINAL.includes(tr.status)) return;
    settledShown.add(tr.id);
    const kind = tr.status === 'won' ? 'ok' : tr.status === 'lost' ? 'error' : 'info';
    app.toast(t('trade.settled', {dir: tr.direction, symbol: tr.symbol, status: t('status.' + tr.status),
      profit: tr.profit === null ? '' : signedMoney(tr.profit, account.currency)}), kind, 8000);
  }
  const onCandle = (e) => {
    const d = e.detail;
    if (chart && d.symbol === symbol && d.timeframe === tf && d.broker === account.broker) chart.update(d.candle);
  };
  const onAccount = (e) => {
    const a = e.detail;
    const i = accts.findIndex((x) => x.id === a.id);
    if (i >= 0) accts[i] = a;
    if (a.id === account.id) {
      account = a;
      drawBalance();
      drawTicket();
    }
  };
  const onResync = () => {
    loadOpen();
    loadChart();
  };
  app.live.addEventListener('trade', onTrade);
  app.live.addEventListener('candle', onCandle);
  app.live.addEventListener('account', onAccount);
  app.live.addEventListener('resync', onResync);

  await Promise.all([loadSymbols(), loadOpen()]);

  return () => {
    disposed = true;
    clearInterval(tick);
    app.live.removeEventListener('trade', onTrade);
    app.live.removeEventListener('candle', onCandle);
    app.live.removeEventListener('account', onAccount);
    app.live.removeEventListener('resync', onResync);
    app.live.setCandles([]);
    if (chart) chart.destroy();
  };
}

function loadPref() {
  try {
    return JSON.parse(localStorage.getItem(PREF)) || {};
  } catch {
    return {};
  }
}

function savePref(p) {
  try {
    localStorage.setItem(PREF, JSON.stringify({...loadPref(), ...p}));
  } catch {
    // preferences last this page only
  }
}

export {TF_SECONDS};
