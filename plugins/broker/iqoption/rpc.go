package iqoption

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/coder/websocket"

	"github.com/stc-trading/stc/sdk/broker"
)

// live waits until a socket is up.
func (c *wsClient) live(ctx context.Context) (*websocket.Conn, error) {
	for {
		c.mu.Lock()
		ws, up, dead, fatal := c.ws, c.up, c.dead, c.fatal
		c.mu.Unlock()
		if fatal != nil {
			return nil, fmt.Errorf("%w: %w", errNotSent, fatal)
		}
		if ws != nil {
			return ws, nil
		}
		select {
		case <-up:
		case <-dead:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %w: not connected: %w", errNotSent, broker.ErrUnavailable, ctx.Err())
		}
	}
}

// send sends a sendMessage request and returns its typed answer.
func (c *wsClient) send(ctx context.Context, name, version string, body any) (frame, error) {
	if body == nil {
		body = map[string]any{}
	}
	return c.call(ctx, "sendMessage", rpc{Name: name, Version: version, Body: body}, false)
}

// call sends one request and waits for its answer: a failed result frame
// or a status ≥ 4000 answer is an *apiError; resultOnly requests end at
// their result frame. Errors wrapping errNotSent mean the request never
// left; any other error after sending leaves the outcome unknown.
func (c *wsClient) call(ctx context.Context, name string, msg any, resultOnly bool) (frame, error) {
	ctx, cancel := context.WithTimeout(ctx, answerWithin(ctx, c.cfg.RequestTimeout))
	defer cancel()
	ws, err := c.live(ctx)
	if err != nil {
		return frame{}, err
	}
	id := c.nextID()
	p := &pending{ch: make(chan frame, 4), resultOnly: resultOnly}
	c.mu.Lock()
	if c.ws != ws {
		c.mu.Unlock()
		return frame{}, fmt.Errorf("%w: %w: reconnecting", errNotSent, broker.ErrUnavailable)
	}
	c.pending[id] = p
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		if c.pending[id] == p {
			delete(c.pending, id)
		}
		c.mu.Unlock()
	}()
	if err := writeJSON(ctx, ws, outFrame{Name: name, RequestID: id, Msg: msg}); err != nil {
		return frame{}, fmt.Errorf("%w: %w: %w", errConnLost, broker.ErrUnavailable, err)
	}
	for {
		select {
		case f, ok := <-p.ch:
			if !ok {
				return frame{}, fmt.Errorf("%w: %w", errConnLost, broker.ErrUnavailable)
			}
			if f.isResult() {
				var r resultMsg
				_ = json.Unmarshal(f.Msg, &r)
				if !r.Success {
					return frame{}, &apiError{Name: name, Message: string(r.Reason)}
				}
				if resultOnly {
					return f, nil
				}
				continue
			}
			if f.Status >= 4000 {
				var m errorMsg
				_ = json.Unmarshal(f.Msg, &m)
				return frame{}, &apiError{Status: int(f.Status), Name: f.Name, Message: string(m.Message), Level: m.Level}
			}
			return f, nil
		case <-ctx.Done():
			return frame{}, fmt.Errorf("%w: %w: no answer to %s: %w", errConnLost, broker.ErrUnavailable, name, ctx.Err())
		}
	}
}

// subscribe registers sub (re-sent after every reconnect) and sends it.
func (c *wsClient) subscribe(ctx context.Context, sub subscription) error {
	c.mu.Lock()
	c.subs[sub.key()] = sub
	c.mu.Unlock()
	_, err := c.call(ctx, "subscribeMessage", sub, true)
	return err
}

// unsubscribe forgets sub and tells the server, best effort.
func (c *wsClient) unsubscribe(ctx context.Context, sub subscription) {
	c.mu.Lock()
	delete(c.subs, sub.key())
	c.mu.Unlock()
	_, _ = c.call(ctx, "unsubscribeMessage", sub, true)
}

// resubscribe re-sends every wanted subscription on a fresh socket.
func (c *wsClient) resubscribe(ctx context.Context) {
	c.mu.Lock()
	subs := make([]subscription, 0, len(c.subs))
	for _, s := range c.subs {
		subs = append(subs, s)
	}
	c.mu.Unlock()
	for _, s := range subs {
		if ctx.Err() != nil {
			return // the socket is gone again; the next reconnect re-sends
		}
		if _, err := c.call(ctx, "subscribeMessage", s, true); err != nil {
			c.log.Warn("re-subscribe failed", "subscription", s.Name, "error", err)
		}
	}
}

// deadErr returns the terminal error, if the client gave up.
func (c *wsClient) deadErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fatal
}

// answerWithin is how long a request may wait for its answer: timeout, or
// less when the caller's deadline comes sooner, ending a margin before it
// (a tenth of the time left, at most a second) so that a lost answer is
// reported as this adapter's ErrUnavailable rather than as the caller's
// own timeout: the host counts those against the whole plugin process,
// which serves every user.
func answerWithin(ctx context.Context, timeout time.Duration) time.Duration {
	dl, ok := ctx.Deadline()
	if !ok {
		return timeout
	}
	left := time.Until(dl)
	return min(timeout, left-min(left/10, time.Second))
}
