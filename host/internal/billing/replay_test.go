package billing_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/billing"
	"github.com/stc-trading/stc/host/internal/billing/webhook"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
)

// replays is the acceptance figure: one valid event delivered 1,000 times.
const replays = 1000

// replayResults counts what the deliveries of one event reported.
type replayResults struct {
	applied, duplicates int
}

func (r *replayResults) add(t *testing.T, res billing.WebhookResult, err error) {
	t.Helper()
	require.NoError(t, err)
	if res.Duplicate {
		r.duplicates++
		assert.Equal(t, billing.OutcomeApplied, res.Outcome, "a duplicate reports the first delivery's outcome")
		return
	}
	r.applied++
}

// An invoice.paid without a period end extends the period by one plan
// period each time it applies, so applying it twice would show.
func renewalBody(id string) []byte {
	return eventBody{ID: id, Type: "invoice.paid", SubID: "sub_replay"}.bytes()
}

func TestWebhookReplaySerial(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		user := e.addUser()
		e.checkout(user, "elite", "sub_replay", time.Time{})
		body := renewalBody("evt_serial")
		header := webhook.Sign(secret(), e.clock.Now(), body)

		var got replayResults
		for range replays {
			res, err := e.svc.HandleWebhook(context.Background(), header, body)
			got.add(t, res, err)
		}
		assert.Equal(t, replayResults{applied: 1, duplicates: replays - 1}, got)
		assert.True(t, e.sub(user).CurrentPeriodEnd.Equal(start().Add(days(60))), "renewed exactly once")
		assert.Len(t, e.events("evt_serial"), 1)
	})
}

// The same event delivered by 1,000 concurrent requests: the event id is
// claimed in the transaction that applies it, so exactly one applies.
func TestWebhookReplayConcurrent(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		user := e.addUser()
		e.checkout(user, "elite", "sub_replay", time.Time{})

		// A second event races as well (a checkout of another user,
		// replayed 200 times); neither may be lost or doubled.
		other := e.addUser()
		bodies := [][]byte{
			renewalBody("evt_concurrent"),
			eventBody{ID: "evt_checkout", Type: "checkout.completed", UserID: other, PlanID: "pro", SubID: "sub_other"}.bytes(),
		}
		deliveries := []int{replays, replays / 5}
		var (
			mu   sync.Mutex
			got  = make([]replayResults, len(bodies))
			wg   sync.WaitGroup
			gate = make(chan struct{})
		)
		for i := range deliveries[0] + deliveries[1] {
			wg.Go(func() {
				n := i % 6 / 5 // interleaved: five renewals, one checkout
				body := bodies[n]
				header := webhook.Sign(secret(), e.clock.Now(), body)
				<-gate // release all at once for maximum contention
				res, err := e.svc.HandleWebhook(context.Background(), header, body)
				mu.Lock()
				defer mu.Unlock()
				got[n].add(t, res, err)
			})
		}
		close(gate)
		wg.Wait()

		for n := range bodies {
			assert.Equal(t, replayResults{applied: 1, duplicates: deliveries[n] - 1}, got[n], "event %d", n)
		}
		assert.True(t, e.sub(user).CurrentPeriodEnd.Equal(start().Add(days(60))), "renewed exactly once")
		assert.Equal(t, billing.StatusTrialing, e.sub(other).Status)
		assert.Equal(t, 3, e.countEvents(), "the setup checkout and the two raced events")
	})
}
