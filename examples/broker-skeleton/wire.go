package skeleton

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/shopspring/decimal"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
)

// sentinels maps the venue's error codes to the SDK's sentinels. This is
// the table a real adapter deserves the most care on: the host decides
// with errors.Is whether an order was refused for sure (these) or its
// outcome is unknown (anything else, which it resolves with GetOrder).
func sentinels() map[string]error {
	return map[string]error{
		"bad_credentials":    broker.ErrAuthFailed,
		"unauthorized":       broker.ErrAuthFailed, // the token expired: log in again
		"unknown_symbol":     broker.ErrUnknownInstrument,
		"bad_timeframe":      broker.ErrUnsupported,
		"invalid_order":      broker.ErrInvalidOrder,
		"insufficient_funds": broker.ErrInsufficientFunds,
		"order_not_found":    broker.ErrOrderNotFound,
	}
}

// errNoVenue is every venue call's answer while no venue is configured.
func errNoVenue() error {
	return broker.NewError(broker.ErrUnavailable, "no venue configured: set %s", EnvVenueURL)
}

// call sends one request to the venue, with in as its JSON body when not
// nil, and decodes the JSON answer into out when not nil. Every failure
// wraps a broker sentinel: the venue's refusals through sentinels, a
// transport failure or a garbled answer as broker.ErrUnavailable.
func (a *Adapter) call(ctx context.Context, method, path, token string, in, out any) error {
	if a.cfg.VenueURL == "" {
		return errNoVenue()
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.cfg.VenueURL+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return broker.NewError(broker.ErrUnavailable, "%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return venueError(resp)
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(out); err != nil {
		return broker.NewError(broker.ErrUnavailable, "%s %s: unreadable answer: %v", method, path, err)
	}
	return nil
}

// dial opens one of the venue's WebSocket feeds; errors are mapped as
// call maps them.
func (a *Adapter) dial(ctx context.Context, path, token string) (*websocket.Conn, error) {
	if a.cfg.VenueURL == "" {
		return nil, errNoVenue()
	}
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	// http://host → ws://host, https://host → wss://host.
	wsURL := "ws" + strings.TrimPrefix(a.cfg.VenueURL, "http") + path
	conn, resp, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPClient: a.http, HTTPHeader: h}) //nolint:bodyclose // the library owns the handshake body
	if err != nil {
		if resp != nil && resp.StatusCode >= 300 {
			return nil, venueError(resp)
		}
		return nil, broker.NewError(broker.ErrUnavailable, "dial %s: %v", path, err)
	}
	return conn, nil
}

// venueError turns an error answer into an error wrapping a sentinel.
func venueError(resp *http.Response) error {
	var e struct {
		Code    string `json:"error"`
		Message string `json:"message"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&e)
	if resp.StatusCode == http.StatusTooManyRequests {
		secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return broker.RateLimited(time.Duration(secs)*time.Second, "%s", e.Message)
	}
	if kind, ok := sentinels()[e.Code]; ok {
		return broker.NewError(kind, "%s", e.Message)
	}
	// A server error or an answer the adapter does not know: transient
	// as far as the host can tell.
	return broker.NewError(broker.ErrUnavailable, "venue answered %d %s %s", resp.StatusCode, e.Code, e.Message)
}

// The venue's JSON shapes. The adapter keeps its own copies rather than
// importing the venue's: a real adapter has only the wire to go by.

type accountDTO struct {
	AccountID string          `json:"account_id"`
	Balance   decimal.Decimal `json:"balance"`
	Currency  string          `json:"currency"`
}

type instrumentDTO struct {
	Symbol   string          `json:"symbol"`
	Name     string          `json:"name"`
	Market   string          `json:"market"`
	Payout   float64         `json:"payout"`
	MinStake decimal.Decimal `json:"min_stake"`
	MaxStake decimal.Decimal `json:"max_stake"`
	Expiries []int64         `json:"expiries"` // seconds
}

type candleDTO struct {
	T int64   `json:"t"`
	O float64 `json:"o"`
	H float64 `json:"h"`
	L float64 `json:"l"`
	C float64 `json:"c"`
	V float64 `json:"v"`
}

func (c candleDTO) candle() market.Candle {
	return market.Candle{Time: c.T, Open: c.O, High: c.H, Low: c.L, Close: c.C, Volume: c.V}
}

type orderRequestDTO struct {
	ClientOrderID string          `json:"client_order_id"`
	Symbol        string          `json:"symbol"`
	Side          string          `json:"side"`
	Amount        decimal.Decimal `json:"amount"`
	Expiry        int64           `json:"expiry"`
}

type orderDTO struct {
	ClientOrderID string          `json:"client_order_id"`
	ID            string          `json:"id"`
	Symbol        string          `json:"symbol"`
	Side          string          `json:"side"`
	Amount        decimal.Decimal `json:"amount"`
	Expiry        int64           `json:"expiry"`
	State         string          `json:"state"`
	OpenPrice     float64         `json:"open_price"`
	ClosePrice    float64         `json:"close_price"`
	Payout        float64         `json:"payout"`
	Profit        decimal.Decimal `json:"profit"`
	OpenedAt      int64           `json:"opened_at"`
	ExpiresAt     int64           `json:"expires_at"`
	ClosedAt      int64           `json:"closed_at"`
}

func (o orderDTO) order() broker.Order {
	states := map[string]broker.OrderState{"open": broker.Open, "won": broker.Won, "lost": broker.Lost, "draw": broker.Draw}
	state, ok := states[o.State]
	if !ok {
		state = broker.Pending // a state the adapter does not know: the host keeps asking
	}
	side := market.Call
	if o.Side == "put" {
		side = market.Put
	}
	return broker.Order{
		ClientOrderID: o.ClientOrderID, BrokerOrderID: o.ID, Symbol: o.Symbol, Side: side, Amount: o.Amount,
		State: state, OpenPrice: o.OpenPrice, ClosePrice: o.ClosePrice, PayoutPercent: o.Payout, Profit: o.Profit,
		Expiry:   time.Duration(o.Expiry) * time.Second,
		OpenedAt: unix(o.OpenedAt), ExpiresAt: unix(o.ExpiresAt), ClosedAt: unix(o.ClosedAt),
	}
}

// unix converts the venue's Unix seconds; zero is "not yet".
func unix(sec int64) time.Time {
	if sec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}
