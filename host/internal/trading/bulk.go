package trading

import (
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// bulkRows bounds the rows of one multi-row statement (PostgreSQL allows
// 65,535 parameters; a trade row takes up to 16).
const bulkRows = 500

// idChange is a transition for trade id of userID.
type idChange struct {
	userID, id int64
	c          change
}

// columnType is the SQL type of a column a change sets, for the array
// casts of a multi-row UPDATE.
func columnType(col string) string {
	switch col {
	case "open_price", "close_price", "payout", "profit":
		return "numeric"
	case "error", "broker_order_id", "status":
		return "text"
	default: // the *_at times
		return "bigint"
	}
}

// applyMany applies every change in tx and returns each trade's row as it
// is afterwards, in the order of items, whether its change applied or not;
// each change that applied adds its event, the row its statement returned.
// On PostgreSQL the changes of one shape (target, source states, columns)
// are one UPDATE … FROM (VALUES …) per bulkRows trades, instead of a
// statement per trade; SQLite, an embedded single writer, takes them one
// by one.
func (s *Service) applyMany(tx *sqlx.Tx, items []idChange) ([]row, error) {
	out := make([]row, len(items))
	if !s.postgres {
		for i, it := range items {
			r, applied, err := it.c.applyRow(tx, it.userID, it.id)
			if err != nil {
				return nil, err
			}
			if applied && it.c.visible() {
				if err := s.recordTrade(tx, r); err != nil {
					return nil, err
				}
			}
			out[i] = r
		}
		return out, nil
	}
	// A join of a few hundred unnest rows to trades must not be a nested
	// loop: with the statistics of a table that grew since its last
	// analyze, PostgreSQL took trades for one row and rescanned the whole
	// unnest for each trade (500 trades: 250,000 comparisons, 300 ms).
	// Transaction-local; the transaction makes no other joins after this.
	//
	// The commit need not wait for its WAL flush either: what these
	// changes record (an order's acceptance, a settlement) is the broker's
	// to tell again, so a crash that loses them leaves the trades pending
	// or open, and reconciliation asks the broker (the crash tests cover
	// that path). Only the pending row, written before the broker call,
	// must be durable, and its transaction keeps the synchronous commit.
	if _, err := tx.Exec(`SET LOCAL enable_nestloop = off; SET LOCAL synchronous_commit = off`); err != nil {
		return nil, fmt.Errorf("trading: plan bulk update: %w", err)
	}
	byID := make(map[int64]row, len(items))
	groups := make(map[string][]idChange)
	var keys []string
	for _, it := range items {
		if len(it.c.from) == 0 {
			continue
		}
		k := it.c.shape()
		if groups[k] == nil {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], it)
	}
	for _, k := range keys {
		g := groups[k]
		for len(g) > 0 {
			n := min(len(g), bulkRows)
			rows, err := updateShape(tx, g[:n])
			if err != nil {
				return nil, err
			}
			// The rows RETURNING gives are exactly the trades this
			// statement changed, once each (a trade named twice in a
			// group is updated once), so they are the events.
			event := s.opts.Events != nil && g[0].c.visible()
			for _, r := range rows {
				byID[r.ID] = r
				if event {
					if err := s.recordTrade(tx, r); err != nil {
						return nil, err
					}
				}
			}
			g = g[n:]
		}
	}
	// Trades whose change did not apply (already moved on) are read as
	// they are.
	var missing []int64
	for _, it := range items {
		if _, ok := byID[it.id]; !ok {
			missing = append(missing, it.id)
		}
	}
	for len(missing) > 0 {
		n := min(len(missing), bulkRows)
		rows, err := selectIn[row](tx, `SELECT `+columns+` FROM trades WHERE id IN (?)`, missing[:n])
		if err != nil {
			return nil, fmt.Errorf("trading: read trades: %w", err)
		}
		for _, r := range rows {
			byID[r.ID] = r
		}
		missing = missing[n:]
	}
	for i, it := range items {
		r, ok := byID[it.id]
		if !ok || r.UserID != it.userID {
			return nil, fmt.Errorf("%w: trade %d", ErrNotFound, it.id)
		}
		out[i] = r
	}
	return out, nil
}

// shape identifies the changes one multi-row UPDATE can apply together.
func (c change) shape() string {
	var b strings.Builder
	b.WriteString(string(c.to))
	for _, f := range c.from {
		b.WriteString("|" + string(f))
	}
	for _, set := range c.sets {
		b.WriteString("|" + set)
	}
	return b.String()
}

// updateShape applies changes of one shape with one UPDATE … FROM
// unnest(…) statement and returns the rows it changed. Each column goes
// as one array parameter: a statement of fixed size, parsed and planned
// in microseconds, however many trades it carries (a VALUES list of
// thousands of parameters costs PostgreSQL more than the update).
func updateShape(tx *sqlx.Tx, items []idChange) ([]row, error) {
	c0 := items[0].c
	cols := make([]string, len(c0.sets))
	for i, set := range c0.sets {
		cols[i] = strings.TrimSuffix(set, " = ?")
	}
	ids := make([]int64, len(items))
	users := make([]int64, len(items))
	vals := make([][]sql.NullString, len(cols))
	for i := range vals {
		vals[i] = make([]sql.NullString, len(items))
	}
	for j, it := range items {
		ids[j], users[j] = it.id, it.userID
		for i := range cols {
			v, err := textOf(it.c.args[i])
			if err != nil {
				return nil, fmt.Errorf("trading: column %s: %w", cols[i], err)
			}
			vals[i][j] = v
		}
	}
	args := []any{string(c0.to), pq.Array(ids), pq.Array(users)}
	var q strings.Builder
	q.WriteString("UPDATE trades SET status = $1")
	for i, col := range cols {
		q.WriteString(", " + col + " = v.c" + strconv.Itoa(i))
	}
	q.WriteString(" FROM unnest($2::bigint[], $3::bigint[]")
	for i, col := range cols {
		args = append(args, pq.Array(vals[i]))
		q.WriteString(", $" + strconv.Itoa(len(args)) + "::" + columnType(col) + "[]")
	}
	q.WriteString(") AS v(vid, vuser")
	for i := range cols {
		q.WriteString(", c" + strconv.Itoa(i))
	}
	// id = ANY repeats the join key so the planner reads the trades by
	// primary key (joined to the unnest alone it hashed the whole table).
	// The source states go as a scalar subquery, which the planner cannot
	// match against the partial indexes on active states: with stale
	// statistics on this hot table it took one of them for a one-row
	// scan and filtered thousands of active trades through the id list.
	var from []string
	for _, f := range c0.from {
		from = append(from, string(f))
	}
	args = append(args, pq.Array(from))
	q.WriteString(") WHERE trades.id = ANY($2::bigint[]) AND trades.id = v.vid AND trades.user_id = v.vuser" +
		" AND trades.status::text = ANY((SELECT $" + strconv.Itoa(len(args)) + "::text[])::text[])")
	q.WriteString(" RETURNING " + qualified("trades", columns))
	var rows []row
	if err := tx.Select(&rows, q.String(), args...); err != nil {
		return nil, fmt.Errorf("trading: update %d trades to %s: %w", len(items), c0.to, err)
	}
	return rows, nil
}

// textOf is v as the text PostgreSQL parses for an array element, or
// NULL.
func textOf(v any) (sql.NullString, error) {
	if vr, ok := v.(driver.Valuer); ok {
		var err error
		if v, err = vr.Value(); err != nil {
			return sql.NullString{}, err
		}
	}
	switch x := v.(type) {
	case nil:
		return sql.NullString{}, nil
	case string:
		return sql.NullString{String: x, Valid: true}, nil
	case int64:
		return sql.NullString{String: strconv.FormatInt(x, 10), Valid: true}, nil
	case int:
		return sql.NullString{String: strconv.Itoa(x), Valid: true}, nil
	case float64:
		return sql.NullString{String: strconv.FormatFloat(x, 'g', -1, 64), Valid: true}, nil
	default:
		return sql.NullString{}, fmt.Errorf("unexpected value of type %T", v)
	}
}

// qualified prefixes every column of a SELECT list with table.
func qualified(table, list string) string {
	fields := strings.Split(list, ",")
	for i, f := range fields {
		fields[i] = table + "." + strings.TrimSpace(f)
	}
	return strings.Join(fields, ", ")
}
