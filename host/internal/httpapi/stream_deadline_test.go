package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/events"
	"github.com/stc-trading/stc/host/internal/httpapi"
	"github.com/stc-trading/stc/host/internal/storetest"
)

// slowLog is the event log with reads held back on demand: a database
// under load.
type slowLog struct {
	httpapi.EventLog
	delay atomic.Int64 // nanoseconds each read waits
}

func (l *slowLog) After(ctx context.Context, userID, after int64, limit int) ([]events.Event, error) {
	time.Sleep(time.Duration(l.delay.Load()))
	return l.EventLog.After(ctx, userID, after, limit)
}

// The write deadline is for the client to take what the stream writes, not
// for the host's own log reads: a stream whose client keeps reading stays
// open while reads take longer than the deadline (a database under load).
// It used to end with "unexpected EOF" when a heartbeat waited in the
// buffer for the read that followed it.
func TestStreamOutlivesLogReadsSlowerThanTheWriteDeadline(t *testing.T) {
	var slow *slowLog
	e := newEnv(t, storetest.OpenSQLite(t), httpapi.RateLimits{PerIP: -1, PerUser: -1, Auth: -1}, func(d *httpapi.Deps) {
		slow = &slowLog{EventLog: d.Events}
		d.Events = slow
		d.Stream.Heartbeat = 50 * time.Millisecond
		d.Stream.Poll = 50 * time.Millisecond // the reads to slow down
		d.Stream.WriteTimeout = 200 * time.Millisecond
	})
	srv := httptest.NewServer(e.h)
	t.Cleanup(srv.Close)
	alice := e.register("alice")
	s := openStream(t, srv, alice.token, "")
	require.Equal(t, http.StatusOK, s.status)
	_, err := s.Next()
	require.NoError(t, err)

	slow.delay.Store(int64(500 * time.Millisecond))
	for range 3 { // heartbeats between slow reads
		f, err := s.Next()
		require.NoError(t, err, "the stream ended while its client was reading")
		require.Equal(t, []string{"heartbeat"}, f.Comments)
	}
}
