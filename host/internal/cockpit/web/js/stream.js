// Live updates. The host's event stream (GET /api/v2/stream, Server-Sent
// Events, authenticated by the session cookie) sends trade, bot, account
// and candle events; EventSource reconnects by itself and resumes with
// Last-Event-ID. A host without the stream (404) is polled instead, and
// the same events come out of this object either way, so pages never
// know which it is.
import {api, ApiError} from './api.js';

const POLL = {trades: 1500, bots: 3000, accounts: 8000, candles: 1500};

export class Live extends EventTarget {
  constructor() {
    super();
    this.candleKeys = [];
    this.es = null;
    this.mode = 'off'; // stream | polling | off
    this.timers = [];
    this.seen = {trades: new Map(), bots: new Map(), accounts: new Map(), candles: new Map()};
    this.retry = 1000;
    this.primed = new Set();
    // A page that is left closes its stream at once: a browser may keep
    // the page (and its connection) in the back-forward cache, and HTTP/1.1
    // allows only six connections per host, so a few navigations would
    // otherwise leave the next page's requests queued behind old streams.
    window.addEventListener('pagehide', () => {
      if (this.es) this.es.close();
      this.es = null;
    });
    window.addEventListener('pageshow', (e) => {
      if (e.persisted && !this.stopped && this.mode !== 'off') this.connect();
    });
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    if (this.es) this.es.close();
    this.es = null;
    this.stopPolling();
    this.mode = 'off';
  }

  /** Subscribes to candles of keys like "paper:EURUSD-OTC:1m". */
  setCandles(keys) {
    const next = [...new Set(keys)].sort();
    if (next.join() === this.candleKeys.join()) return;
    this.candleKeys = next;
    if (this.mode === 'stream') this.connect();
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, {detail}));
  }

  setMode(mode) {
    if (this.mode !== mode) {
      this.mode = mode;
      this.emit('mode', mode);
    }
  }

  connect() {
    if (this.stopped) return;
    if (this.es) this.es.close();
    const q = this.candleKeys.map((k) => 'candles=' + encodeURIComponent(k)).join('&');
    const es = new EventSource('/api/v2/stream' + (q ? '?' + q : ''), {withCredentials: true});
    this.es = es;
    es.addEventListener('open', () => {
      this.retry = 1000;
      this.stopPolling();
      this.setMode('stream');
      // Whatever happened while the stream was being (re)opened is in
      // the REST state: pages reload it.
      this.emit('resync', null);
    });
    for (const type of ['trade', 'bot', 'account']) {
      es.addEventListener(type, (ev) => {
        const data = parse(ev.data);
        if (data && data[type]) this.emit(type, data[type]);
      });
    }
    es.addEventListener('candle', (ev) => {
      const data = parse(ev.data);
      if (data && data.candle) this.emit('candle', data);
    });
    es.addEventListener('reset', () => this.emit('resync', null));
    es.addEventListener('error', () => {
      if (es.readyState !== EventSource.CLOSED) return; // it reconnects itself
      this.es = null;
      this.probe();
    });
  }

  // probe finds out why the stream closed: a host without it (404) is
  // polled; a signed-out session is reported by the API client; anything
  // else is retried with backoff.
  async probe() {
    const ctl = new AbortController();
    let status = 0;
    let code = '';
    try {
      const r = await fetch('/api/v2/stream', {credentials: 'same-origin', signal: ctl.signal, headers: {'STC-Session': 'cookie'}});
      status = r.status;
      if (!r.ok) code = ((await r.json().catch(() => ({}))).error || {}).code || '';
      ctl.abort();
    } catch {
      status = 0;
    }
    if (this.stopped) return;
    // No stream on this host (404, or one that serves none): poll.
    if (status === 404 || status === 405 || code === 'stream_unavailable') {
      this.startPolling();
      return;
    }
    if (status === 401) {
      this.emit('signedout', null);
      return;
    }
    setTimeout(() => this.connect(), this.retry);
    this.retry = Math.min(this.retry * 2, 30000);
  }

  stopPolling() {
    for (const id of this.timers) clearInterval(id);
    this.timers = [];
  }

  startPolling() {
    this.stopPolling();
    this.setMode('polling');
    const every = (ms, fn) => {
      fn();
      this.timers.push(setInterval(fn, ms));
    };
    every(POLL.trades, () => this.pollList('/api/v2/user/trades?limit=25', 'trade', 'trades', (x) => x.status + x.profit));
    every(POLL.bots, () => this.pollList('/api/v2/bots?limit=100', 'bot', 'bots',
      (x) => x.status + x.status_reason + x.last_signal_at + x.last_error + x.updated_at));
    every(POLL.accounts, () => this.pollList('/api/v2/user/accounts', 'account', 'accounts', (x) => x.status + x.balance));
    every(POLL.candles, () => this.pollCandles());
  }

  async pollList(path, type, bucket, sig) {
    try {
      const page = await api('GET', path);
      const seen = this.seen[bucket];
      // The first answer is the state pages loaded themselves; only what
      // changes after it is an event.
      const primed = this.primed.has(bucket);
      for (const item of page.items.slice().reverse()) {
        const s = sig(item);
        if (seen.get(item.id) !== s) {
          seen.set(item.id, s);
          if (primed) this.emit(type, item);
        }
      }
      this.primed.add(bucket);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
    }
  }

  async pollCandles() {
    for (const key of this.candleKeys) {
      const [broker, symbol, timeframe] = key.split(':');
      try {
        const r = await api('GET', `/api/v2/candles?broker=${encodeURIComponent(broker)}&symbol=${encodeURIComponent(symbol)}&timeframe=${timeframe}&limit=2`);
        const last = this.seen.candles.get(key) || 0;
        for (const c of r.candles) {
          if (c.timestamp > last) this.emit('candle', {broker, symbol, timeframe, closed: true, candle: c});
        }
        if (r.candles.length) this.seen.candles.set(key, r.candles[r.candles.length - 1].timestamp);
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
      }
    }
  }
}

function parse(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
