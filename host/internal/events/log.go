// Package events is the per-user event log behind GET /api/v2/stream: a
// durable, gap-free sequence of the changes a user can watch (trades, bots,
// accounts), written in the transaction that makes each change.
//
// A service records a change with Log.Add inside its store.Update
// function. The event is rendered at once (the payload is the REST API's
// object as it is now, so a client catching up sees every state a trade
// went through, not only the last one) and written just before the
// transaction commits, after every other lock the transaction took: the
// per-user counter row is the last lock, always taken in ascending user
// id, so adding events never creates a deadlock cycle. Once the commit
// succeeds, the log wakes the user's local subscribers.
//
// Readers (stream handlers) keep the last seq they sent and read what
// follows; a reader that falls behind what the log keeps is told so
// (ErrGone) and starts again from the head. The design and its costs are
// in docs/STREAM.md.
package events

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jmoiron/sqlx"

	"github.com/stc-trading/stc/host/internal/store"
)

// Kind names an event's type; it is the SSE event name.
type Kind string

// The kinds the log holds. Candle events are not logged: they are the
// shared market data, sent live to whoever asked.
const (
	KindTrade   Kind = "trade"
	KindBot     Kind = "bot"
	KindAccount Kind = "account"
)

// Event is one entry of a user's log.
type Event struct {
	// Seq numbers the user's events from 1 without gaps; it is the SSE id.
	Seq  int64
	Kind Kind
	// BotID is the bot the event is about (a bot's own event or one of its
	// trades), or 0.
	BotID int64
	// Payload is the JSON object sent as the SSE data, e.g.
	// {"trade": {...}}.
	Payload json.RawMessage
	At      time.Time
}

// Rendered is what a Renderer makes of a changed entity.
type Rendered struct {
	Kind    Kind
	BotID   int64
	Payload json.RawMessage
}

// Renderer turns a changed entity (a trading.Trade, bots.Bot or
// accounts.Account) into its event. The HTTP API provides it, so an
// event's payload is byte for byte the object the REST API returns.
type Renderer func(obj any) (Rendered, error)

// ErrGone means a reader asked for events after a seq the log no longer
// holds (pruned by retention) or never held (an id from elsewhere): it has
// to reload its state and continue from Head.
var ErrGone = errors.New("events: the log no longer holds the events after this id")

// Options tune a Log; zero values take the defaults.
type Options struct {
	// Retention is how long events are kept (default 7 days).
	Retention time.Duration
	// Now is the clock (tests).
	Now func() time.Time
}

// Log is the event log. It is safe for concurrent use.
type Log struct {
	st     *store.Store
	render Renderer
	hub    *hub
	opts   Options
	log    hclog.Logger
}

// New returns the log over st. log may be nil.
func New(st *store.Store, render Renderer, log hclog.Logger, opts Options) *Log {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	if opts.Retention <= 0 {
		opts.Retention = 7 * 24 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Log{st: st, render: render, hub: newHub(), opts: opts, log: log.Named("events")}
}

// Retention returns how long events are kept.
func (l *Log) Retention() time.Duration { return l.opts.Retention }

// hookKey identifies the log's hook on a transaction.
type hookKey struct{}

// Add records obj, a change made for userID in tx, as that user's next
// event. tx must come from store.Update; the event is written when the
// transaction commits and vanishes with it on rollback. A nil *Log adds
// nothing, so services work without one.
func (l *Log) Add(tx *sqlx.Tx, userID int64, obj any) error {
	if l == nil {
		return nil
	}
	if userID <= 0 {
		return fmt.Errorf("events: add: user id %d", userID)
	}
	r, err := l.render(obj)
	if err != nil {
		return fmt.Errorf("events: render %T: %w", obj, err)
	}
	b, ok := l.st.Attach(tx, hookKey{}, func() store.TxHook { return &batch{log: l} }).(*batch)
	if !ok {
		return errors.New("events: the transaction's event hook is not the log's")
	}
	b.add(userID, r)
	return nil
}

// batch is one transaction's events, written by BeforeCommit.
type batch struct {
	log     *Log
	pending []pendingEvent
	users   []int64
}

type pendingEvent struct {
	userID int64
	Rendered
}

func (b *batch) add(userID int64, r Rendered) {
	b.pending = append(b.pending, pendingEvent{userID: userID, Rendered: r})
}

// BeforeCommit numbers and inserts the batch: per user in ascending id,
// one counter update (the lock that orders the user's writers) and one
// multi-row insert.
func (b *batch) BeforeCommit(ctx context.Context, tx *sqlx.Tx) error {
	// A stable sort keeps each user's events in the order they were added.
	slices.SortStableFunc(b.pending, func(x, y pendingEvent) int {
		switch {
		case x.userID < y.userID:
			return -1
		case x.userID > y.userID:
			return 1
		}
		return 0
	})
	at := b.log.opts.Now().UnixMilli()
	for i := 0; i < len(b.pending); {
		j := i
		for j < len(b.pending) && b.pending[j].userID == b.pending[i].userID {
			j++
		}
		if err := writeUser(ctx, tx, b.pending[i].userID, b.pending[i:j], at); err != nil {
			return err
		}
		b.users = append(b.users, b.pending[i].userID)
		i = j
	}
	return nil
}

// insertChunk bounds one INSERT's rows (SQLite allows 32,766 parameters).
const insertChunk = 500

func writeUser(ctx context.Context, tx *sqlx.Tx, userID int64, evs []pendingEvent, at int64) error {
	var last int64
	err := tx.QueryRowxContext(ctx, tx.Rebind(`INSERT INTO event_seqs (user_id, seq) VALUES (?, ?)
		ON CONFLICT (user_id) DO UPDATE SET seq = event_seqs.seq + excluded.seq RETURNING seq`), userID, len(evs)).Scan(&last)
	if err != nil {
		return fmt.Errorf("events: number user %d's events: %w", userID, err)
	}
	seq := last - int64(len(evs))
	for start := 0; start < len(evs); start += insertChunk {
		part := evs[start:min(start+insertChunk, len(evs))]
		var q strings.Builder
		q.WriteString("INSERT INTO events (user_id, seq, kind, bot_id, payload, created_at) VALUES ")
		args := make([]any, 0, 6*len(part))
		for i, e := range part {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?)")
			seq++
			var bot any
			if e.BotID != 0 {
				bot = e.BotID
			}
			args = append(args, userID, seq, string(e.Kind), bot, string(e.Payload), at)
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(q.String()), args...); err != nil {
			return fmt.Errorf("events: write user %d's events: %w", userID, err)
		}
	}
	return nil
}

// AfterCommit wakes the subscribers of every user the batch wrote for.
func (b *batch) AfterCommit() {
	for _, u := range b.users {
		b.log.hub.wake(u)
	}
}

// Head returns userID's last seq (0 before their first event).
func (l *Log) Head(ctx context.Context, userID int64) (int64, error) {
	var head int64
	err := l.st.View(ctx, store.Tenant(userID), func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &head, tx.Rebind(`SELECT seq FROM event_seqs WHERE user_id = ?`), userID)
		if errors.Is(err, store.ErrNotFound) || isNoRows(err) {
			head = 0
			return nil
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("events: head of user %d: %w", userID, err)
	}
	return head, nil
}

type eventRow struct {
	Seq       int64  `db:"seq"`
	Kind      string `db:"kind"`
	BotID     *int64 `db:"bot_id"`
	Payload   string `db:"payload"`
	CreatedAt int64  `db:"created_at"`
}

func (r eventRow) event() Event {
	e := Event{Seq: r.Seq, Kind: Kind(r.Kind), Payload: json.RawMessage(r.Payload), At: time.UnixMilli(r.CreatedAt).UTC()}
	if r.BotID != nil {
		e.BotID = *r.BotID
	}
	return e
}

// After returns up to limit of userID's events with seq > after, oldest
// first. When the log no longer holds the event right after `after` (it
// was pruned), or after is beyond the log's head, it returns ErrGone.
func (l *Log) After(ctx context.Context, userID, after int64, limit int) ([]Event, error) {
	var rows []eventRow
	var head int64
	err := l.st.View(ctx, store.Tenant(userID), func(tx *sqlx.Tx) error {
		read := func() error {
			return tx.SelectContext(ctx, &rows, tx.Rebind(`SELECT seq, kind, bot_id, payload, created_at FROM events
				WHERE user_id = ? AND seq > ? ORDER BY seq LIMIT ?`), userID, after, limit)
		}
		if err := read(); err != nil || len(rows) > 0 {
			return err
		}
		err := tx.GetContext(ctx, &head, tx.Rebind(`SELECT seq FROM event_seqs WHERE user_id = ?`), userID)
		if isNoRows(err) {
			return nil
		}
		if err != nil || head <= after {
			return err
		}
		// On PostgreSQL each statement of the transaction sees what had
		// committed when it began, so events may have committed between
		// the read and the head. The head's events committed with it:
		// read again, and only an event still missing was pruned.
		return read()
	})
	if err != nil {
		return nil, fmt.Errorf("events: read user %d's events: %w", userID, err)
	}
	if len(rows) == 0 {
		if after != head {
			return nil, ErrGone
		}
		return nil, nil
	}
	if rows[0].Seq != after+1 {
		return nil, ErrGone
	}
	out := make([]Event, len(rows))
	for i, r := range rows {
		out[i] = r.event()
	}
	return out, nil
}

// ForBot returns up to limit of userID's events about botID (its own and
// its trades') with seq < before (0: from the newest), newest first: the
// bot's journal.
func (l *Log) ForBot(ctx context.Context, userID, botID, before int64, limit int) ([]Event, error) {
	if before <= 0 {
		before = 1 << 62
	}
	var rows []eventRow
	err := l.st.View(ctx, store.Tenant(userID), func(tx *sqlx.Tx) error {
		return tx.SelectContext(ctx, &rows, tx.Rebind(`SELECT seq, kind, bot_id, payload, created_at FROM events
			WHERE user_id = ? AND bot_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?`), userID, botID, before, limit)
	})
	if err != nil {
		return nil, fmt.Errorf("events: read bot %d's events: %w", botID, err)
	}
	out := make([]Event, len(rows))
	for i, r := range rows {
		out[i] = r.event()
	}
	return out, nil
}

// Prune deletes the events older than the retention and returns how many
// it deleted; the host's housekeeping calls it. Counters stay, so readers
// behind the pruned range get ErrGone instead of a silent gap.
func (l *Log) Prune(ctx context.Context) (int64, error) {
	cutoff := l.opts.Now().Add(-l.opts.Retention).UnixMilli()
	n, err := l.st.Prune(ctx, `DELETE FROM events WHERE (user_id, seq) IN
		(SELECT user_id, seq FROM events WHERE created_at < ? LIMIT ?)`, cutoff)
	if err != nil {
		return n, fmt.Errorf("events: prune: %w", err)
	}
	return n, nil
}

func isNoRows(err error) bool {
	return err != nil && (errors.Is(err, store.ErrNotFound) || errors.Is(err, sql.ErrNoRows))
}
