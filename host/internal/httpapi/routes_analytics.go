package httpapi

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	// Time zones must resolve on a host without a zoneinfo database (a
	// minimal container): the analytics' days and hours are the caller's.
	_ "time/tzdata"

	"github.com/shopspring/decimal"

	"github.com/stc-trading/stc/host/internal/trading"
	"github.com/stc-trading/stc/sdk/broker"
)

// defaultEquityPoints is the equity curve's default number of points.
const defaultEquityPoints = 500

// tallyJSON counts settled trades. Money is a JSON number, as in trades.
type tallyJSON struct {
	Trades  int     `json:"trades"`
	Wins    int     `json:"wins"`
	Losses  int     `json:"losses"`
	Draws   int     `json:"draws"`
	WinRate float64 `json:"win_rate"`
	Profit  float64 `json:"profit"`
}

func toTallyJSON(t trading.Tally) tallyJSON {
	return tallyJSON{Trades: t.Trades, Wins: t.Wins, Losses: t.Losses, Draws: t.Draws, WinRate: t.WinRate(), Profit: money(t.Profit)}
}

// money is an exact decimal as the JSON number closest to it.
func money(d decimal.Decimal) float64 {
	f, _ := d.Float64()
	return f
}

type dayJSON struct {
	Date string `json:"date"`
	tallyJSON
}

type hourJSON struct {
	Hour int `json:"hour"`
	tallyJSON
}

type symbolTallyJSON struct {
	Symbol string `json:"symbol"`
	tallyJSON
}

type equityPointJSON struct {
	Time   time.Time `json:"time"`
	Trades int       `json:"trades"`
	Profit float64   `json:"profit"`
	Equity float64   `json:"equity"`
}

// analyticsFilter reads the filters every analytics route takes: from and
// to (RFC 3339 or Unix seconds; close time, to exclusive), mode (practice
// or real), and bot_id or manual=true.
func analyticsFilter(q url.Values) (trading.AnalyticsFilter, *apiError) {
	var (
		f trading.AnalyticsFilter
		e *apiError
	)
	if f.From, e = parseTime("from", q.Get("from")); e != nil {
		return f, e
	}
	if f.To, e = parseTime("to", q.Get("to")); e != nil {
		return f, e
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return f, fieldError("to", "to must be after from")
	}
	switch m := q.Get("mode"); m {
	case "":
	case "practice":
		f.Mode = broker.Practice
	case "real":
		f.Mode = broker.Real
	default:
		return f, fieldError("mode", "mode must be practice or real")
	}
	if f.BotID, f.Manual, e = botFilter(q); e != nil {
		return f, e
	}
	return f, nil
}

// maxZoneName bounds ?tz=; the longest IANA name is about 30 bytes.
const maxZoneName = 64

// zoneParam reads ?tz=, an IANA time zone such as America/Sao_Paulo;
// UTC when absent. "Local" is refused: it is the host's zone, not the
// caller's.
func zoneParam(q url.Values) (*time.Location, string, *apiError) {
	name := q.Get("tz")
	if name == "" {
		return time.UTC, "UTC", nil
	}
	bad := fieldError("tz", "tz must be an IANA time zone such as America/Sao_Paulo or UTC")
	if len(name) > maxZoneName || name == "Local" || strings.IndexFunc(name, func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && !strings.ContainsRune("/_+-", r)
	}) >= 0 {
		return nil, "", bad
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, "", bad
	}
	return loc, name, nil
}

// analyticsRequest reads the filters and, with zoned, the time zone; it
// answers the client's mistake itself and reports whether to go on.
func analyticsRequest(w http.ResponseWriter, r *http.Request, zoned bool) (trading.AnalyticsFilter, *time.Location, string, bool) {
	q := r.URL.Query()
	f, e := analyticsFilter(q)
	if e != nil {
		writeError(w, e)
		return f, nil, "", false
	}
	if !zoned {
		return f, nil, "", true
	}
	loc, name, e := zoneParam(q)
	if e != nil {
		writeError(w, e)
		return f, nil, "", false
	}
	return f, loc, name, true
}

func (s *Server) analyticsEquity(w http.ResponseWriter, r *http.Request) {
	f, _, _, ok := analyticsRequest(w, r, false)
	if !ok {
		return
	}
	points := defaultEquityPoints
	if v := r.URL.Query().Get("points"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < trading.MinEquityPoints || n > trading.MaxEquityPoints {
			writeError(w, fieldError("points", "points must be an integer from "+strconv.Itoa(trading.MinEquityPoints)+" to "+strconv.Itoa(trading.MaxEquityPoints)))
			return
		}
		points = n
	}
	curve, err := s.trading.Equity(r.Context(), mustPrincipal(r).UserID, f, points)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]equityPointJSON, len(curve.Points))
	for i, p := range curve.Points {
		out[i] = equityPointJSON{Time: p.Time, Trades: p.Trades, Profit: money(p.Profit), Equity: money(p.Equity)}
	}
	writeJSON(w, http.StatusOK, map[string]any{"bucket_seconds": int64(curve.Bucket / time.Second), "points": out})
}

func (s *Server) analyticsDaily(w http.ResponseWriter, r *http.Request) {
	f, loc, zone, ok := analyticsRequest(w, r, true)
	if !ok {
		return
	}
	days, err := s.trading.Daily(r.Context(), mustPrincipal(r).UserID, f, loc)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]dayJSON, len(days))
	for i, d := range days {
		out[i] = dayJSON{Date: d.Date, tallyJSON: toTallyJSON(d.Tally)}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tz": zone, "items": out})
}

func (s *Server) analyticsByHour(w http.ResponseWriter, r *http.Request) {
	f, loc, zone, ok := analyticsRequest(w, r, true)
	if !ok {
		return
	}
	hours, err := s.trading.ByHour(r.Context(), mustPrincipal(r).UserID, f, loc)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]hourJSON, len(hours))
	for i, h := range hours {
		out[i] = hourJSON{Hour: h.Hour, tallyJSON: toTallyJSON(h.Tally)}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tz": zone, "items": out})
}

func (s *Server) analyticsBySymbol(w http.ResponseWriter, r *http.Request) {
	f, _, _, ok := analyticsRequest(w, r, false)
	if !ok {
		return
	}
	symbols, err := s.trading.BySymbol(r.Context(), mustPrincipal(r).UserID, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]symbolTallyJSON, len(symbols))
	for i, st := range symbols {
		out[i] = symbolTallyJSON{Symbol: st.Symbol, tallyJSON: toTallyJSON(st.Tally)}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
}

func (s *Server) analyticsBots(w http.ResponseWriter, r *http.Request) {
	f, _, _, ok := analyticsRequest(w, r, false)
	if !ok {
		return
	}
	st, err := s.trading.ByBot(r.Context(), mustPrincipal(r).UserID, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rows := make([]statsRowJSON, len(st.PerBot))
	for i, row := range st.PerBot {
		rows[i] = toStatsRow(row)
	}
	writeJSON(w, http.StatusOK, map[string]any{"totals": toStatsRow(st.Totals), "items": rows})
}
