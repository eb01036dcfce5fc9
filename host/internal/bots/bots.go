// Package bots runs users' trading bots: a strategy instance in the
// multiplexed strategy plugin, fed the closed candles of one (broker,
// symbol, timeframe), turning its signals into orders on the bot owner's
// own broker account with the bot's limits and money management.
//
// # Life of a bot
//
// Create validates the spec (strategy installed and allowed, parameters
// accepted by the strategy, the account the user's own, symbol, timeframe,
// amount, expiration, progression caps) and stores the bot stopped. Start
// re-checks the plan and the account and marks it running; Stop marks it
// stopped. A running bot whose account disconnects or whose subscription
// lapses is paused with a visible StatusReason; Start resumes it. The
// status in the database is the truth: Run resumes every running bot at
// host start, so a host restart resumes them all.
//
// # Runner
//
// One dispatcher goroutine per candle key (broker, symbol, timeframe) with
// running bots, fed by the market-data fan-out, keeps the key's recent
// candles and on every closed candle evaluates all of the key's bots with
// BatchOnCandle, a few hundred instances per message, instead of one
// goroutine and one RPC per bot: at 10,000 bots one RPC each costs more than
// the one-second budget (docs/BENCHMARKS.md). Strategies are stateless
// between calls (the SDK contract), so bots with the same strategy,
// effective parameters and key get the same signal from the same window;
// the dispatcher evaluates one instance per such group. Every bot still has
// its own instance ("bot-<id>"), which pluginmgr re-creates after a plugin
// restart. Signals become orders on a bounded pool of workers owned by the
// runner.
//
// The window sent to a strategy is its instance's Warmup closed candles
// (indicator.RSIWarmup and MACDWarmup size it), so live values match a
// full-history computation.
//
// # Money management
//
// The stake is the base amount, or the martingale or soros progression
// derived from the bot's recent settled trades (Trader.RecentSettled), so a
// restart never resets it; see stake.go.
//
// # Pauses
//
// The runner checks the user's entitlements (cached for EntitlementTTL)
// before every order and pauses a bot the plan no longer covers; with a
// plan of n bots the user's n oldest running bots keep running. An order
// refused because the account is not connected pauses the bot too;
// PauseAccount pauses an account's bots at once (call it on disconnect).
//
// # Events
//
// With Deps.Events set, every change of a bot its owner can see is an
// event of the owner's log, added in the transaction that makes the change
// and carrying the bot as it is after it (what Get returns once the change
// commits): create, update, start, stop, pause (with its reason), a
// failed start, the last signal and last error the runner writes in
// batches, and delete (the bot as it was, with StatusDeleted). The
// statements that change many bots (a batch of last signals, pausing an
// account's bots) read the changed rows back with UPDATE ... RETURNING,
// one event per bot. A change whose event cannot be added rolls back.
//
// # One host
//
// The runner assumes it is the only one: the plan's running-bot rank is
// counted among this host's bots, and Run resumes every running bot.
// Several hosts on one database would lease bots to hosts, which is not
// built yet (docs/ARCHITECTURE.md §8); nothing here keeps state that a
// lease could not carry, since the status, the last signal and the
// progression (the trades) are all in the database.
package bots

import (
	"errors"
	"time"

	"github.com/shopspring/decimal"

	"github.com/stc-trading/stc/sdk/market"
)

// Status is where a bot is in its life.
type Status string

// Bot statuses.
const (
	// StatusStopped: created or stopped by the user; does nothing.
	StatusStopped Status = "stopped"
	// StatusRunning: evaluates every closed candle and trades.
	StatusRunning Status = "running"
	// StatusPaused: stopped by the host for a reason the user can fix
	// (account disconnected, subscription lapsed); StatusReason says which.
	// Start resumes it.
	StatusPaused Status = "paused"
	// StatusError: the bot cannot run as configured (strategy gone,
	// parameters no longer accepted); StatusReason says why.
	StatusError Status = "error"
	// StatusDeleted is never stored: it is the status of a deleted bot's
	// last event (Deps.Events), which carries the bot as it was when
	// deleted, so a client watching it learns it is gone.
	StatusDeleted Status = "deleted"
)

// Valid reports whether st is one of the four statuses a stored bot has
// (StatusDeleted is not one).
func (st Status) Valid() bool {
	switch st {
	case StatusStopped, StatusRunning, StatusPaused, StatusError:
		return true
	}
	return false
}

// Reasons in StatusReason. They are stable, machine-readable words; the
// error text that caused them is in LastError.
const (
	// ReasonAccountNotConnected: the bot's account is not connected.
	ReasonAccountNotConnected = "account_not_connected"
	// ReasonNotEntitled: the user's plan no longer covers the bot
	// (subscription lapsed, more running bots than the plan allows,
	// strategy or broker not in the plan).
	ReasonNotEntitled = "subscription_lapsed"
	// ReasonStrategyUnavailable: the strategy plugin is not installed or
	// refused the bot's parameters.
	ReasonStrategyUnavailable = "strategy_unavailable"
)

// Progression kinds.
const (
	ProgressionNone       = "none"
	ProgressionMartingale = "martingale"
	ProgressionSoros      = "soros"
)

// Progression is the bot's money management: after losses (martingale) or
// wins (soros) the stake changes, within hard caps.
type Progression struct {
	// Kind is "none" (or empty), "martingale" or "soros".
	Kind string
	// Multiplier scales the stake after each loss (martingale only), > 1.
	Multiplier decimal.Decimal
	// MaxSteps (1..10) caps the streak the progression follows; one more
	// loss (martingale) or win (soros) resets it to the base amount.
	MaxSteps int
	// MaxStake caps every stake of the progression (> 0).
	MaxStake decimal.Decimal
}

// Limits are the bot's risk limits, enforced by the trader on every order
// together with the user's own. Zero means no limit of that kind.
type Limits struct {
	// MaxStake refuses orders above this stake.
	MaxStake decimal.Decimal
	// MaxDailyLoss stops trading for the UTC day once the bot lost this
	// much.
	MaxDailyLoss decimal.Decimal
	// MaxOpenTrades caps the bot's trades open at once.
	MaxOpenTrades int
	// MaxTradesPerDay caps the bot's trades per UTC day.
	MaxTradesPerDay int
	// CooldownLosses consecutive losses start a cool-down of
	// CooldownCandles candles of the bot's timeframe.
	CooldownLosses, CooldownCandles int
}

// Spec is what a user configures.
type Spec struct {
	Name     string
	Strategy string
	// Params are the strategy's raw parameter values; the strategy applies
	// its defaults.
	Params     map[string]string
	AccountID  int64
	Symbol     string
	Timeframe  market.Timeframe
	Amount     decimal.Decimal
	Expiration time.Duration
	Limits     Limits
	// Progression is optional money management.
	Progression Progression
}

// Bot is a stored bot.
type Bot struct {
	ID, UserID int64
	Spec
	// Broker is the account's broker.
	Broker       string
	Status       Status
	StatusReason string
	// LastSignal is the last trade signal ("call" or "put"), with its
	// strategy-given reason and the time it was acted on.
	LastSignal       string
	LastSignalReason string
	LastSignalAt     time.Time
	// LastError is the last problem the bot met (a refused order, a
	// strategy error), kept until the next one; LastErrorAt is its time.
	LastError   string
	LastErrorAt time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Errors of the service; test with errors.Is.
var (
	// ErrNotFound: no such bot, or another user's.
	ErrNotFound = errors.New("bots: bot not found")
	// ErrInvalidSpec: the spec is invalid; the error holds an
	// *apperr.FieldError naming the field.
	ErrInvalidSpec = errors.New("bots: invalid bot")
	// ErrNotEntitled: the user's plan does not allow this (more bots, this
	// strategy, this broker, real money).
	ErrNotEntitled = errors.New("bots: not entitled")
	// ErrConflict: the bot is in the wrong state for the request (update
	// while running).
	ErrConflict = errors.New("bots: conflict")
	// ErrAccountNotConnected: the bot's account is not connected.
	ErrAccountNotConnected = errors.New("bots: account not connected")
	// ErrRiskLimit: a Trader refused an order because of a risk limit; the
	// bot keeps running. Trader implementations wrap it.
	ErrRiskLimit = errors.New("bots: risk limit")
	// ErrIdempotencyConflict: the Idempotency-Key of a create was used
	// before with a different request.
	ErrIdempotencyConflict = errors.New("bots: idempotency key reused with a different request")
)

// Bounds of a spec: the one rule for bots, which the HTTP API applies
// too. A bot's symbol is bounded by store.MaxSymbolLen, the width of the
// market-data columns it is read from.
const (
	// MinExpiration and MaxExpiration bound a bot's expiration: brokers
	// offer binary expiries from a minute to an hour (docs/TRADING.md).
	MinExpiration = 60 * time.Second
	MaxExpiration = 3600 * time.Second
	// MaxNameLen bounds a bot's name, in bytes.
	MaxNameLen = 100
	// MaxParams bounds how many strategy parameters a bot sets.
	MaxParams = 32
	// MaxParamNameLen and MaxParamLen bound a parameter's name and value,
	// in bytes.
	MaxParamNameLen = 64
	MaxParamLen     = 200
	// MaxStrategyNameLen bounds a strategy's name, in bytes.
	MaxStrategyNameLen = 64
	// MaxSteps bounds a progression's steps.
	MaxSteps = 10
)

// InstanceID returns the strategy instance id of bot id ("bot-<id>").
func InstanceID(botID int64) string { return "bot-" + itoa(botID) }
