package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/httpapi"
	"github.com/stc-trading/stc/host/internal/sseclient"
	"github.com/stc-trading/stc/host/internal/storetest"
)

// testStream is an open GET /api/v2/stream.
type testStream struct {
	status int
	header http.Header
	body   io.Closer
	*sseclient.Reader
}

// openStream opens GET /api/v2/stream on srv with token; the stream
// closes with the test.
func openStream(t *testing.T, srv *httptest.Server, token, query string, header ...string) *testStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/v2/stream"+query, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { _ = resp.Body.Close() })
	return &testStream{status: resp.StatusCode, header: resp.Header, body: resp.Body, Reader: sseclient.New(bufio.NewReader(resp.Body))}
}

// nextEvent reads frames until one of the given kinds arrives (failing
// the test after a deadline enforced by closing the body).
func nextEvent(t *testing.T, r *testStream, kinds ...string) sseclient.Frame {
	t.Helper()
	timer := time.AfterFunc(30*time.Second, func() { _ = r.body.Close() })
	defer timer.Stop()
	for {
		f, err := r.NextEvent()
		require.NoError(t, err, "the stream ended before a %v event", kinds)
		for _, k := range kinds {
			if f.Event == k {
				return f
			}
		}
	}
}

func tradeOf(t *testing.T, f sseclient.Frame) map[string]any {
	t.Helper()
	var body struct {
		Trade map[string]any `json:"trade"`
	}
	require.NoError(t, json.Unmarshal([]byte(f.Data), &body), f.Data)
	require.NotNil(t, body.Trade, f.Data)
	return body.Trade
}

// A trade's every state reaches its owner's stream with an id, in order,
// as the REST object; the other user's stream sees nothing of it; a
// reconnect with Last-Event-ID is sent exactly what followed.
func TestStreamSendsTradeStatesToTheirOwnerOnly(t *testing.T) {
	e := newEnv(t, storetest.OpenPostgres(t), httpapi.RateLimits{PerIP: -1, PerUser: -1, Auth: -1}, func(d *httpapi.Deps) {
		d.Stream.Heartbeat = 200 * time.Millisecond
	})
	srv := httptest.NewServer(e.h)
	t.Cleanup(srv.Close)
	alice, bob := e.register("alice"), e.register("bob")
	e.connectPaper(&alice, "alice-password-1")
	e.connectPaper(&bob, "bob-password-1")

	aStream := openStream(t, srv, alice.token, "")
	require.Equal(t, http.StatusOK, aStream.status)
	assert.Equal(t, "text/event-stream", aStream.header.Get("Content-Type"))
	first, err := aStream.Next()
	require.NoError(t, err)
	require.True(t, first.HasID, "the first frame sets the resume point")
	assert.Positive(t, first.Retry)
	bStream := openStream(t, srv, bob.token, "")
	require.Equal(t, http.StatusOK, bStream.status)

	r := e.call("POST", "/api/v2/user/trade", alice.token,
		`{"account_id":`+strconv.FormatInt(alice.account, 10)+`,"symbol":"EURUSD-OTC","direction":"CALL","amount":1,"expiration":60}`)
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	tradeID := jsonID(t, jsonObj(t, r.JSON["trade"])["id"])

	var states []string
	var ids []int64
	for {
		f := nextEvent(t, aStream, "trade")
		tr := tradeOf(t, f)
		require.Equal(t, float64(tradeID), tr["id"])
		id, err := strconv.ParseInt(f.ID, 10, 64)
		require.NoError(t, err, "a trade event has a numeric id")
		ids = append(ids, id)
		status, _ := tr["status"].(string)
		states = append(states, status)
		if status == "won" || status == "lost" || status == "draw" {
			// The settled event is the REST object as it is now.
			got := e.call("GET", "/api/v2/user/trades/"+strconv.FormatInt(tradeID, 10), alice.token, "")
			assert.JSONEq(t, jsonText(t, got.JSON["trade"]), jsonText(t, tr))
			break
		}
	}
	assert.Equal(t, []string{"pending", "open"}, states[:2], "every state, in order")
	for i := 1; i < len(ids); i++ {
		assert.Equal(t, ids[i-1]+1, ids[i], "ids follow without gaps")
	}

	// Bob's stream carried heartbeats and nothing of alice's.
	timer := time.AfterFunc(time.Second, func() { _ = bStream.body.Close() })
	defer timer.Stop()
	for {
		f, err := bStream.Next()
		if err != nil {
			break
		}
		assert.Empty(t, f.Event, "bob received an event: %s %s", f.Event, f.Data)
	}

	// Resuming after the first event sends the rest, the same ids.
	rStream := openStream(t, srv, alice.token, "", "Last-Event-ID", strconv.FormatInt(ids[0], 10))
	require.Equal(t, http.StatusOK, rStream.status)
	for _, want := range ids[1:] {
		f := nextEvent(t, rStream, "trade", "reset")
		require.Equal(t, "trade", f.Event)
		assert.Equal(t, strconv.FormatInt(want, 10), f.ID)
	}
	// An id the log never held: reset, continuing from the head.
	gStream := openStream(t, srv, alice.token, "?last_event_id=999999")
	require.Equal(t, http.StatusOK, gStream.status)
	f := nextEvent(t, gStream, "reset", "trade")
	require.Equal(t, "reset", f.Event)
	assert.Equal(t, strconv.FormatInt(ids[len(ids)-1], 10), f.ID)
}

func jsonText(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func TestStreamRefusesBadRequests(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t), httpapi.RateLimits{PerIP: -1, PerUser: -1, Auth: -1}, withLiveMarkets, func(d *httpapi.Deps) {
		d.Stream.PerUser = 1
	})
	alice := e.register("alice")
	for _, c := range []struct{ query, field string }{
		{"?last_event_id=-1", "last_event_id"},
		{"?last_event_id=abc", "last_event_id"},
		{"?candles=paper:EURUSD-OTC", "candles"},
		{"?candles=paper:EURUSD-OTC:2m", "candles"},
		{"?candles=nobroker:EURUSD-OTC:1m", "candles"},
		{"?candles=paper:NOPE:1m", "candles"},
		{"?candles=Paper:EURUSD-OTC:1m", "candles"},
		{"?" + strings.Repeat("candles=paper:EURUSD-OTC:1m&", httpapi.MaxStreamCandles+1), "candles"},
	} {
		r := e.call("GET", "/api/v2/stream"+c.query, alice.token, "")
		assert.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", c.query, r.Raw)
		assert.Equal(t, c.field, jsonObj(t, jsonObj(t, r.JSON["error"])["details"])["field"], c.query)
	}
	r := e.call("GET", "/api/v2/stream", alice.token, "", "Last-Event-ID", "x")
	assert.Equal(t, http.StatusBadRequest, r.Status, r.Raw)

	// One stream per user here: the second is refused while the first
	// is open, and allowed once it closed.
	srv := httptest.NewServer(e.h)
	t.Cleanup(srv.Close)
	first := openStream(t, srv, alice.token, "")
	require.Equal(t, http.StatusOK, first.status)
	r = e.call("GET", "/api/v2/stream", alice.token, "")
	assert.Equal(t, http.StatusTooManyRequests, r.Status, r.Raw)
	assert.Equal(t, "too_many_streams", r.errorCode())
	_ = first.body.Close()
	require.Eventually(t, func() bool {
		s := openStream(t, srv, alice.token, "")
		defer s.body.Close()
		return s.status == http.StatusOK
	}, 10*time.Second, 50*time.Millisecond)
}

// Candle events arrive for the keys asked for, closed, with the REST
// candle's fields.
func TestStreamSendsCandlesOfTheKeysAskedFor(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t), httpapi.RateLimits{PerIP: -1, PerUser: -1, Auth: -1}, withLiveMarkets)
	srv := httptest.NewServer(e.h)
	t.Cleanup(srv.Close)
	alice := e.register("alice")
	st := openStream(t, srv, alice.token, "?candles=paper:EURUSD-OTC:1m")
	require.Equal(t, http.StatusOK, st.status)
	f := nextEvent(t, st, "candle")
	assert.False(t, f.HasID, "candles are not in the log")
	var c struct {
		Broker, Symbol, Timeframe string
		Closed                    bool
		Candle                    map[string]float64
	}
	require.NoError(t, json.Unmarshal([]byte(f.Data), &c))
	assert.Equal(t, "paper", c.Broker)
	assert.Equal(t, "EURUSD-OTC", c.Symbol)
	assert.Equal(t, "1m", c.Timeframe)
	assert.True(t, c.Closed)
	for _, k := range []string{"timestamp", "open", "high", "low", "close", "volume"} {
		assert.Contains(t, c.Candle, k)
	}
	assert.GreaterOrEqual(t, c.Candle["high"], c.Candle["low"])
}

// A client that leaves while its request is being served is not a host
// failure: no 500, no error in the log.
func TestClientThatLeftIsNotAnInternalError(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t), httpapi.RateLimits{PerIP: -1, PerUser: -1, Auth: -1})
	alice := e.register("alice")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequest(http.MethodGet, "/api/v2/user", nil).WithContext(ctx)
	req.Header.Set("Authorization", "Bearer "+alice.token)
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	assert.Less(t, rec.Code, 500, rec.Body.String())
	assert.NotContains(t, e.logs.String(), "request failed")
}
