package trading

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/stc-trading/stc/host/internal/apperr"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/sdk/broker"
)

// Analytics are aggregates over one user's settled (won, lost, draw)
// trades. The database computes them, with the same SQL on both stores:
// counts and sums in GROUP BY queries, read from a partial index that
// holds every column they need (migration 0010). Drawdowns need each
// trade in close order; ByBot reads them in one pass in index order.
// Every query runs in store.Tenant(userID) and filters on user_id, so
// another user's trades never count.
//
// Profit is summed exactly. PostgreSQL sums the NUMERIC column itself;
// SQLite keeps money as text, which its SUM would add as binary floats,
// so there each profit is summed as an integer number of 1e-8 units (the
// column's scale) and divided back. That conversion is exact for a profit below 2e7 in
// magnitude per trade, and SQLite's integer sum refuses (with an error,
// never a wrong answer) totals beyond 9.2e10.

// AnalyticsFilter selects the trades the analytics count: settled trades
// of one user. Zero fields do not filter.
type AnalyticsFilter struct {
	// From and To bound the close time: [From, To).
	From, To time.Time
	// Mode keeps the trades of practice or of real-money accounts (0:
	// both).
	Mode broker.Mode
	// BotID keeps one bot's trades, Manual the manual ones; not both.
	BotID  int64
	Manual bool
}

// Tally counts settled trades and sums their profit.
type Tally struct {
	Trades, Wins, Losses, Draws int
	Profit                      decimal.Decimal
}

// WinRate is Wins / Trades (draws count as trades), 0 without trades, as
// in StatsRow.
func (t Tally) WinRate() float64 {
	if t.Trades == 0 {
		return 0
	}
	return float64(t.Wins) / float64(t.Trades)
}

// EquityPoint is one point of an equity curve.
type EquityPoint struct {
	// Time is the close time of the last trade the point counts.
	Time time.Time
	// Trades and Profit are the point's own trades and their profit;
	// Equity is the cumulative profit up to and including them.
	Trades int
	Profit decimal.Decimal
	Equity decimal.Decimal
}

// EquityCurve is cumulative profit in close order.
type EquityCurve struct {
	// Bucket is the width of the time buckets the points sum; 0 means one
	// point per trade (the history had no more trades than points asked).
	Bucket time.Duration
	Points []EquityPoint
}

// DayTally is the tally of one calendar day in the caller's time zone.
type DayTally struct {
	// Date is the day, YYYY-MM-DD.
	Date string
	Tally
}

// SymbolTally is the tally of one symbol.
type SymbolTally struct {
	Symbol string
	Tally
}

// HourTally is the tally of one hour of the day (0–23) in the caller's
// time zone, over every day.
type HourTally struct {
	Hour int
	Tally
}

// Bounds of Equity's maxPoints.
const (
	MinEquityPoints = 2
	MaxEquityPoints = 5000
)

// profitUnits is the SQL term of one trade's profit that SUM adds
// exactly: the NUMERIC column on PostgreSQL, an integer number of 1e-8
// units (the column's scale) on SQLite (see the comment at the top of
// this file).
func (s *Service) profitUnits() string {
	if s.postgres {
		return "profit"
	}
	return "CAST(ROUND(profit * 100000000) AS INTEGER)"
}

// fromUnits turns a sum of profitUnits back into money.
func (s *Service) fromUnits(d decimal.Decimal) decimal.Decimal {
	if s.postgres {
		return norm(d)
	}
	return norm(d.Shift(-8))
}

// settledWhere is the WHERE clause (without the keyword) selecting
// userID's settled trades matching f, and its arguments.
func settledWhere(userID int64, f AnalyticsFilter) (string, []any, error) {
	switch {
	case userID <= 0:
		return "", nil, fieldErr("user_id", "must be positive")
	case f.BotID < 0:
		return "", nil, fieldErr("bot_id", "must not be negative")
	case f.BotID != 0 && f.Manual:
		return "", nil, apperr.Invalid(ErrInvalidRequest, "manual", "filter by a bot or by manual trades, not both")
	case f.Mode != 0 && f.Mode != broker.Practice && f.Mode != broker.Real:
		return "", nil, fieldErr("mode", "must be practice or real")
	case !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To):
		return "", nil, fieldErr("from", "must be before to")
	}
	where := []string{"user_id = ?", "status IN ('won', 'lost', 'draw')", "profit IS NOT NULL", "closed_at IS NOT NULL"}
	args := []any{userID}
	if !f.From.IsZero() {
		where, args = append(where, "closed_at >= ?"), append(args, f.From.UnixMilli())
	}
	if !f.To.IsZero() {
		where, args = append(where, "closed_at < ?"), append(args, f.To.UnixMilli())
	}
	switch {
	case f.BotID != 0:
		where, args = append(where, "bot_id = ?"), append(args, f.BotID)
	case f.Manual:
		where = append(where, "bot_id IS NULL")
	}
	if f.Mode != 0 {
		// The mode is the account's; the sub-select names the user too,
		// as every query does besides the row-level policy.
		where = append(where, "account_id IN (SELECT id FROM broker_accounts WHERE user_id = ? AND mode = ?)")
		args = append(args, userID, f.Mode.String())
	}
	return strings.Join(where, " AND "), args, nil
}

// tallyColumns are the SELECT terms a tallyRow scans.
func (s *Service) tallyColumns() string {
	return `COUNT(*) AS trades,
		SUM(CASE WHEN status = 'won' THEN 1 ELSE 0 END) AS wins,
		SUM(CASE WHEN status = 'lost' THEN 1 ELSE 0 END) AS losses,
		SUM(CASE WHEN status = 'draw' THEN 1 ELSE 0 END) AS draws,
		SUM(` + s.profitUnits() + `) AS profit`
}

// tallyRow is one grouped row of tallyColumns.
type tallyRow struct {
	Trades int             `db:"trades"`
	Wins   int             `db:"wins"`
	Losses int             `db:"losses"`
	Draws  int             `db:"draws"`
	Profit decimal.Decimal `db:"profit"`
}

func (s *Service) tally(r tallyRow) Tally {
	return Tally{Trades: r.Trades, Wins: r.Wins, Losses: r.Losses, Draws: r.Draws, Profit: s.fromUnits(r.Profit)}
}

// span is the number and close-time range of the trades a filter selects.
type span struct {
	Trades int    `db:"trades"`
	First  *int64 `db:"first"`
	Last   *int64 `db:"last"`
}

// readSpan reads the span of the trades where selects; without count,
// Trades is 1 when there are any: the first and last close times alone
// are two probes of the close-time index, a count reads every entry.
func readSpan(ctx context.Context, tx *sqlx.Tx, where string, args []any, count bool) (span, error) {
	n := "CASE WHEN MIN(closed_at) IS NULL THEN 0 ELSE 1 END"
	if count {
		n = "COUNT(*)"
	}
	var sp span
	err := tx.GetContext(ctx, &sp, tx.Rebind(`SELECT `+n+` AS trades, MIN(closed_at) AS first, MAX(closed_at) AS last
		FROM trades WHERE `+where), args...)
	return sp, err
}

// Equity returns userID's equity curve over the trades f selects, with at
// most maxPoints points (MinEquityPoints to MaxEquityPoints): one per
// trade when there are no more trades than that, else sums over equal
// time buckets (the smallest of 1 minute, 5, 15, 30 minutes, 1, 2, 4, 6,
// 12 hours, 1, 2, 7, 14, 30, 90 or 365 days that fits, aligned on Unix
// time), empty buckets left out.
func (s *Service) Equity(ctx context.Context, userID int64, f AnalyticsFilter, maxPoints int) (EquityCurve, error) {
	where, args, err := settledWhere(userID, f)
	if err != nil {
		return EquityCurve{}, err
	}
	if maxPoints < MinEquityPoints || maxPoints > MaxEquityPoints {
		return EquityCurve{}, fieldErr("points", "must be from %d to %d", MinEquityPoints, MaxEquityPoints)
	}
	var curve EquityCurve
	err = s.st.View(ctx, store.Tenant(userID), func(tx *sqlx.Tx) error {
		sp, err := readSpan(ctx, tx, where, args, true)
		if err != nil || sp.Trades == 0 {
			return err
		}
		var q string
		if sp.Trades <= maxPoints {
			q = `SELECT closed_at AS last, 1 AS trades, ` + s.profitUnits() + ` AS profit FROM trades WHERE ` + where + ` ORDER BY closed_at, id`
		} else {
			width := bucketWidth(*sp.First, *sp.Last, maxPoints)
			curve.Bucket = time.Duration(width) * time.Millisecond
			w := strconv.FormatInt(width, 10) // computed here, never the client's text
			q = `SELECT closed_at / ` + w + ` AS bucket, MAX(closed_at) AS last, COUNT(*) AS trades, SUM(` + s.profitUnits() + `) AS profit
				FROM trades WHERE ` + where + ` GROUP BY closed_at / ` + w + ` ORDER BY bucket`
		}
		rows, err := tx.QueryxContext(ctx, tx.Rebind(q), args...)
		if err != nil {
			return err
		}
		defer func() { _ = rows.Close() }()
		equity := decimal.Decimal{}
		for rows.Next() {
			var r struct {
				Bucket int64           `db:"bucket"`
				Last   int64           `db:"last"`
				Trades int             `db:"trades"`
				Profit decimal.Decimal `db:"profit"`
			}
			if err := rows.StructScan(&r); err != nil {
				return err
			}
			p := s.fromUnits(r.Profit)
			equity = equity.Add(p)
			curve.Points = append(curve.Points, EquityPoint{Time: time.UnixMilli(r.Last).UTC(), Trades: r.Trades, Profit: p, Equity: norm(equity)})
		}
		return rows.Err()
	})
	if err != nil {
		return EquityCurve{}, fmt.Errorf("trading: equity curve: %w", err)
	}
	return curve, nil
}

// bucketWidths are Equity's bucket widths in milliseconds, smallest first.
var bucketWidths = func() []int64 {
	const minute, hour, day = int64(60_000), int64(3_600_000), int64(86_400_000)
	return []int64{minute, 5 * minute, 15 * minute, 30 * minute, hour, 2 * hour, 4 * hour, 6 * hour, 12 * hour,
		day, 2 * day, 7 * day, 14 * day, 30 * day, 90 * day, 365 * day}
}()

// bucketWidth is the smallest width in bucketWidths whose buckets from
// first to last (Unix ms) number at most maxPoints, or a multiple of 365
// days past them.
func bucketWidth(first, last int64, maxPoints int) int64 {
	fits := func(w int64) bool { return last/w-first/w+1 <= int64(maxPoints) }
	for _, w := range bucketWidths {
		if fits(w) {
			return w
		}
	}
	year := bucketWidths[len(bucketWidths)-1]
	w := year
	for !fits(w) {
		w += year
	}
	return w
}

// Daily returns userID's tally per calendar day in loc (UTC when nil) of
// the trades f selects, by close time, oldest day first; days without
// trades are left out.
func (s *Service) Daily(ctx context.Context, userID int64, f AnalyticsFilter, loc *time.Location) ([]DayTally, error) {
	const day = 86_400_000
	var out []DayTally
	err := s.zoned(ctx, userID, f, loc, func(local string) string { return local + ` / ` + strconv.Itoa(day) },
		func(key int64, t Tally) {
			out = append(out, DayTally{Date: time.UnixMilli(key * day).UTC().Format(time.DateOnly), Tally: t})
		})
	if err != nil {
		return nil, fmt.Errorf("trading: daily analytics: %w", err)
	}
	return out, nil
}

// ByHour returns userID's tally per hour of the day (0–23) in loc (UTC
// when nil) of the trades f selects, by close time: always 24 entries,
// hour 0 first.
func (s *Service) ByHour(ctx context.Context, userID int64, f AnalyticsFilter, loc *time.Location) ([]HourTally, error) {
	const hour = 3_600_000
	out := make([]HourTally, 24)
	for h := range out {
		out[h].Hour = h
	}
	err := s.zoned(ctx, userID, f, loc, func(local string) string { return `(` + local + ` / ` + strconv.Itoa(hour) + `) % 24` },
		func(key int64, t Tally) {
			if key >= 0 && key < 24 {
				out[key].Tally = t
			}
		})
	if err != nil {
		return nil, fmt.Errorf("trading: hourly analytics: %w", err)
	}
	return out, nil
}

// zoned runs a tally grouped by key(local), where local is the SQL term
// of the close time as local wall-clock milliseconds in loc, and hands
// each group to add in key order.
func (s *Service) zoned(ctx context.Context, userID int64, f AnalyticsFilter, loc *time.Location, key func(local string) string, add func(int64, Tally)) error {
	where, args, err := settledWhere(userID, f)
	if err != nil {
		return err
	}
	if loc == nil {
		loc = time.UTC
	}
	return s.st.View(ctx, store.Tenant(userID), func(tx *sqlx.Tx) error {
		sp, err := readSpan(ctx, tx, where, args, false)
		if err != nil || sp.Trades == 0 {
			return err
		}
		offset, err := offsetSQL("closed_at", loc, *sp.First, *sp.Last)
		if err != nil {
			return err
		}
		rows, err := tx.QueryxContext(ctx, tx.Rebind(`SELECT `+key(`(closed_at + `+offset+`)`)+` AS k, `+s.tallyColumns()+
			` FROM trades WHERE `+where+` GROUP BY 1 ORDER BY 1`), args...)
		if err != nil {
			return err
		}
		defer func() { _ = rows.Close() }()
		for rows.Next() {
			var r struct {
				K int64 `db:"k"`
				tallyRow
			}
			if err := rows.StructScan(&r); err != nil {
				return err
			}
			add(r.K, s.tally(r.tallyRow))
		}
		return rows.Err()
	})
}

// BySymbol returns userID's tally per symbol of the trades f selects, the
// most traded symbol first (then by name).
func (s *Service) BySymbol(ctx context.Context, userID int64, f AnalyticsFilter) ([]SymbolTally, error) {
	where, args, err := settledWhere(userID, f)
	if err != nil {
		return nil, err
	}
	var rows []struct {
		Symbol string `db:"symbol"`
		tallyRow
	}
	err = s.st.View(ctx, store.Tenant(userID), func(tx *sqlx.Tx) error {
		return tx.SelectContext(ctx, &rows, tx.Rebind(`SELECT symbol, `+s.tallyColumns()+` FROM trades WHERE `+where+` GROUP BY symbol`), args...)
	})
	if err != nil {
		return nil, fmt.Errorf("trading: analytics by symbol: %w", err)
	}
	out := make([]SymbolTally, len(rows))
	for i, r := range rows {
		out[i] = SymbolTally{Symbol: r.Symbol, Tally: s.tally(r.tallyRow)}
	}
	slices.SortFunc(out, func(a, b SymbolTally) int {
		if a.Trades != b.Trades {
			return b.Trades - a.Trades
		}
		return strings.Compare(a.Symbol, b.Symbol)
	})
	return out, nil
}

// ByBot returns userID's statistics over the trades f selects: in total
// and per bot (manual trades as BotID 0, first), each with its maximum
// drawdown in close order. The drawdown needs every trade in order, which
// one pass over the rows the close-time index returns already sorted
// gives at a fraction of what window functions cost (see
// docs/BENCHMARKS.md).
func (s *Service) ByBot(ctx context.Context, userID int64, f AnalyticsFilter) (Stats, error) {
	where, args, err := settledWhere(userID, f)
	if err != nil {
		return Stats{}, err
	}
	total := &statsAcc{}
	perBot := map[int64]*statsAcc{}
	err = s.st.View(ctx, store.Tenant(userID), func(tx *sqlx.Tx) error {
		rows, err := tx.QueryxContext(ctx, tx.Rebind(`SELECT bot_id, status, profit FROM trades WHERE `+where+` ORDER BY closed_at, id`), args...)
		if err != nil {
			return err
		}
		defer func() { _ = rows.Close() }()
		for rows.Next() {
			var r struct {
				BotID  *int64          `db:"bot_id"`
				Status string          `db:"status"`
				Profit decimal.Decimal `db:"profit"`
			}
			if err := rows.StructScan(&r); err != nil {
				return err
			}
			var bot int64
			if r.BotID != nil {
				bot = *r.BotID
			}
			acc := perBot[bot]
			if acc == nil {
				acc = &statsAcc{row: StatsRow{BotID: bot}}
				perBot[bot] = acc
			}
			acc.add(Status(r.Status), r.Profit)
			total.add(Status(r.Status), r.Profit)
		}
		return rows.Err()
	})
	if err != nil {
		return Stats{}, fmt.Errorf("trading: analytics by bot: %w", err)
	}
	out := Stats{Totals: total.done(), PerBot: make([]StatsRow, 0, len(perBot))}
	for _, acc := range perBot {
		out.PerBot = append(out.PerBot, acc.done())
	}
	slices.SortFunc(out.PerBot, func(a, b StatsRow) int { return cmp.Compare(a.BotID, b.BotID) })
	return out, nil
}
