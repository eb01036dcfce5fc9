package httpapi

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/events"
)

// gatedLog answers After once release is closed, with one event whose
// seq tells which call answered (after + the call's number).
type gatedLog struct {
	EventLog
	release chan struct{}
	calls   atomic.Int64
}

func (l *gatedLog) After(ctx context.Context, _, after int64, _ int) ([]events.Event, error) {
	n := l.calls.Add(1)
	select {
	case <-l.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return []events.Event{{Seq: after + n}}, nil
}

// A user's streams woken by one commit share one read of the log; a
// stream woken after a read began does not take that read's answer,
// which may predate the commit that woke it; and the stream that leads a
// read going away does not fail the others.
func TestStreamReadsAreSharedOnlyWithReadsStartedAfterTheWake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &gatedLog{release: make(chan struct{})}
		var f readFlights
		var wg sync.WaitGroup
		var joined, late []events.Event

		wake := time.Now()
		leaderCtx, closeLeader := context.WithCancel(context.Background())
		wg.Go(func() { _, _ = f.after(leaderCtx, log, 7, 10, wake) })
		synctest.Wait() // the leader's read is under way
		closeLeader()
		wg.Go(func() {
			var err error
			joined, err = f.after(context.Background(), log, 7, 10, wake)
			assert.NoError(t, err)
		})
		synctest.Wait() // the second stream waits for the leader's read

		time.Sleep(time.Millisecond)
		lateWake := time.Now()
		wg.Go(func() {
			var err error
			late, err = f.after(context.Background(), log, 7, 10, lateWake)
			assert.NoError(t, err)
		})
		synctest.Wait()
		close(log.release)
		wg.Wait()

		assert.Equal(t, int64(2), log.calls.Load(), "the first two streams share a read, the late one reads again")
		require.Len(t, joined, 1)
		require.Len(t, late, 1)
		assert.Equal(t, int64(11), joined[0].Seq, "the second stream has the leader's answer")
		assert.Equal(t, int64(12), late[0].Seq, "the late stream has a read of its own")
	})
}
