package accounts_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/accounts"
	"github.com/stc-trading/stc/host/internal/pluginmgr"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
)

// A plan's account limit: at the limit a new account, or a disconnected
// one coming back, is refused with ErrAccountLimit and leaves no row; an
// account already counted reconnects, and disconnecting one makes room.
func TestConnectRefusedOverPlanLimit(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ctx := ctxT(t)
		p := practicePlan()
		p.maxAccounts = 2
		e := newEnv(t, st, envOpts{policy: p})
		alice := addUser(t, st, "alice@example.com")
		bob := addUser(t, st, "bob@example.com")
		connect := func(user int64, login string) (accounts.Account, error) {
			return e.m.Connect(ctx, user, accounts.ConnectRequest{Broker: "paper", Credentials: paperCreds(login, "pw-"+login)})
		}
		first, err := connect(alice, "alice-1")
		require.NoError(t, err)
		_, err = connect(alice, "alice-2")
		require.NoError(t, err)

		rows := countRows(t, st)
		_, err = connect(alice, "alice-3")
		require.ErrorIs(t, err, accounts.ErrAccountLimit)
		var le *accounts.LimitError
		require.ErrorAs(t, err, &le)
		assert.Equal(t, 2, le.Max)
		assert.Equal(t, rows, countRows(t, st), "a refused connect leaves no row")

		_, err = connect(bob, "bob-1")
		require.NoError(t, err, "the limit is per user")
		again, err := connect(alice, "alice-1")
		require.NoError(t, err, "an account already counted may log in again")
		assert.Equal(t, first.ID, again.ID)

		require.NoError(t, e.m.Disconnect(ctx, alice, first.ID))
		third, err := connect(alice, "alice-3")
		require.NoError(t, err, "a disconnected account does not count")
		_, err = connect(alice, "alice-1")
		require.ErrorIs(t, err, accounts.ErrAccountLimit, "a disconnected account coming back counts again")
		got, err := e.m.Get(ctx, alice, first.ID)
		require.NoError(t, err)
		assert.Equal(t, accounts.StatusDisconnected, got.Status, "and stays disconnected")
		require.NoError(t, e.m.Disconnect(ctx, alice, third.ID))
		_, err = connect(alice, "alice-1")
		require.NoError(t, err)
	})
}

// Concurrent connects of one user never take it over the limit.
func TestConcurrentConnectsKeepTheLimit(t *testing.T) {
	t.Parallel()
	st := storetest.OpenPostgres(t)
	ctx := ctxT(t)
	p := practicePlan()
	p.maxAccounts = 3
	e := newEnv(t, st, envOpts{policy: p})
	alice := addUser(t, st, "alice@example.com")
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		ok, lim int
	)
	for i := range 8 {
		wg.Go(func() {
			login := fmt.Sprintf("alice-%d", i)
			_, err := e.m.Connect(ctx, alice, accounts.ConnectRequest{Broker: "paper", Credentials: paperCreds(login, "pw-"+login)})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, accounts.ErrAccountLimit):
				lim++
			default:
				t.Errorf("connect %s: %v", login, err)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 3, ok)
	assert.Equal(t, 5, lim)
	assert.Equal(t, 3, countRows(t, st))
}

// connectMany connects n paper accounts of user and returns their ids.
func connectMany(t *testing.T, e *env, user int64, prefix string, n int) []int64 {
	t.Helper()
	ids := make([]int64, n)
	for i := range ids {
		login := fmt.Sprintf("%s-%d", prefix, i)
		a, err := e.m.Connect(ctxT(t), user, accounts.ConnectRequest{Broker: "paper", Credentials: paperCreds(login, "pw-"+login)})
		require.NoError(t, err)
		ids[i] = a.ID
	}
	return ids
}

// live reports whether account id has a session in the (restarted)
// paper plugin.
func live(t *testing.T, e *env, user, id int64) bool {
	t.Helper()
	a, err := e.m.Get(ctxT(t), user, id)
	require.NoError(t, err)
	return a.Status == accounts.StatusConnected
}

// At host start the accounts of running bots (ResumeOptions.First) are
// re-opened before any other: when FirstDone is called the bot's account
// is back and none of the many accounts of another user has been tried,
// although they come first by id.
func TestResumeBotAccountsFirst(t *testing.T) {
	t.Parallel()
	st := storetest.OpenSQLite(t)
	ctx := ctxT(t)
	e := newEnv(t, st, envOpts{})
	many := addUser(t, st, "many@example.com")
	manyIDs := connectMany(t, e, many, "many", 6)
	botUser := addUser(t, st, "bot@example.com")
	botAcct := connectMany(t, e, botUser, "bot", 1)[0]

	e.restart(nil)
	var atFirstDone struct {
		botLive  bool
		manyLive int
		calls    int
	}
	resumed, failed, err := e.m.ResumeAll(ctx, accounts.ResumeOptions{
		First: []int64{botAcct}, Concurrency: 2,
		FirstDone: func() {
			atFirstDone.calls++
			atFirstDone.botLive = live(t, e, botUser, botAcct)
			for _, id := range manyIDs {
				if live(t, e, many, id) {
					atFirstDone.manyLive++
				}
			}
		},
	})
	require.NoError(t, err)
	assert.Equal(t, 7, resumed)
	assert.Zero(t, failed)
	assert.Equal(t, 1, atFirstDone.calls)
	assert.True(t, atFirstDone.botLive, "the bot's account is back when the bots may start")
	assert.Zero(t, atFirstDone.manyLive, "no other account was tried before the bots' accounts")
	for _, id := range manyIDs {
		assert.True(t, live(t, e, many, id), "account %d resumed after", id)
	}

	// With nothing to put first, FirstDone is called before any account
	// is tried.
	e.restart(nil)
	var liveAtStart int
	_, _, err = e.m.ResumeAll(ctx, accounts.ResumeOptions{FirstDone: func() {
		for _, id := range manyIDs {
			if live(t, e, many, id) {
				liveAtStart++
			}
		}
	}})
	require.NoError(t, err)
	assert.Zero(t, liveAtStart)
}

// barrierBrokers holds every Broker call until n calls are inside at
// once, then lets them all through: a resume that opens one user's
// sessions one at a time never gets there.
type barrierBrokers struct {
	accounts.Brokers
	n       int
	mu      sync.Mutex
	arrived int
	open    chan struct{}
}

func (b *barrierBrokers) Broker(ctx context.Context, name string) (*pluginmgr.BrokerHandle, error) {
	b.mu.Lock()
	b.arrived++
	if b.arrived == b.n {
		close(b.open)
	}
	b.mu.Unlock()
	select {
	case <-b.open:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return b.Brokers.Broker(ctx, name)
}

// One user's accounts are re-opened side by side (they share the user's
// lock), not one after another: three resumes of one user are in the
// broker at once. Before, the user's lock made them queue, holding the
// resume slots that other users' accounts waited for.
func TestResumeOpensOneUsersAccountsInParallel(t *testing.T) {
	t.Parallel()
	st := storetest.OpenSQLite(t)
	e := newEnv(t, st, envOpts{})
	alice := addUser(t, st, "alice@example.com")
	ids := connectMany(t, e, alice, "alice", 3)

	e.restart(nil)
	bb := &barrierBrokers{Brokers: e.plugins, n: 3, open: make(chan struct{})}
	m := accounts.NewManager(st, e.keys, bb, e.opts.policy, hclog.NewNullLogger())
	// Only a stuck barrier can take this long; it fails the test rather
	// than measuring anything.
	ctx, cancel := context.WithTimeout(ctxT(t), hangGuard/4)
	defer cancel()
	resumed, failed, err := m.ResumeAll(ctx, accounts.ResumeOptions{Concurrency: 3})
	require.NoError(t, err)
	assert.Equal(t, 3, resumed, "all three resumes were in the broker at once")
	assert.Zero(t, failed)
	for _, id := range ids {
		assert.True(t, live(t, e, alice, id))
	}
}
