// Package strategy is what a strategy author implements: a Strategy that
// turns a window of closed candles into a Signal. Serve it with
// plugin.ServeStrategy and test it with strategytest.Conformance; no gRPC or
// protobuf type ever appears in author code.
//
// A strategy value is one instance (one bot, or one backtest): the SDK calls
// the Factory once per instance, so per-instance state lives in plain struct
// fields and needs no locking — the SDK serialises calls per instance.
package strategy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/stc-trading/stc/sdk/market"
	"github.com/stc-trading/stc/sdk/schema"
)

// Action is what a signal asks for.
type Action int

// Actions. The zero value is invalid; ActionHold means "do nothing".
const (
	ActionHold Action = iota + 1
	ActionCall
	ActionPut
)

// String returns "hold", "call", "put" or "invalid(N)".
func (a Action) String() string {
	switch a {
	case ActionHold:
		return "hold"
	case ActionCall:
		return "call"
	case ActionPut:
		return "put"
	}
	return fmt.Sprintf("invalid(%d)", int(a))
}

// Valid reports whether a is hold, call or put.
func (a Action) Valid() bool { return a >= ActionHold && a <= ActionPut }

// Signal is a strategy's decision for the newest closed candle.
type Signal struct {
	Action Action
	Reason string        // short human explanation, e.g. "rsi 27.3 < 30"
	Expiry time.Duration // option duration asked for; zero = the bot's setting
}

// Hold returns a signal that does nothing.
func Hold() Signal { return Signal{Action: ActionHold} }

// Call returns a CALL (buy) signal with a formatted reason.
func Call(format string, args ...any) Signal {
	return Signal{Action: ActionCall, Reason: fmt.Sprintf(format, args...)}
}

// Put returns a PUT (sell) signal with a formatted reason.
func Put(format string, args ...any) Signal {
	return Signal{Action: ActionPut, Reason: fmt.Sprintf(format, args...)}
}

// WithExpiry returns s asking for option duration d.
func (s Signal) WithExpiry(d time.Duration) Signal { s.Expiry = d; return s }

// Param declares one strategy parameter.
type Param = schema.Field

// Params are validated parameter values with typed accessors.
type Params = schema.Values

// Parameter types, re-exported so authors import one package.
const (
	Int      = schema.Int
	Float    = schema.Float
	String   = schema.String
	Bool     = schema.Bool
	Duration = schema.Duration
)

// Metadata describes a strategy. It must be static and cheap: the SDK calls
// it on a throw-away value to answer GetInfo.
type Metadata struct {
	Name    string // short lower-case name, e.g. "rsi"
	Version string // semantic version of the strategy, e.g. "1.2.0"
	// DisplayName is the name as people read it, e.g. "RSI"; hosts show
	// Name when it is empty.
	DisplayName string
	Description string
	Params      []Param
}

// ConfigureRequest configures an instance. Params have already been
// defaulted and validated against Metadata.Params.
type ConfigureRequest struct {
	Params    Params
	Symbol    string
	Timeframe market.Timeframe
}

// ConfigureResponse reports what an instance needs.
type ConfigureResponse struct {
	// Warmup is the number of closed candles OnCandle wants in its window.
	// Indicators with infinite memory (EMA, Wilder RSI) need several times
	// their period for live values to match a full-history computation;
	// see indicator.RSIWarmup and indicator.MACDWarmup.
	Warmup int
}

// CandleRequest is the live path's input: up to Warmup closed candles,
// oldest first; the last one is the candle that just closed.
type CandleRequest struct {
	Window market.Series
}

// Strategy is one strategy instance.
type Strategy interface {
	Metadata() Metadata
	// Configure validates cross-parameter rules (the SDK has checked each
	// parameter alone) and returns the warm-up.
	Configure(ctx context.Context, req ConfigureRequest) (ConfigureResponse, error)
	// OnCandle decides on the window's last candle. It must only look at
	// the window it is given and must not keep state between calls: the
	// host may restart the plugin and replay any window.
	OnCandle(ctx context.Context, req CandleRequest) (Signal, error)
}

// Factory returns a new, unconfigured instance.
type Factory func() Strategy

// Vectorized is an optional interface for fast backtests. When a strategy
// implements it, a backtest creates a fresh instance, configures it and
// feeds it the series chunk by chunk, in order; the strategy may carry state
// (streaming indicators) across chunks and must write out[i] for chunk[i]
// using only candles up to and including chunk[i]. Its signals must equal
// what OnCandle gives for the same candle with a full window; the
// conformance kit checks that.
type Vectorized interface {
	OnCandles(ctx context.Context, chunk market.Series, out []Signal) error
}

// Closer is an optional interface: Close runs when an instance is destroyed.
type Closer interface {
	Close(ctx context.Context) error
}

// Errors the SDK returns; they survive the process boundary.
var (
	// ErrInvalidParams wraps parameter validation failures.
	ErrInvalidParams = errors.New("strategy: invalid parameters")
	// ErrUnknownInstance is returned for an instance id the plugin does not
	// hold, typically after a plugin restart.
	ErrUnknownInstance = errors.New("strategy: unknown instance")
)
