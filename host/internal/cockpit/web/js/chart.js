// The candle chart (TradingView Lightweight Charts, vendored) with the
// user's trades marked: an arrow at entry (CALL up, PUT down), a dot at
// expiry coloured by the result, and a price line at the entry of every
// open trade. The chart library is loaded only by the pages that draw.
import {cssVar} from './theme.js';
import {lang, signedMoney, price as fmtPrice, time as fmtTime} from './i18n.js';

const LIB = new URL('../vendor/lightweight-charts/lightweight-charts.standalone.production.mjs', import.meta.url).href;

export const TF_SECONDS = {'1m': 60, '5m': 300, '15m': 900, '30m': 1800, '1h': 3600, '4h': 14400, '1d': 86400};

export async function loadLib() {
  return import(LIB);
}

function colors() {
  return {
    bg: cssVar('--surface'), text: cssVar('--text-muted'), grid: cssVar('--grid'),
    up: cssVar('--up'), down: cssVar('--down'), accent: cssVar('--accent'), draw: cssVar('--text-muted'),
  };
}

export class CandleChart {
  constructor(lib, el, tf) {
    this.lib = lib;
    this.el = el;
    this.tf = tf;
    this.trades = new Map();
    this.lines = new Map();
    const c = colors();
    const timeFmt = new Intl.DateTimeFormat(lang(), {hour: '2-digit', minute: '2-digit'});
    const dayFmt = new Intl.DateTimeFormat(lang(), {day: 'numeric', month: 'short'});
    this.chart = lib.createChart(el, {
      autoSize: true,
      layout: {background: {type: lib.ColorType.Solid, color: c.bg}, textColor: c.text, attributionLogo: false,
        fontFamily: getComputedStyle(document.body).fontFamily},
      grid: {vertLines: {color: c.grid}, horzLines: {color: c.grid}},
      rightPriceScale: {borderVisible: false},
      timeScale: {borderVisible: false, timeVisible: true, secondsVisible: false,
        tickMarkFormatter: (ts, type) => (type <= 2 ? dayFmt : timeFmt).format(new Date(ts * 1000))},
      localization: {locale: lang(), timeFormatter: (ts) => new Intl.DateTimeFormat(lang(), {dateStyle: 'short', timeStyle: 'short'}).format(new Date(ts * 1000))},
      crosshair: {mode: lib.CrosshairMode.Normal},
    });
    this.series = this.chart.addSeries(lib.CandlestickSeries, {
      upColor: c.up, downColor: c.down, wickUpColor: c.up, wickDownColor: c.down, borderVisible: false,
      priceFormat: {type: 'price', precision: 5, minMove: 0.00001},
    });
    this.markers = lib.createSeriesMarkers(this.series, []);
    this.onTheme = () => this.applyTheme();
    window.addEventListener('stc-theme', this.onTheme);
  }

  applyTheme() {
    const c = colors();
    this.chart.applyOptions({layout: {background: {type: this.lib.ColorType.Solid, color: c.bg}, textColor: c.text},
      grid: {vertLines: {color: c.grid}, horzLines: {color: c.grid}}});
    this.series.applyOptions({upColor: c.up, downColor: c.down, wickUpColor: c.up, wickDownColor: c.down});
    this.drawTrades();
  }

  setCandles(candles) {
    const data = candles.map(bar);
    this.series.setData(data);
    this.last = data.length ? data[data.length - 1].time : 0;
    if (data.length) {
      const p = data[data.length - 1].close;
      const digits = Math.min(6, Math.max(2, decimals(p)));
      this.series.applyOptions({priceFormat: {type: 'price', precision: digits, minMove: 1 / 10 ** digits}});
    }
    this.chart.timeScale().scrollToRealTime();
    this.drawTrades();
  }

  update(candle) {
    const b = bar(candle);
    if (b.time < (this.last || 0)) return;
    this.series.update(b);
    this.last = b.time;
  }

  align(ts) {
    const s = TF_SECONDS[this.tf] || 60;
    return Math.floor(ts / s) * s;
  }

  /** Shows trades (the user's, on this chart's symbol). */
  setTrades(trades) {
    this.trades = new Map(trades.map((x) => [x.id, x]));
    this.drawTrades();
  }

  upsertTrade(tr) {
    this.trades.set(tr.id, tr);
    this.drawTrades();
  }

  drawTrades() {
    const c = colors();
    const marks = [];
    for (const tr of this.trades.values()) {
      if (!tr.opened_at) continue;
      const entry = this.align(Date.parse(tr.opened_at) / 1000);
      const call = tr.direction === 'CALL';
      marks.push({time: entry, position: call ? 'belowBar' : 'aboveBar', color: call ? c.up : c.down,
        shape: call ? 'arrowUp' : 'arrowDown', text: `${tr.direction} ${tr.amount}`});
      if (tr.expires_at && ['won', 'lost', 'draw'].includes(tr.status)) {
        const exp = this.align(Date.parse(tr.expires_at) / 1000);
        marks.push({time: exp, position: 'inBar', color: tr.status === 'won' ? c.up : tr.status === 'lost' ? c.down : c.draw,
          shape: 'circle', text: tr.profit === null ? tr.status : signedMoney(tr.profit)});
      }
    }
    marks.sort((a, b) => a.time - b.time);
    this.markers.setMarkers(marks);
    // A price line at the entry of each open trade.
    for (const [id, line] of this.lines) {
      const tr = this.trades.get(id);
      if (!tr || tr.status !== 'open') {
        this.series.removePriceLine(line);
        this.lines.delete(id);
      }
    }
    for (const tr of this.trades.values()) {
      if (tr.status === 'open' && tr.open_price && !this.lines.has(tr.id)) {
        this.lines.set(tr.id, this.series.createPriceLine({price: tr.open_price, color: tr.direction === 'CALL' ? c.up : c.down,
          lineWidth: 1, lineStyle: this.lib.LineStyle.Dashed, axisLabelVisible: true, title: `${tr.direction} ${fmtPrice(tr.open_price)}`}));
      }
    }
  }

  destroy() {
    window.removeEventListener('stc-theme', this.onTheme);
    this.chart.remove();
  }
}

function bar(c) {
  return {time: c.timestamp, open: c.open, high: c.high, low: c.low, close: c.close};
}

function decimals(p) {
  const s = String(p);
  const i = s.indexOf('.');
  return i < 0 ? 2 : s.length - i - 1;
}

/** A short text describing a trade on the chart, for the list screen readers (and tests) read. */
export function tradeMarkText(tr) {
  const parts = [tr.direction, tr.symbol, String(tr.amount), fmtTime(tr.opened_at)];
  if (tr.expires_at) parts.push('→ ' + fmtTime(tr.expires_at));
  parts.push(tr.status);
  return parts.join(' ');
}
