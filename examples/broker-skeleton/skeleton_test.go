package skeleton_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	skeleton "github.com/stc-trading/stc/examples/broker-skeleton"
	"github.com/stc-trading/stc/examples/broker-skeleton/venue"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/broker/brokertest"
	"github.com/stc-trading/stc/sdk/market"
)

// Every goroutine of the adapter and the venue has an owner that stops
// it: none may outlive the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startVenue runs a venue with two users whose market clock runs 60×
// faster than the wall clock, so a one-minute order settles in a second.
func startVenue(t testing.TB) *venue.Server {
	t.Helper()
	v := venue.Start(venue.Config{Users: map[string]string{"alice": "alice-pw", "bob": "bob-pw"}, Scale: 60})
	t.Cleanup(v.Close)
	return v
}

func creds(user string) map[string]string {
	return map[string]string{"username": user, "password": user + "-pw"}
}

func options(v *venue.Server) brokertest.Options {
	return brokertest.Options{
		Credentials:    creds("alice"),
		BadCredentials: map[string]string{"username": "alice", "password": "wrong"},
		Symbol:         "EURUSD",
		SettleTimeout:  30 * time.Second,
		Now:            v.Now,
	}
}

func newAdapter(v *venue.Server) *skeleton.Adapter {
	return skeleton.New(skeleton.Config{VenueURL: v.URL()})
}

// The adapter passes the broker kit over the SDK's gRPC shim, in-process
// (so the race detector sees the adapter's code).
func TestConformance(t *testing.T) {
	v := startVenue(t)
	brokertest.Conformance(t, newAdapter(v).Factory(), options(v))
}

func open(t *testing.T, a *skeleton.Adapter, user string) broker.Broker {
	t.Helper()
	s := a.Factory()()
	_, err := s.Open(context.Background(), broker.OpenRequest{Mode: broker.Practice, Credentials: creds(user)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// Market data works on a session that was never opened (the host's
// anonymous session); account calls need Open, and nothing works after
// Close, which also ends the session's streams.
func TestSessionLifecycle(t *testing.T) {
	ctx := context.Background()
	a := newAdapter(startVenue(t))
	anon := a.Factory()()
	ins, err := anon.Instruments(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, ins)
	_, err = anon.Balance(ctx)
	require.ErrorIs(t, err, broker.ErrSessionNotFound)

	s := open(t, a, "alice")
	candles, err := s.SubscribeCandles(ctx, broker.SubscribeRequest{Symbol: "EURUSD", Timeframe: market.M1})
	require.NoError(t, err)
	results, err := s.OrderResults(ctx)
	require.NoError(t, err)
	require.NoError(t, s.Close(ctx))
	drained(t, candles)
	drained(t, results)
	_, err = s.Instruments(ctx)
	require.ErrorIs(t, err, broker.ErrSessionNotFound)
	_, err = s.Open(ctx, broker.OpenRequest{Mode: broker.Practice, Credentials: creds("alice")})
	require.ErrorIs(t, err, broker.ErrSessionNotFound)
}

// drained waits for ch to close, ignoring what is still buffered.
func drained[T any](t *testing.T, ch <-chan T) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("the stream did not end within 10 s")
		}
	}
}

// When the venue drops its sockets, the candle stream ends with
// broker.ErrUnavailable and the result stream closes: the host's signal to
// subscribe again, which then works.
func TestStreamsEndWhenTheVenueDrops(t *testing.T) {
	ctx := context.Background()
	v := startVenue(t)
	s := open(t, newAdapter(v), "alice")
	candles, err := s.SubscribeCandles(ctx, broker.SubscribeRequest{Symbol: "EURUSD", Timeframe: market.M1})
	require.NoError(t, err)
	results, err := s.OrderResults(ctx)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return v.Streams() == 2 }, 10*time.Second, 10*time.Millisecond)
	v.DropStreams()

	var last error
	for ev := range candles {
		last = ev.Err
	}
	require.ErrorIs(t, last, broker.ErrUnavailable)
	drained(t, results)

	again, err := s.SubscribeCandles(ctx, broker.SubscribeRequest{Symbol: "EURUSD", Timeframe: market.M1})
	require.NoError(t, err)
	ev := <-again
	require.NoError(t, ev.Err)
	require.NoError(t, ev.Candle.Validate(market.M1))
}

// Two users' sessions in one process share nothing: an order id of one is
// unknown to the other, and the same id at the other is a new order.
func TestSessionsAreIsolated(t *testing.T) {
	ctx := context.Background()
	a := newAdapter(startVenue(t))
	alice, bob := open(t, a, "alice"), open(t, a, "bob")
	req := broker.OrderRequest{ClientOrderID: "same-id", Symbol: "EURUSD", Side: market.Call, Amount: decimal.NewFromInt(5), Expiry: time.Minute}
	mine, err := alice.PlaceOrder(ctx, req)
	require.NoError(t, err)
	_, err = bob.GetOrder(ctx, "same-id")
	require.ErrorIs(t, err, broker.ErrOrderNotFound)
	theirs, err := bob.PlaceOrder(ctx, req)
	require.NoError(t, err)
	require.NotEqual(t, mine.BrokerOrderID, theirs.BrokerOrderID)
	bal, err := bob.Balance(ctx)
	require.NoError(t, err)
	require.Equal(t, "9995", bal.Amount.String())
}

// Placing an order again after a restart of the plugin process (a new
// adapter, a new login) returns the first order and debits nothing: the
// idempotency lives at the venue, not in the adapter's memory.
func TestPlaceOrderIdempotentAcrossRestarts(t *testing.T) {
	ctx := context.Background()
	v := startVenue(t)
	req := broker.OrderRequest{ClientOrderID: "restart-1", Symbol: "GBPUSD", Side: market.Put, Amount: decimal.NewFromInt(7), Expiry: 5 * time.Minute}
	first, err := open(t, newAdapter(v), "alice").PlaceOrder(ctx, req)
	require.NoError(t, err)
	after := open(t, newAdapter(v), "alice")
	again, err := after.PlaceOrder(ctx, req)
	require.NoError(t, err)
	require.Equal(t, first.BrokerOrderID, again.BrokerOrderID)
	require.Equal(t, []string{"restart-1"}, v.Orders("alice"))
	bal, err := after.Balance(ctx)
	require.NoError(t, err)
	require.Equal(t, "9993", bal.Amount.String())
}

// The venue's refusals arrive as the SDK's sentinels, which tell the host
// that nothing was placed.
func TestErrorsAreSentinels(t *testing.T) {
	ctx := context.Background()
	a := newAdapter(startVenue(t))
	s := open(t, a, "alice")
	order := func(id string, mut func(*broker.OrderRequest)) func() error {
		return func() error {
			r := broker.OrderRequest{ClientOrderID: id, Symbol: "EURUSD", Side: market.Put, Amount: decimal.NewFromInt(5), Expiry: time.Minute}
			mut(&r)
			_, err := s.PlaceOrder(ctx, r)
			return err
		}
	}
	login := func(mode broker.Mode, password string) func() error {
		return func() error {
			_, err := a.Factory()().Open(ctx, broker.OpenRequest{Mode: mode, Credentials: map[string]string{"username": "alice", "password": password}})
			return err
		}
	}
	candles := func(symbol string, tf market.Timeframe) func() error {
		return func() error {
			_, err := s.Candles(ctx, broker.CandlesRequest{Symbol: symbol, Timeframe: tf})
			return err
		}
	}
	// Spends the 10,000 balance 1,000 at a time until the venue refuses.
	spend := func() error {
		for i := range 20 {
			_, err := s.PlaceOrder(ctx, broker.OrderRequest{ClientOrderID: fmt.Sprintf("spend-%d", i), Symbol: "BTCUSD",
				Side: market.Call, Amount: decimal.NewFromInt(1000), Expiry: 5 * time.Minute})
			if err != nil {
				return err
			}
		}
		return errors.New("the venue took 20,000 from a 10,000 account")
	}
	for _, c := range []struct {
		name string
		call func() error
		want error
	}{
		{"zero stake", order("z", func(r *broker.OrderRequest) { r.Amount = decimal.Zero }), broker.ErrInvalidOrder},
		{"odd expiry", order("x", func(r *broker.OrderRequest) { r.Expiry = 90 * time.Second }), broker.ErrInvalidOrder},
		{"unknown symbol", order("u", func(r *broker.OrderRequest) { r.Symbol = "NOPE" }), broker.ErrUnknownInstrument},
		{"no money", spend, broker.ErrInsufficientFunds},
		{"bad password", login(broker.Practice, "no"), broker.ErrAuthFailed},
		{"real money", login(broker.Real, "alice-pw"), broker.ErrUnsupported},
		{"odd timeframe", candles("EURUSD", market.Timeframe(99)), broker.ErrUnsupported},
		{"unknown candles", candles("NOPE", market.M1), broker.ErrUnknownInstrument},
	} {
		if err := c.call(); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == skeleton.EnvVenueURL {
				return v
			}
			return ""
		}
	}
	cfg, err := skeleton.ConfigFromEnv(env("http://127.0.0.1:9000/"))
	require.NoError(t, err)
	require.Equal(t, "http://127.0.0.1:9000", cfg.VenueURL)
	cfg, err = skeleton.ConfigFromEnv(env(""))
	require.NoError(t, err)
	require.Empty(t, cfg.VenueURL)
	for _, bad := range []string{"127.0.0.1:9000", "ftp://x", "http://"} {
		_, err := skeleton.ConfigFromEnv(env(bad))
		require.Error(t, err, bad)
		require.True(t, strings.Contains(err.Error(), skeleton.EnvVenueURL), err.Error())
	}
}
