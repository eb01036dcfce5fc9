// Package broker is what a broker integrator implements: a Broker that is
// one user's account session at a binary-options or margin broker. Serve it
// with plugin.ServeBroker and check it with brokertest.Conformance. The
// Broker interface's documentation is the contract the host relies on;
// docs/BROKERS.md walks from an empty directory to a plugin the host runs,
// and examples/broker-skeleton is the template to start from.
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

// Capabilities are a broker's optional features, reported in GetInfo. The
// host and the SDK act on them without calling the adapter, so they must
// be true of every session.
type Capabilities struct {
	// CandleStream: SubscribeCandles pushes updates. Without it
	// SubscribeCandles may answer ErrUnsupported and the host polls
	// Candles instead.
	CandleStream bool
	// OrderStream: OrderResults pushes settlements. Without it the host
	// never calls OrderResults and polls GetOrder.
	OrderStream bool
	// AnonymousMarketData: Instruments, Candles and SubscribeCandles work
	// on a session that was never opened, which the host shares among all
	// users as its market-data session. Without it the SDK answers
	// ErrUnsupported for that session without calling the adapter, and
	// the host has no candles or symbols from this broker.
	AnonymousMarketData bool
	// SecondFactor: Open may answer ErrSecondFactorRequired. The host then
	// asks the user for a code and calls Open again with the credentials
	// plus "code", which Metadata.Credentials must declare.
	SecondFactor bool
	// RealAccounts: Mode Real is supported. Without it the SDK and the
	// host refuse Real with ErrUnsupported before Open is called.
	RealAccounts bool
}

// Metadata describes a broker adapter. It must be static and cheap: the
// SDK reads it from a throwaway session at start and serves it as the
// plugin's GetInfo answer.
type Metadata struct {
	// Name is the short lower-case name ([a-z0-9_-]), e.g. "paper". The
	// binary must be called stc-broker-<Name>: the host refuses a plugin
	// whose name and file name differ. Users pick a broker by this name.
	Name string
	// Version is the adapter's semantic version, e.g. "1.2.0".
	Version string
	// DisplayName is the name as people read it, e.g. "IQ Option" (at
	// most 64 characters); hosts show Name when it is empty.
	DisplayName string
	// Description is one line for operators and users.
	Description string
	// Credentials is what OpenRequest.Credentials may hold. The SDK
	// checks every Open against it (unknown names, missing required
	// fields, types, bounds) and fills defaults, so Open reads valid
	// values. The host encrypts the values of Sensitive fields and shows
	// the first non-sensitive "username", "email", "login" or
	// "identifier" field as the account's login.
	Credentials []schema.Field
	// Capabilities are the optional features the session supports.
	Capabilities Capabilities
	// PerSession asks the host to run one process per session instead of
	// multiplexing sessions in one process (adapters with global state,
	// such as a client library that allows one login per process).
	PerSession bool
}

// OpenRequest logs a session in.
type OpenRequest struct {
	// Mode is Practice, or Real when Capabilities.RealAccounts is set.
	Mode Mode
	// Credentials hold exactly the fields Metadata.Credentials declares
	// (defaults filled in). Never log them, nor echo them in errors.
	Credentials map[string]string
}

// Account describes an opened session's account.
type Account struct {
	Balance    decimal.Decimal
	Currency   string // ISO code, e.g. "USD"
	AccountRef string // the broker's own, non-secret account id
	// ResumeCredentials, when set, replace the original credentials for
	// re-opening the session later (e.g. a session token instead of a
	// password, so the password is never stored); the host stores them
	// encrypted and Open must accept them, so Metadata.Credentials must
	// declare their fields.
	ResumeCredentials map[string]string
}

// Instrument is a tradable symbol with its trading conditions as they are
// now.
type Instrument struct {
	Symbol        string  // the broker's symbol, unique, e.g. "EURUSD-OTC"
	Name          string  // human name, e.g. "Euro / US Dollar (OTC)"
	Market        string  // "forex", "otc", "crypto", ...
	PayoutPercent float64 // profit share of the stake on a win, in (0, 100], e.g. 85
	Open          bool    // tradable now (trading hours, suspensions)
	MinStake      decimal.Decimal
	MaxStake      decimal.Decimal
	Expiries      []time.Duration // the expiries PlaceOrder accepts, shortest first
}

// CandlesRequest asks for closed candles with open times in [From, To).
type CandlesRequest struct {
	Symbol    string
	Timeframe market.Timeframe
	From, To  int64  // Unix seconds; To zero means now
	PageSize  int    // zero means the adapter's default; a page never holds more
	PageToken string // empty for the first page, else a NextPageToken
}

// CandlesPage is one page of closed candles, ascending.
type CandlesPage struct {
	Candles market.Series
	// NextPageToken is opaque to the host, which passes it back unchanged
	// with the same request; it is empty on the last page.
	NextPageToken string
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
	Amount   decimal.Decimal // available to trade
	Currency string          // ISO code, e.g. "USD"
	Mode     Mode            // the session's mode
}

// OrderRequest opens one trade.
type OrderRequest struct {
	// ClientOrderID is the host's idempotency key, unique per account:
	// placing the same id again must return the first order and never
	// open a second trade.
	ClientOrderID string
	Symbol        string
	Side          market.Side     // Call or Put
	Amount        decimal.Decimal // the stake, in the account's currency
	Expiry        time.Duration   // one of the instrument's Expiries
	StopLoss      decimal.Decimal // margin brokers; zero = none
	TakeProfit    decimal.Decimal // margin brokers; zero = none
}

// Order is an order's full state.
type Order struct {
	ClientOrderID string // the request's, echoed
	BrokerOrderID string // the broker's own id; never empty once accepted
	Symbol        string
	Side          market.Side
	Amount        decimal.Decimal
	State         OrderState
	OpenPrice     float64 // entry price; zero while Pending
	ClosePrice    float64 // settlement price; set when Won, Lost or Draw
	PayoutPercent float64 // the payout the order was accepted at
	// Profit is stake × payout (rounded to cents) on a win, −stake on a
	// loss, zero on a draw; exactly the broker's figure.
	Profit       decimal.Decimal
	Expiry       time.Duration
	OpenedAt     time.Time
	ExpiresAt    time.Time
	ClosedAt     time.Time // set when final
	RejectReason string    // why, when Rejected
}

// Broker is one account session at a broker: what an adapter implements
// and the host calls, through the SDK's gRPC shim (plugin.ServeBroker),
// from another process.
//
// # Life of a session
//
// The SDK asks the adapter's Factory for a new value for every session id
// the host opens and never reuses a value once it is closed, or once its
// first Open failed. There are two kinds of session:
//
//   - A user's session, one per connected broker account: Open, then any
//     of the calls below, concurrently, then Close when the user
//     disconnects the account or the host shuts down. The host opens it
//     again, in a new value, at every host start and after every restart
//     of the plugin process, with the stored credentials (or the
//     Account's ResumeCredentials).
//   - The anonymous market-data session: never opened and never closed,
//     shared by every user for candles and symbols. The host calls only
//     Metadata, Instruments, Candles and SubscribeCandles on it, and only
//     when Capabilities.AnonymousMarketData is set.
//
// What works when:
//
//   - Metadata: always, on any value, without I/O.
//   - Instruments, Candles, SubscribeCandles: after Open; before Open
//     only with Capabilities.AnonymousMarketData.
//   - Balance, PlaceOrder, GetOrder, OrderResults: after Open only. For a
//     session id that was never opened (or is closed) the SDK answers
//     ErrSessionNotFound without calling the adapter, so adapters see
//     such calls only in their own tests; answer ErrSessionNotFound (or
//     ErrAuthFailed) there too.
//   - After Close: nothing; answer ErrSessionNotFound.
//
// # Concurrency and isolation
//
// Every method may be called concurrently on one session, and sessions of
// many users share one process (unless Metadata.PerSession): the SDK
// serialises only Open and Close of one session. Nothing of one user's
// session (token, orders, streams, errors) may reach another's. State that
// must outlive one session value, such as a second-factor challenge begun
// by a failed Open, belongs in the adapter, shared by the values the
// Factory returns.
//
// # Deadlines and streams
//
// Every call except the two streams carries the host's deadline
// (STC_PLUGIN_CALL_TIMEOUT, 10 s by default); several timeouts in a row
// make the host restart the process. Honour ctx, and answer
// ErrUnavailable before the deadline when the broker does not answer. A
// stream lives until its ctx ends or the session closes; every goroutine
// the adapter starts must end with them.
//
// # Errors
//
// Return this package's sentinel errors (ErrAuthFailed, …), wrapped
// (NewError, RateLimited or fmt.Errorf with %w) with a message that helps
// the user. The SDK carries
// them to the host with a stable reason, and the host acts on them with
// errors.Is: each sentinel's documentation says what it makes the host
// do. For PlaceOrder the sentinel decides between "refused, nothing
// placed" and "outcome unknown".
//
// # Optional interfaces
//
// A session may also implement:
//
//   - BatchPlacer: places a batch of orders in one call (the paper broker
//     journals a batch with one fsync). Without it the SDK places a batch
//     with PlaceOrder, up to 8 orders at a time, a repeated client order
//     id once.
//
// Declare every interface a session implements with compile-time checks
// next to its type, so a changed signature fails the build rather than
// silently dropping to the fallback:
//
//	var (
//		_ broker.Broker      = (*session)(nil)
//		_ broker.BatchPlacer = (*session)(nil)
//	)
type Broker interface {
	// Metadata describes the adapter. It is static and cheap, needs no
	// Open and does no I/O: the SDK calls it on a throwaway value at
	// start.
	Metadata() Metadata

	// Open logs the session in and describes the account. The SDK has
	// checked req.Credentials against Metadata.Credentials and refused
	// Mode Real without Capabilities.RealAccounts.
	//
	// The host calls it when a user connects an account; again with the
	// same credentials plus "code" after ErrSecondFactorRequired; at each
	// host start and after each plugin restart, with the stored
	// credentials. Opening an open session again must succeed and leave
	// it usable (re-login, token renewal). When the first Open of a
	// session fails the SDK discards the value.
	//
	// Errors: ErrAuthFailed (wrong credentials: the user must fix them),
	// ErrSecondFactorRequired, ErrRateLimited, ErrUnsupported (a mode or
	// login method the adapter does not offer), ErrUnavailable (the
	// broker cannot be reached; the user, or the host at its next start,
	// tries again).
	Open(ctx context.Context, req OpenRequest) (Account, error)

	// Close logs out, ends every stream of the session (their channels
	// close) and stops its goroutines. It is idempotent: closing a closed
	// or never-opened session succeeds. The host calls it when the user
	// disconnects the account and, best effort, at shutdown; a crash
	// skips it, so nothing that must survive may depend on it. Its error
	// is only logged.
	Close(ctx context.Context) error

	// Instruments lists the tradable symbols with their current payout,
	// stakes, expiries and open state. The host calls it often (symbol
	// lists, before orders): cache the broker's answer when it is costly.
	Instruments(ctx context.Context) ([]Instrument, error)

	// Candles returns one page of closed candles of req.Symbol with open
	// times in [From, To), ascending, without duplicates, aligned to the
	// timeframe; a candle still forming is never included. The same
	// request must give the same candles: the host stores them. At most
	// PageSize per page; the pages of one request concatenate to what one
	// large request returns.
	//
	// Errors: ErrUnknownInstrument (no such symbol), ErrUnsupported (a
	// timeframe the broker does not offer).
	Candles(ctx context.Context, req CandlesRequest) (CandlesPage, error)

	// SubscribeCandles streams updates of one symbol and timeframe: the
	// forming candle as often as the broker sends it (dropping stale
	// updates for a slow reader is fine) and each candle exactly once
	// with Closed set, in order. The channel closes, promptly, when ctx
	// ends or the session closes. When the stream fails, its last event
	// carries Err (usually wrapping ErrUnavailable) and the channel
	// closes: the host subscribes again with backoff and fetches the
	// closed candles it missed with Candles, so an adapter need not
	// reconnect inside the stream.
	//
	// Errors: ErrUnknownInstrument, ErrUnsupported (no streaming: the host
	// polls Candles instead).
	SubscribeCandles(ctx context.Context, req SubscribeRequest) (<-chan CandleEvent, error)

	// Balance returns the account's balance in the session's mode.
	Balance(ctx context.Context) (Balance, error)

	// PlaceOrder opens one trade and returns it Pending or Open, with the
	// client order id echoed and the broker's order id.
	//
	// It must be idempotent on req.ClientOrderID for the account: the same
	// id again, also concurrently or after a restart of the plugin
	// process, returns the first order and never opens a second trade.
	// When the broker cannot deduplicate, persist the id before sending
	// the order.
	//
	// Errors decide what the host records. ErrInvalidOrder,
	// ErrUnknownInstrument, ErrMarketClosed, ErrInsufficientFunds,
	// ErrUnsupported, ErrRateLimited, ErrAuthFailed and
	// ErrSessionNotFound say the broker refused it and nothing was placed:
	// return them only when that is certain. Any other error
	// (ErrUnavailable, a timeout, a plain error) says the outcome is
	// unknown: the host then resolves the order with GetOrder and never
	// sends it again.
	PlaceOrder(ctx context.Context, req OrderRequest) (Order, error)

	// GetOrder returns an order's current state by client order id. It is
	// the host's source of truth: it resolves orders whose PlaceOrder
	// answer was lost, and settles orders whose result the stream did not
	// deliver. It may be called while the PlaceOrder of the same id is
	// still running.
	//
	// ErrOrderNotFound means the broker never accepted the order: the
	// host marks the trade rejected. Return it only when that is certain;
	// when the broker cannot tell (yet), return ErrUnavailable and the
	// host asks again later.
	GetOrder(ctx context.Context, clientOrderID string) (Order, error)

	// OrderResults streams changes of the session's orders (at least each
	// order's final state) until ctx ends or the session closes. The host
	// applies a result once, so repeats are harmless, and polls GetOrder
	// for what it did not hear, so a full channel may drop an event. A
	// channel that closes while ctx is live tells the host the stream
	// broke: it subscribes again and reconciles with GetOrder. Called only
	// with Capabilities.OrderStream.
	OrderResults(ctx context.Context) (<-chan Order, error)
}

// Factory returns a new, unopened session. It must be cheap and start no
// goroutine: the SDK also calls it for values it only asks for Metadata,
// and never closes those.
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
