package bots_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/billing"
	"github.com/stc-trading/stc/host/internal/bots"
	"github.com/stc-trading/stc/host/internal/events"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
)

// renderBot is the tests' event renderer: the payload is the whole Bot, so
// a test can compare an event with what Get returns.
func renderBot(obj any) (events.Rendered, error) {
	b, ok := obj.(bots.Bot)
	if !ok {
		return events.Rendered{}, fmt.Errorf("no event for %T", obj)
	}
	p, err := json.Marshal(map[string]bots.Bot{"bot": b})
	return events.Rendered{Kind: events.KindBot, BotID: b.ID, Payload: p}, err
}

func eventBot(t *testing.T, ev events.Event) bots.Bot {
	t.Helper()
	require.Equal(t, events.KindBot, ev.Kind)
	var v struct{ Bot bots.Bot }
	require.NoError(t, json.Unmarshal(ev.Payload, &v))
	require.Equal(t, ev.BotID, v.Bot.ID)
	return v.Bot
}

// quiet is an RSI bot that never signals (RSI never reaches 0 or 100 on
// the paper market), so its journal holds only the changes a test makes.
func quiet(accountID int64) bots.Spec {
	sp := rsiSpec(accountID)
	sp.Name = "quiet"
	sp.Params = map[string]string{"period": "14", "oversold": "0", "overbought": "100"}
	return sp
}

// journalOf reads a bot's whole journal, newest first.
func (e *env) journalOf(userID, botID int64) []events.Event {
	e.t.Helper()
	got, err := e.journal.ForBot(ctxT(e.t), userID, botID, 0, 1000)
	require.NoError(e.t, err)
	return got
}

// waitJournal polls a bot's journal until an event's bot matches.
func (e *env) waitJournal(t *testing.T, userID, botID int64, what string, match func(bots.Bot) bool) bots.Bot {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for {
		for _, ev := range e.journalOf(userID, botID) {
			if b := eventBot(t, ev); match(b) {
				return b
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("bot %d's journal has no event with %s", botID, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Every change of a bot its owner can see adds one event to the owner's
// log, in the bot's journal, carrying the bot exactly as Get returns it
// right after the change; a request that changes nothing adds none, and
// no event reaches another user.
func TestEveryBotChangeIsAnEvent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{})
		e.run()
		ctx := ctxT(t)
		alice, acct := e.user("alice", "pro")
		bob, bobAcct := e.user("bob", "pro")

		// Bob's bot comes first: SQLite gives a new row the id of the
		// newest deleted one.
		mine, err := e.svc.Create(ctx, bob, quiet(bobAcct))
		require.NoError(t, err)

		seen := map[int64]int{}
		// changed checks that the last request added exactly one event
		// to bot id's journal and returns the bot it carries.
		changed := func(id int64, want bots.Status, reason string) bots.Bot {
			t.Helper()
			journal := e.journalOf(alice, id)
			require.Len(t, journal, seen[id]+1, "bot %d's journal", id)
			seen[id]++
			b := eventBot(t, journal[0])
			assert.Equal(t, want, b.Status)
			assert.Equal(t, reason, b.StatusReason)
			assert.Equal(t, alice, b.UserID)
			if want != bots.StatusDeleted {
				cur, err := e.svc.Get(ctx, alice, id)
				require.NoError(t, err)
				r, err := renderBot(cur)
				require.NoError(t, err)
				assert.JSONEq(t, string(r.Payload), string(journal[0].Payload), "the event is the bot as Get returns it")
			}
			return b
		}
		unchanged := func(id int64) {
			t.Helper()
			assert.Len(t, e.journalOf(alice, id), seen[id], "bot %d's journal", id)
		}

		q, err := e.svc.Create(ctx, alice, quiet(acct))
		require.NoError(t, err)
		changed(q.ID, bots.StatusStopped, "")
		up := quiet(acct)
		up.Name = "renamed"
		_, err = e.svc.Update(ctx, alice, q.ID, up)
		require.NoError(t, err)
		assert.Equal(t, "renamed", changed(q.ID, bots.StatusStopped, "").Name)

		_, err = e.svc.Start(ctx, alice, q.ID)
		require.NoError(t, err)
		changed(q.ID, bots.StatusRunning, "")
		_, err = e.svc.Start(ctx, alice, q.ID)
		require.NoError(t, err)
		unchanged(q.ID)
		_, err = e.svc.Stop(ctx, alice, q.ID)
		require.NoError(t, err)
		changed(q.ID, bots.StatusStopped, "")
		_, err = e.svc.Stop(ctx, alice, q.ID)
		require.NoError(t, err)
		unchanged(q.ID)

		// Two running bots on the account: one pause of both, one event
		// each.
		q2, err := e.svc.Create(ctx, alice, quiet(acct))
		require.NoError(t, err)
		changed(q2.ID, bots.StatusStopped, "")
		for _, id := range []int64{q.ID, q2.ID} {
			_, err = e.svc.Start(ctx, alice, id)
			require.NoError(t, err)
			changed(id, bots.StatusRunning, "")
		}
		n, err := e.svc.PauseAccount(ctx, alice, acct)
		require.NoError(t, err)
		assert.Equal(t, 2, n)
		for _, id := range []int64{q.ID, q2.ID} {
			b := changed(id, bots.StatusPaused, bots.ReasonAccountNotConnected)
			assert.Equal(t, "account disconnected", b.LastError)
			assert.False(t, b.LastErrorAt.IsZero())
			_, err = e.svc.Start(ctx, alice, id)
			require.NoError(t, err)
			changed(id, bots.StatusRunning, "")
		}

		// A plan change pauses the bot the plan no longer allows, with
		// its reason; the oldest keeps running and has no event.
		_, err = e.bill.Grant(ctx, alice, billing.Grant{PlanID: "pro", Status: billing.StatusCanceled})
		require.NoError(t, err)
		n, err = e.svc.EntitlementsChanged(ctx, alice)
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		b := changed(q2.ID, bots.StatusPaused, bots.ReasonNotEntitled)
		assert.Contains(t, b.LastError, "plan allows 1")
		unchanged(q.ID)

		// Deleting leaves the bot's last state, as deleted.
		require.NoError(t, e.svc.Delete(ctx, alice, q2.ID))
		b = changed(q2.ID, bots.StatusDeleted, "")
		assert.Equal(t, q2.ID, b.ID)
		assert.Equal(t, "quiet", b.Name)
		require.NoError(t, e.svc.Delete(ctx, alice, q.ID))
		assert.Equal(t, "renamed", changed(q.ID, bots.StatusDeleted, "").Name)

		// Bob's log holds his own bot's events and nothing of alice's.
		require.ErrorIs(t, e.svc.Delete(ctx, bob, q.ID), bots.ErrNotFound)
		log, err := e.journal.After(ctx, bob, 0, 1000)
		require.NoError(t, err)
		require.Len(t, log, 1)
		assert.Equal(t, mine.ID, log[0].BotID)
		assert.Equal(t, bob, eventBot(t, log[0]).UserID)
		none, err := e.journal.ForBot(ctx, bob, q.ID, 0, 1000)
		require.NoError(t, err)
		assert.Empty(t, none)
		log, err = e.journal.After(ctx, alice, 0, 1000)
		require.NoError(t, err)
		assert.Len(t, log, seen[q.ID]+seen[q2.ID])
		for _, ev := range log {
			assert.Contains(t, []int64{q.ID, q2.ID}, ev.BotID)
		}
	})
}

// A running bot's signals and errors, written by the runner in batches,
// are events of the bot as it is after the batch.
func TestSignalsAndErrorsAreEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{})
		e.run()
		ctx := ctxT(t)
		alice, acct := e.user("alice", "pro")
		bob, _ := e.user("bob", "pro")
		b, err := e.svc.Create(ctx, alice, eager(acct))
		require.NoError(t, err)
		_, err = e.svc.Start(ctx, alice, b.ID)
		require.NoError(t, err)

		sig := e.waitJournal(t, alice, b.ID, "a signal", func(x bots.Bot) bool { return x.LastSignal != "" })
		assert.Equal(t, "call", sig.LastSignal)
		assert.Contains(t, sig.LastSignalReason, "rsi")
		assert.False(t, sig.LastSignalAt.IsZero())
		assert.Equal(t, bots.StatusRunning, sig.Status)

		e.trader.setPlaceErr(fmt.Errorf("%w: max open trades 1 reached", bots.ErrRiskLimit))
		refused := e.waitJournal(t, alice, b.ID, "a refused order", func(x bots.Bot) bool {
			return strings.Contains(x.LastError, "max open trades")
		})
		assert.Equal(t, bots.StatusRunning, refused.Status, "a risk refusal does not pause")
		assert.Equal(t, "call", refused.LastSignal, "the event is the whole bot, its last signal too")

		_, err = e.svc.Stop(ctx, alice, b.ID)
		require.NoError(t, err)
		log, err := e.journal.After(ctx, bob, 0, 1000)
		require.NoError(t, err)
		assert.Empty(t, log, "alice's bot's events are not bob's")
	})
}

// failingLog records events in a real log but then fails the change, as a
// renderer or a database error would.
type failingLog struct {
	inner *events.Log
	fail  atomic.Bool
}

var errEventFailed = errors.New("event failed")

func (l *failingLog) Add(tx *sqlx.Tx, userID int64, obj any) error {
	if err := l.inner.Add(tx, userID, obj); err != nil {
		return err
	}
	if l.fail.Load() {
		return errEventFailed
	}
	return nil
}

// A change whose event cannot be recorded does not happen, and the event
// recorded before the failure vanishes with it: the log and the bots never
// disagree.
func TestFailedEventRollsBackTheChange(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		fl := &failingLog{}
		e := newEnv(t, st, envOpts{eventLog: fl})
		fl.inner = e.journal
		e.run()
		ctx := ctxT(t)
		alice, acct := e.user("alice", "pro")
		b, err := e.svc.Create(ctx, alice, quiet(acct))
		require.NoError(t, err)
		_, err = e.svc.Start(ctx, alice, b.ID)
		require.NoError(t, err)
		head, err := e.journal.Head(ctx, alice)
		require.NoError(t, err)
		require.Equal(t, int64(2), head)

		fl.fail.Store(true)
		_, err = e.svc.Create(ctx, alice, quiet(acct))
		require.ErrorIs(t, err, errEventFailed)
		_, err = e.svc.PauseAccount(ctx, alice, acct)
		require.ErrorIs(t, err, errEventFailed)
		_, err = e.svc.Stop(ctx, alice, b.ID)
		require.ErrorIs(t, err, errEventFailed)
		require.ErrorIs(t, e.svc.Delete(ctx, alice, b.ID), errEventFailed)

		list, _, err := e.svc.List(ctx, alice, 0, 0)
		require.NoError(t, err)
		require.Len(t, list, 1, "the create rolled back")
		assert.Equal(t, bots.StatusRunning, list[0].Status, "the pause, stop and delete rolled back")
		after, err := e.journal.Head(ctx, alice)
		require.NoError(t, err)
		assert.Equal(t, head, after, "no event of a rolled-back change")
		log, err := e.journal.After(ctx, alice, 0, 100)
		require.NoError(t, err)
		assert.Len(t, log, 2)

		fl.fail.Store(false)
		_, err = e.svc.Stop(ctx, alice, b.ID)
		require.NoError(t, err)
		journal := e.journalOf(alice, b.ID)
		require.Len(t, journal, 3)
		assert.Equal(t, bots.StatusStopped, eventBot(t, journal[0]).Status)
		assert.Equal(t, head+1, journal[0].Seq, "no gap where the failed changes were")
	})
}
