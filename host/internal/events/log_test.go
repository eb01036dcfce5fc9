package events_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/events"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
)

// thing is a stand-in entity: the log only needs a renderer for it.
type thing struct {
	N     int
	BotID int64
}

func render(obj any) (events.Rendered, error) {
	t, ok := obj.(thing)
	if !ok {
		return events.Rendered{}, fmt.Errorf("unknown %T", obj)
	}
	b, err := json.Marshal(map[string]any{"thing": map[string]int{"n": t.N}})
	return events.Rendered{Kind: events.KindTrade, BotID: t.BotID, Payload: b}, err
}

func addUser(t testing.TB, st *store.Store, email string) int64 {
	t.Helper()
	var id int64
	require.NoError(t, st.Update(context.Background(), store.System(), func(tx *sqlx.Tx) error {
		return tx.Get(&id, tx.Rebind(`INSERT INTO users (email, password_hash, created_at, updated_at)
			VALUES (?, 'x', 1, 1) RETURNING id`), email)
	}))
	return id
}

func payloadN(t *testing.T, e events.Event) int {
	t.Helper()
	var v struct {
		Thing struct{ N int } `json:"thing"`
	}
	require.NoError(t, json.Unmarshal(e.Payload, &v))
	return v.Thing.N
}

func TestLogNumbersEachUsersEventsWithoutGaps(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		l := events.New(st, render, nil, events.Options{})
		alice, bob := addUser(t, st, "alice@example.com"), addUser(t, st, "bob@example.com")

		// One system transaction writing for both users, bob first: each
		// user gets their own numbering, in the order added.
		require.NoError(t, st.Update(ctx, store.System(), func(tx *sqlx.Tx) error {
			require.NoError(t, l.Add(tx, bob, thing{N: 1}))
			require.NoError(t, l.Add(tx, alice, thing{N: 2}))
			return l.Add(tx, bob, thing{N: 3, BotID: 7})
		}))
		// A rolled-back transaction leaves no event and no hole.
		boom := errors.New("boom")
		err := st.Update(ctx, store.Tenant(alice), func(tx *sqlx.Tx) error {
			require.NoError(t, l.Add(tx, alice, thing{N: 99}))
			return boom
		})
		require.ErrorIs(t, err, boom)
		require.NoError(t, st.Update(ctx, store.Tenant(alice), func(tx *sqlx.Tx) error {
			return l.Add(tx, alice, thing{N: 4})
		}))

		got, err := l.After(ctx, bob, 0, 100)
		require.NoError(t, err)
		require.Len(t, got, 2)
		assert.Equal(t, []int64{1, 2}, []int64{got[0].Seq, got[1].Seq})
		assert.Equal(t, []int{1, 3}, []int{payloadN(t, got[0]), payloadN(t, got[1])})
		assert.Equal(t, int64(7), got[1].BotID)

		got, err = l.After(ctx, alice, 0, 100)
		require.NoError(t, err)
		require.Len(t, got, 2)
		assert.Equal(t, []int{2, 4}, []int{payloadN(t, got[0]), payloadN(t, got[1])})
		assert.Equal(t, []int64{1, 2}, []int64{got[0].Seq, got[1].Seq})

		head, err := l.Head(ctx, alice)
		require.NoError(t, err)
		assert.Equal(t, int64(2), head)
		got, err = l.After(ctx, alice, 2, 100)
		require.NoError(t, err)
		assert.Empty(t, got)
		_, err = l.After(ctx, alice, 5, 100)
		assert.ErrorIs(t, err, events.ErrGone, "an id beyond the head is not this log's")

		journal, err := l.ForBot(ctx, bob, 7, 0, 10)
		require.NoError(t, err)
		require.Len(t, journal, 1)
		assert.Equal(t, 3, payloadN(t, journal[0]))
	})
}

func TestLogWakesSubscribersOnlyAfterCommit(t *testing.T) {
	st := storetest.OpenSQLite(t)
	ctx := context.Background()
	l := events.New(st, render, nil, events.Options{})
	alice, bob := addUser(t, st, "alice@example.com"), addUser(t, st, "bob@example.com")
	subA, subB := l.Subscribe(alice), l.Subscribe(bob)
	defer subA.Close()
	defer subB.Close()

	var committing time.Time
	require.NoError(t, st.Update(ctx, store.Tenant(alice), func(tx *sqlx.Tx) error {
		require.NoError(t, l.Add(tx, alice, thing{N: 1}))
		select {
		case <-subA.C:
			t.Error("woken before the commit")
		default:
		}
		committing = time.Now()
		return nil
	}))
	select {
	case <-subA.C:
	case <-time.After(5 * time.Second):
		t.Fatal("alice's subscriber was not woken")
	}
	// Readers share reads that began after the wake: it is after the commit.
	assert.False(t, subA.WokenAt().Before(committing), "the wake is stamped after the commit")
	assert.True(t, subB.WokenAt().IsZero())
	select {
	case <-subB.C:
		t.Fatal("bob's subscriber was woken by alice's event")
	default:
	}
	assert.True(t, l.Watched(alice))
	subA.Close()
	assert.False(t, l.Watched(alice))
}

// Concurrent writers for one user never produce a gap or a duplicate,
// and a reader following the log sees every seq in order.
func TestLogConcurrentWritersStayGapFree(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		l := events.New(st, render, nil, events.Options{})
		u := addUser(t, st, "busy@example.com")
		const writers, each = 8, 25
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					err := st.Update(ctx, store.Tenant(u), func(tx *sqlx.Tx) error {
						return l.Add(tx, u, thing{N: w*1000 + i})
					})
					assert.NoError(t, err)
				}
			})
		}
		wg.Wait()
		var seen []int64
		var after int64
		for {
			got, err := l.After(ctx, u, after, 37)
			require.NoError(t, err)
			if len(got) == 0 {
				break
			}
			for _, e := range got {
				seen = append(seen, e.Seq)
			}
			after = got[len(got)-1].Seq
		}
		require.Len(t, seen, writers*each)
		for i, s := range seen {
			require.Equal(t, int64(i+1), s)
		}
	})
}

func TestPruneMakesOldIDsGone(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
		clock := func() time.Time { return now }
		l := events.New(st, render, nil, events.Options{Retention: time.Hour, Now: clock})
		u := addUser(t, st, "old@example.com")
		for i := range 3 {
			require.NoError(t, st.Update(ctx, store.Tenant(u), func(tx *sqlx.Tx) error {
				return l.Add(tx, u, thing{N: i})
			}))
		}
		now = now.Add(2 * time.Hour)
		require.NoError(t, st.Update(ctx, store.Tenant(u), func(tx *sqlx.Tx) error {
			return l.Add(tx, u, thing{N: 3})
		}))
		n, err := l.Prune(ctx)
		require.NoError(t, err)
		assert.Equal(t, int64(3), n)

		_, err = l.After(ctx, u, 1, 10)
		assert.ErrorIs(t, err, events.ErrGone, "events 2 and 3 were pruned")
		got, err := l.After(ctx, u, 3, 10)
		require.NoError(t, err)
		require.Len(t, got, 1)
		assert.Equal(t, int64(4), got[0].Seq)
	})
}

// A reader that follows the log while writers commit (a live stream)
// gets every event, in order, and is never told they are gone: an event
// that commits between the reader's statements must not look pruned.
func TestLogReaderFollowingWritersIsNeverToldGone(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		l := events.New(st, render, nil, events.Options{})
		u := addUser(t, st, "live@example.com")
		const writers, each = 4, 100
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					err := st.Update(ctx, store.Tenant(u), func(tx *sqlx.Tx) error {
						return l.Add(tx, u, thing{N: w*1000 + i})
					})
					assert.NoError(t, err)
				}
			})
		}
		var after int64
		var readErr error
		for readErr == nil && after < writers*each {
			var got []events.Event
			got, readErr = l.After(ctx, u, after, 50)
			for _, e := range got {
				if e.Seq != after+1 {
					readErr = fmt.Errorf("event %d follows %d", e.Seq, after)
					break
				}
				after = e.Seq
			}
		}
		wg.Wait() // before failing: the schema is dropped when the test ends
		require.NoError(t, readErr, "reading after %d while the writers commit", after)
	})
}
