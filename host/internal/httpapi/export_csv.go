package httpapi

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/stc-trading/stc/host/internal/trading"
)

// exportPageSize is how many trades the CSV export reads per store
// round trip: the export holds one page in memory at a time, whatever the
// history's length, and no transaction stays open while the client reads.
const exportPageSize = 500

// exportColumns is the CSV export's header row.
var exportColumns = []string{"id", "created_at", "opened_at", "expires_at", "closed_at", "account_id", "bot_id", "broker",
	"symbol", "direction", "amount", "expiration_seconds", "status", "open_price", "close_price", "payout_percent", "profit",
	"broker_order_id", "error"}

// listTradesOrExport serves GET /api/v2/user/trades: one page of JSON,
// or with ?format=csv every trade the filters select as CSV. A query
// parameter rather than Accept, so that a plain link downloads the file.
func (s *Server) listTradesOrExport(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Query().Get("format") {
	case "", "json":
		s.listTrades(w, r)
	case "csv":
		s.exportTrades(w, r)
	default:
		writeError(w, fieldError("format", "format must be json or csv"))
	}
}

// tradeFilter reads the trade list's filters: bot_id, manual, symbol,
// status, from and to (creation time).
func tradeFilter(q url.Values) (trading.Filter, *apiError) {
	var (
		f trading.Filter
		e *apiError
	)
	if sym := q.Get("symbol"); sym != "" {
		if !trading.ValidSymbol(sym) {
			return f, fieldError("symbol", "symbol must be 1 to 64 printable characters")
		}
		f.Symbol = sym
	}
	if f.BotID, f.Manual, e = botFilter(q); e != nil {
		return f, e
	}
	if f.Status = trading.Status(q.Get("status")); f.Status != "" && !f.Status.Valid() {
		return f, fieldError("status", "status must be one of pending, open, won, lost, draw, rejected, unknown, unresolved")
	}
	if f.From, e = parseTime("from", q.Get("from")); e != nil {
		return f, e
	}
	if f.To, e = parseTime("to", q.Get("to")); e != nil {
		return f, e
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return f, fieldError("to", "to must be after from")
	}
	return f, nil
}

// exportTrades streams the caller's trades matching the list's filters
// as CSV (RFC 4180: a header row, CRLF line ends, quoted where needed),
// newest first, one page of the store at a time. Every check comes first,
// so a mistake is still a JSON error; once the first row is out, a store
// failure can only cut the answer short: the connection is aborted rather
// than ended, so a client never takes a partial file for a whole one.
func (s *Server) exportTrades(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for _, p := range []string{"limit", "cursor"} {
		if q.Has(p) {
			writeError(w, fieldError(p, p+" does not apply to format=csv: the export holds every trade the filters select"))
			return
		}
	}
	f, e := tradeFilter(q)
	if e != nil {
		writeError(w, e)
		return
	}
	userID := mustPrincipal(r).UserID
	f.Limit = exportPageSize
	page, next, err := s.trading.List(r.Context(), userID, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="stc-trades-`+time.Now().UTC().Format("20060102-150405")+`.csv"`)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	_ = cw.Write(exportColumns)
	for {
		for _, t := range page {
			_ = cw.Write(tradeRecord(t))
		}
		if cw.Flush(); cw.Error() != nil || next == 0 {
			return // done, or the client has gone
		}
		f.Cursor = next
		if page, next, err = s.trading.List(r.Context(), userID, f); err != nil {
			if r.Context().Err() == nil {
				s.log.Error("trade export cut short", "user_id", userID, "error", err)
			}
			panic(http.ErrAbortHandler)
		}
	}
}

// tradeRecord is one trade as a CSV row. Numbers are exact decimals and
// stay numbers (a loss reads -10); text that comes from brokers or users
// goes through formulaSafe.
func tradeRecord(t trading.Trade) []string {
	bot := ""
	if t.BotID != 0 {
		bot = strconv.FormatInt(t.BotID, 10)
	}
	profit := ""
	if t.HasProfit {
		profit = t.Profit.String()
	}
	return []string{
		strconv.FormatInt(t.ID, 10), csvTime(t.CreatedAt), csvTime(t.OpenedAt), csvTime(t.ExpiresAt), csvTime(t.ClosedAt),
		strconv.FormatInt(t.AccountID, 10), bot, formulaSafe(t.Broker), formulaSafe(t.Symbol), strings.ToUpper(t.Direction.String()),
		t.Amount.String(), strconv.FormatInt(int64(t.Expiration/time.Second), 10), string(t.Status),
		csvDecimal(t.OpenPrice), csvDecimal(t.ClosePrice), csvDecimal(t.Payout), profit,
		formulaSafe(t.BrokerOrderID), formulaSafe(t.Error),
	}
}

// csvTime is an RFC 3339 UTC time, empty while unknown.
func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// csvDecimal is d, empty while unknown (zero), as the JSON's null.
func csvDecimal(d decimal.Decimal) string {
	if d.IsZero() {
		return ""
	}
	return d.String()
}

// formulaSafe defuses a cell a spreadsheet would run as a formula (CSV
// injection): text starting with =, +, -, @, a tab or a carriage return
// is prefixed with a single quote, which spreadsheets show as text.
func formulaSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// botFilter reads ?bot_id= and ?manual=, which the trade list, its CSV
// export and the analytics share: one bot, manual trades only, or (zero,
// false) for both.
func botFilter(q url.Values) (botID int64, manual bool, e *apiError) {
	if v := q.Get("bot_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id < 1 {
			return 0, false, fieldError("bot_id", "bot_id must be a bot's id")
		}
		botID = id
	}
	switch q.Get("manual") {
	case "", "false":
	case "true":
		if botID != 0 {
			return 0, false, fieldError("manual", "filter by bot_id or by manual=true, not both")
		}
		manual = true
	default:
		return 0, false, fieldError("manual", "manual must be true or false")
	}
	return botID, manual, nil
}
