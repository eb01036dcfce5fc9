package httpapi

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/shopspring/decimal"

	"github.com/stc-trading/stc/host/internal/trading"
	"github.com/stc-trading/stc/sdk/market"
)

// IdempotencyKeyHeader makes a trade-creating POST safe to retry: the same
// key with the same body returns the same trade; with another body, 409.
const IdempotencyKeyHeader = "Idempotency-Key"

type tradeJSON struct {
	ID            int64      `json:"id"`
	UserID        int64      `json:"user_id"`
	BotID         *int64     `json:"bot_id"`
	AccountID     int64      `json:"account_id"`
	Broker        string     `json:"broker"`
	Symbol        string     `json:"symbol"`
	Direction     string     `json:"direction"`
	Amount        float64    `json:"amount"`
	Expiration    int64      `json:"expiration"`
	Status        string     `json:"status"`
	OpenPrice     *float64   `json:"open_price"`
	ClosePrice    *float64   `json:"close_price"`
	Payout        *float64   `json:"payout"`
	Profit        *float64   `json:"profit"`
	BrokerOrderID string     `json:"broker_order_id,omitempty"`
	OpenedAt      *time.Time `json:"opened_at"`
	ExpiresAt     *time.Time `json:"expires_at"`
	ClosedAt      *time.Time `json:"closed_at"`
	CreatedAt     time.Time  `json:"created_at"`
	Error         string     `json:"error,omitempty"`
}

func optDecimal(d decimal.Decimal, ok bool) *float64 {
	if !ok {
		return nil
	}
	f, _ := d.Float64()
	return &f
}

func toTradeJSON(t trading.Trade) tradeJSON {
	out := tradeJSON{ID: t.ID, UserID: t.UserID, AccountID: t.AccountID, Broker: t.Broker, Symbol: t.Symbol,
		Direction: strings.ToUpper(t.Direction.String()), Expiration: int64(t.Expiration / time.Second), Status: string(t.Status),
		OpenPrice: optDecimal(t.OpenPrice, !t.OpenPrice.IsZero()), ClosePrice: optDecimal(t.ClosePrice, !t.ClosePrice.IsZero()),
		Payout: optDecimal(t.Payout, !t.Payout.IsZero()), Profit: optDecimal(t.Profit, t.HasProfit),
		BrokerOrderID: t.BrokerOrderID, OpenedAt: optTime(t.OpenedAt), ExpiresAt: optTime(t.ExpiresAt),
		ClosedAt: optTime(t.ClosedAt), CreatedAt: t.CreatedAt, Error: t.Error}
	out.Amount, _ = t.Amount.Float64()
	if t.BotID != 0 {
		id := t.BotID
		out.BotID = &id
	}
	return out
}

// tradeBody is a manual trade request. Amount is read as a JSON number's
// exact text, so 10.1 is 10.1 and not a binary approximation.
type tradeBody struct {
	Broker     string      `json:"broker"`
	Symbol     string      `json:"symbol"`
	Direction  string      `json:"direction"`
	Amount     json.Number `json:"amount"`
	Expiration int64       `json:"expiration"`
	AccountID  int64       `json:"account_id"`
}

func (b tradeBody) request(userID int64) (trading.PlaceRequest, *apiError) {
	req := trading.PlaceRequest{UserID: userID, AccountID: b.AccountID, Broker: b.Broker, Symbol: b.Symbol}
	if b.Broker == "" && b.AccountID == 0 {
		return req, fieldError("broker", "broker (or account_id) is required")
	}
	if !trading.ValidSymbol(b.Symbol) {
		return req, fieldError("symbol", fmt.Sprintf("symbol must be 1 to %d printable characters, e.g. EURUSD-OTC", trading.MaxSymbolLen))
	}
	switch strings.ToUpper(b.Direction) {
	case "CALL":
		req.Direction = market.Call
	case "PUT":
		req.Direction = market.Put
	default:
		return req, fieldError("direction", "direction must be CALL or PUT")
	}
	amt, err := decimal.NewFromString(b.Amount.String())
	if err != nil || !amt.IsPositive() {
		return req, fieldError("amount", "amount must be a positive number")
	}
	if amt.Exponent() < -trading.StakeDecimals {
		return req, fieldError("amount", fmt.Sprintf("amount has at most %d decimals", trading.StakeDecimals))
	}
	req.Amount = amt
	if lo, hi := int64(trading.MinExpiration/time.Second), int64(trading.MaxExpiration/time.Second); b.Expiration < lo || b.Expiration > hi {
		return req, fieldError("expiration", fmt.Sprintf("expiration must be in seconds, from %d to %d", lo, hi))
	}
	req.Expiration = time.Duration(b.Expiration) * time.Second
	return req, nil
}

// idempotency reads the Idempotency-Key header and hashes the request it
// guards, so a reused key with another body is recognized.
func idempotency(r *http.Request, body any) (string, []byte, *apiError) {
	key := r.Header.Get(IdempotencyKeyHeader)
	if key == "" {
		return "", nil, nil
	}
	if len(key) > trading.MaxIdempotencyKeyLen || strings.IndexFunc(key, func(c rune) bool { return c > unicode.MaxASCII || !unicode.IsPrint(c) }) >= 0 {
		e := fieldError(IdempotencyKeyHeader, fmt.Sprintf("%s must be 1 to %d printable ASCII characters", IdempotencyKeyHeader, trading.MaxIdempotencyKeyLen))
		e.Details["header"] = IdempotencyKeyHeader
		return "", nil, e
	}
	canon, _ := json.Marshal(body)
	sum := sha256.Sum256(append([]byte(r.URL.Path+"\x00"), canon...))
	return key, sum[:], nil
}

func (s *Server) placeTrade(w http.ResponseWriter, r *http.Request) {
	var body tradeBody
	if e := decodeJSON(w, r, &body); e != nil {
		writeError(w, e)
		return
	}
	s.place(w, r, body)
}

func (s *Server) place(w http.ResponseWriter, r *http.Request, body tradeBody) {
	req, e := body.request(mustPrincipal(r).UserID)
	if e != nil {
		writeError(w, e)
		return
	}
	if req.IdempotencyKey, req.RequestHash, e = idempotency(r, body); e != nil {
		writeError(w, e)
		return
	}
	t, err := s.trading.Place(r.Context(), req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"trade": toTradeJSON(t)})
}

// legacyTrade is the V1 manual trade: the caller's IQ Option account.
func (s *Server) legacyTrade(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Symbol     string      `json:"symbol"`
		Direction  string      `json:"direction"`
		Amount     json.Number `json:"amount"`
		Expiration int64       `json:"expiration"`
	}
	if e := decodeJSON(w, r, &body); e != nil {
		writeError(w, e)
		return
	}
	s.place(w, r, tradeBody{Broker: "iqoption", Symbol: body.Symbol, Direction: body.Direction, Amount: body.Amount, Expiration: body.Expiration})
}

func (s *Server) getTrade(w http.ResponseWriter, r *http.Request) {
	id, e := pathID(r, "id")
	if e != nil {
		writeError(w, e)
		return
	}
	t, err := s.trading.Get(r.Context(), mustPrincipal(r).UserID, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"trade": toTradeJSON(t)})
}

// parseTime accepts RFC 3339 or Unix seconds.
func parseTime(field, v string) (time.Time, *apiError) {
	if v == "" {
		return time.Time{}, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 && n < 253402300800 {
		return time.Unix(n, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fieldError(field, field+" must be RFC 3339 or Unix seconds")
	}
	return t, nil
}

func (s *Server) listTrades(w http.ResponseWriter, r *http.Request) {
	pg, e := parsePage(r)
	if e != nil {
		writeError(w, e)
		return
	}
	q := r.URL.Query()
	f := trading.Filter{Status: trading.Status(q.Get("status")), Limit: pg.limit, Cursor: pg.cursor}
	if sym := q.Get("symbol"); sym != "" {
		// The rule a trade's symbol was placed under, so every stored trade
		// can be filtered for; a NUL byte or invalid UTF-8 used to reach
		// PostgreSQL, whose refusal was a 500.
		if !trading.ValidSymbol(sym) {
			writeError(w, fieldError("symbol", fmt.Sprintf("symbol must be 1 to %d printable characters", trading.MaxSymbolLen)))
			return
		}
		f.Symbol = sym
	}
	if v := q.Get("bot_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id < 1 {
			writeError(w, fieldError("bot_id", "bot_id must be a bot's id"))
			return
		}
		f.BotID = id
	}
	switch q.Get("manual") {
	case "", "false":
	case "true":
		f.Manual = true
	default:
		writeError(w, fieldError("manual", "manual must be true or false"))
		return
	}
	if f.Status != "" && !f.Status.Valid() {
		writeError(w, fieldError("status", "status must be one of pending, open, won, lost, draw, rejected, unknown, unresolved"))
		return
	}
	if f.From, e = parseTime("from", q.Get("from")); e != nil {
		writeError(w, e)
		return
	}
	if f.To, e = parseTime("to", q.Get("to")); e != nil {
		writeError(w, e)
		return
	}
	list, next, err := s.trading.List(r.Context(), mustPrincipal(r).UserID, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]tradeJSON, len(list))
	for i, t := range list {
		out[i] = toTradeJSON(t)
	}
	var cursor *string
	if next != 0 {
		c := strconv.FormatInt(next, 10)
		cursor = &c
	}
	writeJSON(w, http.StatusOK, listJSON(out, cursor))
}

type statsRowJSON struct {
	BotID       *int64  `json:"bot_id"`
	Trades      int     `json:"trades"`
	Wins        int     `json:"wins"`
	Losses      int     `json:"losses"`
	Draws       int     `json:"draws"`
	WinRate     float64 `json:"win_rate"`
	Profit      float64 `json:"profit"`
	MaxDrawdown float64 `json:"max_drawdown"`
}

func toStatsRow(r trading.StatsRow) statsRowJSON {
	out := statsRowJSON{Trades: r.Trades, Wins: r.Wins, Losses: r.Losses, Draws: r.Draws, WinRate: r.WinRate}
	out.Profit, _ = r.Profit.Float64()
	out.MaxDrawdown, _ = r.MaxDrawdown.Float64()
	if r.BotID != 0 {
		id := r.BotID
		out.BotID = &id
	}
	return out
}

func (s *Server) stats(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, e := parseTime("from", q.Get("from"))
	if e != nil {
		writeError(w, e)
		return
	}
	to, e := parseTime("to", q.Get("to"))
	if e != nil {
		writeError(w, e)
		return
	}
	st, err := s.trading.Stats(r.Context(), mustPrincipal(r).UserID, from, to)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rows := make([]statsRowJSON, len(st.PerBot))
	for i, row := range st.PerBot {
		rows[i] = toStatsRow(row)
	}
	writeJSON(w, http.StatusOK, map[string]any{"totals": toStatsRow(st.Totals), "bots": rows})
}
