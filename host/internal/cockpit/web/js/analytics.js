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
