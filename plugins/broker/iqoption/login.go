package iqoption

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/stc-trading/stc/sdk/broker"
)

// loginAnswer is every documented body of /api/v2/login and
// /api/v2/verify/2fa, v2 and legacy v1.0 shapes together.
type loginAnswer struct {
	Code    string     `json:"code"`
	SSID    string     `json:"ssid"`
	Token   string     `json:"token"`
	Method  string     `json:"method"`
	Message flexString `json:"message"`
	Data    struct {
		TTL flexInt `json:"ttl"`
	} `json:"data"`
	Errors []struct {
		Code  flexInt    `json:"code"`
		Title flexString `json:"title"`
	} `json:"errors"`
}

func (a loginAnswer) text() string {
	if a.Message != "" {
		return string(a.Message)
	}
	for _, e := range a.Errors {
		if e.Title != "" {
			return string(e.Title)
		}
	}
	return a.Code
}

// maxLoginBody bounds a login answer.
const maxLoginBody = 1 << 20

// postJSON posts body to url and decodes the answer, whatever the status.
func postJSON(ctx context.Context, cfg Config, url string, body any) (int, loginAnswer, []*http.Cookie, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.RequestTimeout)
	defer cancel()
	b, err := json.Marshal(body)
	if err != nil {
		return 0, loginAnswer{}, nil, fmt.Errorf("iqoption: encode login: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return 0, loginAnswer{}, nil, fmt.Errorf("iqoption: login request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "stc-broker-iqoption/"+Version)
	resp, err := cfg.HTTPClient.Do(req)
	if err != nil {
		return 0, loginAnswer{}, nil, broker.NewError(broker.ErrUnavailable, "login: %v", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxLoginBody))
	if err != nil {
		return 0, loginAnswer{}, nil, broker.NewError(broker.ErrUnavailable, "login: read answer: %v", err)
	}
	var a loginAnswer
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &a); err != nil && resp.StatusCode < 500 {
			return resp.StatusCode, loginAnswer{}, nil, broker.NewError(broker.ErrUnavailable, "login: HTTP %d with an unreadable body", resp.StatusCode)
		}
	}
	return resp.StatusCode, a, resp.Cookies(), nil
}

// classifyLogin turns a non-success login or verify answer into a broker
// error; it returns nil for success and for a second-factor challenge.
func classifyLogin(status int, a loginAnswer) error {
	limited := status == http.StatusTooManyRequests
	for _, e := range a.Errors {
		if e.Code == 301 {
			limited = true
		}
	}
	if limited {
		ttl := time.Duration(a.Data.TTL) * time.Second
		return broker.RateLimited(ttl, "login limit exceeded (%s)", a.text())
	}
	switch {
	case status == http.StatusOK && a.Code == "success":
		return nil
	case a.Code == "verify":
		return nil
	case status >= 500:
		return broker.NewError(broker.ErrUnavailable, "login: HTTP %d: %s", status, a.text())
	}
	return broker.NewError(broker.ErrAuthFailed, "%s", a.text())
}

// challenge is a second-factor login waiting for its code.
type challenge struct {
	token   string // the token the code is verified against
	method  string
	created time.Time
}

// challengeTTL is how long a sent code is waited for.
const challengeTTL = 10 * time.Minute

// challenges holds pending second-factor logins by identifier, shared by
// the sessions of one Adapter: the host re-opens with the code on a fresh
// session value.
type challenges struct {
	mu sync.Mutex
	m  map[string]challenge
}

func (c *challenges) take(id string) (challenge, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch, ok := c.m[id]
	if ok && time.Since(ch.created) > challengeTTL {
		delete(c.m, id)
		return challenge{}, false
	}
	return ch, ok
}

func (c *challenges) put(id string, ch challenge) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, v := range c.m {
		if time.Since(v.created) > challengeTTL {
			delete(c.m, k)
		}
	}
	c.m[id] = ch
}

func (c *challenges) drop(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
}

// login runs the HTTP login, including the SMS second factor, and returns
// the ssid. Without code a 2FA account gets a code sent and
// ErrSecondFactorRequired; with code the pending challenge is verified and
// the login re-posted with the resulting token.
func (a *Adapter) login(ctx context.Context, identifier, password, code string) (string, error) {
	token := ""
	if code != "" {
		if ch, ok := a.pending.take(identifier); ok {
			status, ans, _, err := postJSON(ctx, a.cfg, a.cfg.VerifyURL, map[string]string{"code": code, "token": ch.token})
			if err != nil {
				return "", err
			}
			if status != http.StatusOK || ans.Code != "success" || ans.Token == "" {
				if err := classifyLogin(status, ans); errors.Is(err, broker.ErrRateLimited) || errors.Is(err, broker.ErrUnavailable) {
					return "", err
				}
				return "", broker.NewError(broker.ErrAuthFailed, "second-factor code rejected: %s", ans.text())
			}
			a.pending.drop(identifier)
			token = ans.Token
		}
	}
	body := map[string]string{"identifier": identifier, "password": password}
	if token != "" {
		body["token"] = token
	}
	status, ans, cookies, err := postJSON(ctx, a.cfg, a.cfg.AuthURL, body)
	if err != nil {
		return "", err
	}
	if err := classifyLogin(status, ans); err != nil {
		return "", err
	}
	if ans.Code == "verify" {
		return "", a.startChallenge(ctx, identifier, ans, code != "")
	}
	ssid := ans.SSID
	if ssid == "" {
		for _, c := range cookies {
			if c.Name == "ssid" {
				ssid = c.Value
			}
		}
	}
	if ssid == "" {
		return "", broker.NewError(broker.ErrUnavailable, "login succeeded without an ssid")
	}
	return ssid, nil
}

// startChallenge asks the server to send the code by SMS (push approval
// cannot be completed by a program) and remembers the token to verify it
// against.
func (a *Adapter) startChallenge(ctx context.Context, identifier string, ans loginAnswer, hadCode bool) error {
	status, sent, _, err := postJSON(ctx, a.cfg, a.cfg.VerifyURL, map[string]string{"method": "sms", "token": ans.Token})
	if err != nil {
		return err
	}
	if status != http.StatusOK || sent.Token == "" {
		if err := classifyLogin(status, sent); errors.Is(err, broker.ErrRateLimited) || errors.Is(err, broker.ErrUnavailable) {
			return err
		}
		return broker.NewError(broker.ErrUnsupported, "second factor by %q cannot be completed: %s", ans.Method, sent.text())
	}
	a.pending.put(identifier, challenge{token: sent.Token, method: "sms", created: time.Now()})
	msg := "a code was sent by SMS; open again with it in the code credential"
	if hadCode {
		msg = "no code was pending for this login, so a new one was sent by SMS; open again with it"
	}
	if strings.TrimSpace(ans.Method) != "" && ans.Method != "sms" {
		msg += fmt.Sprintf(" (the account's method %q was switched to sms)", ans.Method)
	}
	return broker.NewError(broker.ErrSecondFactorRequired, "%s", msg)
}
