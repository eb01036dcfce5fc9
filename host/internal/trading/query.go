package trading

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/stc-trading/stc/host/internal/apperr"
	"github.com/stc-trading/stc/host/internal/store"
)

// Page sizes of List.
const (
	defaultPageSize = 50
	maxPageSize     = 500
	// maxRecent bounds RecentSettled.
	maxRecent = 1000
)

// Get returns trade id of userID; ErrNotFound when it does not exist or is
// another user's.
func (s *Service) Get(ctx context.Context, userID, id int64) (Trade, error) {
	if userID <= 0 || id <= 0 {
		return Trade{}, fmt.Errorf("%w: trade %d", ErrNotFound, id)
	}
	var t Trade
	err := s.st.View(ctx, store.Tenant(userID), func(tx *sqlx.Tx) error {
		r, err := getRow(tx, userID, id)
		t = r.trade()
		return err
	})
	return t, err
}

// List returns one page of userID's trades matching f, newest first, and
// the cursor of the next page (0 on the last page).
func (s *Service) List(ctx context.Context, userID int64, f Filter) ([]Trade, int64, error) {
	if userID <= 0 {
		return nil, 0, fieldErr("user_id", "must be positive")
	}
	where := []string{"user_id = ?"}
	args := []any{userID}
	switch {
	case f.BotID < 0 || f.Cursor < 0 || f.Limit < 0:
		return nil, 0, fieldErr("bot_id", "cursor and limit must not be negative")
	case f.BotID != 0 && f.Manual:
		return nil, 0, apperr.Invalid(ErrInvalidRequest, "manual", "filter by a bot (bot_id) or by manual trades (manual), not both")
	case f.Status != "" && !f.Status.Valid():
		return nil, 0, fieldErr("status", "must be one of pending, open, won, lost, draw, rejected, unknown, unresolved")
	case !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To):
		return nil, 0, fieldErr("from", "must be before to")
	}
	add := func(cond string, v ...any) {
		where = append(where, cond)
		args = append(args, v...)
	}
	if f.BotID != 0 {
		add("bot_id = ?", f.BotID)
	}
	if f.Manual {
		add("bot_id IS NULL")
	}
	if f.Symbol != "" {
		add("symbol = ?", f.Symbol)
	}
	if f.Status != "" {
		add("status = ?", string(f.Status))
	}
	if !f.From.IsZero() {
		add("created_at >= ?", f.From.UnixMilli())
	}
	if !f.To.IsZero() {
		add("created_at < ?", f.To.UnixMilli())
	}
	if f.Cursor != 0 {
		add("id < ?", f.Cursor)
	}
	limit := f.Limit
	if limit == 0 {
		limit = defaultPageSize
	}
	limit = min(limit, maxPageSize)
	var rows []row
	err := s.st.View(ctx, store.Tenant(userID), func(tx *sqlx.Tx) error {
		// One extra row tells whether another page follows.
		return tx.Select(&rows, tx.Rebind(`SELECT `+columns+` FROM trades WHERE `+strings.Join(where, " AND ")+
			` ORDER BY id DESC LIMIT ?`), append(args, limit+1)...)
	})
	if err != nil {
		return nil, 0, fmt.Errorf("trading: list trades: %w", err)
	}
	var next int64
	if len(rows) > limit {
		rows = rows[:limit]
		next = rows[limit-1].ID
	}
	out := make([]Trade, len(rows))
	for i, r := range rows {
		out[i] = r.trade()
	}
	return out, next, nil
}

// RecentSettled returns the last n settled (won, lost or draw) trades of
// userID's bot botID, or of the manual trades for botID 0, newest first by
// close time. Bots derive their martingale/soros step and cool-downs
// from it. n is capped at 1000.
func (s *Service) RecentSettled(ctx context.Context, userID, botID int64, n int) ([]Trade, error) {
	if userID <= 0 || botID < 0 || n < 0 {
		return nil, fieldErr("user_id", "must be positive, bot_id and n not negative")
	}
	if n == 0 {
		return nil, nil
	}
	n = min(n, maxRecent)
	bot, args := "bot_id IS NULL", []any{userID}
	if botID != 0 {
		bot, args = "bot_id = ?", append(args, botID)
	}
	var rows []row
	err := s.st.View(ctx, store.Tenant(userID), func(tx *sqlx.Tx) error {
		return tx.Select(&rows, tx.Rebind(`SELECT `+columns+` FROM trades WHERE user_id = ? AND `+bot+
			` AND status IN ('won', 'lost', 'draw') ORDER BY closed_at DESC, id DESC LIMIT ?`), append(args, n)...)
	})
	if err != nil {
		return nil, fmt.Errorf("trading: recent trades: %w", err)
	}
	out := make([]Trade, len(rows))
	for i, r := range rows {
		out[i] = r.trade()
	}
	return out, nil
}

// statsAcc accumulates one StatsRow in close order.
type statsAcc struct {
	row       StatsRow
	cum, peak decimal.Decimal
}

func (a *statsAcc) add(st Status, profit decimal.Decimal) {
	a.row.Trades++
	switch st {
	case StatusWon:
		a.row.Wins++
	case StatusLost:
		a.row.Losses++
	case StatusDraw:
		a.row.Draws++
	}
	a.cum = a.cum.Add(profit)
	if a.cum.GreaterThan(a.peak) {
		a.peak = a.cum
	}
	if dd := a.peak.Sub(a.cum); dd.GreaterThan(a.row.MaxDrawdown) {
		a.row.MaxDrawdown = dd
	}
}

func (a *statsAcc) done() StatsRow {
	r := a.row
	r.Profit = a.cum
	if r.Trades > 0 {
		r.WinRate = float64(r.Wins) / float64(r.Trades)
	}
	return r
}

// Stats returns userID's statistics over settled (won, lost, draw) trades
// closed in [from, to), per bot (manual trades as BotID 0) and in total.
// A zero from or to leaves that side open.
func (s *Service) Stats(ctx context.Context, userID int64, from, to time.Time) (Stats, error) {
	if userID <= 0 {
		return Stats{}, fieldErr("user_id", "must be positive")
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return Stats{}, fieldErr("from", "must be before to")
	}
	q := `SELECT bot_id, status, profit FROM trades WHERE user_id = ? AND status IN ('won', 'lost', 'draw')`
	args := []any{userID}
	if !from.IsZero() {
		q += ` AND closed_at >= ?`
		args = append(args, from.UnixMilli())
	}
	if !to.IsZero() {
		q += ` AND closed_at < ?`
		args = append(args, to.UnixMilli())
	}
	q += ` ORDER BY closed_at, id`
	total := &statsAcc{}
	perBot := map[int64]*statsAcc{}
	err := s.st.View(ctx, store.Tenant(userID), func(tx *sqlx.Tx) error {
		rows, err := tx.Queryx(tx.Rebind(q), args...)
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
		return Stats{}, fmt.Errorf("trading: stats: %w", err)
	}
	out := Stats{Totals: total.done(), PerBot: make([]StatsRow, 0, len(perBot))}
	for _, acc := range perBot {
		out.PerBot = append(out.PerBot, acc.done())
	}
	sort.Slice(out.PerBot, func(i, j int) bool { return out.PerBot[i].BotID < out.PerBot[j].BotID })
	return out, nil
}
