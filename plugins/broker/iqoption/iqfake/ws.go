package iqfake

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// sendQueue is the outbound buffer of one connection; a client that falls
// this far behind is disconnected, as a real server would.
const sendQueue = 4096

// wsConn is one client socket.
type wsConn struct {
	s        *Server
	ws       *websocket.Conn
	out      chan []byte
	quit     chan struct{}
	quitOnce sync.Once

	// guarded by s.mu
	u           *user
	sendResults bool
	subs        []*sub
}

// sub is one subscription of a connection.
type sub struct {
	name    string
	filters map[string]string
	last    int64 // candle subscriptions: open time of the forming candle last pushed
}

func (c *wsConn) kill() { c.quitOnce.Do(func() { close(c.quit) }) }

// closeSoon closes the socket shortly after its last queued frames went
// out, as the real server does after authenticated:false.
func (c *wsConn) closeSoon() {
	s := c.s
	s.mu.Lock()
	if s.ctx.Err() != nil {
		s.mu.Unlock()
		c.kill()
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		t := time.NewTimer(50 * time.Millisecond)
		defer t.Stop()
		select {
		case <-t.C:
		case <-s.ctx.Done():
		}
		c.kill()
	}()
}

// enqueue queues a frame without blocking; a full queue drops the client.
func (c *wsConn) enqueue(b []byte) {
	select {
	case <-c.quit:
		return
	default:
	}
	select {
	case c.out <- b:
	case <-c.quit:
	default:
		c.kill()
	}
}

// subscribedLocked reports whether c has a subscription called name whose
// filters all agree with have (missing filters match anything).
func (c *wsConn) subscribedLocked(name string, have map[string]string) bool {
	for _, sb := range c.subs {
		if canon(sb.name) != name {
			continue
		}
		ok := true
		for k, v := range sb.filters {
			if hv, known := have[k]; known && hv != v {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// canon drops a service prefix: "portfolio.position-changed" and
// "position-changed" are the same subscription.
func canon(name string) string {
	if i := strings.IndexByte(name, '.'); i >= 0 {
		return name[i+1:]
	}
	return name
}

func (s *Server) handleWS(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	refuse := s.faults.RefuseWS
	s.mu.Unlock()
	if refuse {
		http.Error(w, "service unavailable", http.StatusServiceUnavailable)
		return
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	ws.SetReadLimit(1 << 20)
	c := &wsConn{s: s, ws: ws, out: make(chan []byte, sendQueue), quit: make(chan struct{})}
	s.mu.Lock()
	if s.ctx.Err() != nil {
		s.mu.Unlock()
		_ = ws.CloseNow()
		return
	}
	s.conns[c] = struct{}{}
	s.wg.Add(2) // this handler and its writer: Close waits for both
	s.mu.Unlock()
	defer s.wg.Done()
	go func() { defer s.wg.Done(); c.writeLoop() }()
	c.readLoop()
	c.kill()
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

func (c *wsConn) writeLoop() {
	defer func() { _ = c.ws.CloseNow() }()
	for {
		select {
		case <-c.quit:
			return
		case b := <-c.out:
			select {
			case <-c.quit:
				return // killed: what is still queued is lost, as on a dropped socket
			default:
			}
			ctx, cancel := context.WithTimeout(c.s.ctx, 10*time.Second)
			err := c.ws.Write(ctx, websocket.MessageText, b)
			cancel()
			if err != nil {
				c.kill()
				return
			}
		}
	}
}

func (c *wsConn) readLoop() {
	ctx, cancel := context.WithCancel(c.s.ctx)
	defer cancel()
	go func() {
		select {
		case <-c.quit:
			cancel()
		case <-ctx.Done():
		}
	}()
	for {
		_, data, err := c.ws.Read(ctx)
		if err != nil {
			return
		}
		c.handle(data)
	}
}

// inFrame is a client frame.
type inFrame struct {
	Name      string          `json:"name"`
	RequestID json.RawMessage `json:"request_id"`
	Msg       json.RawMessage `json:"msg"`
}

func (f inFrame) id() string {
	var s string
	if err := json.Unmarshal(f.RequestID, &s); err == nil {
		return s
	}
	return string(bytes.Trim(f.RequestID, `"`))
}

// reply is one answer frame: {"request_id","name","msg","status"}.
func reply(id, name string, msg any, status int) []byte {
	b, _ := json.Marshal(struct {
		RequestID string `json:"request_id"`
		Name      string `json:"name"`
		Msg       any    `json:"msg"`
		Status    int    `json:"status"`
	}{id, name, msg, status})
	return b
}

func errReply(id, name string, status int, message string) []byte {
	return reply(id, name, map[string]any{"message": message, "result": map[string]any{}}, status)
}

func resultFrame(id string, success bool) []byte {
	return []byte(`{"name":"result","request_id":` + quote(id) + `,"msg":{"success":` + map[bool]string{true: "true", false: "false"}[success] + `}}`)
}

func (c *wsConn) handle(data []byte) {
	var f inFrame
	if err := json.Unmarshal(data, &f); err != nil {
		return
	}
	id := f.id()
	s := c.s
	switch f.Name {
	case "authenticate", "ssid":
		c.authenticate(f, id)
		return
	case "heartbeat":
		s.mu.Lock()
		s.stats.Heartbeats++
		s.mu.Unlock()
		return
	}
	s.mu.Lock()
	authed := c.u != nil
	s.mu.Unlock()
	if !authed {
		c.enqueue(errReply(id, f.Name, 4001, "unauthenticated"))
		return
	}
	switch f.Name {
	case "setOptions":
		var o struct {
			SendResults bool `json:"sendResults"`
		}
		_ = json.Unmarshal(f.Msg, &o)
		s.mu.Lock()
		c.sendResults = o.SendResults
		s.mu.Unlock()
		c.enqueue(resultFrame(id, true))
	case "subscribeMessage", "unsubscribeMessage":
		c.subscription(f, id, f.Name == "subscribeMessage")
	case "sendMessage":
		c.sendMessage(f, id)
	default:
		c.enqueue(errReply(id, f.Name, 4000, "invalid request"))
	}
}

// authenticate answers authenticated true (then front and timeSync), or
// false without request_id and closes, like the real server.
func (c *wsConn) authenticate(f inFrame, id string) {
	s := c.s
	var ssid string
	if f.Name == "ssid" {
		_ = json.Unmarshal(f.Msg, &ssid)
	} else {
		var m struct {
			SSID string `json:"ssid"`
		}
		_ = json.Unmarshal(f.Msg, &m)
		ssid = m.SSID
	}
	s.mu.Lock()
	s.stats.Authentications++
	u := s.ssids[ssid]
	if s.faults.RejectAuth {
		u = nil
	}
	c.u = u
	now := s.nowMS
	session := s.tokenLocked("client-session")
	s.mu.Unlock()
	if u == nil {
		if f.Name == "ssid" {
			c.enqueue([]byte(`{"name":"profile","msg":false}`))
		} else {
			c.enqueue([]byte(`{"name":"authenticated","msg":false}`))
		}
		c.closeSoon()
		return
	}
	if f.Name == "ssid" {
		c.enqueue([]byte(`{"name":"profile","msg":` + string(s.profileJSON(u)) + `}`))
	} else {
		c.enqueue([]byte(`{"name":"authenticated","msg":true,"client_session_id":` + quote(session) + `,"request_id":` + quote(id) + `}`))
	}
	c.enqueue([]byte(`{"name":"front","msg":"ws20a.ws.prod.fake.iqfake","session_id":"1411` + itoa(now%1000000) + `"}`))
	c.enqueue([]byte(`{"name":"timeSync","msg":` + itoa(now) + `}`))
}

func (c *wsConn) subscription(f inFrame, id string, on bool) {
	var m struct {
		Name   string `json:"name"`
		Params struct {
			RoutingFilters map[string]json.RawMessage `json:"routingFilters"`
		} `json:"params"`
	}
	_ = json.Unmarshal(f.Msg, &m)
	filters := map[string]string{}
	for k, v := range m.Params.RoutingFilters {
		filters[k] = string(bytes.Trim(v, `"`))
	}
	s := c.s
	s.mu.Lock()
	if on {
		s.stats.Subscribes++
		sb := &sub{name: m.Name, filters: filters}
		if size, _ := strconv.ParseInt(filters["size"], 10, 64); size > 0 {
			now := s.nowMS / 1000
			sb.last = now - now%size // the forming candle is pushed closed when it ends
		}
		c.subs = append(c.subs, sb)
	} else {
		for i, sb := range c.subs {
			if sb.name == m.Name && equalFilters(sb.filters, filters) {
				c.subs = append(c.subs[:i], c.subs[i+1:]...)
				break
			}
		}
	}
	results := c.sendResults
	s.mu.Unlock()
	if results {
		c.enqueue(resultFrame(id, true))
	}
}

func equalFilters(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
