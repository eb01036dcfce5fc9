package convert

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
	"github.com/stc-trading/stc/sdk/schema"
	"github.com/stc-trading/stc/sdk/strategy"
)

func TestSentinelsSurviveTheWire(t *testing.T) {
	all := []error{
		broker.ErrAuthFailed, broker.ErrSecondFactorRequired, broker.ErrRateLimited, broker.ErrMarketClosed,
		broker.ErrInsufficientFunds, broker.ErrUnknownInstrument, broker.ErrUnsupported, broker.ErrInvalidOrder,
		broker.ErrOrderNotFound, broker.ErrSessionNotFound, broker.ErrUnavailable,
	}
	for _, sentinel := range all {
		t.Run(sentinel.Error(), func(t *testing.T) {
			back := FromStatus(ToStatus(broker.NewError(sentinel, "detail %d", 7)))
			assert.True(t, errors.Is(back, sentinel), "got %v", back)
			assert.Equal(t, sentinel.Error()+": detail 7", back.Error(), "the message keeps its detail once")
			for _, other := range all {
				if !errors.Is(other, sentinel) {
					assert.False(t, errors.Is(back, other))
				}
			}
		})
	}
	back := FromStatus(ToStatus(broker.RateLimited(42*time.Second, "login limit")))
	d, ok := broker.RetryAfter(back)
	require.True(t, ok)
	assert.Equal(t, 42*time.Second, d)

	assert.True(t, errors.Is(FromStatus(ToStatus(strategy.ErrUnknownInstance)), strategy.ErrUnknownInstance))
	assert.True(t, errors.Is(FromStatus(ToStatus(schema.Errors{{Field: "x", Problem: "bad"}})), schema.ErrInvalid))
	assert.True(t, errors.Is(FromStatus(ToStatus(ErrPluginPanic)), ErrPluginPanic))
	plain := FromStatus(ToStatus(errors.New("boom")))
	assert.Contains(t, plain.Error(), "boom")
}

func TestOrderRoundTrip(t *testing.T) {
	o := broker.Order{
		ClientOrderID: "c-1", BrokerOrderID: "b-1", Symbol: "EURUSD-OTC", Side: market.Put,
		Amount: decimal.RequireFromString("10.50"), State: broker.Won, OpenPrice: 1.08123, ClosePrice: 1.08001,
		PayoutPercent: 87, Profit: decimal.RequireFromString("9.14"), Expiry: time.Minute,
		OpenedAt: time.UnixMilli(1_700_000_000_123).UTC(), ExpiresAt: time.UnixMilli(1_700_000_060_123).UTC(),
		ClosedAt: time.UnixMilli(1_700_000_060_500).UTC(),
	}
	back, err := OrderFromPB(OrderToPB(o))
	require.NoError(t, err)
	assert.True(t, o.Amount.Equal(back.Amount) && o.Profit.Equal(back.Profit))
	back.Amount, back.Profit = o.Amount, o.Profit
	assert.Equal(t, o, back)
}

func TestInstrumentAndSeriesRoundTrip(t *testing.T) {
	in := broker.Instrument{Symbol: "EURUSD", Name: "EUR/USD", Market: "forex", PayoutPercent: 82, Open: true,
		MinStake: decimal.NewFromInt(1), MaxStake: decimal.NewFromInt(20000), Expiries: []time.Duration{time.Minute, 5 * time.Minute}}
	back, err := InstrumentFromPB(InstrumentToPB(in))
	require.NoError(t, err)
	assert.True(t, back.MinStake.Equal(in.MinStake) && back.MaxStake.Equal(in.MaxStake))
	back.MinStake, back.MaxStake = in.MinStake, in.MaxStake
	assert.Equal(t, in, back)

	s := market.Series{{Time: 60, Open: 1, High: 2, Low: 0.5, Close: 1.5, Volume: 9}, {Time: 120, Open: 1.5, High: 1.6, Low: 1.4, Close: 1.45}}
	got, err := SeriesFromPB(nil, SeriesToPB(s))
	require.NoError(t, err)
	assert.Equal(t, s, got)

	broken := SeriesToPB(s)
	broken.Close = broken.Close[:1]
	_, err = SeriesFromPB(nil, broken)
	assert.Error(t, err, "unequal columns come from a broken peer")
}

func TestEnumsRoundTrip(t *testing.T) {
	for _, tf := range market.Timeframes() {
		got, err := TimeframeFromPB(TimeframeToPB(tf))
		require.NoError(t, err)
		assert.Equal(t, tf, got)
	}
	_, err := TimeframeFromPB(0)
	assert.True(t, errors.Is(err, market.ErrInvalidTimeframe))
	for s := broker.Pending; s <= broker.Rejected; s++ {
		assert.Equal(t, s, OrderStateFromPB(OrderStateToPB(s)))
	}
	for _, a := range []strategy.Action{strategy.ActionHold, strategy.ActionCall, strategy.ActionPut} {
		assert.Equal(t, a, ActionFromPB(ActionToPB(a)))
	}
	assert.Equal(t, broker.Real, ModeFromPB(ModeToPB(broker.Real)))
	assert.Equal(t, market.Put, SideFromPB(SideToPB(market.Put)))
}

// A plugin's refusal of a configuration comes back with its explanation
// and without the SDK's wrapping, whatever wrapped it on the host side;
// other errors are no such refusal.
func TestRefusalMessageSurvivesTheWire(t *testing.T) {
	cross := errors.New("oversold must be below overbought")
	back := FromStatus(ToStatus(fmt.Errorf("%w: %w (oversold 80, overbought 20)", strategy.ErrInvalidParams, cross)))
	msg, ok := RefusalMessage(fmt.Errorf("pluginmgr: strategy rsi (pid 42): %w", back))
	require.True(t, ok)
	assert.Equal(t, "oversold must be below overbought (oversold 80, overbought 20)", msg)

	back = FromStatus(ToStatus(schema.Errors{{Field: "period", Problem: "must be at least 2"}}))
	msg, ok = RefusalMessage(back)
	require.True(t, ok)
	assert.Equal(t, "period: must be at least 2", msg)

	_, ok = RefusalMessage(FromStatus(ToStatus(broker.NewError(broker.ErrAuthFailed, "bad password"))))
	assert.False(t, ok, "a broker sentinel is not a configuration refusal")
	_, ok = RefusalMessage(errors.New("invalid configuration: local"))
	assert.False(t, ok, "an error that never crossed the wire is not a plugin's")
}
