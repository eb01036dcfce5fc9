package iqoption

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/coder/websocket"
	"github.com/hashicorp/go-hclog"

	"github.com/stc-trading/stc/sdk/broker"
)

// maxFrameBytes bounds one WebSocket message; initialization data of the
// full catalogue is the largest (a few MB).
const maxFrameBytes = 32 << 20

var (
	// errConnLost: the socket closed while a request was in flight, so
	// its outcome is unknown.
	errConnLost = errors.New("iqoption: connection lost")
	// errNotSent: the request never left the process; safe to report as
	// not done.
	errNotSent = errors.New("iqoption: request not sent")
	// errAuthRejected: the server answered authenticated:false.
	errAuthRejected = errors.New("iqoption: ssid rejected")
)

// apiError is a status ≥ 4000 answer, or a result frame with success false.
type apiError struct {
	Status  int    // 0 for a failed result frame
	Name    string // the answer's name, e.g. "option"
	Message string // the server's text; may be localised
	Level   string // e.g. INVALID_SCHEMA
}

// Error implements error.
func (e *apiError) Error() string {
	return fmt.Sprintf("iqoption: %s: status %d: %s", e.Name, e.Status, e.Message)
}

// pushHandler receives a push. It runs on the read loop and must not block.
type pushHandler func(frame)

// pending is one request waiting for its answer.
type pending struct {
	ch         chan frame // closed when the connection drops
	resultOnly bool
}

// wsClient is one authenticated WebSocket session: it owns the socket, the
// read loop, the timeSync watchdog and the reconnect loop, correlates
// answers by request_id and routes pushes by microserviceName+name.
type wsClient struct {
	cfg         Config
	ssid        string
	log         hclog.Logger
	routes      map[string]pushHandler        // "service,name"; ",name" matches any service; immutable
	onReconnect func(context.Context, func()) // run by the supervisor after each reconnect; must call its func (re-subscribe)

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when the supervisor returned

	ids        atomic.Uint64
	serverMS   atomic.Int64 // last timeSync, Unix milliseconds
	lastSync   atomic.Int64 // wall Unix nanoseconds of the last timeSync (or connect)
	reconnects atomic.Int64 // successful reconnects
	trips      atomic.Int64 // watchdog-forced disconnects

	mu      sync.Mutex
	ws      *websocket.Conn // nil while disconnected
	up      chan struct{}   // closed while connected
	dead    chan struct{}   // closed when the client gave up for good
	fatal   error
	pending map[string]*pending
	subs    map[string]subscription // wanted subscriptions, re-sent on reconnect
}

// dialClient connects and authenticates once, synchronously, then keeps
// the session up in the background until ctx ends or Close.
func dialClient(ctx context.Context, cfg Config, ssid string, log hclog.Logger, routes map[string]pushHandler, onReconnect func(context.Context, func())) (*wsClient, error) {
	c := &wsClient{
		cfg: cfg, ssid: ssid, log: log, routes: routes, onReconnect: onReconnect,
		up: make(chan struct{}), dead: make(chan struct{}), done: make(chan struct{}),
		pending: map[string]*pending{}, subs: map[string]subscription{},
	}
	ws, err := c.connectOnce(ctx)
	if err != nil {
		if errors.Is(err, errAuthRejected) {
			return nil, broker.NewError(broker.ErrAuthFailed, "the server rejected the session id")
		}
		return nil, err
	}
	c.ctx, c.cancel = context.WithCancel(context.Background()) //nolint:contextcheck // the session outlives the Open call
	go c.supervise(ws)
	return c, nil
}

// close ends the session and waits for every goroutine of the client.
func (c *wsClient) close() {
	c.cancel()
	<-c.done
}

// connectOnce dials, authenticates (protocol 3) and asks for result frames.
func (c *wsClient) connectOnce(ctx context.Context) (*websocket.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, c.cfg.DialTimeout)
	defer cancel()
	h := http.Header{}
	h.Set("Cookie", "platform="+strconv.Itoa(c.cfg.PlatformID))
	h.Set("User-Agent", "stc-broker-iqoption/"+Version)
	ws, _, err := websocket.Dial(dctx, c.cfg.WSURL, &websocket.DialOptions{HTTPHeader: h, HTTPClient: c.cfg.HTTPClient}) //nolint:bodyclose // the library owns the handshake body
	if err != nil {
		return nil, broker.NewError(broker.ErrUnavailable, "dial %s: %v", c.cfg.WSURL, err)
	}
	ws.SetReadLimit(maxFrameBytes)
	fail := func(err error) (*websocket.Conn, error) {
		_ = ws.CloseNow()
		return nil, err
	}
	authID := c.nextID()
	auth := outFrame{Name: "authenticate", RequestID: authID, Msg: map[string]any{
		"ssid": c.ssid, "protocol": 3, "session_id": "", "client_session_id": "",
	}}
	if err := writeJSON(dctx, ws, auth); err != nil {
		return fail(broker.NewError(broker.ErrUnavailable, "authenticate: %v", err))
	}
	ok, err := c.awaitHandshake(dctx, ws, func(f frame) (bool, bool) {
		switch f.Name {
		case "authenticated":
			var v flexBool
			_ = json.Unmarshal(f.Msg, &v)
			return true, bool(v)
		case "profile": // the legacy answer: false, or the profile itself
			var v bool
			if json.Unmarshal(f.Msg, &v) == nil {
				return true, v
			}
			return true, len(f.Msg) > 0 && f.Msg[0] == '{'
		}
		return false, false
	})
	if err != nil {
		return fail(err)
	}
	if !ok {
		return fail(errAuthRejected)
	}
	optID := c.nextID()
	if err := writeJSON(dctx, ws, outFrame{Name: "setOptions", RequestID: optID, Msg: map[string]any{"sendResults": true}}); err != nil {
		return fail(broker.NewError(broker.ErrUnavailable, "setOptions: %v", err))
	}
	// The result of setOptions is not waited for: requests work with or
	// without result frames, and it arrives (and is dropped) like any
	// unmatched answer.
	c.lastSync.Store(time.Now().UnixNano())
	return ws, nil
}

// awaitHandshake reads frames until match says done, recording timeSync
// and skipping front/heartbeat and other pushes on the way.
func (c *wsClient) awaitHandshake(ctx context.Context, ws *websocket.Conn, match func(frame) (done, ok bool)) (bool, error) {
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			return false, broker.NewError(broker.ErrUnavailable, "handshake: %v", err)
		}
		f, err := decodeFrame(data)
		if err != nil {
			continue
		}
		if f.Name == "timeSync" {
			c.noteTimeSync(f)
			continue
		}
		if done, ok := match(f); done {
			return ok, nil
		}
	}
}

func (c *wsClient) nextID() string { return strconv.FormatUint(c.ids.Add(1), 10) }

func writeJSON(ctx context.Context, ws *websocket.Conn, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("iqoption: encode frame: %w", err)
	}
	if err := ws.Write(ctx, websocket.MessageText, b); err != nil {
		return fmt.Errorf("iqoption: write: %w", err)
	}
	return nil
}

// supervise serves ws, then reconnects with jittered exponential backoff
// until the client is closed or authentication fails for good.
func (c *wsClient) supervise(ws *websocket.Conn) {
	defer close(c.done)
	reconnected := false
	for {
		connCtx, stop := context.WithCancel(c.ctx)
		c.install(ws)
		readDone := make(chan struct{})
		// The read loop's end cancels connCtx, so the re-subscription and
		// recovery below, which run on this goroutine, stop at once instead
		// of waiting for a reconnect only this goroutine can make.
		go func() { defer close(readDone); defer stop(); c.readLoop(connCtx, ws) }()
		var wd sync.WaitGroup
		wd.Add(1)
		go func() { defer wd.Done(); c.watchdog(connCtx, ws) }()
		if reconnected {
			resubscribe := func() { c.resubscribe(connCtx) }
			if c.onReconnect != nil {
				c.safely("reconnect recovery", func() { c.onReconnect(connCtx, resubscribe) })
			} else {
				resubscribe()
			}
		}
		<-readDone
		stop()
		wd.Wait()
		_ = ws.CloseNow()
		if c.ctx.Err() != nil {
			c.giveUp(broker.NewError(broker.ErrSessionNotFound, "session closed"))
			return
		}
		if ws = c.reconnect(); ws == nil {
			return
		}
		c.reconnects.Add(1)
		reconnected = true
	}
}

// install makes ws the live socket.
func (c *wsClient) install(ws *websocket.Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ws = ws
	close(c.up)
}

// uninstall fails every in-flight request with errConnLost.
func (c *wsClient) uninstall() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ws == nil {
		return
	}
	c.ws = nil
	c.up = make(chan struct{})
	for id, p := range c.pending {
		close(p.ch)
		delete(c.pending, id)
	}
}

// giveUp marks the client dead with err.
func (c *wsClient) giveUp(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fatal == nil {
		c.fatal = err
		close(c.dead)
	}
}

// reconnect dials until it succeeds; nil when closed or auth failed for
// good (the client is then dead).
func (c *wsClient) reconnect() *websocket.Conn {
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval = c.cfg.BackoffInitial
	bo.MaxInterval = c.cfg.BackoffMax
	bo.Multiplier = 2
	bo.RandomizationFactor = 0.5
	bo.Reset()
	authFails := 0
	for {
		t := time.NewTimer(bo.NextBackOff())
		select {
		case <-c.ctx.Done():
			t.Stop()
			c.giveUp(broker.NewError(broker.ErrSessionNotFound, "session closed"))
			return nil
		case <-t.C:
		}
		ws, err := c.connectOnce(c.ctx)
		if err == nil {
			c.log.Info("reconnected")
			return ws
		}
		if errors.Is(err, errAuthRejected) {
			authFails++
			if authFails >= c.cfg.MaxAuthFailures {
				c.log.Error("session id rejected repeatedly; giving up", "attempts", authFails)
				c.giveUp(broker.NewError(broker.ErrAuthFailed, "the server rejected the session id %d times in a row; log in again", authFails))
				return nil
			}
		}
		c.log.Debug("reconnect failed", "error", err)
	}
}

// readLoop reads and dispatches frames until the socket fails.
func (c *wsClient) readLoop(ctx context.Context, ws *websocket.Conn) {
	defer c.uninstall()
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			if ctx.Err() == nil {
				c.log.Warn("connection lost", "error", err)
			}
			return
		}
		c.safely("dispatch", func() { c.dispatch(ctx, ws, data) })
	}
}

// safely runs f, turning a panic into a logged error: the process serves
// many users' sessions, and one malformed frame must not end them all.
func (c *wsClient) safely(what string, f func()) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("recovered panic", "in", what, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	f()
}

// watchdog drops the socket when no timeSync arrived for TimeSyncTimeout.
func (c *wsClient) watchdog(ctx context.Context, ws *websocket.Conn) {
	t := time.NewTicker(c.cfg.WatchdogInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			age := time.Since(time.Unix(0, c.lastSync.Load()))
			if age > c.cfg.TimeSyncTimeout {
				c.log.Warn("no timeSync; reconnecting", "silent_for", age.Round(time.Millisecond).String())
				c.trips.Add(1)
				_ = ws.Close(websocket.StatusGoingAway, "no timeSync")
				_ = ws.CloseNow()
				return
			}
		}
	}
}

// noteTimeSync records the server clock.
func (c *wsClient) noteTimeSync(f frame) {
	var ms flexInt
	if err := json.Unmarshal(f.Msg, &ms); err == nil && ms > 0 {
		c.serverMS.Store(int64(ms))
		c.lastSync.Store(time.Now().UnixNano())
	}
}

// serverTime is the last timeSync; ok is false before the first one.
func (c *wsClient) serverTime() (time.Time, bool) {
	ms := c.serverMS.Load()
	if ms <= 0 {
		return time.Time{}, false
	}
	return time.UnixMilli(ms).UTC(), true
}

// dispatch routes one frame: answers by request_id, then pushes by
// service and name. Unknown frames are dropped.
func (c *wsClient) dispatch(ctx context.Context, ws *websocket.Conn, data []byte) {
	f, err := decodeFrame(data)
	if err != nil {
		c.log.Debug("dropping undecodable frame", "error", err, "bytes", len(data))
		return
	}
	switch f.Name {
	case "timeSync":
		c.noteTimeSync(f)
		return
	case "heartbeat":
		if f.RequestID == "" && c.cfg.HeartbeatReply {
			c.replyHeartbeat(ctx, ws, f)
		}
		return
	}
	if id := string(f.RequestID); id != "" {
		c.mu.Lock()
		p := c.pending[id]
		if p != nil {
			select {
			case p.ch <- f:
			default: // more frames than a request can have: drop
			}
		}
		c.mu.Unlock()
		if p != nil {
			return
		}
	}
	if h := c.routes[f.MicroserviceName+","+f.Name]; h != nil {
		h(f)
	} else if h := c.routes[","+f.Name]; h != nil {
		h(f)
	}
}

func (c *wsClient) replyHeartbeat(ctx context.Context, ws *websocket.Conn, f frame) {
	var at flexInt
	_ = json.Unmarshal(f.Msg, &at)
	wctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	_ = writeJSON(wctx, ws, outFrame{Name: "heartbeat", RequestID: c.nextID(), Msg: map[string]string{
		"userTime": strconv.FormatInt(time.Now().UnixMilli(), 10), "heartbeatTime": strconv.FormatInt(int64(at), 10),
	}})
}
