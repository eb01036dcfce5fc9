package billing_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/billing"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
)

// changes records the users OnChange was called for and the plan each
// listener call saw.
type changes struct {
	mu    sync.Mutex
	users []int64
	plans []string
}

// The listeners hear of every applied change once it is committed (a
// subscription.deleted sees the free plan at once), and of nothing else:
// a redelivery, an ignored event, a refused grant.
func TestOnChangeAfterEveryAppliedChange(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		var c changes
		e.svc.OnChange(func(ctx context.Context, userID int64) {
			ent, err := e.svc.Entitlements(ctx, userID)
			assert.NoError(t, err)
			c.mu.Lock()
			defer c.mu.Unlock()
			c.users = append(c.users, userID)
			c.plans = append(c.plans, ent.PlanID)
		})
		seen := func() ([]int64, []string) {
			c.mu.Lock()
			defer c.mu.Unlock()
			return append([]int64(nil), c.users...), append([]string(nil), c.plans...)
		}
		user := e.addUser()
		e.checkout(user, "pro", "sub_1", start().Add(days(7)))
		users, plans := seen()
		assert.Equal(t, []int64{user}, users)
		assert.Equal(t, []string{"pro"}, plans)

		del := eventBody{ID: e.eventID(), Type: "subscription.deleted", SubID: "sub_1"}
		e.mustSend(del)
		users, plans = seen()
		assert.Equal(t, []int64{user, user}, users)
		assert.Equal(t, "practice", plans[1], "the listener sees the change committed")

		e.mustSend(del)                                                       // redelivered
		e.mustSend(eventBody{Type: "subscription.deleted", SubID: "sub_404"}) // unknown: ignored
		_, err := e.svc.Grant(context.Background(), user, billing.Grant{PlanID: "nope"})
		require.Error(t, err)
		users, _ = seen()
		assert.Len(t, users, 2, "nothing changed, nobody is told")

		_, err = e.svc.Grant(context.Background(), user, billing.Grant{PlanID: "elite"})
		require.NoError(t, err)
		users, plans = seen()
		assert.Equal(t, []int64{user, user, user}, users)
		assert.Equal(t, "elite", plans[2])
	})
}
