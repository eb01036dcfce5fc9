package marketdata_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/marketdata"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
	"github.com/stc-trading/stc/sdk/market"
)

// historyStart is 2020-01-21T00:00:00Z: the paper broker's history begins
// on 2020-01-01, so "the latest 100 daily candles before historyStart"
// are the 20 that exist — fewer than asked for, however often one asks.
const historyStart = 1579564800

// fetches is how many Candles calls the plugin has served.
func (r *rig) fetches(t *testing.T) int {
	t.Helper()
	data, err := os.ReadFile(r.candlesLog)
	if os.IsNotExist(err) {
		return 0
	}
	require.NoError(t, err)
	return strings.Count(string(data), "\n")
}

func (r *rig) fetchCount(result string) int {
	return counter(r.metrics.CandleFetches.WithLabelValues(result))
}

func (r *rig) misses() int {
	return counter(r.metrics.CacheRequests.WithLabelValues("candles", "miss"))
}

func counter(c prometheus.Counter) int {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return int(m.GetCounter().GetValue())
}

var (
	anon1 = marketdata.Client{ID: "ip:192.0.2.1", Anonymous: true}
	anon2 = marketdata.Client{ID: "ip:192.0.2.2", Anonymous: true}
	anon3 = marketdata.Client{ID: "ip:192.0.2.3", Anonymous: true}
	user1 = marketdata.Client{ID: "user:1"}
	user2 = marketdata.Client{ID: "user:2"}
)

// What was fetched for a range is stored and served again: the same
// request a second time costs the broker nothing, even when the broker
// has fewer candles than asked for (the old code asked again every time,
// widening the range four times over).
func TestFetchedHistoryIsServedAgainWithoutTheBroker(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s, "1", marketdata.Options{})
		ctx := context.Background()
		type req struct {
			name     string
			c        marketdata.Client
			sym      string
			tf       market.Timeframe
			from, to int64
			limit    int
			want     int
		}
		for _, q := range []req{
			{name: "latest before a time, short history", c: anon1, sym: "EURUSD-OTC", tf: market.D1, to: historyStart, limit: 100, want: 20},
			{name: "range", c: user1, sym: "GBPUSD-OTC", tf: market.H1, from: 1_700_000_000, limit: 50, want: 50},
			{name: "latest, the host itself", sym: "USDJPY-OTC", tf: market.H4, to: 1_750_000_000, limit: 40, want: 40},
		} {
			t.Run(q.name, func(t *testing.T) {
				before := r.fetches(t)
				first, err := r.svc.CandlesFor(ctx, q.c, "paper", q.sym, q.tf, q.from, q.to, q.limit)
				require.NoError(t, err)
				require.Len(t, first, q.want)
				for i, c := range first {
					require.NoError(t, c.Validate(q.tf))
					if i > 0 {
						require.Greater(t, c.Time, first[i-1].Time)
					}
				}
				fetched := r.fetches(t)
				require.Greater(t, fetched, before, "the first request went to the broker")
				n, err := s.CountCandles(ctx, "paper", q.sym, q.tf)
				require.NoError(t, err)
				assert.GreaterOrEqual(t, n, int64(q.want), "what was fetched is in the store at once")

				for range 3 {
					again, err := r.svc.CandlesFor(ctx, q.c, "paper", q.sym, q.tf, q.from, q.to, q.limit)
					require.NoError(t, err)
					assert.Equal(t, first, again)
				}
				assert.Equal(t, fetched, r.fetches(t), "the same request again never reached the broker")
				// A narrower request inside what was fetched is answered too.
				sub, err := r.svc.CandlesFor(ctx, q.c, "paper", q.sym, q.tf, q.from, q.to, q.limit/2)
				require.NoError(t, err)
				require.Len(t, sub, min(q.want, q.limit/2))
				if q.from != 0 {
					assert.Equal(t, first[:len(sub)], sub, "the first half of a range")
				} else {
					assert.Equal(t, first[len(first)-len(sub):], sub, "the newest half of the latest")
				}
				assert.Equal(t, fetched, r.fetches(t))
			})
		}
	})
}

// N identical requests at once cause one broker fetch: while the first
// is held in the plugin the others wait for it, then all answer the same.
func TestConcurrentIdenticalRequestsShareOneFetch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		gate := filepath.Join(t.TempDir(), "open")
		r := newRig(t, s, "1", marketdata.Options{}, "STC_TEST_CANDLES_GATE", gate)
		const n = 8
		answers := make([]market.Series, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			// Each from its own address: coalescing is across clients.
			c := marketdata.Client{ID: "ip:198.51.100." + strconv.Itoa(i+1), Anonymous: true}
			wg.Go(func() {
				answers[i], errs[i] = r.svc.CandlesFor(context.Background(), c, "paper", "AUDCAD-OTC", market.M15, 1_760_000_000, 0, 200)
			})
		}
		waitFor(t, 20*time.Second, "the first fetch to reach the plugin", func() bool { return r.fetches(t) >= 1 })
		waitFor(t, 20*time.Second, "every request to start", func() bool { return r.misses() == n })
		time.Sleep(200 * time.Millisecond) // let them reach the fetch in flight; a straggler would find the range stored
		assert.Equal(t, 1, r.fetches(t), "one fetch in flight for eight requests")
		require.NoError(t, os.WriteFile(gate, nil, 0o600))
		wg.Wait()
		for i := range n {
			require.NoError(t, errs[i])
			require.Len(t, answers[i], 200)
			assert.Equal(t, answers[0], answers[i])
		}
		assert.Equal(t, 1, r.fetches(t), "eight identical requests, one Candles call (200 candles fit one page)")
		assert.Equal(t, 1, r.fetchCount("fetched"))
		assert.Equal(t, n-1, r.fetchCount("coalesced"), "the other seven waited for the first one's fetch")
	})
}

// Budgets: the span per request, each client's rate and concurrency, the
// anonymous clients' total, and the host's fetch slots. Anonymous clients
// are the most restricted and never wait. Refused requests never reach the
// broker; what is stored is served whatever the budget.
func TestBudgetsBoundWhatClientsMakeTheServiceFetch(t *testing.T) {
	s := storetest.OpenSQLite(t)
	ctx := context.Background()
	// The service's clock stands still, so no budget refills during a
	// test however slow the machine.
	now := time.Now()
	rigWith := func(t *testing.T, b marketdata.Budget) (*rig, string) {
		gate := filepath.Join(t.TempDir(), "open")
		require.NoError(t, os.WriteFile(gate, nil, 0o600))
		opts := marketdata.Options{Budget: b, Now: func() time.Time { return now }}
		return newRig(t, s, "1", opts, "STC_TEST_CANDLES_GATE", gate), gate
	}
	get := func(r *rig, c marketdata.Client, sym string, tf market.Timeframe, limit int) error {
		_, err := r.svc.CandlesFor(ctx, c, "paper", sym, tf, historyStart, 0, limit)
		return err
	}
	scope := func(t *testing.T, err error) string {
		t.Helper()
		var be *marketdata.BudgetError
		require.ErrorAs(t, err, &be)
		assert.ErrorIs(t, err, marketdata.ErrBudgetExceeded)
		assert.Positive(t, be.RetryAfter)
		return be.Scope
	}

	t.Run("span per request", func(t *testing.T) {
		r, _ := rigWith(t, marketdata.Budget{MaxSpanAnonymous: 10 * 24 * time.Hour, MaxSpanUser: 30 * 24 * time.Hour})
		_, err := r.svc.CandlesFor(ctx, anon1, "paper", "EURUSD-OTC", market.D1, 0, 0, 11)
		var se *marketdata.SpanError
		require.ErrorAs(t, err, &se)
		assert.ErrorIs(t, err, marketdata.ErrSpanTooLarge)
		assert.True(t, se.Anonymous)
		assert.Equal(t, 10*24*time.Hour, se.Max)
		assert.Equal(t, 11*24*time.Hour, se.Requested)
		require.NoError(t, get(r, anon1, "EURUSD-OTC", market.H1, 240), "10 days of hours")
		require.NoError(t, get(r, user1, "EURUSD-OTC", market.D1, 11), "a signed-in client may ask for more")
		_, err = r.svc.CandlesFor(ctx, user1, "paper", "EURUSD-OTC", market.D1, 0, 0, 31)
		require.ErrorIs(t, err, marketdata.ErrSpanTooLarge)
		// A from/to range shorter than limit × timeframe is what counts.
		_, err = r.svc.CandlesFor(ctx, anon1, "paper", "GBPUSD-OTC", market.D1, historyStart, historyStart+5*86400, 5000)
		require.NoError(t, err)
		assert.Equal(t, 3, r.fetches(t), "refused requests never reach the broker")
		assert.Equal(t, 2, r.fetchCount("refused_span"))
	})

	t.Run("rate per client, and all anonymous clients together", func(t *testing.T) {
		// Each request below fetches 24 hourly candles: one day's worth.
		r, _ := rigWith(t, marketdata.Budget{DaysPerMinuteAnonymous: 2, DaysPerMinuteAnonymousTotal: 3, DaysPerMinuteUser: 3})
		require.NoError(t, get(r, anon1, "EURUSD-OTC", market.H1, 24))
		require.NoError(t, get(r, anon1, "GBPUSD-OTC", market.H1, 24))
		assert.Equal(t, marketdata.ScopeClient, scope(t, get(r, anon1, "USDJPY-OTC", market.H1, 24)))
		// What is stored costs nothing: anon1 still gets it.
		require.NoError(t, get(r, anon1, "GBPUSD-OTC", market.H1, 24))
		// Every anonymous fetch counts toward the total of 3 a minute.
		require.NoError(t, get(r, anon2, "USDJPY-OTC", market.H1, 24))
		assert.Equal(t, marketdata.ScopeAnonymous, scope(t, get(r, anon3, "AUDCAD-OTC", market.H1, 24)))
		assert.Equal(t, 3, r.fetches(t))
		// A signed-in client has its own, larger budget.
		for _, sym := range []string{"AUDCAD-OTC", "EURUSD", "GBPUSD"} {
			require.NoError(t, get(r, user1, sym, market.H1, 24))
		}
		assert.Equal(t, marketdata.ScopeClient, scope(t, get(r, user1, "USDJPY", market.H1, 24)))
		require.NoError(t, get(r, user2, "USDJPY", market.H1, 24))
		assert.Equal(t, 7, r.fetches(t))
		assert.Equal(t, 2, r.fetchCount("refused_client"))
		assert.Equal(t, 1, r.fetchCount("refused_anonymous"))
	})

	t.Run("a fetch costs the market time it covers", func(t *testing.T) {
		r, _ := rigWith(t, marketdata.Budget{DaysPerMinuteAnonymous: 30, DaysPerMinuteAnonymousTotal: -1})
		require.NoError(t, get(r, anon1, "EURUSD-OTC", market.D1, 20), "20 days of 30")
		be := scope(t, get(r, anon1, "GBPUSD-OTC", market.D1, 11))
		assert.Equal(t, marketdata.ScopeClient, be, "11 days of the 10 left")
		require.NoError(t, get(r, anon1, "GBPUSD-OTC", market.D1, 10), "10 days of the 10 left")
		assert.Equal(t, marketdata.ScopeClient, scope(t, get(r, anon1, "USDJPY-OTC", market.M1, 60)), "even an hour of minutes costs a day")
		assert.Equal(t, 2, r.fetches(t))
	})

	t.Run("concurrency", func(t *testing.T) {
		r, gate := rigWith(t, marketdata.Budget{Concurrency: 2, ConcurrencyAnonymous: 1, QueueWait: 100 * time.Millisecond,
			DaysPerMinuteAnonymous: 1})
		require.NoError(t, os.Remove(gate)) // hold every fetch in the plugin
		var wg sync.WaitGroup
		errs := make(chan error, 3)
		wg.Go(func() { errs <- get(r, user1, "EURUSD-OTC", market.M5, 10) })
		waitFor(t, 20*time.Second, "user1's fetch in the plugin", func() bool { return r.fetches(t) == 1 })
		// The anonymous clients' one slot, and the host's second.
		wg.Go(func() { errs <- get(r, anon1, "GBPUSD-OTC", market.M5, 10) })
		waitFor(t, 20*time.Second, "anon1's fetch in the plugin", func() bool { return r.fetches(t) == 2 })
		// Another anonymous client is refused at once, never queued.
		assert.Equal(t, marketdata.ScopeAnonymous, scope(t, get(r, anon2, "USDJPY-OTC", market.M5, 10)))
		// An anonymous client may have one request waiting at a time.
		assert.Equal(t, marketdata.ScopeClient, scope(t, get(r, anon1, "AUDCAD-OTC", market.M5, 10)))
		// A signed-in client waits QueueWait for a slot, then is refused.
		assert.Equal(t, marketdata.ScopeHost, scope(t, get(r, user2, "USDJPY-OTC", market.M5, 10)))
		// The same candles as a fetch in flight share it instead.
		wg.Go(func() { errs <- get(r, user2, "EURUSD-OTC", market.M5, 10) })
		waitFor(t, 20*time.Second, "user2 to wait", func() bool { return r.misses() == 6 })
		assert.Equal(t, 2, r.fetches(t))
		require.NoError(t, os.WriteFile(gate, nil, 0o600))
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		assert.Equal(t, 2, r.fetches(t), "user2 rode user1's fetch")
		// anon2's refused request cost it nothing: its one fetch a minute
		// is still there.
		require.NoError(t, get(r, anon2, "USDJPY-OTC", market.M5, 10))
		assert.Equal(t, marketdata.ScopeClient, scope(t, get(r, anon2, "AUDCAD-OTC", market.M5, 10)))
	})
}
