// Package trading places users' trades on their own broker accounts, manual
// (BotID 0) and by bots, and keeps the trade record exactly once.
//
// # Never lost, never twice
//
// Place validates the request, checks the risk limits and writes the trade
// row as StatusPending with a host-generated client order id, all in one
// transaction, and commits it before the broker plugin is called; no
// transaction is ever held across a broker call. The call's outcome moves
// the row on:
//
//   - accepted: StatusOpen, with the broker's order id, open price, payout
//     and expiry;
//   - a definite refusal by the broker (market closed, insufficient funds,
//     invalid order, unknown instrument, unsupported, rate limited, session
//     not logged in) or a call that never left the host
//     (pluginmgr.ErrPluginUnavailable): StatusRejected with the reason;
//   - anything else (timeout, plugin process died under the call, transport
//     failure): StatusUnknown. An unknown order is never sent again.
//
// Pending, unknown and open trades are resolved by asking the broker with
// GetOrder(client order id): Reconcile does it for all of them (at start),
// Run's sweep for those that are due. A found order gives its state; an
// order the broker never heard of (broker.ErrOrderNotFound) is rejected,
// but only once no PlaceOrder call for it can still be in flight; a trade
// the broker cannot tell about within Options.UnknownDeadline becomes
// StatusUnresolved, for a human to check.
//
// Settlement comes from each account's OrderResults stream, with GetOrder
// polling as the fallback. A final state is applied by a conditional
// UPDATE on the current status, so a result seen twice (stream and poll,
// or two hosts) changes the row once. Profit is the broker's, an exact
// decimal.
//
// # Events
//
// With Options.Events set, every transition above writes the trade as it
// is after the transition (what Get returns once it commits) to its
// user's event log, in the transaction that makes it: the pending row
// with its insert, each outcome, settlement and reconciliation with its
// update, so a stream client sees every state in order and a rolled-back
// change leaves no event. A recheck, which changes nothing a client
// sees, writes none.
//
// # Risk limits
//
// The user's Limits (DefaultLimits until SetLimits stores some) and, for a
// bot, the request's BotLimits over that bot's trades, are checked in the
// insert transaction, with the user's row locked on PostgreSQL (SQLite has
// a single writer), so concurrent Places cannot both pass a limit. See
// risk.go for each rule.
//
// # Tenancy
//
// Calls made for a user run in store.Tenant(userID) and filter on user_id
// as well; only the settlement and reconciliation workers, which act for no
// single user, use store.System.
package trading

import (
	"context"
	"errors"
	"time"

	"github.com/shopspring/decimal"

	"github.com/stc-trading/stc/host/internal/accounts"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
)

// Status is where a trade is in its life.
type Status string

// Trade statuses. Won, lost, draw, rejected and unresolved are final.
const (
	// StatusPending: the row is written and the order is being sent (or the
	// host stopped while sending it; reconciliation resolves it).
	StatusPending Status = "pending"
	// StatusOpen: the broker accepted the order; it settles at expiry.
	StatusOpen Status = "open"
	// StatusWon, StatusLost, StatusDraw: settled, with profit.
	StatusWon  Status = "won"
	StatusLost Status = "lost"
	StatusDraw Status = "draw"
	// StatusRejected: the order never became a trade at the broker.
	StatusRejected Status = "rejected"
	// StatusUnknown: the order may or may not have reached the broker; it
	// is resolved by asking the broker, never by sending it again.
	StatusUnknown Status = "unknown"
	// StatusUnresolved: the broker could not tell what became of the order
	// within Options.UnknownDeadline; a human must check. A settlement
	// pushed later by the broker's stream still applies.
	StatusUnresolved Status = "unresolved"
)

// Final reports whether s is a final state: won, lost, draw, rejected or
// unresolved.
func (s Status) Final() bool {
	switch s {
	case StatusWon, StatusLost, StatusDraw, StatusRejected, StatusUnresolved:
		return true
	}
	return false
}

// Valid reports whether s is one of the statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusPending, StatusOpen, StatusUnknown:
		return true
	}
	return s.Final()
}

// settled reports the states that carry a profit.
func (s Status) settled() bool { return s == StatusWon || s == StatusLost || s == StatusDraw }

// Trade is one trade record.
type Trade struct {
	ID     int64
	UserID int64
	// BotID is the bot that placed the trade, 0 for a manual trade.
	BotID     int64
	AccountID int64
	Broker    string
	Symbol    string
	Direction market.Side
	Amount    decimal.Decimal
	// Expiration is the requested duration.
	Expiration time.Duration
	Status     Status
	// ClientOrderID is the host-generated idempotency key of the order at
	// the broker; BrokerOrderID is the broker's own id, once known.
	ClientOrderID string
	BrokerOrderID string
	OpenPrice     decimal.Decimal
	ClosePrice    decimal.Decimal
	// Payout is the broker's payout percent (85 means a win pays 85 % of
	// the stake).
	Payout decimal.Decimal
	// Profit is the settled profit: stake × payout on a win, −stake on a
	// loss, 0 on a draw. HasProfit says whether it is known (won, lost,
	// draw).
	Profit    decimal.Decimal
	HasProfit bool
	// OpenedAt, ExpiresAt and ClosedAt are the broker's times; zero while
	// unknown. CreatedAt is when the host wrote the row.
	OpenedAt  time.Time
	ExpiresAt time.Time
	ClosedAt  time.Time
	CreatedAt time.Time
	// Error says why a trade was rejected, is unknown or unresolved.
	Error string
}

// Limits are risk limits, of a user or of a bot. The zero value of a field
// means no limit from this level.
type Limits struct {
	// MaxStake caps one trade's amount.
	MaxStake decimal.Decimal
	// MaxOpenTrades caps trades in flight (pending, open or unknown).
	MaxOpenTrades int
	// MaxTradesPerDay caps trades created in the current UTC day (rejected
	// ones, which never reached the broker, do not count).
	MaxTradesPerDay int
	// MaxDailyLoss: no new trade once today's realized losses minus wins
	// (UTC day of settlement) reach it.
	MaxDailyLoss decimal.Decimal
	// CooldownLosses consecutive losses pause trading for Cooldown after
	// the last of them. Both must be set for the rule to apply.
	CooldownLosses int
	Cooldown       time.Duration
}

// DefaultLimits are a user's limits until SetLimits stores others: a
// single stake of at most 1,000, at most 20 trades in flight and 1,000 a
// day, no daily loss limit and no cool-down (both depend on the user's
// money and style, so the user sets them).
func DefaultLimits() Limits {
	return Limits{
		MaxStake:        decimal.NewFromInt(1000),
		MaxOpenTrades:   20,
		MaxTradesPerDay: 1000,
	}
}

// PlaceRequest asks for one trade.
type PlaceRequest struct {
	UserID int64
	// AccountID 0 means the user's one connected account at Broker; it is
	// an error when there is none or more than one.
	AccountID  int64
	Broker     string
	Symbol     string
	Direction  market.Side
	Amount     decimal.Decimal
	Expiration time.Duration
	// BotID is the bot placing the trade (0: manual); BotLimits are its
	// own limits, checked over its trades besides the user's limits.
	BotID     int64
	BotLimits Limits
	// IdempotencyKey (manual API requests) makes Place repeatable: the
	// same key with the same RequestHash returns the same trade, as it is
	// at that moment (pending while the first call is still placing it);
	// another hash fails with ErrIdempotencyConflict. The key is claimed
	// only with a trade: a request refused before any trade was written
	// (validation, risk limit) leaves the key free. A key is remembered
	// for Options.IdempotencyTTL (24 h): after that the same key places a
	// new trade.
	IdempotencyKey string
	RequestHash    []byte
}

// Filter selects trades in List. Zero fields do not filter.
type Filter struct {
	// BotID selects one bot's trades; Manual selects manual trades. They
	// cannot both be set.
	BotID  int64
	Manual bool
	Symbol string
	Status Status
	// From and To bound the creation time: [From, To).
	From, To time.Time
	// Limit is the page size: default 50, at most 500.
	Limit int
	// Cursor is the next_cursor of the previous page (0: first page).
	Cursor int64
}

// Stats are trade statistics over settled trades.
type Stats struct {
	Totals StatsRow
	// PerBot has one row per bot with settled trades, manual trades (BotID
	// 0) first, then by bot id.
	PerBot []StatsRow
}

// StatsRow is the statistics of one bot, of manual trades, or of all.
type StatsRow struct {
	// BotID is the bot, 0 for manual trades (and in Totals).
	BotID                       int64
	Trades, Wins, Losses, Draws int
	// WinRate is Wins / Trades (draws count as trades), 0 without trades.
	WinRate float64
	Profit  decimal.Decimal
	// MaxDrawdown is the largest fall of cumulative profit from a
	// previous peak (starting at 0), in close order; never negative.
	MaxDrawdown decimal.Decimal
}

// Errors of the service. Every error wraps at most one of them.
var (
	// ErrNotFound: the trade does not exist or is another user's (the two
	// look the same on purpose).
	ErrNotFound = errors.New("trading: not found")
	// ErrAccountNotFound: the account a request names does not exist or
	// is another user's (the two look the same on purpose).
	ErrAccountNotFound = errors.New("trading: account not found")
	// ErrInvalidRequest: the request is malformed or outside the
	// instrument's conditions.
	ErrInvalidRequest = errors.New("trading: invalid request")
	// ErrRiskLimit: a risk limit refuses the trade; the error is a
	// *RiskError naming the rule.
	ErrRiskLimit = errors.New("trading: risk limit")
	// ErrIdempotencyConflict: the Idempotency-Key was used with another
	// request.
	ErrIdempotencyConflict = errors.New("trading: idempotency key reused with a different request")
	// ErrAccountNotConnected: the account (or the user's account at the
	// broker) is not connected, or several are and none was chosen.
	ErrAccountNotConnected = errors.New("trading: account not connected")
	// ErrNotEntitled: the user's plan does not allow this trade.
	ErrNotEntitled = errors.New("trading: not entitled")
)

// Risk rules named by RiskError.Rule.
const (
	RuleMaxStake        = "max_stake"
	RuleMaxOpenTrades   = "max_open_trades"
	RuleMaxTradesPerDay = "max_trades_per_day"
	RuleMaxDailyLoss    = "max_daily_loss"
	RuleCooldown        = "cooldown"
)

// RiskError is a refusal by a risk limit. errors.Is(err, ErrRiskLimit)
// holds.
type RiskError struct {
	// Rule is one of the Rule* constants.
	Rule string
	// Message explains the refusal to the user.
	Message string
}

// Error implements error.
func (e *RiskError) Error() string { return "trading: risk limit " + e.Rule + ": " + e.Message }

// Is makes errors.Is(err, ErrRiskLimit) true.
func (e *RiskError) Is(target error) bool { return target == ErrRiskLimit }

// Accounts gives the trading service the user's broker sessions;
// *accounts.Manager satisfies it.
type Accounts interface {
	// Session returns the connected session of one of userID's accounts.
	Session(ctx context.Context, userID, accountID int64) (broker.Broker, accounts.Account, error)
	// List returns userID's accounts.
	List(ctx context.Context, userID int64) ([]accounts.Account, error)
}

var _ Accounts = (*accounts.Manager)(nil)

// Policy is the entitlement service, asked before every trade.
type Policy interface {
	// CheckTrade returns nil when userID's plan allows trading at
	// brokerName in mode, and an error wrapping ErrNotEntitled otherwise
	// (e.g. a lapsed subscription and a real-money account).
	CheckTrade(ctx context.Context, userID int64, brokerName string, mode broker.Mode) error
}
