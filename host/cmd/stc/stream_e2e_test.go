package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/sseclient"
	"github.com/stc-trading/stc/host/internal/storetest"
)

// follower reads a user's event stream the way an EventSource does: when
// the connection drops it reconnects, with the last id it saw, until it
// is stopped.
type follower struct {
	base, token string

	mu     sync.Mutex
	start  int64 // the id of the first frame of the first connection
	last   int64
	frames []sseclient.Frame
	resets int
	conns  int
}

func (f *follower) run(ctx context.Context) {
	for ctx.Err() == nil {
		f.once(ctx)
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (f *follower) once(ctx context.Context) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.base+"/api/v2/stream", nil)
	if err != nil {
		return
	}
	req.Header.Set("Authorization", "Bearer "+f.token)
	f.mu.Lock()
	if f.conns > 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatInt(f.last, 10))
	}
	f.mu.Unlock()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return // the host is down: try again
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return
	}
	r := sseclient.New(bufio.NewReader(resp.Body))
	first := true
	for {
		fr, err := r.Next()
		if err != nil {
			return
		}
		f.mu.Lock()
		if first && fr.HasID && f.conns == 0 {
			f.start, _ = strconv.ParseInt(fr.ID, 10, 64)
			f.last = f.start
		}
		if first {
			f.conns++
			first = false
		}
		if fr.Event != "" {
			f.frames = append(f.frames, fr)
			if fr.Event == "reset" {
				f.resets++
			}
		}
		if fr.HasID {
			f.last, _ = strconv.ParseInt(fr.ID, 10, 64)
		}
		f.mu.Unlock()
	}
}

// finals returns the last status the stream reported for each trade.
func (f *follower) finals(t *testing.T) map[int64]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[int64]string{}
	for _, fr := range f.frames {
		if fr.Event != "trade" {
			continue
		}
		var body struct {
			Trade struct {
				ID     int64  `json:"id"`
				Status string `json:"status"`
			} `json:"trade"`
		}
		require.NoError(t, json.Unmarshal([]byte(fr.Data), &body))
		out[body.Trade.ID] = body.Trade.Status
	}
	return out
}

// TestStreamResumesAcrossHostRestarts follows a trader's stream while
// the host is stopped gracefully once and killed once, trades being
// placed and settled around both. Reconnecting with Last-Event-ID, the
// client receives every event of the trader's log exactly once, in
// order, and the last state it saw of each trade is the one the REST API
// reports.
func TestStreamResumesAcrossHostRestarts(t *testing.T) {
	bin, pluginDir := buildBinaries(t)
	data, err := os.MkdirTemp("", "stcst") //nolint:usetesting // t.TempDir paths are too long for the plugin sockets under it
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(data) })
	sch := storetest.NewSchema(t)
	env := hostEnv(freeAddr(t), data, pluginDir, sch.URL, "STC_PAPER_TIME_SCALE=60", "STC_LOG_LEVEL=warn", "STC_STREAM_HEARTBEAT=1s")
	h := startHost(t, bin, env)
	u := signUp(t, h, "stream@example.com", "stream-paper")

	ctx, cancel := context.WithCancel(context.Background())
	f := &follower{base: h.base, token: u.token}
	var wg sync.WaitGroup
	wg.Go(func() { f.run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	require.Eventually(t, func() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.conns > 0 }, 30*time.Second, 20*time.Millisecond)

	trade := func() {
		code, body := h.call("POST", "/api/v2/user/trade", u.token,
			`{"account_id":`+strconv.FormatInt(u.account, 10)+`,"symbol":"EURUSD-OTC","direction":"PUT","amount":2,"expiration":60}`)
		require.Equal(t, http.StatusCreated, code, "%v", body)
	}
	for range 3 {
		trade()
	}
	h.stop()
	h = startHost(t, bin, env)
	for range 3 {
		trade()
	}
	time.Sleep(300 * time.Millisecond)
	h.kill()
	h = startHost(t, bin, env)
	for range 2 {
		trade()
	}
	waitFor(t, h, "every trade settles", 3*time.Minute, func() bool {
		for _, tr := range allTrades(t, h, u.token) {
			if !isFinal(tr["status"]) {
				return false
			}
		}
		return true
	})
	rest := allTrades(t, h, u.token)
	require.Len(t, rest, 8)
	waitFor(t, h, "the stream reports every trade's final state", time.Minute, func() bool {
		got := f.finals(t)
		for _, tr := range rest {
			if got[int64(num(t, tr["id"]))] != tr["status"] {
				return false
			}
		}
		return true
	})

	db, err := sqlx.Connect("postgres", sch.URL)
	require.NoError(t, err)
	defer db.Close()
	var head int64
	require.NoError(t, db.Get(&head, "SELECT seq FROM event_seqs WHERE user_id = $1", u.id))
	f.mu.Lock()
	defer f.mu.Unlock()
	assert.Zero(t, f.resets, "nothing was pruned: no reset")
	assert.GreaterOrEqual(t, f.conns, 3, "the client reconnected after each restart")
	want := f.start + 1
	for _, fr := range f.frames {
		if !fr.HasID {
			continue
		}
		id, err := strconv.ParseInt(fr.ID, 10, 64)
		require.NoError(t, err)
		require.Equal(t, want, id, "events arrive once each, in order, with no gap")
		want++
	}
	assert.Equal(t, head, want-1, "the client received the log up to its head")
}
