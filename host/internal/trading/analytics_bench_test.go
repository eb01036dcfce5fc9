package trading

import (
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
	"github.com/stc-trading/stc/sdk/broker"
)

// BenchmarkAnalytics measures each analytics query over one user's
// history of STC_BENCH_TRADES settled trades (default 100,000: two years
// of a busy bot trader, 10 symbols, 5 bots and manual trades), on both
// stores, with another user's 20,000 trades in the same table. One
// iteration is one query, as one API request runs it.
//
//	go test -run '^$' -bench Analytics -benchtime 20x ./host/internal/trading/
func BenchmarkAnalytics(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("STC_BENCH_TRADES")); err == nil && v > 0 {
		n = v
	}
	saoPaulo, err := time.LoadLocation("America/Sao_Paulo")
	require.NoError(b, err)
	for _, dialect := range []string{store.DialectPostgres, store.DialectSQLite} {
		b.Run(dialect, func(b *testing.B) {
			st := storetest.OpenSQLite(b)
			if dialect == store.DialectPostgres {
				st = storetest.OpenPostgres(b)
			}
			svc := analyticsService(st)
			user := seedHistory(b, st, "trader@example.com", n, 1)
			seedHistory(b, st, "other@example.com", 20_000, 2)
			// What autovacuum (PostgreSQL) and the optimizer's statistics
			// would be on a live host.
			maintenance := "ANALYZE"
			if dialect == store.DialectPostgres {
				maintenance = "VACUUM (ANALYZE) trades"
			}
			_, err := st.OwnerDB().Exec(maintenance)
			require.NoError(b, err)
			ctx := ctxT(b)
			queries := []struct {
				name string
				run  func() error
			}{
				{"equity", func() error { _, err := svc.Equity(ctx, user, AnalyticsFilter{}, 500); return err }},
				{"daily", func() error { _, err := svc.Daily(ctx, user, AnalyticsFilter{}, saoPaulo); return err }},
				{"by-symbol", func() error { _, err := svc.BySymbol(ctx, user, AnalyticsFilter{}); return err }},
				{"by-hour", func() error { _, err := svc.ByHour(ctx, user, AnalyticsFilter{}, saoPaulo); return err }},
				{"bots", func() error { _, err := svc.ByBot(ctx, user, AnalyticsFilter{}); return err }},
				{"daily-real-one-bot", func() error {
					_, err := svc.Daily(ctx, user, AnalyticsFilter{Mode: broker.Real, BotID: 3}, saoPaulo)
					return err
				}},
			}
			for _, q := range queries {
				b.Run(q.name, func(b *testing.B) {
					for b.Loop() {
						if err := q.run(); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// seedHistory writes n settled trades of a new user over the two years
// before 2025, on a practice and a real account, and returns the user.
func seedHistory(b testing.TB, st *store.Store, email string, n int, seed uint64) int64 {
	b.Helper()
	user := addUser(b, st, email)
	accts := []int64{seedAccount(b, st, user, broker.Practice), seedAccount(b, st, user, broker.Real)}
	rng := rand.New(rand.NewPCG(seed, 14))
	end := day("2025-01-01T00:00:00Z")
	trades := make([]settledTrade, n)
	for i := range trades {
		tr := settledTrade{account: accts[rng.IntN(2)], bot: int64(rng.IntN(6)), symbol: "SYM" + strconv.Itoa(rng.IntN(10)),
			closed: end.Add(-time.Duration(rng.Int64N(int64(2 * 365 * 24 * time.Hour)))).Truncate(time.Millisecond)}
		switch rng.IntN(20) {
		case 0:
			tr.status, tr.profit = StatusDraw, "0"
		case 1, 2, 3, 4, 5, 6, 7, 8, 9:
			tr.status, tr.profit = StatusLost, "-10"
		default:
			tr.status, tr.profit = StatusWon, decimal.New(int64(700+rng.IntN(250)), -2).String()
		}
		trades[i] = tr
	}
	seedTrades(b, st, user, trades)
	return user
}
