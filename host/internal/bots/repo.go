package bots

import (
	"cmp"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/shopspring/decimal"

	"github.com/stc-trading/stc/sdk/market"
)

// row is a bots row as stored.
type row struct {
	ID                    int64               `db:"id"`
	UserID                int64               `db:"user_id"`
	AccountID             int64               `db:"account_id"`
	Name                  string              `db:"name"`
	Strategy              string              `db:"strategy"`
	Params                string              `db:"params"`
	Broker                string              `db:"broker"`
	Symbol                string              `db:"symbol"`
	Timeframe             string              `db:"timeframe"`
	Amount                decimal.Decimal     `db:"amount"`
	Expiration            int64               `db:"expiration_seconds"`
	MaxStake              decimal.NullDecimal `db:"max_stake"`
	MaxDailyLoss          decimal.NullDecimal `db:"max_daily_loss"`
	MaxOpenTrades         int                 `db:"max_open_trades"`
	MaxTradesPerDay       int                 `db:"max_trades_per_day"`
	CooldownLosses        int                 `db:"cooldown_losses"`
	CooldownCandles       int                 `db:"cooldown_candles"`
	Progression           string              `db:"progression"`
	ProgressionMultiplier decimal.NullDecimal `db:"progression_multiplier"`
	ProgressionMaxSteps   int                 `db:"progression_max_steps"`
	ProgressionMaxStake   decimal.NullDecimal `db:"progression_max_stake"`
	Status                string              `db:"status"`
	StatusReason          string              `db:"status_reason"`
	LastSignal            string              `db:"last_signal"`
	LastSignalReason      string              `db:"last_signal_reason"`
	LastSignalAt          sql.NullInt64       `db:"last_signal_at"`
	LastError             string              `db:"last_error"`
	LastErrorAt           sql.NullInt64       `db:"last_error_at"`
	CreatedAt             int64               `db:"created_at"`
	UpdatedAt             int64               `db:"updated_at"`
}

const columns = `id, user_id, account_id, name, strategy, params, broker, symbol, timeframe,
	amount, expiration_seconds, max_stake, max_daily_loss, max_open_trades, max_trades_per_day,
	cooldown_losses, cooldown_candles, progression, progression_multiplier, progression_max_steps,
	progression_max_stake, status, status_reason, last_signal, last_signal_reason, last_signal_at,
	last_error, last_error_at, created_at, updated_at`

func fromMillis(ms sql.NullInt64) time.Time {
	if !ms.Valid {
		return time.Time{}
	}
	return time.UnixMilli(ms.Int64).UTC()
}

func nullMoney(d decimal.Decimal) decimal.NullDecimal {
	return decimal.NullDecimal{Decimal: d, Valid: !d.IsZero()}
}

func (r row) bot() (Bot, error) {
	tf, err := market.ParseTimeframe(r.Timeframe)
	if err != nil {
		return Bot{}, fmt.Errorf("bots: bot %d: %w", r.ID, err)
	}
	params := map[string]string{}
	if err := json.Unmarshal([]byte(r.Params), &params); err != nil {
		return Bot{}, fmt.Errorf("bots: bot %d: params: %w", r.ID, err)
	}
	return Bot{
		ID: r.ID, UserID: r.UserID,
		Spec: Spec{
			Name: r.Name, Strategy: r.Strategy, Params: params, AccountID: r.AccountID,
			Symbol: r.Symbol, Timeframe: tf, Amount: r.Amount,
			Expiration: time.Duration(r.Expiration) * time.Second,
			Limits: Limits{
				MaxStake: r.MaxStake.Decimal, MaxDailyLoss: r.MaxDailyLoss.Decimal,
				MaxOpenTrades: r.MaxOpenTrades, MaxTradesPerDay: r.MaxTradesPerDay,
				CooldownLosses: r.CooldownLosses, CooldownCandles: r.CooldownCandles,
			},
			Progression: Progression{
				Kind: r.Progression, Multiplier: r.ProgressionMultiplier.Decimal,
				MaxSteps: r.ProgressionMaxSteps, MaxStake: r.ProgressionMaxStake.Decimal,
			},
		},
		Broker: r.Broker, Status: Status(r.Status), StatusReason: r.StatusReason,
		LastSignal: r.LastSignal, LastSignalReason: r.LastSignalReason, LastSignalAt: fromMillis(r.LastSignalAt),
		LastError: r.LastError, LastErrorAt: fromMillis(r.LastErrorAt),
		CreatedAt: time.UnixMilli(r.CreatedAt).UTC(), UpdatedAt: time.UnixMilli(r.UpdatedAt).UTC(),
	}, nil
}

// specArgs are the spec's column values in the order of specColumns.
func specArgs(sp Spec, brokerName string) ([]any, error) {
	params, err := json.Marshal(sp.Params)
	if err != nil {
		return nil, fmt.Errorf("bots: encode params: %w", err)
	}
	return []any{
		sp.Name, sp.Strategy, string(params), sp.AccountID, brokerName, sp.Symbol, sp.Timeframe.String(),
		sp.Amount, int64(sp.Expiration / time.Second),
		nullMoney(sp.Limits.MaxStake), nullMoney(sp.Limits.MaxDailyLoss),
		sp.Limits.MaxOpenTrades, sp.Limits.MaxTradesPerDay, sp.Limits.CooldownLosses, sp.Limits.CooldownCandles,
		sp.Progression.Kind, nullMoney(sp.Progression.Multiplier), sp.Progression.MaxSteps, nullMoney(sp.Progression.MaxStake),
	}, nil
}

const specColumns = `name, strategy, params, account_id, broker, symbol, timeframe, amount, expiration_seconds,
	max_stake, max_daily_loss, max_open_trades, max_trades_per_day, cooldown_losses, cooldown_candles,
	progression, progression_multiplier, progression_max_steps, progression_max_stake`

func insertBot(tx *sqlx.Tx, userID int64, sp Spec, brokerName string, now int64) (int64, error) {
	args, err := specArgs(sp, brokerName)
	if err != nil {
		return 0, err
	}
	args = append(args, userID, string(StatusStopped), now, now)
	var id int64
	q := `INSERT INTO bots (` + specColumns + `, user_id, status, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`
	if err := tx.Get(&id, tx.Rebind(q), args...); err != nil {
		return 0, fmt.Errorf("bots: insert: %w", err)
	}
	return id, nil
}

// updateSpec replaces a bot's spec and returns the bot as stored.
func updateSpec(tx *sqlx.Tx, userID, id int64, sp Spec, brokerName string, now int64) (Bot, error) {
	args, err := specArgs(sp, brokerName)
	if err != nil {
		return Bot{}, err
	}
	args = append(args, now, id, userID)
	q := `UPDATE bots SET name = ?, strategy = ?, params = ?, account_id = ?, broker = ?, symbol = ?,
		timeframe = ?, amount = ?, expiration_seconds = ?, max_stake = ?, max_daily_loss = ?,
		max_open_trades = ?, max_trades_per_day = ?, cooldown_losses = ?, cooldown_candles = ?,
		progression = ?, progression_multiplier = ?, progression_max_steps = ?, progression_max_stake = ?,
		updated_at = ? WHERE id = ? AND user_id = ? RETURNING ` + columns
	return getOne(tx, q, args...)
}

// getOne runs a statement returning at most one bots row (a SELECT or an
// UPDATE or DELETE ... RETURNING); sql.ErrNoRows (store.ErrNotFound after
// MapError) when there is none.
func getOne(tx *sqlx.Tx, q string, args ...any) (Bot, error) {
	var r row
	if err := tx.Get(&r, tx.Rebind(q), args...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Bot{}, err
		}
		return Bot{}, fmt.Errorf("bots: %w", err)
	}
	return r.bot()
}

// getBot reads one of userID's bots; store.ErrNotFound (through
// store.MapError) when there is none.
func getBot(tx *sqlx.Tx, userID, id int64) (Bot, error) {
	return getOne(tx, `SELECT `+columns+` FROM bots WHERE id = ? AND user_id = ?`, id, userID)
}

func listBots(tx *sqlx.Tx, userID int64, limit int, cursor int64) ([]Bot, error) {
	var rs []row
	if err := tx.Select(&rs, tx.Rebind(`SELECT `+columns+` FROM bots WHERE user_id = ? AND id > ? ORDER BY id LIMIT ?`),
		userID, cursor, limit); err != nil {
		return nil, fmt.Errorf("bots: list: %w", err)
	}
	return rowsToBots(rs)
}

// runningBots lists every user's running bots; the caller's scope must be
// store.System.
func runningBots(tx *sqlx.Tx) ([]Bot, error) {
	var rs []row
	if err := tx.Select(&rs, tx.Rebind(`SELECT `+columns+` FROM bots WHERE status = ? ORDER BY id`), string(StatusRunning)); err != nil {
		return nil, fmt.Errorf("bots: running bots: %w", err)
	}
	return rowsToBots(rs)
}

func rowsToBots(rs []row) ([]Bot, error) {
	out := make([]Bot, 0, len(rs))
	for _, r := range rs {
		b, err := r.bot()
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

func countBots(tx *sqlx.Tx, userID int64) (int, error) {
	var n int
	if err := tx.Get(&n, tx.Rebind(`SELECT count(*) FROM bots WHERE user_id = ?`), userID); err != nil {
		return 0, fmt.Errorf("bots: count: %w", err)
	}
	return n, nil
}

// countRunning counts userID's running bots other than exclude.
func countRunning(tx *sqlx.Tx, userID, exclude int64) (int, error) {
	var n int
	if err := tx.Get(&n, tx.Rebind(`SELECT count(*) FROM bots WHERE user_id = ? AND status = ? AND id <> ?`),
		userID, string(StatusRunning), exclude); err != nil {
		return 0, fmt.Errorf("bots: count running: %w", err)
	}
	return n, nil
}

// setStatus sets a bot's status and returns the bot as stored.
func setStatus(tx *sqlx.Tx, userID, id int64, st Status, reason string, now int64) (Bot, error) {
	return getOne(tx, `UPDATE bots SET status = ?, status_reason = ?, updated_at = ? WHERE id = ? AND user_id = ?
		RETURNING `+columns, string(st), reason, now, id, userID)
}

// pauseRunning pauses those of userID's bots ids that are still running,
// so a pause decided by the runner never overrides the user's later Stop,
// and returns the bots it paused, as stored, in id order. One statement
// for all of them: an account's disconnect pauses its bots at once.
func pauseRunning(tx *sqlx.Tx, userID int64, ids []int64, reason, lastErr string, now int64) ([]Bot, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	q, args, err := sqlx.In(`UPDATE bots SET status = ?, status_reason = ?, last_error = ?, last_error_at = ?, updated_at = ?
		WHERE user_id = ? AND status = ? AND id IN (?) RETURNING `+columns,
		string(StatusPaused), reason, lastErr, now, now, userID, string(StatusRunning), ids)
	if err != nil {
		return nil, fmt.Errorf("bots: pause: %w", err)
	}
	var rs []row
	if err := tx.Select(&rs, tx.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("bots: pause: %w", err)
	}
	slices.SortFunc(rs, func(a, b row) int { return cmp.Compare(a.ID, b.ID) })
	return rowsToBots(rs)
}

// deleteBot deletes a bot and returns it as it was.
func deleteBot(tx *sqlx.Tx, userID, id int64) (Bot, error) {
	return getOne(tx, `DELETE FROM bots WHERE id = ? AND user_id = ? RETURNING `+columns, id, userID)
}

// lastUpdate is a batched write of a bot's last signal or error.
type lastUpdate struct {
	id, userID int64
	signal     string // "" when this is an error
	reason     string
	err        string
	at         int64
}

// writeLast applies a batch in one transaction (store.System scope: the
// runner acts for many users at once). On PostgreSQL it is two statements
// whatever the batch's size (one array per column): at 10,000 bots a
// statement per bot and candle cost the database more than the orders.
// With returning it also returns the changed bots as they are after the
// batch, one per bot, in id order, read back by the updates themselves
// (RETURNING) rather than by a query per bot; without, it returns nil.
func writeLast(tx *sqlx.Tx, postgres, returning bool, batch []lastUpdate) ([]Bot, error) {
	var (
		changed map[int64]row
		err     error
	)
	if postgres {
		changed, err = writeLastArrays(tx, returning, batch)
	} else {
		changed, err = writeLastEach(tx, returning, batch)
	}
	if err != nil || !returning {
		return nil, err
	}
	rs := slices.SortedFunc(maps.Values(changed), func(a, b row) int { return cmp.Compare(a.ID, b.ID) })
	return rowsToBots(rs)
}

// writeLastEach is writeLast on SQLite, a statement per update (each one
// cheap: no round trip to a server). A bot's error is written after its
// signal, so the row it returns holds both.
func writeLastEach(tx *sqlx.Tx, returning bool, batch []lastUpdate) (map[int64]row, error) {
	sigQ := `UPDATE bots SET last_signal = ?, last_signal_reason = ?, last_signal_at = ? WHERE id = ? AND user_id = ?`
	errQ := `UPDATE bots SET last_error = ?, last_error_at = ? WHERE id = ? AND user_id = ?`
	if returning {
		sigQ += ` RETURNING ` + columns
		errQ += ` RETURNING ` + columns
	}
	sigQ, errQ = tx.Rebind(sigQ), tx.Rebind(errQ)
	var changed map[int64]row
	if returning {
		changed = make(map[int64]row, len(batch))
	}
	for _, isErr := range []bool{false, true} {
		for _, u := range batch {
			if (u.signal == "") != isErr {
				continue
			}
			q, args := sigQ, []any{u.signal, u.reason, u.at, u.id, u.userID}
			if isErr {
				q, args = errQ, []any{u.err, u.at, u.id, u.userID}
			}
			if !returning {
				if _, err := tx.Exec(q, args...); err != nil {
					return nil, fmt.Errorf("bots: write last signal: %w", err)
				}
				continue
			}
			var r row
			err := tx.Get(&r, q, args...)
			if errors.Is(err, sql.ErrNoRows) {
				continue // deleted since
			}
			if err != nil {
				return nil, fmt.Errorf("bots: write last signal: %w", err)
			}
			changed[r.ID] = r
		}
	}
	return changed, nil
}

// writeLastArrays is writeLast on PostgreSQL.
func writeLastArrays(tx *sqlx.Tx, returning bool, batch []lastUpdate) (map[int64]row, error) {
	var (
		sigIDs, sigUsers, sigAt []int64
		sigs, reasons           []string
		errIDs, errUsers, errAt []int64
		errs                    []string
	)
	for _, u := range batch {
		if u.signal != "" {
			sigIDs, sigUsers, sigAt = append(sigIDs, u.id), append(sigUsers, u.userID), append(sigAt, u.at)
			sigs, reasons = append(sigs, u.signal), append(reasons, u.reason)
		} else {
			errIDs, errUsers, errAt = append(errIDs, u.id), append(errUsers, u.userID), append(errAt, u.at)
			errs = append(errs, u.err)
		}
	}
	// id = ANY lets the planner read the bots by primary key instead of
	// hashing the table against the unnest; no nested loop, which stale
	// statistics made rescan the unnest for every bot (see
	// trading.applyMany). Transaction-local.
	if _, err := tx.Exec(`SET LOCAL enable_nestloop = off`); err != nil {
		return nil, fmt.Errorf("bots: plan last signals: %w", err)
	}
	var ret string
	var changed map[int64]row
	if returning {
		ret = ` RETURNING ` + qualified("bots.", columns)
		changed = make(map[int64]row, len(batch))
	}
	// run executes one update; an error's update runs after the signals',
	// so a bot's last row returned holds both.
	run := func(q string, args ...any) error {
		if !returning {
			_, err := tx.Exec(q, args...)
			return err
		}
		var rs []row
		if err := tx.Select(&rs, q+ret, args...); err != nil {
			return err
		}
		for _, r := range rs {
			changed[r.ID] = r
		}
		return nil
	}
	if len(sigIDs) > 0 {
		if err := run(`UPDATE bots SET last_signal = v.s, last_signal_reason = v.r, last_signal_at = v.a
			FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::bigint[]) AS v(id, u, s, r, a)
			WHERE bots.id = ANY($1::bigint[]) AND bots.id = v.id AND bots.user_id = v.u`,
			pq.Array(sigIDs), pq.Array(sigUsers), pq.Array(sigs), pq.Array(reasons), pq.Array(sigAt)); err != nil {
			return nil, fmt.Errorf("bots: write last signals: %w", err)
		}
	}
	if len(errIDs) > 0 {
		if err := run(`UPDATE bots SET last_error = v.e, last_error_at = v.a
			FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[]) AS v(id, u, e, a)
			WHERE bots.id = ANY($1::bigint[]) AND bots.id = v.id AND bots.user_id = v.u`,
			pq.Array(errIDs), pq.Array(errUsers), pq.Array(errs), pq.Array(errAt)); err != nil {
			return nil, fmt.Errorf("bots: write last errors: %w", err)
		}
	}
	return changed, nil
}

// qualified prefixes every name of a column list, for a RETURNING clause
// of an UPDATE ... FROM whose source has columns of the same names.
func qualified(prefix, list string) string {
	names := strings.Split(list, ",")
	for i, n := range names {
		names[i] = prefix + strings.TrimSpace(n)
	}
	return strings.Join(names, ", ")
}
