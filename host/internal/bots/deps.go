package bots

import (
	"context"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/stc-trading/stc/host/internal/accounts"
	"github.com/stc-trading/stc/host/internal/billing"
	"github.com/stc-trading/stc/host/internal/marketdata"
	"github.com/stc-trading/stc/host/internal/pluginmgr"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
	"github.com/stc-trading/stc/sdk/strategy"
)

// Strategies hands out strategy plugin handles; *pluginmgr.Manager
// satisfies it.
type Strategies interface {
	// Strategy returns the handle of strategy plugin name; an error
	// wrapping pluginmgr.ErrUnknownPlugin when none is installed.
	Strategy(ctx context.Context, name string) (*pluginmgr.StrategyHandle, error)
}

// Market is the shared candle service; *marketdata.Service satisfies it.
type Market interface {
	// Subscribe delivers a key's closed candles from now on.
	Subscribe(k marketdata.Key) (*marketdata.Subscription, error)
	// Candles returns history ascending (from = to = 0: the latest limit).
	Candles(ctx context.Context, brokerName, symbol string, tf market.Timeframe, from, to int64, limit int) (market.Series, error)
	// Track keeps a key's feed running for good.
	Track(k marketdata.Key) error
	// Instruments lists a broker's instruments, to check a bot's symbol.
	Instruments(ctx context.Context, brokerName string) ([]broker.Instrument, error)
}

// Accounts looks up a user's broker accounts; *accounts.Manager satisfies
// it.
type Accounts interface {
	// Get returns one of userID's accounts with its live status;
	// accounts.ErrNotFound for another user's or an unknown one.
	Get(ctx context.Context, userID, accountID int64) (accounts.Account, error)
}

// Entitlements says what a user's plan allows; *billing.Service satisfies
// it.
type Entitlements interface {
	Entitlements(ctx context.Context, userID int64) (billing.Entitlements, error)
}

// OrderRequest is one bot order handed to the Trader.
type OrderRequest struct {
	UserID, AccountID, BotID int64
	Broker, Symbol           string
	Direction                market.Side
	Amount                   decimal.Decimal
	Expiration               time.Duration
	// Limits are the bot's; Cooldown is its CooldownCandles × timeframe.
	Limits   Limits
	Cooldown time.Duration
	// Reason is the strategy's reason for the signal, for the trade log.
	Reason string
}

// Outcomes of a settled trade, as SettledTrade.Status spells them.
const (
	OutcomeWon  = "won"
	OutcomeLost = "lost"
	OutcomeDraw = "draw"
)

// SettledTrade is one of a bot's final trades, newest first in
// RecentSettled.
type SettledTrade struct {
	// Status is OutcomeWon, OutcomeLost or OutcomeDraw.
	Status string
	Amount decimal.Decimal
	// Profit is positive on a win, −Amount on a loss, zero on a draw.
	Profit decimal.Decimal
}

// Trader places orders and reports settled trades. Place must write the
// trade row with BotID (the trading service's exactly-once path) and wrap
// ErrRiskLimit for refusals by a risk limit, ErrAccountNotConnected when the
// account cannot trade and ErrNotEntitled when the plan forbids the order;
// the runner keeps the bot running on the first and pauses it on the other
// two. FromTrading adapts the trading service.
type Trader interface {
	Place(ctx context.Context, req OrderRequest) error
	// RecentSettled returns the bot's n most recent final trades (won,
	// lost or draw), newest first.
	RecentSettled(ctx context.Context, userID, botID int64, n int) ([]SettledTrade, error)
}

// BatchTrader is a Trader that can place many orders in one call; the
// runner then hands it all the signals waiting at once. PlaceBatch
// returns one error per request, in order, each as Place would have
// returned it.
type BatchTrader interface {
	Trader
	PlaceBatch(ctx context.Context, reqs []OrderRequest) []error
}

// EventLog records the changes users watch; *events.Log satisfies it.
// Add is called inside the store.Update transaction that makes the change,
// with the bot as it is after the change; the event is written with that
// transaction and vanishes with it on rollback.
type EventLog interface {
	Add(tx *sqlx.Tx, userID int64, obj any) error
}

// Deps are the services a bot service works with.
type Deps struct {
	Strategies   Strategies
	Market       Market
	Accounts     Accounts
	Entitlements Entitlements
	Trader       Trader
	// Events, when set, receives every change of a bot its owner can see
	// (create, update, start, stop, pause, resume, its signals and errors,
	// delete) as the Bot after the change, in the change's transaction.
	// Nil records none.
	Events EventLog
}

// EventKind says what an Event reports.
type EventKind int

// Event kinds.
const (
	// EventEvaluated: a bot's strategy decided on a candle (Signal or
	// Err set).
	EventEvaluated EventKind = iota + 1
	// EventOrdered: a bot's order was handed to the Trader and the call
	// returned (Err set when it failed), or its signal expired unplaced
	// (Err is ErrSignalExpired).
	EventOrdered
	// EventPaused: the host paused a bot (Reason set).
	EventPaused
)

// Event is an observation of the runner, for tests, metrics and the
// benchmark. Observers must not block.
type Event struct {
	Kind   EventKind
	BotID  int64
	UserID int64
	// Candle is the closed candle that caused it; Received is when the
	// runner got it from the market-data fan-out.
	Candle   market.Candle
	Received time.Time
	Signal   strategy.Signal
	// Stake is the ordered amount (EventOrdered).
	Stake  decimal.Decimal
	Reason string
	Err    error
	// At is when the event happened.
	At time.Time
}

// Options tune the service; zero values take the defaults in comments.
type Options struct {
	// EntitlementTTL is how long a user's entitlements are cached by the
	// runner's per-order check. Default 30 s: a lapsed subscription stops
	// a bot within that long without a database read per order.
	EntitlementTTL time.Duration
	// BatchBytes bounds the candle payload of one BatchOnCandle message
	// (gRPC refuses messages over 4 MB). Default 2 MB.
	BatchBytes int
	// BatchConcurrency is how many BatchOnCandle calls of one key run at
	// once. Default 4.
	BatchConcurrency int
	// OrderWorkers bounds concurrent Trader calls. Default 64, or 8 when
	// the Trader is a BatchTrader (each call then carries many orders;
	// 2, 4, 8, 16 and 32 were measured, see docs/BENCHMARKS.md).
	OrderWorkers int
	// OrderBatch bounds the orders of one BatchTrader.PlaceBatch call.
	// Default 1,000.
	OrderBatch int
	// EvaluateEachBot turns off the shared evaluation of identical bots,
	// so every bot's own instance is evaluated; for measurement.
	EvaluateEachBot bool
	// StatusFlush is the period of the batched write of last signals and
	// errors. Default 250 ms.
	StatusFlush time.Duration
	// StatusHold is how long that write waits while orders are being
	// placed (signals queued or in a Trader call), so that writing a
	// candle's last signals and their events does not compete with the
	// candle's orders; after it the write goes ahead. Default 1 s;
	// negative: never wait.
	StatusHold time.Duration
	// ResumeConcurrency bounds parallel bot starts in Run. Default 16.
	ResumeConcurrency int
	// RetryBase and RetryCap shape the retry of a bot that could not start
	// in Run for a transient reason (plugin restarting). Defaults 1 s and
	// 1 min.
	RetryBase, RetryCap time.Duration
	// Observer, when set, receives runner events. It is called from the
	// runner's goroutines, concurrently, and must not block.
	Observer func(Event)
	// Now is the clock; default time.Now.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.EntitlementTTL <= 0 {
		o.EntitlementTTL = 30 * time.Second
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = 2 << 20
	}
	if o.BatchConcurrency <= 0 {
		o.BatchConcurrency = 4
	}
	if o.OrderBatch <= 0 {
		o.OrderBatch = 1000
	}
	if o.StatusFlush <= 0 {
		o.StatusFlush = 250 * time.Millisecond
	}
	if o.StatusHold == 0 {
		o.StatusHold = time.Second
	}
	if o.ResumeConcurrency <= 0 {
		o.ResumeConcurrency = 16
	}
	if o.RetryBase <= 0 {
		o.RetryBase = time.Second
	}
	if o.RetryCap <= 0 {
		o.RetryCap = time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
