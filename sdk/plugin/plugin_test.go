package plugin_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/broker/brokertest"
	"github.com/stc-trading/stc/sdk/market"
	"github.com/stc-trading/stc/sdk/plugin"
	"github.com/stc-trading/stc/sdk/schema"
	"github.com/stc-trading/stc/sdk/strategy"
	"github.com/stc-trading/stc/sdk/strategy/strategytest"
)

// fragile panics when its window's last close is exactly 13.
type fragile struct{}

func (fragile) Metadata() strategy.Metadata {
	return strategy.Metadata{Name: "fragile", Version: "1.0.0"}
}
func (fragile) Configure(context.Context, strategy.ConfigureRequest) (strategy.ConfigureResponse, error) {
	return strategy.ConfigureResponse{Warmup: 2}, nil
}

func (fragile) OnCandle(_ context.Context, req strategy.CandleRequest) (strategy.Signal, error) {
	if last, _ := req.Window.Last(); last.Close == 13 {
		panic("unlucky close")
	}
	return strategy.Call("ok"), nil
}

func candle(t int64, c float64) market.Candle {
	return market.Candle{Time: t * 60, Open: c, High: c, Low: c, Close: c}
}

func TestPanicInOneCallIsContained(t *testing.T) {
	h := strategytest.New(t, func() strategy.Strategy { return fragile{} })
	ctx := context.Background()
	cfg := plugin.InstanceConfig{Symbol: "X", Timeframe: market.M1}
	_, err := h.Client.CreateInstance(ctx, "a", cfg)
	require.NoError(t, err)
	_, err = h.Client.CreateInstance(ctx, "b", cfg)
	require.NoError(t, err)

	_, err = h.Client.OnCandle(ctx, "a", market.Series{candle(1, 12), candle(2, 13)})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "unlucky close", "the host sees the panic message")

	sig, err := h.Client.OnCandle(ctx, "b", market.Series{candle(1, 12), candle(2, 14)})
	require.NoError(t, err, "other instances keep working")
	assert.Equal(t, strategy.ActionCall, sig.Action)
	_, err = h.Client.OnCandle(ctx, "a", market.Series{candle(1, 12), candle(2, 14)})
	require.NoError(t, err, "the panicking instance itself keeps working")

	res, err := h.Client.BatchOnCandle(ctx, []plugin.BatchItem{
		{InstanceID: "a", Window: market.Series{candle(1, 13)}},
		{InstanceID: "b", Window: market.Series{candle(1, 14)}},
	})
	require.NoError(t, err)
	assert.Error(t, res[0].Err)
	assert.NoError(t, res[1].Err)
}

func TestInvalidParamsCrossTheWire(t *testing.T) {
	h := strategytest.New(t, func() strategy.Strategy { return fragile{} })
	_, err := h.Client.CreateInstance(context.Background(), "a", plugin.InstanceConfig{Symbol: "X", Timeframe: market.M1, Params: map[string]string{"x": "1"}})
	assert.True(t, errors.Is(err, schema.ErrInvalid), "got %v", err)
	assert.Contains(t, err.Error(), "x: unknown field")
}

// tiny is a minimal broker to exercise the broker shim's session rules.
type tiny struct{ opened bool }

func (b *tiny) Metadata() broker.Metadata {
	return broker.Metadata{Name: "tiny", Version: "0.0.1", Credentials: []schema.Field{{Name: "token", Type: schema.String, Required: true, Sensitive: true}},
		Capabilities: broker.Capabilities{AnonymousMarketData: true}}
}

func (b *tiny) Open(_ context.Context, req broker.OpenRequest) (broker.Account, error) {
	if req.Credentials["token"] != "good" {
		return broker.Account{}, broker.NewError(broker.ErrAuthFailed, "bad token")
	}
	b.opened = true
	return broker.Account{Balance: decimal.NewFromInt(100), Currency: "USD"}, nil
}
func (b *tiny) Close(context.Context) error { return nil }
func (b *tiny) Instruments(context.Context) ([]broker.Instrument, error) {
	return []broker.Instrument{{Symbol: "T", PayoutPercent: 80, MinStake: decimal.NewFromInt(1), MaxStake: decimal.NewFromInt(5), Expiries: []time.Duration{time.Minute}}}, nil
}

func (b *tiny) Candles(context.Context, broker.CandlesRequest) (broker.CandlesPage, error) {
	return broker.CandlesPage{}, broker.ErrUnsupported
}

func (b *tiny) SubscribeCandles(context.Context, broker.SubscribeRequest) (<-chan broker.CandleEvent, error) {
	return nil, broker.ErrUnsupported
}

func (b *tiny) Balance(context.Context) (broker.Balance, error) {
	return broker.Balance{Amount: decimal.NewFromInt(100), Currency: "USD", Mode: broker.Practice}, nil
}

func (b *tiny) PlaceOrder(_ context.Context, req broker.OrderRequest) (broker.Order, error) {
	return broker.Order{}, broker.NewError(broker.ErrMarketClosed, "%s is closed", req.Symbol)
}

func (b *tiny) GetOrder(context.Context, string) (broker.Order, error) {
	return broker.Order{}, broker.ErrOrderNotFound
}
func (b *tiny) OrderResults(context.Context) (<-chan broker.Order, error) {
	return nil, broker.ErrUnsupported
}

func TestBrokerSessions(t *testing.T) {
	h := brokertest.New(t, func() broker.Broker { return &tiny{} })
	ctx := context.Background()
	_, err := h.Client.Info(ctx)
	require.NoError(t, err)

	_, err = h.Client.Session("s1").Open(ctx, broker.OpenRequest{Mode: broker.Practice, Credentials: map[string]string{"token": "bad"}})
	assert.True(t, errors.Is(err, broker.ErrAuthFailed), "got %v", err)
	_, err = h.Client.Session("s1").Balance(ctx)
	assert.True(t, errors.Is(err, broker.ErrSessionNotFound), "a failed open leaves no session: %v", err)

	_, err = h.Client.Session("s1").Open(ctx, broker.OpenRequest{Mode: broker.Practice, Credentials: map[string]string{}})
	assert.True(t, errors.Is(err, schema.ErrInvalid), "missing credential: %v", err)
	_, err = h.Client.Session("s1").Open(ctx, broker.OpenRequest{Mode: broker.Real, Credentials: map[string]string{"token": "good"}})
	assert.True(t, errors.Is(err, broker.ErrUnsupported), "no real accounts: %v", err)

	acct, err := h.Client.Session("s1").Open(ctx, broker.OpenRequest{Mode: broker.Practice, Credentials: map[string]string{"token": "good"}})
	require.NoError(t, err)
	assert.Equal(t, "100", acct.Balance.String())

	ins, err := h.Client.Session("").Instruments(ctx)
	require.NoError(t, err, "anonymous market data")
	assert.Len(t, ins, 1)
	_, err = h.Client.Session("").Balance(ctx)
	assert.True(t, errors.Is(err, broker.ErrSessionNotFound), "account calls need a session: %v", err)

	_, err = h.Client.Session("s1").PlaceOrder(ctx, broker.OrderRequest{ClientOrderID: "c", Symbol: "T", Side: market.Call, Amount: decimal.NewFromInt(1), Expiry: time.Minute})
	assert.True(t, errors.Is(err, broker.ErrMarketClosed))
	assert.Contains(t, err.Error(), "T is closed")
	_, err = h.Client.Session("s1").PlaceOrder(ctx, broker.OrderRequest{Symbol: "T", Side: market.Call, Amount: decimal.NewFromInt(1)})
	assert.True(t, errors.Is(err, broker.ErrInvalidOrder), "client order id is required: %v", err)

	require.NoError(t, h.Client.Session("s1").Close(ctx))
	_, err = h.Client.Session("s1").Balance(ctx)
	assert.True(t, errors.Is(err, broker.ErrSessionNotFound))
	assert.Equal(t, "tiny", h.Client.Session("x").Metadata().Name)
}
