package iqoption_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/plugins/broker/iqoption"
	"github.com/stc-trading/stc/plugins/broker/iqoption/iqfake"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
)

func order(id, symbol string, expiry time.Duration, amount string) broker.OrderRequest {
	return broker.OrderRequest{ClientOrderID: id, Symbol: symbol, Side: market.Call, Amount: decimal.RequireFromString(amount), Expiry: expiry}
}

// barrier returns once the adapter has read every frame the fake queued
// before it: the answer to a request comes after them on the socket.
func barrier(t testing.TB, s broker.Broker) {
	t.Helper()
	_, err := s.Balance(context.Background())
	require.NoError(t, err)
}

// manual starts a fake on a manual clock (12:00:00 UTC) and opens a session.
func manual(t testing.TB, edit ...func(*iqoption.Config)) (*iqfake.Server, int64, broker.Broker) {
	t.Helper()
	fk, uid := startFake(t, iqfake.Config{Seed: 11})
	return fk, uid, open(t, adapter(t, fk, edit...))
}

func TestExpiryAndActiveFromServerTime(t *testing.T) {
	fk, uid, s := manual(t)
	ctx := context.Background()
	fk.Advance(31 * time.Second) // 12:00:31: 29 s left in the minute, less than the 30 s deadtime
	barrier(t, s)
	base := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC).Unix()

	o1, err := s.PlaceOrder(ctx, order("t1", "EURUSD-OTC", time.Minute, "1"))
	require.NoError(t, err)
	o2, err := s.PlaceOrder(ctx, order("t2", "EURUSD", 3*time.Minute, "2"))
	require.NoError(t, err)
	o3, err := s.PlaceOrder(ctx, order("t3", "GBPUSD-OTC", 15*time.Minute, "3"))
	require.NoError(t, err)

	ps := fk.Positions(uid)
	require.Len(t, ps, 3)
	assert.Equal(t, iqfake.Position{OptionID: ps[0].OptionID, ActiveID: 76, OptionTypeID: 3, Direction: "call", Expired: base + 120, Invest: 1, BalanceID: ps[0].BalanceID, Status: "open"}, ps[0])
	assert.Equal(t, int64(1861), ps[1].ActiveID, "EURUSD trades on its -op id, discovered at runtime")
	assert.Equal(t, base+240, ps[1].Expired)
	assert.Equal(t, 1, ps[2].OptionTypeID, "15 minutes is a binary option")
	assert.Equal(t, base+900, ps[2].Expired)
	assert.Equal(t, strconv.FormatInt(ps[0].OptionID, 10), o1.BrokerOrderID)
	assert.Equal(t, time.Unix(base+120, 0).UTC(), o1.ExpiresAt)
	assert.InDelta(t, 87, o2.PayoutPercent, 1e-9)
	assert.InDelta(t, 85, o3.PayoutPercent, 1e-9, "binary payout = 100 − binary commission")
	assert.Equal(t, broker.Open, o3.State)
}

func TestRefusalsMapToSentinelsAndAreNotStored(t *testing.T) {
	fk, uid, s := manual(t)
	ctx := context.Background()

	_, err := s.PlaceOrder(ctx, order("big", "EURUSD-OTC", time.Minute, "15000"))
	assert.ErrorIs(t, err, broker.ErrInsufficientFunds)

	fk.SetFaults(iqfake.Faults{PurchaseOver: true})
	_, err = s.PlaceOrder(ctx, order("late", "EURUSD-OTC", time.Minute, "1"))
	assert.ErrorIs(t, err, broker.ErrMarketClosed)
	fk.SetFaults(iqfake.Faults{})

	fk.SetSuspended(76, true) // the adapter's catalogue still says open: the server's 4119 decides
	_, err = s.PlaceOrder(ctx, order("susp", "EURUSD-OTC", time.Minute, "1"))
	assert.ErrorIs(t, err, broker.ErrMarketClosed)

	_, err = s.PlaceOrder(ctx, order("exp", "EURUSD-OTC", 7*time.Minute, "1"))
	assert.ErrorIs(t, err, broker.ErrInvalidOrder)
	_, err = s.PlaceOrder(ctx, order("neg", "EURUSD-OTC", time.Minute, "-1"))
	assert.ErrorIs(t, err, broker.ErrInvalidOrder)
	_, err = s.PlaceOrder(ctx, order("sym", "XAUUSD-OTC", time.Minute, "1"))
	assert.ErrorIs(t, err, broker.ErrUnknownInstrument)

	for _, id := range []string{"big", "late", "susp", "exp", "neg", "sym"} {
		_, err := s.GetOrder(ctx, id)
		assert.ErrorIs(t, err, broker.ErrOrderNotFound, id)
	}
	assert.Empty(t, fk.Positions(uid))

	fk.SetSuspended(76, false)
	_, err = s.PlaceOrder(ctx, order("susp", "EURUSD-OTC", time.Minute, "1"))
	assert.NoError(t, err, "a refused id may be tried again")
}

func TestIdempotentUnderConcurrency(t *testing.T) {
	fk, uid, s := manual(t)
	var wg sync.WaitGroup
	ids := make([]string, 10)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, err := s.PlaceOrder(context.Background(), order("same", "EURUSD-OTC", time.Minute, "5"))
			if err == nil {
				ids[i] = o.BrokerOrderID
			}
		}()
	}
	wg.Wait()
	require.Len(t, fk.Positions(uid), 1)
	for _, id := range ids {
		assert.Equal(t, ids[0], id)
	}
}

// settle places a one-minute order and returns it with its result stream.
func placeOne(t *testing.T, s broker.Broker, id string) (broker.Order, <-chan broker.Order) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	results, err := s.OrderResults(ctx)
	require.NoError(t, err)
	o, err := s.PlaceOrder(context.Background(), order(id, "EURUSD-OTC", time.Minute, "10"))
	require.NoError(t, err)
	return o, results
}

// next waits for the next final order on ch.
func next(t *testing.T, ch <-chan broker.Order) broker.Order {
	t.Helper()
	select {
	case o := <-ch:
		return o
	case <-time.After(30 * time.Second):
		t.Fatal("no order result")
	}
	return broker.Order{}
}

// assertQuiet checks that nothing more was emitted once the adapter read
// everything the fake sent.
func assertQuiet(t *testing.T, s broker.Broker, ch <-chan broker.Order) {
	t.Helper()
	barrier(t, s)
	select {
	case o := <-ch:
		t.Fatalf("unexpected second result: %+v", o)
	default:
	}
}

func TestSettlementProfitAndExactlyOnce(t *testing.T) {
	for _, outcome := range []struct {
		force string
		state broker.OrderState
	}{{"win", broker.Won}, {"loose", broker.Lost}, {"equal", broker.Draw}} {
		t.Run(outcome.force, func(t *testing.T) {
			fk, _, s := manual(t)
			fk.SetFaults(iqfake.Faults{ForceResult: outcome.force})
			o, results := placeOne(t, s, "o-"+outcome.force)
			fk.Advance(2 * time.Minute)
			got := next(t, results)
			assert.Equal(t, outcome.state, got.State)
			want := map[string]string{"win": "9.2", "loose": "-10", "equal": "0"}[outcome.force]
			assert.Equal(t, want, got.Profit.String(), "profit = close_profit − invest at 92 %%")
			assert.Equal(t, o.BrokerOrderID, got.BrokerOrderID)
			assert.Positive(t, got.ClosePrice)
			assert.Equal(t, o.ExpiresAt, got.ClosedAt)
			assertQuiet(t, s, results)
			again, err := s.GetOrder(context.Background(), got.ClientOrderID)
			require.NoError(t, err)
			assert.Equal(t, got, again)
		})
	}
}

func positionPush(optionID int64, version int, status, reason string, invest, closeProfit string, extra string) []byte {
	return []byte(fmt.Sprintf(`{"name":"position-changed","microserviceName":"portfolio","msg":{"id":"p-%d","external_id":%d,"version":%d,"status":%q,"close_reason":%q,"invest":%s,"close_profit":%s,"close_quote":1.1,"close_time":1772626000000%s}}`,
		optionID, optionID, version, status, reason, invest, closeProfit, extra))
}

func TestOnlyIncreasingVersionsApply(t *testing.T) {
	fk, uid, s := manual(t)
	o, results := placeOne(t, s, "v")
	id, _ := strconv.ParseInt(o.BrokerOrderID, 10, 64)

	fk.Inject(uid, positionPush(id, 3, "closed", "equal", "10", "10", ""))
	got := next(t, results)
	assert.Equal(t, broker.Draw, got.State)

	fk.UpdateFaults(func(f *iqfake.Faults) { f.ForceResult = "win" })
	fk.Advance(2 * time.Minute)                                           // the fake settles with version 2: older, ignored
	fk.Inject(uid, positionPush(id, 9, "closed", "loose", "10", "0", "")) // newer, but the order is final
	assertQuiet(t, s, results)
	now, err := s.GetOrder(context.Background(), "v")
	require.NoError(t, err)
	assert.Equal(t, broker.Draw, now.State)
	assert.True(t, now.Profit.IsZero())
}

func TestStaleVersionBeforeCloseIsIgnored(t *testing.T) {
	fk, uid, s := manual(t)
	o, results := placeOne(t, s, "v2")
	id, _ := strconv.ParseInt(o.BrokerOrderID, 10, 64)
	fk.Inject(uid, positionPush(id, 4, "open", "", "10", "0", ""))
	fk.Inject(uid, positionPush(id, 2, "closed", "win", "10", "18.7", "")) // an older version arriving late
	barrier(t, s)
	got, err := s.GetOrder(context.Background(), "v2")
	require.NoError(t, err)
	assert.Equal(t, broker.Open, got.State)
	fk.Inject(uid, positionPush(id, 5, "closed", "sold", "10", "12.5", ""))
	got = next(t, results)
	assert.Equal(t, broker.Won, got.State, "sold with a gain")
	assert.Equal(t, "2.5", got.Profit.String())
}

func TestUnknownFieldsAreTolerated(t *testing.T) {
	fk, uid, s := manual(t)
	o, results := placeOne(t, s, "u")
	id, _ := strconv.ParseInt(o.BrokerOrderID, 10, 64)
	fk.Inject(uid, []byte(`{"name":"brand-new-push","microserviceName":"unknown","msg":{"a":[1,{"b":null}]}}`))
	fk.Inject(uid, []byte(`{"name":"timeSync","msg":"not a number"}`))
	fk.Inject(uid, []byte(`not json at all`))
	fk.Inject(uid, positionPush(id, 7, "closed", "win", `"10"`, `"18.70"`,
		`,"new_field":{"nested":[true,false]},"pnl":8.7,"raw_event":{"binary_options_option_changed1":{"option_id":`+o.BrokerOrderID+`,"x":1}},"request_id":null`))
	got := next(t, results)
	assert.Equal(t, broker.Won, got.State)
	assert.Equal(t, "8.7", got.Profit.String())
}

func TestRejectedByRisksPush(t *testing.T) {
	fk, _, s := manual(t)
	fk.SetFaults(iqfake.Faults{RejectByRisks: true})
	_, results := placeOne(t, s, "risk")
	got := next(t, results)
	assert.Equal(t, broker.Rejected, got.State)
	assert.Contains(t, got.RejectReason, "rejected_by_risks")
}

func TestCommissionChangedUpdatesPayout(t *testing.T) {
	fk, _, s := manual(t)
	fk.SetCommission(76, 20)
	waitFor(t, "payout 80", func() bool {
		list, err := s.Instruments(context.Background())
		require.NoError(t, err)
		for _, in := range list {
			if in.Symbol == "EURUSD-OTC" {
				return in.PayoutPercent == 80
			}
		}
		return false
	})
	o, err := s.PlaceOrder(context.Background(), order("c", "EURUSD-OTC", time.Minute, "1"))
	require.NoError(t, err)
	assert.InDelta(t, 80, o.PayoutPercent, 1e-9)
}
