package trading

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/events"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
)

// renderTrade is the tests' event renderer: the whole Trade as JSON, so a
// test can compare an event with the trade Get returns byte for byte, and
// the trade's bot as the event's bot, as the HTTP API's renderer does.
func renderTrade(obj any) (events.Rendered, error) {
	t, ok := obj.(Trade)
	if !ok {
		return events.Rendered{}, fmt.Errorf("not a trade: %T", obj)
	}
	b, err := json.Marshal(t)
	return events.Rendered{Kind: events.KindTrade, BotID: t.BotID, Payload: b}, err
}

// withEvents makes a test host record its trades' events in l.
func withEvents(l EventLog) func(*Options) {
	return func(o *Options) { o.Events = l }
}

// logged is one event of a user's log with the trade it carries.
type logged struct {
	events.Event
	// The fields of the Trade the tests look at (json.Marshal's names).
	ID, UserID, BotID int64
	Status            Status
	BrokerOrderID     string
}

// readLog returns userID's events, oldest first.
func readLog(t *testing.T, l *events.Log, userID int64) []logged {
	t.Helper()
	var (
		out   []logged
		after int64
	)
	for {
		evs, err := l.After(context.Background(), userID, after, 100)
		require.NoError(t, err)
		if len(evs) == 0 {
			return out
		}
		for _, e := range evs {
			g := logged{Event: e}
			require.Equal(t, events.KindTrade, e.Kind)
			require.NoError(t, json.Unmarshal(e.Payload, &g))
			out = append(out, g)
		}
		after = evs[len(evs)-1].Seq
	}
}

// statesByTrade groups a log's statuses by trade, each in log order, and
// checks what every event must hold: it is the user's own trade, and the
// event's bot is the trade's.
func statesByTrade(t *testing.T, userID int64, log []logged) map[int64][]Status {
	t.Helper()
	out := make(map[int64][]Status)
	for _, g := range log {
		assert.Equal(t, userID, g.UserID, "event %d of user %d carries trade %d of user %d", g.Seq, userID, g.ID, g.UserID)
		assert.Equal(t, g.BotID, g.Event.BotID, "event %d: the event's bot is the trade's", g.Seq)
		out[g.ID] = append(out[g.ID], g.Status)
	}
	return out
}

// lastIsGet asserts that trade id's last event in log is exactly what Get
// returns now.
func (e *env) lastIsGet(log []logged, userID, id int64) {
	e.t.Helper()
	got, err := e.svc.Get(context.Background(), userID, id)
	require.NoError(e.t, err)
	want, err := json.Marshal(got)
	require.NoError(e.t, err)
	for i := len(log) - 1; i >= 0; i-- {
		if log[i].ID == id {
			assert.JSONEq(e.t, string(want), string(log[i].Payload), "trade %d's last event is the trade as Get returns it", id)
			return
		}
	}
	e.t.Errorf("trade %d has no event", id)
}

// A manual trade logs each state it goes through, in order, for its own
// user only: pending → open → its result, and an order the broker refuses
// pending → rejected; each event carries the trade as the change left it.
func TestEventsOfManualTrades(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ctx := ctxT(t)
		l := events.New(st, renderTrade, nil, events.Options{})
		e := newEnv(t, st, withEvents(l))
		e.run()
		alice, _ := e.connect("alice@example.com")
		bob, _ := e.connect("bob@example.com")
		carol := addUser(t, st, "carol@example.com")

		placed, err := e.svc.Place(ctx, manual(alice, market.Call, "10"))
		require.NoError(t, err)
		require.Equal(t, StatusOpen, placed.Status, placed.Error)
		refused, err := e.svc.Place(ctx, manual(alice, market.Put, "20000")) // more than the paper balance
		require.NoError(t, err)
		require.Equal(t, StatusRejected, refused.Status)
		bobs, err := e.svc.Place(ctx, manual(bob, market.Call, "5"))
		require.NoError(t, err)
		require.Equal(t, StatusOpen, bobs.Status, bobs.Error)
		// A request the host refuses itself writes no trade and no event.
		_, err = e.svc.Place(ctx, manual(carol, market.Call, "5"))
		require.ErrorIs(t, err, ErrAccountNotConnected)

		settled := e.waitFinal(alice, placed.ID)
		e.waitFinal(bob, bobs.ID)

		log := readLog(t, l, alice)
		assert.Equal(t, map[int64][]Status{
			placed.ID:  {StatusPending, StatusOpen, settled.Status},
			refused.ID: {StatusPending, StatusRejected},
		}, statesByTrade(t, alice, log))
		// The open event is the trade Place returned: the row its outcome
		// wrote.
		for _, g := range log {
			if g.ID == placed.ID && g.Status == StatusOpen {
				want, err := json.Marshal(placed)
				require.NoError(t, err)
				assert.JSONEq(t, string(want), string(g.Payload))
			}
		}
		e.lastIsGet(log, alice, placed.ID)
		e.lastIsGet(log, alice, refused.ID)

		blog := readLog(t, l, bob)
		assert.Equal(t, map[int64][]Status{bobs.ID: {StatusPending, StatusOpen, e.waitFinal(bob, bobs.ID).Status}},
			statesByTrade(t, bob, blog))
		e.lastIsGet(blog, bob, bobs.ID)
		head, err := l.Head(ctx, carol)
		require.NoError(t, err)
		assert.Zero(t, head, "carol placed nothing and is sent nothing")
	})
}

// failingLog is a test host's log that refuses to add a trade in status
// fail, after the real log has taken it: the change's transaction rolls
// back with the event it holds.
type failingLog struct {
	*events.Log
	mu   sync.Mutex
	fail Status
}

func (f *failingLog) failOn(s Status) {
	f.mu.Lock()
	f.fail = s
	f.mu.Unlock()
}

func (f *failingLog) Add(tx *sqlx.Tx, userID int64, obj any) error {
	if err := f.Log.Add(tx, userID, obj); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if t, ok := obj.(Trade); ok && t.Status == f.fail {
		return errors.New("the test refuses this event")
	}
	return nil
}

// A change that rolls back logs nothing, and the log stays consistent
// with the trades: an insert that fails leaves no trade and no event; an
// outcome that fails to record leaves the trade pending with its one
// event, and reconciliation logs what the broker says.
func TestEventsOfRolledBackChanges(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ctx := ctxT(t)
		l := &failingLog{Log: events.New(st, renderTrade, nil, events.Options{})}
		e := newEnv(t, st, withEvents(l))
		alice, _ := e.connect("alice@example.com")

		l.failOn(StatusPending)
		_, err := e.svc.Place(ctx, manual(alice, market.Call, "10"))
		require.Error(t, err)
		assert.Empty(t, e.allTrades(), "the insert rolled back")
		assert.Empty(t, readLog(t, l.Log, alice))

		l.failOn(StatusOpen)
		tr, err := e.svc.Place(ctx, manual(alice, market.Call, "10"))
		require.Error(t, err, "the outcome could not be recorded")
		require.Equal(t, StatusPending, tr.Status)
		assert.Equal(t, map[int64][]Status{tr.ID: {StatusPending}}, statesByTrade(t, alice, readLog(t, l.Log, alice)))

		l.failOn("")
		e.clock.advance(2 * e.svc.opts.PlaceTimeout) // no call for it can still be running
		n, err := e.svc.Reconcile(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		got, err := e.svc.Get(ctx, alice, tr.ID)
		require.NoError(t, err)
		require.Contains(t, []Status{StatusOpen, StatusWon, StatusLost, StatusDraw}, got.Status)
		log := readLog(t, l.Log, alice)
		assert.Equal(t, map[int64][]Status{tr.ID: {StatusPending, got.Status}}, statesByTrade(t, alice, log))
		e.lastIsGet(log, alice, tr.ID)
	})
}

// Reconciliation and settlement by polling log their changes: an order
// that never reached the broker goes pending → unknown → rejected, one
// the broker cannot tell about pending → unknown → unresolved, and a
// result pushed later (twice) adds one settled event; a trade settled by
// polling goes pending → open → its result. Looking again later, which
// changes nothing a client sees, logs nothing.
func TestEventsOfReconciliationAndPolling(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ctx := ctxT(t)
		l := events.New(st, renderTrade, nil, events.Options{})
		e := newEnv(t, st, withEvents(l))
		alice, acct := e.connect("alice@example.com")
		lost := func(context.Context, broker.Broker, broker.OrderRequest) (broker.Order, error) {
			return broker.Order{}, context.DeadlineExceeded
		}
		e.accts.setPlace(lost)

		never, err := e.svc.Place(ctx, manual(alice, market.Call, "10"))
		require.NoError(t, err)
		require.Equal(t, StatusUnknown, never.Status)
		n, err := e.svc.Reconcile(ctx) // "not found", but a call could still be running: later
		require.NoError(t, err)
		require.Zero(t, n)
		assert.Equal(t, map[int64][]Status{never.ID: {StatusPending, StatusUnknown}}, statesByTrade(t, alice, readLog(t, l, alice)),
			"a recheck logs nothing")
		e.clock.advance(2 * e.svc.opts.PlaceTimeout)
		n, err = e.svc.Reconcile(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		log := readLog(t, l, alice)
		assert.Equal(t, map[int64][]Status{never.ID: {StatusPending, StatusUnknown, StatusRejected}}, statesByTrade(t, alice, log))
		e.lastIsGet(log, alice, never.ID)

		lonely, err := e.svc.Place(ctx, manual(alice, market.Call, "10"))
		require.NoError(t, err)
		require.Equal(t, StatusUnknown, lonely.Status)
		require.NoError(t, e.accts.Disconnect(ctx, alice, acct))
		n, err = e.svc.Reconcile(ctx)
		require.NoError(t, err)
		require.Zero(t, n)
		e.clock.advance(e.svc.opts.UnknownDeadline)
		n, err = e.svc.Reconcile(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		unresolved, err := e.svc.Get(ctx, alice, lonely.ID)
		require.NoError(t, err)
		require.Equal(t, StatusUnresolved, unresolved.Status)
		e.lastIsGet(readLog(t, l, alice), alice, lonely.ID)
		res := result(unresolved, broker.Lost, "-10")
		// The same result twice in one batch (stream and poll): one event.
		changed, err := e.svc.applyPushed(ctx, []pushed{{acct, res}, {acct, res}})
		require.NoError(t, err)
		require.NotZero(t, changed)
		log = readLog(t, l, alice)
		assert.Equal(t, map[int64][]Status{
			never.ID:  {StatusPending, StatusUnknown, StatusRejected},
			lonely.ID: {StatusPending, StatusUnknown, StatusUnresolved, StatusLost},
		}, statesByTrade(t, alice, log))
		e.lastIsGet(log, alice, lonely.ID)

		// Settlement by polling, for another user.
		e.accts.setPlace(nil)
		e.accts.mu.Lock()
		e.accts.noStream = true
		e.accts.mu.Unlock()
		bob, _ := e.connect("bob@example.com")
		e.run()
		polled, err := e.svc.Place(ctx, manual(bob, market.Put, "10"))
		require.NoError(t, err)
		require.Equal(t, StatusOpen, polled.Status, polled.Error)
		e.clock.advance(polled.Expiration + e.svc.opts.SettleGrace)
		settled := e.waitFinal(bob, polled.ID)
		blog := readLog(t, l, bob)
		assert.Equal(t, map[int64][]Status{polled.ID: {StatusPending, StatusOpen, settled.Status}}, statesByTrade(t, bob, blog))
		e.lastIsGet(blog, bob, polled.ID)
		assert.Equal(t, statesByTrade(t, alice, log), statesByTrade(t, alice, readLog(t, l, alice)), "bob's trade logs nothing for alice")
	})
}

// Bots' batches log one event per trade and state, pending → open → its
// result, whether the batch records its outcomes itself (Run not running)
// or hands them to Run's applier, and the settlements Run applies in bulk
// do too; each event names the trade's bot and goes to its user only.
func TestEventsOfBotBatches(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ctx := ctxT(t)
		l := events.New(st, renderTrade, nil, events.Options{})
		e := newEnv(t, st, withEvents(l))
		alice, _ := e.connect("alice@example.com")
		bob, _ := e.connect("bob@example.com")
		batch := func() []PlaceRequest {
			var reqs []PlaceRequest
			for i, bot := range []int64{7, 8, 9, 7, 8, 9, 7, 8} {
				user := alice
				if bot == 9 {
					user = bob
				}
				side := market.Call
				if i%2 == 1 {
					side = market.Put
				}
				r := manual(user, side, "10")
				r.BotID = bot
				reqs = append(reqs, r)
			}
			return reqs
		}
		owner := map[int64]int64{} // trade → user
		botOf := map[int64]int64{} // trade → bot
		place := func(reqs []PlaceRequest) {
			for i, r := range e.svc.PlaceBatch(ctx, reqs) {
				require.NoError(t, r.Err, "request %d", i)
				require.Equal(t, StatusOpen, r.Trade.Status, "request %d: %s", i, r.Trade.Error)
				owner[r.Trade.ID], botOf[r.Trade.ID] = reqs[i].UserID, reqs[i].BotID
			}
		}
		place(batch()) // recorded by the batch itself
		e.run()
		place(batch()) // recorded by Run's applier

		final := map[int64]Status{}
		for id, user := range owner {
			final[id] = e.waitFinal(user, id).Status
		}
		for _, user := range []int64{alice, bob} {
			log := readLog(t, l, user)
			want := map[int64][]Status{}
			for id, u := range owner {
				if u == user {
					want[id] = []Status{StatusPending, StatusOpen, final[id]}
				}
			}
			assert.Equal(t, want, statesByTrade(t, user, log), "user %d", user)
			for _, g := range log {
				assert.Equal(t, botOf[g.ID], g.Event.BotID, "event %d", g.Seq)
			}
			for id := range want {
				e.lastIsGet(log, user, id)
			}
		}
	})
}

// The users' row lock that orders a user's trade inserts must not stop a
// change of that user's trades from writing its event: the event insert
// checks its user (a foreign key, FOR KEY SHARE on the users row) after
// taking the user's event counter, which the insert transaction takes
// last. A lock that stopped it would deadlock the two (PostgreSQL killed
// one of them with 40P01 in BenchmarkPlaceBurst with events on).
func TestEventsDoNotWaitForTheUsersLock(t *testing.T) {
	t.Parallel()
	st := storetest.OpenPostgres(t, store.WithMaxOpenConns(pgConns))
	ctx := ctxT(t)
	l := events.New(st, renderTrade, nil, events.Options{})
	e := newEnv(t, st, withEvents(l))
	alice, _ := e.connect("alice@example.com")
	tr, err := e.svc.Place(ctx, manual(alice, market.Call, "10"))
	require.NoError(t, err)

	held, release := make(chan struct{}), make(chan struct{})
	locker := make(chan error, 1)
	go func() { // owned by the test: released below, awaited at the end
		locker <- st.Update(ctx, store.System(), func(tx *sqlx.Tx) error {
			if _, err := e.svc.lockUsers(ctx, tx, []int64{alice}); err != nil {
				close(held)
				return err
			}
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	pid := make(chan int, 1)
	writer := make(chan error, 1)
	go func() { // owned by the test: awaited below
		writer <- st.Update(ctx, store.System(), func(tx *sqlx.Tx) error {
			var p int
			if err := tx.Get(&p, `SELECT pg_backend_pid()`); err != nil {
				return err
			}
			pid <- p
			return l.Add(tx, alice, tr)
		})
	}()
	p := <-pid
	var werr error
	eventually(t, "the event written while the user's row is locked", func() error {
		select {
		case werr = <-writer:
			return nil
		default:
		}
		var waits bool
		err := st.View(ctx, store.System(), func(tx *sqlx.Tx) error {
			return tx.Get(&waits, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = $1 AND NOT granted)`, p)
		})
		if err == nil && waits {
			close(release)
			t.Fatal("the event's write waits for the lock on the user's row")
		}
		return errors.New("still writing")
	})
	require.NoError(t, werr)
	close(release)
	require.NoError(t, <-locker)
}
