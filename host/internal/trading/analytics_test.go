package trading

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
	"github.com/stc-trading/stc/sdk/broker"
)

// settledTrade is a trade row the analytics tests write directly: the
// queries under test read rows, whatever placed them, and exact close
// times, symbols and profits make every expected number computable.
type settledTrade struct {
	account int64
	bot     int64
	symbol  string
	status  Status
	profit  string
	closed  time.Time
}

// seedAccount adds a broker account of userID in mode.
func seedAccount(t testing.TB, st *store.Store, userID int64, mode broker.Mode) int64 {
	t.Helper()
	var id int64
	require.NoError(t, st.Update(context.Background(), store.System(), func(tx *sqlx.Tx) error {
		return tx.Get(&id, tx.Rebind(`INSERT INTO broker_accounts (user_id, broker, mode, login, status, created_at, updated_at)
			VALUES (?, 'paper', ?, 'seed', 'disconnected', 1, 1) RETURNING id`), userID, mode.String())
	}))
	return id
}

// seedTrades writes trades of userID, 500 rows per statement.
func seedTrades(t testing.TB, st *store.Store, userID int64, trades []settledTrade) {
	t.Helper()
	const cols = 15
	for start := 0; start < len(trades); start += 500 {
		chunk := trades[start:min(start+500, len(trades))]
		var sb strings.Builder
		args := make([]any, 0, len(chunk)*cols)
		for i, tr := range chunk {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")")
			var bot, profit, closed any
			if tr.bot != 0 {
				bot = tr.bot
			}
			if tr.status.settled() {
				profit, closed = tr.profit, tr.closed.UnixMilli()
			}
			at := tr.closed.Add(-time.Minute).UnixMilli()
			args = append(args, userID, bot, tr.account, "paper", tr.symbol, "CALL", "10", int64(60_000), string(tr.status),
				fmt.Sprintf("seed-%d-%d", userID, start+i), profit, closed, at, at, closed)
		}
		require.NoError(t, st.Update(context.Background(), store.System(), func(tx *sqlx.Tx) error {
			_, err := tx.Exec(tx.Rebind(`INSERT INTO trades (user_id, bot_id, account_id, broker, symbol, direction, amount,
				expiration_ms, status, client_order_id, profit, closed_at, created_at, updated_at, settled_at) VALUES `+sb.String()), args...)
			return err
		}))
	}
}

// analyticsService is a Service on st for the queries alone: they need
// neither accounts nor a broker.
func analyticsService(st *store.Store) *Service { return NewService(st, nil, nil, Options{}, nil) }

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func day(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestAnalyticsByHand checks each analytics query against numbers worked
// out by hand: days and hours in a zone with a daylight-saving change
// inside the range, exact sums of 8-decimal profits, the drawdown, the
// filters, and that neither another user's trades nor unsettled ones
// count.
func TestAnalyticsByHand(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ctx := ctxT(t)
		svc := analyticsService(st)
		alice, bob := addUser(t, st, "alice@example.com"), addUser(t, st, "bob@example.com")
		practice, real := seedAccount(t, st, alice, broker.Practice), seedAccount(t, st, alice, broker.Real)
		bobAcct := seedAccount(t, st, bob, broker.Practice)
		// New York leaves EST (UTC-5) for EDT (UTC-4) at 2024-03-10 07:00Z.
		aliceTrades := []settledTrade{
			{practice, 0, "EURUSD-OTC", StatusWon, "8.5", day("2024-03-09T23:30:00Z")},          // NY 03-09 18:30, hour 18
			{practice, 0, "EURUSD-OTC", StatusLost, "-10", day("2024-03-10T04:59:00Z")},         // NY 03-09 23:59, hour 23
			{practice, 7, "GBPUSD", StatusWon, "0.12345678", day("2024-03-10T06:30:00Z")},       // NY 03-10 01:30 EST, hour 1
			{practice, 7, "GBPUSD", StatusDraw, "0", day("2024-03-10T07:30:00Z")},               // NY 03-10 03:30 EDT, hour 3
			{real, 7, "EURUSD-OTC", StatusLost, "-20.00000001", day("2024-03-10T15:00:00Z")},    // NY 03-10 11:00, hour 11
			{real, 0, "EURUSD-OTC", StatusWon, "17.4", day("2024-03-11T03:59:00Z")},             // NY 03-10 23:59, hour 23
			{practice, 0, "EURUSD-OTC", StatusOpen, "", day("2024-03-10T08:00:00Z")},            // not settled
			{practice, 0, "EURUSD-OTC", StatusRejected, "", day("2024-03-10T08:00:00Z")},        // not settled
			{practice, 7, "GBPUSD", StatusUnresolved, "", day("2024-03-10T09:00:00Z")},          // not settled
			{practice, 0, "AUDCAD", StatusWon, "1000000.12345678", day("2024-03-12T12:00:00Z")}, // NY 03-12 08:00, hour 8
		}
		seedTrades(t, st, alice, aliceTrades)
		// Bob trades at the same moments: none of it may reach alice.
		var bobTrades []settledTrade
		for _, tr := range aliceTrades {
			tr.account, tr.profit = bobAcct, "333"
			if tr.status.settled() {
				tr.status = StatusWon
			}
			bobTrades = append(bobTrades, tr)
		}
		seedTrades(t, st, bob, bobTrades)
		ny, err := time.LoadLocation("America/New_York")
		require.NoError(t, err)

		days, err := svc.Daily(ctx, alice, AnalyticsFilter{}, ny)
		require.NoError(t, err)
		require.Equal(t, []DayTally{
			{"2024-03-09", Tally{Trades: 2, Wins: 1, Losses: 1, Profit: dec("-1.5")}},
			{"2024-03-10", Tally{Trades: 4, Wins: 2, Losses: 1, Draws: 1, Profit: dec("-2.47654323")}},
			{"2024-03-12", Tally{Trades: 1, Wins: 1, Profit: dec("1000000.12345678")}},
		}, days)
		utcDays, err := svc.Daily(ctx, alice, AnalyticsFilter{}, nil)
		require.NoError(t, err)
		require.Equal(t, []DayTally{
			{"2024-03-09", Tally{Trades: 1, Wins: 1, Profit: dec("8.5")}},
			{"2024-03-10", Tally{Trades: 4, Wins: 1, Losses: 2, Draws: 1, Profit: dec("-29.87654323")}},
			{"2024-03-11", Tally{Trades: 1, Wins: 1, Profit: dec("17.4")}},
			{"2024-03-12", Tally{Trades: 1, Wins: 1, Profit: dec("1000000.12345678")}},
		}, utcDays)

		hours, err := svc.ByHour(ctx, alice, AnalyticsFilter{}, ny)
		require.NoError(t, err)
		require.Len(t, hours, 24)
		got := map[int]Tally{}
		for h, ht := range hours {
			require.Equal(t, h, ht.Hour)
			if ht.Trades > 0 {
				got[h] = ht.Tally
			}
		}
		assert.Equal(t, map[int]Tally{
			1:  {Trades: 1, Wins: 1, Profit: dec("0.12345678")},
			3:  {Trades: 1, Draws: 1, Profit: decimal.Decimal{}},
			8:  {Trades: 1, Wins: 1, Profit: dec("1000000.12345678")},
			11: {Trades: 1, Losses: 1, Profit: dec("-20.00000001")},
			18: {Trades: 1, Wins: 1, Profit: dec("8.5")},
			23: {Trades: 2, Wins: 1, Losses: 1, Profit: dec("7.4")},
		}, got)

		symbols, err := svc.BySymbol(ctx, alice, AnalyticsFilter{})
		require.NoError(t, err)
		assert.Equal(t, []SymbolTally{
			{"EURUSD-OTC", Tally{Trades: 4, Wins: 2, Losses: 2, Profit: dec("-4.10000001")}},
			{"GBPUSD", Tally{Trades: 2, Wins: 1, Draws: 1, Profit: dec("0.12345678")}},
			{"AUDCAD", Tally{Trades: 1, Wins: 1, Profit: dec("1000000.12345678")}},
		}, symbols)

		// Manual trades in close order: +8.5, -10, +17.4, +1000000.12…:
		// the peak 8.5 falls to -1.5, a drawdown of 10. Bot 7: +0.12…, 0,
		// -20.00000001: from the peak 0.12345678 down to -19.87654323.
		bots, err := svc.ByBot(ctx, alice, AnalyticsFilter{})
		require.NoError(t, err)
		require.Len(t, bots.PerBot, 2)
		assert.Equal(t, StatsRow{BotID: 0, Trades: 4, Wins: 3, Losses: 1, WinRate: 0.75, Profit: dec("1000016.02345678"), MaxDrawdown: dec("10")}, bots.PerBot[0])
		assert.Equal(t, StatsRow{BotID: 7, Trades: 3, Wins: 1, Losses: 1, Draws: 1, WinRate: 1.0 / 3, Profit: dec("-19.87654323"), MaxDrawdown: dec("20.00000001")}, bots.PerBot[1])
		// All of them in close order: 8.5, -1.5, -1.37654322, -1.37654322,
		// -21.37654323, …: the drawdown from 8.5 is 29.87654323.
		assert.Equal(t, StatsRow{Trades: 7, Wins: 4, Losses: 2, Draws: 1, WinRate: 4.0 / 7, Profit: dec("999996.14691355"), MaxDrawdown: dec("29.87654323")}, bots.Totals)

		// Filters: mode, bot, manual, close time.
		realOnly, err := svc.BySymbol(ctx, alice, AnalyticsFilter{Mode: broker.Real})
		require.NoError(t, err)
		assert.Equal(t, []SymbolTally{{"EURUSD-OTC", Tally{Trades: 2, Wins: 1, Losses: 1, Profit: dec("-2.60000001")}}}, realOnly)
		botOnly, err := svc.ByBot(ctx, alice, AnalyticsFilter{BotID: 7})
		require.NoError(t, err)
		assert.Equal(t, 3, botOnly.Totals.Trades)
		manualOnly, err := svc.ByBot(ctx, alice, AnalyticsFilter{Manual: true, Mode: broker.Practice})
		require.NoError(t, err)
		assert.Equal(t, 3, manualOnly.Totals.Trades)
		window, err := svc.BySymbol(ctx, alice, AnalyticsFilter{From: day("2024-03-10T06:30:00Z"), To: day("2024-03-10T15:00:00Z")})
		require.NoError(t, err)
		assert.Equal(t, []SymbolTally{{"GBPUSD", Tally{Trades: 2, Wins: 1, Draws: 1, Profit: dec("0.12345678")}}}, window, "from is inclusive, to exclusive")

		// One point per trade while they fit, with the running equity.
		curve, err := svc.Equity(ctx, alice, AnalyticsFilter{}, 7)
		require.NoError(t, err)
		assert.Zero(t, curve.Bucket)
		require.Len(t, curve.Points, 7)
		assert.Equal(t, EquityPoint{Time: day("2024-03-09T23:30:00Z"), Trades: 1, Profit: dec("8.5"), Equity: dec("8.5")}, curve.Points[0])
		assert.Equal(t, dec("-1.5"), curve.Points[1].Equity)
		assert.Equal(t, dec("999996.14691355"), curve.Points[6].Equity)
		// Three points: 7 trades over four calendar days need 2-day
		// buckets, aligned on the Unix epoch: 03-08 00:00Z, 03-10, 03-12.
		curve, err = svc.Equity(ctx, alice, AnalyticsFilter{}, 3)
		require.NoError(t, err)
		assert.Equal(t, 48*time.Hour, curve.Bucket)
		assert.Equal(t, []EquityPoint{
			{Time: day("2024-03-09T23:30:00Z"), Trades: 1, Profit: dec("8.5"), Equity: dec("8.5")},
			{Time: day("2024-03-11T03:59:00Z"), Trades: 5, Profit: dec("-12.47654323"), Equity: dec("-3.97654323")},
			{Time: day("2024-03-12T12:00:00Z"), Trades: 1, Profit: dec("1000000.12345678"), Equity: dec("999996.14691355")},
		}, curve.Points)

		// Bob sees only his own.
		bobBots, err := svc.ByBot(ctx, bob, AnalyticsFilter{})
		require.NoError(t, err)
		assert.Equal(t, 7, bobBots.Totals.Trades)
		assert.Equal(t, dec("2331"), bobBots.Totals.Profit)

		// Nothing to count is empty, not an error.
		none, err := svc.Equity(ctx, alice, AnalyticsFilter{From: day("2030-01-01T00:00:00Z")}, 10)
		require.NoError(t, err)
		assert.Empty(t, none.Points)
		noDays, err := svc.Daily(ctx, alice, AnalyticsFilter{BotID: 99}, ny)
		require.NoError(t, err)
		assert.Empty(t, noDays)
	})
}

// TestAnalyticsAgreeWithTheTrades draws a random history (seeded, so a
// failure repeats) and compares every query with the same numbers
// computed in Go from the trade rows as List returns them.
func TestAnalyticsAgreeWithTheTrades(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ctx := ctxT(t)
		svc := analyticsService(st)
		alice := addUser(t, st, "alice@example.com")
		acct := seedAccount(t, st, alice, broker.Practice)
		rng := rand.New(rand.NewPCG(14, 2024))
		start := day("2023-10-20T00:00:00Z") // across the end of summer time in São Paulo's past, Europe and the US
		var trades []settledTrade
		for range 600 {
			status := []Status{StatusWon, StatusLost, StatusDraw}[rng.IntN(3)]
			profit := "0"
			switch status {
			case StatusWon:
				profit = decimal.New(rng.Int64N(10_000_000_000), -8).String()
			case StatusLost:
				profit = "-" + strconv.Itoa(1+rng.IntN(50))
			}
			trades = append(trades, settledTrade{account: acct, bot: int64(rng.IntN(3)), symbol: []string{"A", "B", "C"}[rng.IntN(3)],
				status: status, profit: profit, closed: start.Add(time.Duration(rng.Int64N(int64(40 * 24 * time.Hour)))).Truncate(time.Millisecond)})
		}
		seedTrades(t, st, alice, trades)
		sort.SliceStable(trades, func(i, j int) bool { return trades[i].closed.Before(trades[j].closed) })

		for _, zone := range []string{"UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"} {
			loc, err := time.LoadLocation(zone)
			require.NoError(t, err)
			wantDays := map[string]*Tally{}
			wantHours := map[int]*Tally{}
			for _, tr := range trades {
				local := tr.closed.In(loc)
				d := local.Format(time.DateOnly)
				if wantDays[d] == nil {
					wantDays[d] = &Tally{}
				}
				if wantHours[local.Hour()] == nil {
					wantHours[local.Hour()] = &Tally{}
				}
				count(wantDays[d], tr)
				count(wantHours[local.Hour()], tr)
			}
			days, err := svc.Daily(ctx, alice, AnalyticsFilter{}, loc)
			require.NoError(t, err)
			require.Len(t, days, len(wantDays), zone)
			for _, d := range days {
				assert.Equal(t, *wantDays[d.Date], d.Tally, "%s %s", zone, d.Date)
			}
			hours, err := svc.ByHour(ctx, alice, AnalyticsFilter{}, loc)
			require.NoError(t, err)
			for _, h := range hours {
				want := Tally{}
				if w := wantHours[h.Hour]; w != nil {
					want = *w
				}
				assert.Equal(t, want, h.Tally, "%s hour %d", zone, h.Hour)
			}
		}

		// Per bot and in total, with the drawdown walked in close order.
		type walk struct {
			row       StatsRow
			cum, peak decimal.Decimal
		}
		step := func(w *walk, tr settledTrade) {
			tl := Tally{Trades: w.row.Trades, Wins: w.row.Wins, Losses: w.row.Losses, Draws: w.row.Draws, Profit: w.cum}
			count(&tl, tr)
			w.row.Trades, w.row.Wins, w.row.Losses, w.row.Draws, w.cum = tl.Trades, tl.Wins, tl.Losses, tl.Draws, tl.Profit
			w.peak = decimal.Max(w.peak, w.cum)
			w.row.MaxDrawdown = decimal.Max(w.row.MaxDrawdown, w.peak.Sub(w.cum))
		}
		total, perBot := &walk{}, map[int64]*walk{}
		for _, tr := range trades {
			if perBot[tr.bot] == nil {
				perBot[tr.bot] = &walk{row: StatsRow{BotID: tr.bot}}
			}
			step(perBot[tr.bot], tr)
			step(total, tr)
		}
		bots, err := svc.ByBot(ctx, alice, AnalyticsFilter{})
		require.NoError(t, err)
		require.Len(t, bots.PerBot, len(perBot))
		for _, got := range bots.PerBot {
			w := perBot[got.BotID]
			assert.Equal(t, w.row.Trades, got.Trades)
			assert.True(t, w.cum.Equal(got.Profit), "bot %d profit %s, want %s", got.BotID, got.Profit, w.cum)
			assert.True(t, w.row.MaxDrawdown.Equal(got.MaxDrawdown), "bot %d drawdown %s, want %s", got.BotID, got.MaxDrawdown, w.row.MaxDrawdown)
		}
		assert.True(t, total.cum.Equal(bots.Totals.Profit))
		assert.True(t, total.row.MaxDrawdown.Equal(bots.Totals.MaxDrawdown), "drawdown %s, want %s", bots.Totals.MaxDrawdown, total.row.MaxDrawdown)

		// The bucketed curve ends where the trades do, and its points
		// add up.
		curve, err := svc.Equity(ctx, alice, AnalyticsFilter{}, 100)
		require.NoError(t, err)
		require.NotZero(t, curve.Bucket)
		require.LessOrEqual(t, len(curve.Points), 100)
		n := 0
		for _, p := range curve.Points {
			n += p.Trades
		}
		assert.Equal(t, len(trades), n)
		last := curve.Points[len(curve.Points)-1]
		assert.True(t, total.cum.Equal(last.Equity), "equity %s, want %s", last.Equity, total.cum)
		assert.Equal(t, trades[len(trades)-1].closed, last.Time)
	})
}

// count adds one settled trade to t.
func count(t *Tally, tr settledTrade) {
	t.Trades++
	switch tr.status {
	case StatusWon:
		t.Wins++
	case StatusLost:
		t.Losses++
	case StatusDraw:
		t.Draws++
	}
	t.Profit = norm(t.Profit.Add(dec(tr.profit)))
}

// TestAnalyticsRefusesBadFilters: the service checks what it is given,
// whatever the caller validated.
func TestAnalyticsRefusesBadFilters(t *testing.T) {
	t.Parallel()
	st := storetest.OpenSQLite(t)
	svc := analyticsService(st)
	ctx := ctxT(t)
	for name, f := range map[string]AnalyticsFilter{
		"bot and manual": {BotID: 3, Manual: true},
		"negative bot":   {BotID: -1},
		"unknown mode":   {Mode: broker.Mode(9)},
		"empty window":   {From: day("2024-01-02T00:00:00Z"), To: day("2024-01-01T00:00:00Z")},
	} {
		_, err := svc.BySymbol(ctx, 1, f)
		assert.ErrorIs(t, err, ErrInvalidRequest, name)
	}
	_, err := svc.Equity(ctx, 1, AnalyticsFilter{}, 1)
	assert.ErrorIs(t, err, ErrInvalidRequest, "one point is no curve")
	_, err = svc.ByHour(ctx, 0, AnalyticsFilter{}, nil)
	assert.ErrorIs(t, err, ErrInvalidRequest, "no user")
}

// TestOffsetSQL: one literal for a zone without changes in the range, a
// CASE over each change otherwise, and a refusal past the bound.
func TestOffsetSQL(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	sql, err := offsetSQL("c", berlin, day("2024-01-01T00:00:00Z").UnixMilli(), day("2024-02-01T00:00:00Z").UnixMilli())
	require.NoError(t, err)
	assert.Equal(t, "3600000", sql)
	sql, err = offsetSQL("c", berlin, day("2024-01-01T00:00:00Z").UnixMilli(), day("2024-12-01T00:00:00Z").UnixMilli())
	require.NoError(t, err)
	assert.Equal(t, "CASE WHEN c < 1711846800000 THEN 3600000 WHEN c < 1729990800000 THEN 7200000 ELSE 3600000 END", sql)
	_, err = offsetSQL("c", berlin, 0, day("2600-01-01T00:00:00Z").UnixMilli())
	assert.ErrorIs(t, err, ErrInvalidRequest)
	sql, err = offsetSQL("c", time.UTC, 0, day("2600-01-01T00:00:00Z").UnixMilli())
	require.NoError(t, err)
	assert.Equal(t, "0", sql)
}
