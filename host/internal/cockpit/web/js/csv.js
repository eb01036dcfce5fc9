// CSV export of trades. Text cells that a spreadsheet would read as a
// formula (=, +, -, @, tab, CR) are prefixed with ' so an exported
// symbol or error text can never run as one.
const COLUMNS = ['id', 'created_at', 'opened_at', 'expires_at', 'closed_at', 'bot_id', 'account_id', 'broker', 'symbol', 'direction',
  'amount', 'expiration', 'status', 'open_price', 'close_price', 'payout', 'profit', 'error'];

function cell(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return String(v);
  let s = String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;
  if (/[",\r\n]/.test(s)) s = '"' + s.replace(/"/g, '""') + '"';
  return s;
}

export function tradesCSV(trades) {
  const lines = [COLUMNS.join(',')];
  for (const tr of trades) lines.push(COLUMNS.map((c) => cell(tr[c])).join(','));
  return lines.join('\r\n') + '\r\n';
}

/** Offers text as a file download. */
export function download(name, text, type = 'text/csv;charset=utf-8') {
  const url = URL.createObjectURL(new Blob([text], {type}));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
