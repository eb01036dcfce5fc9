// Package venue is a tiny fake trading venue for the broker skeleton: an
// HTTP API for login, account, instruments, candles and orders, and two
// WebSocket feeds (live candles, order results). It exists so that the
// skeleton adapter and its tests talk to a real server over real sockets;
// a real broker's API differs in every detail, not in kind.
//
// The API (JSON; the token travels as "Authorization: Bearer <token>"):
//
//	POST /login                       {"username","password"} → {"token"}
//	POST /logout                      (token) → 204
//	GET  /account                     (token) → {"account_id","balance","currency"}
//	GET  /instruments                 → [{"symbol","name","market","payout","min_stake","max_stake","expiries"}]
//	GET  /candles?symbol&tf&from&to&limit  → {"candles":[{"t","o","h","l","c","v"}]}, closed candles only
//	POST /orders                      (token) {"client_order_id","symbol","side","amount","expiry"} → order
//	GET  /orders/{client_order_id}    (token) → order
//	GET  /ws/candles?symbol&tf        WebSocket: {"candle":{…},"closed":bool} as candles form and close
//	GET  /ws/orders                   (token) WebSocket: each order of the account when it settles
//
// A repeated client_order_id returns the first order and debits nothing:
// the venue deduplicates, as many real brokers do. Errors are
// {"error": code, "message": text} with the codes bad_credentials,
// unauthorized, unknown_symbol, bad_timeframe, invalid_order,
// insufficient_funds and order_not_found.
//
// Market time runs Config.Scale times faster than the wall clock, so a
// one-minute order settles within a second of a test. Prices are a pure
// function of symbol and second.
package venue

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/shopspring/decimal"
)

// Config configures a venue.
type Config struct {
	// Users maps user names to passwords; each account starts with
	// 10,000 USD.
	Users map[string]string
	// Scale is market seconds per wall second; zero means 1.
	Scale float64
}

// Server is a running venue.
type Server struct {
	cfg       Config
	http      *httptest.Server
	wallStart time.Time
	ctx       context.Context // ends on Close
	cancel    context.CancelFunc
	wg        sync.WaitGroup // the settlement loop and the WebSocket handlers

	mu       sync.Mutex
	closed   bool
	accounts map[string]*account // by user name
	tokens   map[string]*account
	conns    map[*websocket.Conn]struct{}
	seq      int
}

type account struct {
	id      string
	balance decimal.Decimal
	orders  map[string]*order // by client order id
	subs    map[chan order]struct{}
}

// order is an order as the venue sends it.
type order struct {
	ClientOrderID string          `json:"client_order_id"`
	ID            string          `json:"id"`
	Symbol        string          `json:"symbol"`
	Side          string          `json:"side"` // "call" or "put"
	Amount        decimal.Decimal `json:"amount"`
	Expiry        int64           `json:"expiry"` // seconds
	State         string          `json:"state"`  // open, won, lost or draw
	OpenPrice     float64         `json:"open_price"`
	ClosePrice    float64         `json:"close_price,omitempty"`
	Payout        float64         `json:"payout"` // percent of the stake paid on a win
	Profit        decimal.Decimal `json:"profit"`
	OpenedAt      int64           `json:"opened_at"`
	ExpiresAt     int64           `json:"expires_at"`
	ClosedAt      int64           `json:"closed_at,omitempty"`
}

// Start runs a venue on a random local port until Close.
func Start(cfg Config) *Server {
	if cfg.Scale <= 0 {
		cfg.Scale = 1
	}
	s := &Server{cfg: cfg, wallStart: time.Now(), accounts: map[string]*account{},
		tokens: map[string]*account{}, conns: map[*websocket.Conn]struct{}{}}
	for name := range cfg.Users {
		s.accounts[name] = &account{id: "acct-" + name, balance: decimal.NewFromInt(10000),
			orders: map[string]*order{}, subs: map[chan order]struct{}{}}
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("POST /logout", s.authed(s.logout))
	mux.HandleFunc("GET /account", s.authed(s.getAccount))
	mux.HandleFunc("GET /instruments", s.getInstruments)
	mux.HandleFunc("GET /candles", s.getCandles)
	mux.HandleFunc("POST /orders", s.authed(s.placeOrder))
	mux.HandleFunc("GET /orders/{id}", s.authed(s.getOrder))
	mux.HandleFunc("GET /ws/candles", s.streamCandles)
	mux.HandleFunc("GET /ws/orders", s.authed(s.streamOrders))
	s.http = httptest.NewServer(mux)
	s.wg.Go(s.settleLoop)
	return s
}

// URL is the venue's base URL, e.g. http://127.0.0.1:41234.
func (s *Server) URL() string { return s.http.URL }

// Now is market time.
func (s *Server) Now() time.Time {
	wall := time.Since(s.wallStart)
	return s.wallStart.Add(time.Duration(float64(wall) * s.cfg.Scale))
}

// DropStreams closes every WebSocket connection, as a network failure
// would.
func (s *Server) DropStreams() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		_ = c.CloseNow()
	}
}

// Streams counts the open WebSocket connections.
func (s *Server) Streams() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Close stops the venue and waits for every goroutine it started.
func (s *Server) Close() {
	s.cancel()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.DropStreams()
	s.http.Close()
	s.wg.Wait()
}

// fail writes an error answer.
func fail(w http.ResponseWriter, status int, code, format string, args ...any) {
	reply(w, status, map[string]string{"error": code, "message": fmt.Sprintf(format, args...)})
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// bearer returns the request's token.
func bearer(r *http.Request) string {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return tok
}

// authed wraps h with the token check.
func (s *Server) authed(h func(http.ResponseWriter, *http.Request, *account)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		a := s.tokens[bearer(r)]
		s.mu.Unlock()
		if a == nil {
			fail(w, http.StatusUnauthorized, "unauthorized", "missing or expired token")
			return
		}
		h(w, r, a)
	}
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var in struct{ Username, Password string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		fail(w, http.StatusBadRequest, "invalid_request", "%v", err)
		return
	}
	if pw, ok := s.cfg.Users[in.Username]; !ok || pw != in.Password {
		fail(w, http.StatusUnauthorized, "bad_credentials", "wrong user name or password")
		return
	}
	tok := rand.Text()
	s.mu.Lock()
	s.tokens[tok] = s.accounts[in.Username]
	s.mu.Unlock()
	reply(w, http.StatusOK, map[string]string{"token": tok})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, _ *account) {
	s.mu.Lock()
	delete(s.tokens, bearer(r))
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) getAccount(w http.ResponseWriter, _ *http.Request, a *account) {
	s.mu.Lock()
	defer s.mu.Unlock()
	reply(w, http.StatusOK, map[string]any{"account_id": a.id, "balance": a.balance, "currency": "USD"})
}

func (s *Server) getInstruments(w http.ResponseWriter, _ *http.Request) {
	out := []map[string]any{}
	for _, in := range instruments() {
		out = append(out, map[string]any{"symbol": in.symbol, "name": in.name, "market": in.market, "payout": in.payout,
			"min_stake": "1", "max_stake": "1000", "expiries": []int64{60, 300}})
	}
	reply(w, http.StatusOK, out)
}

// marketQuery reads the symbol and timeframe parameters, answering the
// error itself when they are wrong.
func marketQuery(w http.ResponseWriter, r *http.Request) (instrument, int64, bool) {
	in, ok := lookup(r.URL.Query().Get("symbol"))
	if !ok {
		fail(w, http.StatusNotFound, "unknown_symbol", "no instrument %q", r.URL.Query().Get("symbol"))
		return in, 0, false
	}
	tf, err := strconv.ParseInt(r.URL.Query().Get("tf"), 10, 64)
	if err != nil || tf < 60 || tf > 86400 || tf%60 != 0 {
		fail(w, http.StatusBadRequest, "bad_timeframe", "tf must be whole minutes, 60 to 86400 seconds")
		return in, 0, false
	}
	return in, tf, true
}

func (s *Server) getCandles(w http.ResponseWriter, r *http.Request) {
	in, tf, ok := marketQuery(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	now := s.Now().Unix()
	from, _ := strconv.ParseInt(q.Get("from"), 10, 64)
	to, _ := strconv.ParseInt(q.Get("to"), 10, 64)
	limit, _ := strconv.Atoi(q.Get("limit"))
	if to <= 0 || to > now {
		to = now
	}
	if limit <= 0 {
		limit = 1000
	}
	limit = min(limit, 10000)
	out := []candle{}
	for t := (from + tf - 1) / tf * tf; t < to && t+tf <= now && len(out) < limit; t += tf {
		out = append(out, in.candle(t, tf, t+tf))
	}
	reply(w, http.StatusOK, map[string]any{"candles": out})
}
