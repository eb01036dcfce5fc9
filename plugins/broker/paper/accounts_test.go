package paper

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
)

func TestMetadata(t *testing.T) {
	m := newMarket(t, t.TempDir(), newFakeClock(wednesdayNoon()))
	md := m.Factory()().Metadata()
	assert.Equal(t, "paper", md.Name)
	assert.Equal(t, "0.1.0", md.Version)
	assert.Equal(t, broker.Capabilities{CandleStream: true, OrderStream: true, AnonymousMarketData: true, SecondFactor: true}, md.Capabilities)
	require.Len(t, md.Credentials, 3)
	byName := map[string]bool{}
	for _, f := range md.Credentials {
		byName[f.Name] = f.Required
	}
	assert.Equal(t, map[string]bool{"username": true, "password": true, "code": false}, byName)
	assert.True(t, md.Credentials[1].Sensitive, "password is sensitive")
}

func TestInstruments(t *testing.T) {
	m := newMarket(t, t.TempDir(), newFakeClock(wednesdayNoon()))
	list, err := m.Factory()().Instruments(context.Background())
	require.NoError(t, err)
	require.Len(t, list, 24)
	payout := map[string]float64{}
	for _, in := range list {
		payout[in.Symbol] = in.PayoutPercent
		assert.True(t, in.Open, in.Symbol)
		assert.GreaterOrEqual(t, in.PayoutPercent, 70.0)
		assert.LessOrEqual(t, in.PayoutPercent, 92.0)
		assert.True(t, in.MinStake.Equal(dec("1")))
		assert.True(t, in.MaxStake.Equal(dec("20000")))
		assert.Equal(t, []time.Duration{time.Minute, 2 * time.Minute, 3 * time.Minute, 4 * time.Minute, 5 * time.Minute, 15 * time.Minute}, in.Expiries)
		if strings.HasSuffix(in.Symbol, "-OTC") {
			assert.Equal(t, "otc", in.Market)
		} else {
			assert.Equal(t, "forex", in.Market)
		}
	}
	for _, sym := range []string{"EURUSD", "GBPUSD", "USDJPY", "AUDCAD", "EURJPY", "GBPJPY", "USDCHF", "AUDUSD", "NZDUSD", "USDCAD", "EURGBP", "EURCHF"} {
		require.Contains(t, payout, sym)
		assert.Less(t, payout[sym+"-OTC"], payout[sym], "OTC pays less than %s", sym)
	}
}

func TestAccountCreateAndPassword(t *testing.T) {
	m := newMarket(t, t.TempDir(), newFakeClock(wednesdayNoon()))
	ctx := context.Background()
	s := m.Factory()()
	acct, err := s.Open(ctx, broker.OpenRequest{Mode: broker.Practice, Credentials: creds("alice", "s3cret")})
	require.NoError(t, err)
	assert.Equal(t, "10000", acct.Balance.String())
	assert.Equal(t, "USD", acct.Currency)
	assert.True(t, strings.HasPrefix(acct.AccountRef, "paper-"))
	bal, err := s.Balance(ctx)
	require.NoError(t, err)
	assert.Equal(t, broker.Balance{Amount: acct.Balance, Currency: "USD", Mode: broker.Practice}, bal)

	_, err = s.Open(ctx, broker.OpenRequest{Mode: broker.Practice, Credentials: creds("alice", "s3cret")})
	require.NoError(t, err, "opening an open session again succeeds")

	tests := []struct {
		name  string
		mode  broker.Mode
		creds map[string]string
		want  error
	}{
		{"wrong password", broker.Practice, creds("alice", "guess"), broker.ErrAuthFailed},
		{"real mode", broker.Real, creds("alice", "s3cret"), broker.ErrUnsupported},
		{"invalid mode", 0, creds("alice", "s3cret"), broker.ErrUnsupported},
		{"missing password", broker.Practice, map[string]string{"username": "alice"}, broker.ErrAuthFailed},
		{"empty password", broker.Practice, creds("alice", ""), broker.ErrAuthFailed},
		{"short username", broker.Practice, creds("al", "pw"), broker.ErrAuthFailed},
		{"long username", broker.Practice, creds(strings.Repeat("a", 65), "pw"), broker.ErrAuthFailed},
		{"control character", broker.Practice, creds("al\nice", "pw"), broker.ErrAuthFailed},
		{"unknown field", broker.Practice, map[string]string{"username": "alice", "password": "s3cret", "otp": "1"}, broker.ErrAuthFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := m.Factory()().Open(ctx, broker.OpenRequest{Mode: tt.mode, Credentials: tt.creds})
			require.ErrorIs(t, err, tt.want)
		})
	}
	_, err = s.Open(ctx, broker.OpenRequest{Mode: broker.Practice, Credentials: creds("bob", "pw-bob")})
	require.ErrorIs(t, err, broker.ErrAuthFailed, "a session stays bound to its account")
}

func TestSecondFactor(t *testing.T) {
	m := newMarket(t, t.TempDir(), newFakeClock(wednesdayNoon()), func(c *Config) {
		c.Require2FA = true
		c.SecondFactorCode = "424242"
	})
	ctx := context.Background()
	open := func(user, pass, code string) error {
		c := creds(user, pass)
		if code != "" {
			c["code"] = code
		}
		_, err := m.Factory()().Open(ctx, broker.OpenRequest{Mode: broker.Practice, Credentials: c})
		return err
	}
	require.ErrorIs(t, open("carol", "pw", ""), broker.ErrSecondFactorRequired)
	require.ErrorIs(t, open("carol", "pw", "000000"), broker.ErrAuthFailed)
	_, err := m.OrderCount("carol")
	require.Error(t, err, "no account before the second factor passes")
	require.NoError(t, open("carol", "pw", "424242"))
	require.ErrorIs(t, open("carol", "pw", ""), broker.ErrSecondFactorRequired)
	require.ErrorIs(t, open("carol", "wrong", ""), broker.ErrAuthFailed, "password is checked before the second factor")
	require.NoError(t, open("carol", "pw", "424242"))
}

func TestUnopenedAndClosedSessions(t *testing.T) {
	m := newMarket(t, t.TempDir(), newFakeClock(wednesdayNoon()))
	ctx := context.Background()
	s := m.Factory()()
	_, err := s.Instruments(ctx)
	require.NoError(t, err, "anonymous market data")
	_, err = s.Candles(ctx, broker.CandlesRequest{Symbol: "EURUSD", Timeframe: market.M1, From: wednesdayNoon().Add(-time.Hour).Unix()})
	require.NoError(t, err)

	_, err = s.Balance(ctx)
	require.ErrorIs(t, err, broker.ErrAuthFailed)
	require.ErrorContains(t, err, "session not open")
	_, err = s.PlaceOrder(ctx, broker.OrderRequest{ClientOrderID: "a", Symbol: "EURUSD", Side: market.Call, Amount: dec("1"), Expiry: time.Minute})
	require.ErrorIs(t, err, broker.ErrAuthFailed)
	_, err = s.GetOrder(ctx, "a")
	require.ErrorIs(t, err, broker.ErrAuthFailed)
	_, err = s.OrderResults(ctx)
	require.ErrorIs(t, err, broker.ErrAuthFailed)

	require.NoError(t, s.Close(ctx))
	require.NoError(t, s.Close(ctx), "idempotent")
	_, err = s.Instruments(ctx)
	require.ErrorIs(t, err, broker.ErrSessionNotFound)
	_, err = s.Open(ctx, broker.OpenRequest{Mode: broker.Practice, Credentials: creds("dave", "pw")})
	require.ErrorIs(t, err, broker.ErrSessionNotFound)
}

func TestAccountsPersistAcrossMarkets(t *testing.T) {
	dir := t.TempDir()
	clk := newFakeClock(wednesdayNoon())
	ctx := context.Background()
	m1, err := New(Config{DataDir: dir, Seed: 42, Now: clk.Now})
	require.NoError(t, err)
	s := login(t, m1, "erin", "pw-erin")
	_, err = s.PlaceOrder(ctx, broker.OrderRequest{ClientOrderID: "e1", Symbol: "EURUSD", Side: market.Put, Amount: dec("12.34"), Expiry: 5 * time.Minute})
	require.NoError(t, err)
	require.NoError(t, m1.Close())

	m2 := newMarket(t, dir, clk)
	_, err = m2.Factory()().Open(ctx, broker.OpenRequest{Mode: broker.Practice, Credentials: creds("erin", "not-it")})
	require.ErrorIs(t, err, broker.ErrAuthFailed)
	s2 := login(t, m2, "erin", "pw-erin")
	bal, err := s2.Balance(ctx)
	require.NoError(t, err)
	assert.Equal(t, "9987.66", bal.Amount.StringFixed(2))
	n, err := m2.OrderCount("erin")
	require.NoError(t, err)
	assert.Equal(t, 1, n)
}

func TestConcurrentFirstLogins(t *testing.T) {
	m := newMarket(t, t.TempDir(), newFakeClock(wednesdayNoon()))
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			pass := "pw-a"
			if i%2 == 1 {
				pass = "pw-b"
			}
			_, errs[i] = m.Factory()().Open(context.Background(), broker.OpenRequest{Mode: broker.Practice, Credentials: creds("frank", pass)})
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			require.ErrorIs(t, err, broker.ErrAuthFailed)
		}
	}
	assert.Equal(t, 2, ok, "one password wins; the other is then wrong")
}

// TestTornLogTailIsDropped: a crash mid-append leaves a partial last line;
// the next start drops it and appends on a clean line.
func TestTornLogTailIsDropped(t *testing.T) {
	dir := t.TempDir()
	clk := newFakeClock(wednesdayNoon())
	ctx := context.Background()
	m1, err := New(Config{DataDir: dir, Seed: 42, Now: clk.Now})
	require.NoError(t, err)
	_, err = login(t, m1, "olivia", "pw-olivia").PlaceOrder(ctx, order("a", "EURUSD", market.Call, "5", time.Minute))
	require.NoError(t, err)
	require.NoError(t, m1.Close())

	f, err := os.OpenFile(accountFile(dir, "olivia"), os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"type":"order","order":{"client_order_id":"b","sym`)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	m2, err := New(Config{DataDir: dir, Seed: 42, Now: clk.Now})
	require.NoError(t, err)
	s := login(t, m2, "olivia", "pw-olivia")
	_, err = s.GetOrder(ctx, "b")
	require.ErrorIs(t, err, broker.ErrOrderNotFound, "the torn order was never acknowledged")
	_, err = s.PlaceOrder(ctx, order("c", "EURUSD", market.Put, "5", time.Minute))
	require.NoError(t, err)
	require.NoError(t, m2.Close())

	m3 := newMarket(t, dir, clk)
	n, err := m3.OrderCount("olivia")
	require.NoError(t, err)
	assert.Equal(t, 2, n)

	// Corruption in the middle is an error, not silently dropped data.
	require.NoError(t, m3.Close())
	require.NoError(t, os.WriteFile(accountFile(dir, "olivia"), []byte("{oops}\n{}\n"), 0o600))
	_, err = New(Config{DataDir: dir, Now: clk.Now})
	require.ErrorContains(t, err, "corrupt account log")
}
