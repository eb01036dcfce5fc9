package brokertest

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
	"github.com/stc-trading/stc/sdk/plugin"
)

// Options configure a conformance run.
type Options struct {
	// Credentials open a practice session. Required.
	Credentials map[string]string
	// BadCredentials, when set, must fail with broker.ErrAuthFailed. They
	// are tried after Credentials opened a session, so brokers that create
	// accounts on first login (paper) have the account by then.
	BadCredentials map[string]string
	// Symbol is an instrument that is open for trading during the test.
	Symbol string
	// Timeframe for candle checks; default 1m.
	Timeframe market.Timeframe
	// HistoryFrom is the start of a range that has candles; default: 300
	// timeframes ago.
	HistoryFrom time.Time
	// Stake and Expiry of the test order; defaults: the instrument's
	// minimum stake and its shortest expiry.
	Stake  decimal.Decimal
	Expiry time.Duration
	// SettleTimeout bounds the wait for the test order to settle; zero
	// skips the settlement check (use it with real-time brokers).
	SettleTimeout time.Duration
	// StreamTimeout bounds the wait for the first candle event; default 30 s.
	StreamTimeout time.Duration
	// Now is the broker's clock, for brokers with simulated time; default
	// time.Now.
	Now func() time.Time
}

func (o *Options) defaults() {
	if o.Timeframe == 0 {
		o.Timeframe = market.M1
	}
	if o.StreamTimeout == 0 {
		o.StreamTimeout = 30 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.HistoryFrom.IsZero() {
		o.HistoryFrom = o.Now().Add(-300 * o.Timeframe.Duration())
	}
}

var semver = regexp.MustCompile(`^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)

// Conformance checks that f behaves as the host relies on.
func Conformance(t *testing.T, f broker.Factory, o Options) {
	t.Helper()
	o.defaults()
	h := New(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	c := h.Client

	info, err := c.Info(ctx)
	if err != nil {
		t.Fatalf("GetInfo: %v", err)
	}
	t.Run("info", func(t *testing.T) {
		if info.Kind != plugin.KindBroker || info.Name == "" || !semver.MatchString(info.Version) {
			t.Errorf("info = kind %v name %q version %q: want a broker with a name and a semantic version", info.Kind, info.Name, info.Version)
		}
		if len(info.Fields) == 0 {
			t.Errorf("the adapter declares no credential fields")
		}
	})

	s := c.Session("conf-session")
	acct, err := s.Open(ctx, broker.OpenRequest{Mode: broker.Practice, Credentials: o.Credentials})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if o.BadCredentials != nil {
		t.Run("bad credentials", func(t *testing.T) {
			_, err := c.Session("conf-bad").Open(ctx, broker.OpenRequest{Mode: broker.Practice, Credentials: o.BadCredentials})
			if !errors.Is(err, broker.ErrAuthFailed) {
				t.Errorf("err = %v, want broker.ErrAuthFailed", err)
			}
		})
	}

	t.Run("session", func(t *testing.T) {
		if _, err := s.Open(ctx, broker.OpenRequest{Mode: broker.Practice, Credentials: o.Credentials}); err != nil {
			t.Errorf("opening an open session again must succeed: %v", err)
		}
		if acct.Currency == "" || acct.Balance.IsNegative() {
			t.Errorf("account = %+v: want a currency and a non-negative balance", acct)
		}
		bal, err := s.Balance(ctx)
		if err != nil || bal.Mode != broker.Practice || bal.Currency == "" {
			t.Errorf("Balance = %+v, %v: want a practice balance", bal, err)
		}
		if _, err := c.Session("conf-never-opened").Balance(ctx); !errors.Is(err, broker.ErrSessionNotFound) {
			t.Errorf("Balance on a never-opened session: err = %v, want broker.ErrSessionNotFound", err)
		}
	})

	ins := checkInstruments(ctx, t, s, &o)
	checkCandles(ctx, t, s, o)
	checkStream(ctx, t, s, o)
	checkOrders(ctx, t, s, ins, o)
	checkBatches(ctx, t, s, ins, o)

	t.Run("close", func(t *testing.T) {
		if err := s.Close(ctx); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := s.Close(ctx); err != nil {
			t.Errorf("closing twice must succeed: %v", err)
		}
		if _, err := s.Balance(ctx); !errors.Is(err, broker.ErrSessionNotFound) {
			t.Errorf("Balance after Close: err = %v, want broker.ErrSessionNotFound", err)
		}
	})
}

func checkInstruments(ctx context.Context, t *testing.T, s broker.Broker, o *Options) broker.Instrument {
	t.Helper()
	list, err := s.Instruments(ctx)
	if err != nil {
		t.Fatalf("Instruments: %v", err)
	}
	var found *broker.Instrument
	t.Run("instruments", func(t *testing.T) {
		if len(list) == 0 {
			t.Fatal("no instruments")
		}
		seen := map[string]bool{}
		for i, in := range list {
			if in.Symbol == "" || seen[in.Symbol] {
				t.Errorf("instrument %d: empty or duplicate symbol %q", i, in.Symbol)
			}
			seen[in.Symbol] = true
			if in.PayoutPercent <= 0 || in.PayoutPercent > 100 {
				t.Errorf("%s: payout %v%% outside (0, 100]", in.Symbol, in.PayoutPercent)
			}
			if !in.MinStake.IsPositive() || in.MaxStake.LessThan(in.MinStake) {
				t.Errorf("%s: stakes [%s, %s] are not a positive range", in.Symbol, in.MinStake, in.MaxStake)
			}
			if len(in.Expiries) == 0 {
				t.Errorf("%s: no expiries", in.Symbol)
			}
			if in.Symbol == o.Symbol {
				found = &list[i]
			}
		}
		if found == nil {
			t.Fatalf("Options.Symbol %q is not listed", o.Symbol)
		}
	})
	if found == nil {
		t.FailNow()
	}
	if o.Stake.IsZero() {
		o.Stake = found.MinStake
	}
	if o.Expiry == 0 {
		o.Expiry = found.Expiries[0]
	}
	return *found
}

func checkCandles(ctx context.Context, t *testing.T, s broker.Broker, o Options) {
	t.Run("candles", func(t *testing.T) {
		tf := o.Timeframe
		from := tf.Align(o.HistoryFrom.Unix())
		to := tf.Align(o.Now().Unix())
		whole, err := s.Candles(ctx, broker.CandlesRequest{Symbol: o.Symbol, Timeframe: tf, From: from, To: to, PageSize: 5000})
		if err != nil {
			t.Fatalf("Candles: %v", err)
		}
		if len(whole.Candles) == 0 {
			t.Fatalf("no candles in [%d, %d)", from, to)
		}
		now := o.Now().Unix()
		for i, cd := range whole.Candles {
			if err := cd.Validate(tf); err != nil {
				t.Fatalf("candle %d: %v", i, err)
			}
			if i > 0 && cd.Time <= whole.Candles[i-1].Time {
				t.Fatalf("candle %d: time %d not after %d (want ascending, no duplicates)", i, cd.Time, whole.Candles[i-1].Time)
			}
			if cd.Time < from || cd.Time >= to {
				t.Fatalf("candle %d: time %d outside [%d, %d)", i, cd.Time, from, to)
			}
			if cd.Time+tf.Seconds() > now+5 {
				t.Fatalf("candle %d at %d is not closed yet (now %d)", i, cd.Time, now)
			}
		}
		// Small pages concatenate to the same series and terminate.
		var paged market.Series
		token := ""
		for pages := 0; ; pages++ {
			if pages > len(whole.Candles)+2 {
				t.Fatal("pagination does not terminate")
			}
			p, err := s.Candles(ctx, broker.CandlesRequest{Symbol: o.Symbol, Timeframe: tf, From: from, To: to, PageSize: 37, PageToken: token})
			if err != nil {
				t.Fatalf("Candles page %d: %v", pages, err)
			}
			if len(p.Candles) > 37 {
				t.Fatalf("page %d has %d candles, page size 37", pages, len(p.Candles))
			}
			paged = append(paged, p.Candles...)
			if p.NextPageToken == "" {
				break
			}
			token = p.NextPageToken
		}
		if len(paged) != len(whole.Candles) {
			t.Fatalf("pages hold %d candles, one request %d", len(paged), len(whole.Candles))
		}
		for i := range paged {
			if paged[i] != whole.Candles[i] {
				t.Fatalf("page candle %d = %+v, one request %+v", i, paged[i], whole.Candles[i])
			}
		}
		_, err = s.Candles(ctx, broker.CandlesRequest{Symbol: "NO-SUCH-SYMBOL", Timeframe: tf, From: from, To: to})
		if !errors.Is(err, broker.ErrUnknownInstrument) {
			t.Errorf("unknown symbol: err = %v, want broker.ErrUnknownInstrument", err)
		}
	})
}

func checkStream(ctx context.Context, t *testing.T, s broker.Broker, o Options) {
	t.Run("candle stream", func(t *testing.T) {
		sctx, cancel := context.WithCancel(ctx)
		defer cancel()
		ch, err := s.SubscribeCandles(sctx, broker.SubscribeRequest{Symbol: o.Symbol, Timeframe: o.Timeframe})
		if err != nil {
			t.Fatalf("SubscribeCandles: %v", err)
		}
		select {
		case ev, ok := <-ch:
			if !ok || ev.Err != nil {
				t.Fatalf("first event: ok=%v err=%v", ok, ev.Err)
			}
			if ev.Candle.Time != o.Timeframe.Align(ev.Candle.Time) {
				t.Errorf("streamed candle time %d not aligned to %s", ev.Candle.Time, o.Timeframe)
			}
		case <-time.After(o.StreamTimeout):
			t.Fatalf("no candle event within %s", o.StreamTimeout)
		}
		cancel()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case _, ok := <-ch:
				if !ok {
					return
				}
			case <-deadline:
				t.Fatal("the candle channel did not close within 10 s of cancelling its context")
			}
		}
	})
}

func checkOrders(ctx context.Context, t *testing.T, s broker.Broker, in broker.Instrument, o Options) {
	t.Run("orders", func(t *testing.T) {
		results, err := s.OrderResults(ctx)
		if err != nil {
			t.Fatalf("OrderResults: %v", err)
		}
		id := fmt.Sprintf("conf-%d", o.Now().UnixNano())
		req := broker.OrderRequest{ClientOrderID: id, Symbol: in.Symbol, Side: market.Call, Amount: o.Stake, Expiry: o.Expiry}
		before, err := s.Balance(ctx)
		if err != nil {
			t.Fatalf("Balance: %v", err)
		}
		first, err := s.PlaceOrder(ctx, req)
		if err != nil {
			t.Fatalf("PlaceOrder: %v", err)
		}
		if first.ClientOrderID != id || first.BrokerOrderID == "" || first.State == broker.Rejected {
			t.Fatalf("order = %+v: want the client id echoed, a broker id, not rejected", first)
		}
		again, err := s.PlaceOrder(ctx, req)
		if err != nil || again.BrokerOrderID != first.BrokerOrderID {
			t.Fatalf("placing the same client_order_id again gave %+v, %v: want the first order", again, err)
		}
		after, err := s.Balance(ctx)
		if err != nil {
			t.Fatalf("Balance: %v", err)
		}
		if spent := before.Amount.Sub(after.Amount); spent.GreaterThan(o.Stake) {
			t.Errorf("balance fell by %s for one %s order: a duplicate order was placed", spent, o.Stake)
		}
		got, err := s.GetOrder(ctx, id)
		if err != nil || got.BrokerOrderID != first.BrokerOrderID {
			t.Errorf("GetOrder = %+v, %v", got, err)
		}
		if _, err := s.GetOrder(ctx, "conf-never-placed"); !errors.Is(err, broker.ErrOrderNotFound) {
			t.Errorf("GetOrder of an unknown id: err = %v, want broker.ErrOrderNotFound", err)
		}
		bad := req
		bad.ClientOrderID, bad.Amount = id+"-zero", decimal.Zero
		if _, err := s.PlaceOrder(ctx, bad); !errors.Is(err, broker.ErrInvalidOrder) {
			t.Errorf("zero stake: err = %v, want broker.ErrInvalidOrder", err)
		}
		bad.ClientOrderID, bad.Amount, bad.Symbol = id+"-sym", o.Stake, "NO-SUCH-SYMBOL"
		if _, err := s.PlaceOrder(ctx, bad); !errors.Is(err, broker.ErrUnknownInstrument) {
			t.Errorf("unknown symbol: err = %v, want broker.ErrUnknownInstrument", err)
		}
		if o.SettleTimeout == 0 {
			return
		}
		settled := waitSettled(ctx, t, s, results, id, o.SettleTimeout)
		checkProfit(t, settled)
	})
}

// checkBatches places batches through broker.PlaceOrders, so it covers
// adapters with and without broker.BatchPlacer alike.
func checkBatches(ctx context.Context, t *testing.T, s broker.Broker, in broker.Instrument, o Options) {
	t.Run("order batches", func(t *testing.T) {
		base := fmt.Sprintf("confb-%d", o.Now().UnixNano())
		req := func(n int) broker.OrderRequest {
			return broker.OrderRequest{ClientOrderID: fmt.Sprintf("%s-%d", base, n), Symbol: in.Symbol, Side: market.Put, Amount: o.Stake, Expiry: o.Expiry}
		}
		before, err := s.Balance(ctx)
		if err != nil {
			t.Fatalf("Balance: %v", err)
		}
		batch := []broker.OrderRequest{req(1), req(2), req(3), req(1)}
		first := placeBatch(ctx, t, s, batch)
		ids := map[string]bool{}
		for i, r := range first[:3] {
			if r.Err != nil {
				t.Fatalf("order %d of a valid batch: %v", i, r.Err)
			}
			if r.Order.ClientOrderID != batch[i].ClientOrderID || r.Order.BrokerOrderID == "" || r.Order.State == broker.Rejected {
				t.Errorf("order %d = %+v: want the client id echoed, a broker id, not rejected", i, r.Order)
			}
			ids[r.Order.BrokerOrderID] = true
		}
		if len(ids) != 3 {
			t.Errorf("three orders of a batch share broker ids: %v", ids)
		}
		if dup := first[3]; dup.Err != nil || dup.Order.BrokerOrderID != first[0].Order.BrokerOrderID {
			t.Errorf("a client order id repeated in a batch gave %+v, %v: want the first order", dup.Order, dup.Err)
		}
		again := placeBatch(ctx, t, s, batch)
		for i, r := range again {
			if r.Err != nil || r.Order.BrokerOrderID != first[i].Order.BrokerOrderID {
				t.Errorf("repeated batch, order %d: %+v, %v: want the first batch's order %s", i, r.Order, r.Err, first[i].Order.BrokerOrderID)
			}
		}
		after, err := s.Balance(ctx)
		if err != nil {
			t.Fatalf("Balance: %v", err)
		}
		if spent, most := before.Amount.Sub(after.Amount), o.Stake.Mul(decimal.NewFromInt(3)); spent.GreaterThan(most) {
			t.Errorf("balance fell by %s for three %s orders placed twice: a duplicate order was placed", spent, o.Stake)
		}

		zero, unknown := req(5), req(6)
		zero.Amount, unknown.Symbol = decimal.Zero, "NO-SUCH-SYMBOL"
		mixed := placeBatch(ctx, t, s, []broker.OrderRequest{req(4), zero, unknown})
		if mixed[0].Err != nil || mixed[0].Order.State == broker.Rejected {
			t.Errorf("the valid order of a mixed batch: %+v, %v: want it open", mixed[0].Order, mixed[0].Err)
		}
		if !errors.Is(mixed[1].Err, broker.ErrInvalidOrder) {
			t.Errorf("zero stake in a batch: err = %v, want broker.ErrInvalidOrder", mixed[1].Err)
		}
		if !errors.Is(mixed[2].Err, broker.ErrUnknownInstrument) {
			t.Errorf("unknown symbol in a batch: err = %v, want broker.ErrUnknownInstrument", mixed[2].Err)
		}
		if got, err := s.GetOrder(ctx, req(4).ClientOrderID); err != nil || got.BrokerOrderID != mixed[0].Order.BrokerOrderID {
			t.Errorf("GetOrder of a batch's order = %+v, %v", got, err)
		}
	})
}

// placeBatch places reqs and checks the answer's shape.
func placeBatch(ctx context.Context, t *testing.T, s broker.Broker, reqs []broker.OrderRequest) []broker.OrderResult {
	t.Helper()
	res, err := broker.PlaceOrders(ctx, s, reqs)
	if err != nil {
		t.Fatalf("PlaceOrders: %v", err)
	}
	if len(res) != len(reqs) {
		t.Fatalf("PlaceOrders answered %d results for %d orders", len(res), len(reqs))
	}
	return res
}

func waitSettled(ctx context.Context, t *testing.T, s broker.Broker, results <-chan broker.Order, id string, timeout time.Duration) broker.Order {
	t.Helper()
	deadline := time.After(timeout)
	poll := time.NewTicker(200 * time.Millisecond)
	defer poll.Stop()
	for {
		select {
		case o, ok := <-results:
			if ok && o.ClientOrderID == id && o.State.Final() {
				return o
			}
		case <-poll.C:
			o, err := s.GetOrder(ctx, id)
			if err == nil && o.State.Final() {
				return o
			}
		case <-deadline:
			t.Fatalf("order %s did not settle within %s", id, timeout)
		}
	}
}

func checkProfit(t *testing.T, o broker.Order) {
	t.Helper()
	want := decimal.Zero
	switch o.State {
	case broker.Won:
		want = o.Amount.Mul(decimal.NewFromFloat(o.PayoutPercent)).Div(decimal.NewFromInt(100)).Round(2)
	case broker.Lost:
		want = o.Amount.Neg()
	case broker.Draw:
	default:
		t.Fatalf("settled state %v is not won, lost or draw", o.State)
	}
	if !o.Profit.Equal(want) {
		t.Errorf("%v order of %s at %v%%: profit %s, want %s", o.State, o.Amount, o.PayoutPercent, o.Profit, want)
	}
	if o.ClosePrice <= 0 || o.ClosedAt.IsZero() {
		t.Errorf("settled order without close price or time: %+v", o)
	}
}
