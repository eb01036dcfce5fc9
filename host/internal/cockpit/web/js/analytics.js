// Per-user analytics computed from the user's trades: the equity curve
// (cumulative profit over settled trades), P&L per day (local days), win
// rate by symbol and by hour of day (local hours). Until the host serves
// these as API endpoints, the cockpit computes them from up to a few
// thousand trades of the trade list.
const SETTLED = ['won', 'lost', 'draw'];

export function analyze(trades) {
  const settled = trades.filter((x) => SETTLED.includes(x.status) && x.profit !== null)
    .sort((a, b) => Date.parse(a.closed_at || a.expires_at || a.created_at) - Date.parse(b.closed_at || b.expires_at || b.created_at));
  let cum = 0;
  let lastT = 0;
  const equity = [];
  const days = new Map();
  const sym = new Map();
  const hours = new Map();
  let wins = 0;
  let decided = 0;
  for (const x of settled) {
    const at = new Date(x.closed_at || x.expires_at || x.created_at);
    let ts = Math.floor(at.getTime() / 1000);
    if (!equity.length) equity.push({time: ts - 1, value: 0}); // the curve starts at zero
    cum += x.profit;
    if (ts <= lastT) ts = lastT + 1; // the chart needs strictly rising times
    lastT = ts;
    equity.push({time: ts, value: Math.round(cum * 100) / 100});
    // The user's local day, as the chart's business-day string.
    const dayKey = `${at.getFullYear()}-${String(at.getMonth() + 1).padStart(2, '0')}-${String(at.getDate()).padStart(2, '0')}`;
    days.set(dayKey, (days.get(dayKey) || 0) + x.profit);
    bump(sym, x.symbol, x);
    bump(hours, String(at.getHours()).padStart(2, '0') + 'h', x);
    if (x.status !== 'draw') {
      decided += 1;
      if (x.status === 'won') wins += 1;
    }
  }
  const rows = (m) => [...m.entries()].map(([key, v]) => ({key, trades: v.trades, winRate: v.decided ? v.wins / v.decided : 0, profit: v.profit}));
  return {
    count: settled.length,
    decided,
    winRate: decided ? wins / decided : 0,
    profit: cum,
    equity,
    daily: [...days.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([time, value]) => ({time, value: Math.round(value * 100) / 100})),
    bySymbol: rows(sym).sort((a, b) => b.trades - a.trades),
    byHour: rows(hours).sort((a, b) => a.key.localeCompare(b.key)),
  };
}

function bump(m, key, x) {
  const v = m.get(key) || {trades: 0, wins: 0, decided: 0, profit: 0};
  v.trades += 1;
  v.profit += x.profit;
  if (x.status !== 'draw') {
    v.decided += 1;
    if (x.status === 'won') v.wins += 1;
  }
  m.set(key, v);
}

/**
 * The same series from the host's analytics routes
 * (/api/v2/user/analytics/…), which cover every trade and group days and
 * hours in tz; null when the host has no such routes (404), so the caller
 * computes them from the trade list instead. filters: bot_id, manual,
 * from, to (URLSearchParams).
 */
export async function fetchAnalytics(api, filters, tz) {
  const q = new URLSearchParams();
  for (const k of ['bot_id', 'manual', 'from', 'to']) if (filters.has(k)) q.set(k, filters.get(k));
  q.set('tz', tz);
  let eq, daily, sym, hour;
  try {
    [eq, daily, sym, hour] = await Promise.all(['equity', 'daily', 'by-symbol', 'by-hour']
      .map((r) => api('GET', `/api/v2/user/analytics/${r}?${q}`)));
  } catch (e) {
    if (e.status === 404) return null;
    throw e;
  }
  const equity = [];
  let last = 0;
  for (const p of eq.points) {
    let ts = Math.floor(Date.parse(p.time) / 1000);
    if (!equity.length) equity.push({time: ts - 1, value: 0});
    if (ts <= last) ts = last + 1;
    last = ts;
    equity.push({time: ts, value: p.equity});
  }
  const row = (key, x) => ({key, trades: x.trades, winRate: x.win_rate, profit: x.profit});
  const tot = sym.items.reduce((a, x) => ({trades: a.trades + x.trades, wins: a.wins + x.wins, losses: a.losses + x.losses, profit: a.profit + x.profit}),
    {trades: 0, wins: 0, losses: 0, profit: 0});
  const decided = tot.wins + tot.losses;
  return {
    count: tot.trades,
    decided,
    winRate: decided ? tot.wins / decided : 0,
    profit: tot.profit,
    equity,
    daily: daily.items.map((d) => ({time: d.date, value: d.profit})),
    bySymbol: sym.items.map((x) => row(x.symbol, x)).sort((a, b) => b.trades - a.trades),
    byHour: hour.items.map((x) => row(String(x.hour).padStart(2, '0') + 'h', x)),
  };
}
