// Package broker is what a broker integrator implements: a Broker that is
// one user's account session at a binary-options or margin broker. Serve it
// with plugin.ServeBroker and check it with brokertest.Conformance.
//
// Trade semantics are uniform across brokers: direction (CALL/PUT) + amount
// + duration. Binary brokers settle at expiry with their payout; margin
// brokers open a position and close it at expiry. The result is always won,
// lost or draw (stake refunded) with an exact decimal profit.
package broker

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/stc-trading/stc/sdk/market"
	"github.com/stc-trading/stc/sdk/schema"
)

// Mode selects the practice (demo) or real-money balance.
type Mode int

// Modes. The zero value is invalid.
const (
	Practice Mode = iota + 1
	Real
)

// String returns "practice", "real" or "invalid(N)".
func (m Mode) String() string {
	switch m {
	case Practice:
		return "practice"
	case Real:
		return "real"
	}
	return fmt.Sprintf("invalid(%d)", int(m))
}

// ParseMode parses "practice" or "real".
func ParseMode(s string) (Mode, error) {
	switch s {
	case "practice":
		return Practice, nil
	case "real":
		return Real, nil
	}
	return 0, fmt.Errorf("broker: invalid mode %q (want practice or real)", s)
}

// OrderState is where an order is in its life.
type OrderState int

// Order states. Won, Lost, Draw and Rejected are final.
const (
	Pending OrderState = iota + 1
	Open
	Won
	Lost
	Draw
	Rejected
)

// String returns the lower-case state name.
func (s OrderState) String() string {
	switch s {
	case Pending:
		return "pending"
	case Open:
		return "open"
	case Won:
		return "won"
	case Lost:
		return "lost"
	case Draw:
		return "draw"
	case Rejected:
		return "rejected"
	}
	return fmt.Sprintf("invalid(%d)", int(s))
}

// Final reports whether s can no longer change.
func (s OrderState) Final() bool { return s == Won || s == Lost || s == Draw || s == Rejected }

// Capabilities are a broker's optional features, reported in GetInfo.
type Capabilities struct {
	CandleStream        bool // SubscribeCandles pushes updates (else the host polls)
	OrderStream         bool // OrderResults pushes settlements (else the host polls GetOrder)
	AnonymousMarketData bool // market data works on a session that was never opened
	SecondFactor        bool // Open may answer ErrSecondFactorRequired
	RealAccounts        bool // Mode Real is supported
}

// Metadata describes a broker adapter. It must be static and cheap.
type Metadata struct {
	Name         string // short lower-case name, e.g. "paper"
	Version      string // semantic version of the adapter
	Description  string
	Credentials  []schema.Field // what OpenRequest.Credentials must hold
	Capabilities Capabilities
	// PerSession asks the host to run one process per session instead of
	// multiplexing sessions in one process (adapters with global state).
	PerSession bool
}

// OpenRequest logs a session in.
type OpenRequest struct {
	Mode        Mode
	Credentials map[string]string // never log these
}

// Account describes an opened session's account.
type Account struct {
	Balance    decimal.Decimal
	Currency   string
	AccountRef string // the broker's own, non-secret account id
	// ResumeCredentials, when set, replace the original credentials for
	// re-opening the session later (e.g. a session token instead of a
	// password); the host stores them encrypted.
	ResumeCredentials map[string]string
}

// Instrument is a tradable symbol with its trading conditions.
type Instrument struct {
	Symbol        string
	Name          string
	Market        string  // "forex", "otc", "crypto", ...
	PayoutPercent float64 // profit share of the stake on a win, e.g. 85
	Open          bool
	MinStake      decimal.Decimal
	MaxStake      decimal.Decimal
	Expiries      []time.Duration
}

// CandlesRequest asks for closed candles with open times in [From, To).
type CandlesRequest struct {
	Symbol    string
	Timeframe market.Timeframe
	From, To  int64 // Unix seconds; To zero means now
	PageSize  int   // zero means the adapter's default
	PageToken string
}

// CandlesPage is one page of closed candles, ascending.
type CandlesPage struct {
	Candles       market.Series
	NextPageToken string // empty on the last page
}

// SubscribeRequest subscribes to one symbol and timeframe.
type SubscribeRequest struct {
	Symbol    string
	Timeframe market.Timeframe
}

// CandleEvent is one update of a candle stream. Closed is true exactly once
// per candle, when it is final. An event with Err set is the last one.
type CandleEvent struct {
	Candle market.Candle
	Closed bool
	Err    error
}

// Balance is an account balance.
type Balance struct {
	Amount   decimal.Decimal
	Currency string
	Mode     Mode
}

// OrderRequest opens one trade.
type OrderRequest struct {
	// ClientOrderID is the host's idempotency key: placing the same id again
	// must return the first order and never open a second trade.
	ClientOrderID string
	Symbol        string
	Side          market.Side
	Amount        decimal.Decimal
	Expiry        time.Duration
	StopLoss      decimal.Decimal // margin brokers; zero = none
	TakeProfit    decimal.Decimal // margin brokers; zero = none
}

// Order is an order's full state.
type Order struct {
	ClientOrderID string
	BrokerOrderID string
	Symbol        string
	Side          market.Side
	Amount        decimal.Decimal
	State         OrderState
	OpenPrice     float64
	ClosePrice    float64
	PayoutPercent float64
	// Profit is stake × payout on a win, −stake on a loss, zero on a draw.
	Profit       decimal.Decimal
	Expiry       time.Duration
	OpenedAt     time.Time
	ExpiresAt    time.Time
	ClosedAt     time.Time
	RejectReason string
}

// Broker is one account session.
type Broker interface {
	Metadata() Metadata
	// Open logs in. Opening an open session again succeeds.
	Open(ctx context.Context, req OpenRequest) (Account, error)
	// Close logs out and ends every stream of the session. Idempotent.
	Close(ctx context.Context) error
	Instruments(ctx context.Context) ([]Instrument, error)
	Candles(ctx context.Context, req CandlesRequest) (CandlesPage, error)
	// SubscribeCandles streams updates until ctx ends, then closes the
	// channel.
	SubscribeCandles(ctx context.Context, req SubscribeRequest) (<-chan CandleEvent, error)
	Balance(ctx context.Context) (Balance, error)
	// PlaceOrder must be idempotent on req.ClientOrderID.
	PlaceOrder(ctx context.Context, req OrderRequest) (Order, error)
	// GetOrder looks an order up by client order id; ErrOrderNotFound when
	// the broker never accepted it.
	GetOrder(ctx context.Context, clientOrderID string) (Order, error)
	// OrderResults streams order changes of the session until ctx ends. On
	// the host side a channel that closes while ctx is live means the
	// stream broke; GetOrder stays the source of truth.
	OrderResults(ctx context.Context) (<-chan Order, error)
}

// Factory returns a new, unopened session.
type Factory func() Broker

// OrderResult is the answer for one order of a batch: the order as the
// broker accepted it, or the error PlaceOrder would have returned for it.
type OrderResult struct {
	Order Order
	Err   error
}

// BatchPlacer is implemented by sessions that can place many orders in one
// call, such as the paper broker (one journal fsync for the batch) and the
// SDK's plugin client (one RPC for the batch). Adapters need not implement
// it: the SDK places a batch on any Broker one order after another.
type BatchPlacer interface {
	// PlaceOrders places reqs and returns one result per request, in
	// order. Each order is idempotent on its ClientOrderID exactly as with
	// PlaceOrder, also when one id appears twice in a batch (the second is
	// answered with the first's order). A non-nil error means the call as
	// a whole failed and says nothing about which orders were placed: the
	// caller must treat every order of the batch as PlaceOrder's caller
	// treats a failed call.
	PlaceOrders(ctx context.Context, reqs []OrderRequest) ([]OrderResult, error)
}

// PlaceOrders places reqs on b: in one call when b is a BatchPlacer, else
// with one PlaceOrder after another (stopping at ctx's end: the orders not
// sent get ctx's error).
func PlaceOrders(ctx context.Context, b Broker, reqs []OrderRequest) ([]OrderResult, error) {
	if bp, ok := b.(BatchPlacer); ok {
		return bp.PlaceOrders(ctx, reqs)
	}
	out := make([]OrderResult, len(reqs))
	for i, r := range reqs {
		if err := ctx.Err(); err != nil {
			out[i].Err = err
			continue
		}
		out[i].Order, out[i].Err = b.PlaceOrder(ctx, r)
	}
	return out, nil
}
