// Package skeleton is a small, complete STC broker adapter and the
// template to copy when you integrate a broker. It logs in over HTTP,
// streams candles and order results over WebSocket, places orders
// idempotently and turns every venue error into an SDK sentinel. The venue
// it talks to is the fake in ./venue; docs/BROKERS.md walks through this
// code, and plugins/broker/iqoption is a full adapter for a real broker.
//
// Where each part of the broker.Broker contract lives:
//
//   - skeleton.go: configuration, Metadata (name, credential schema,
//     capabilities), Open and Close, the per-session state;
//   - market.go: Instruments, Candles (pages with an opaque token) and
//     SubscribeCandles, which also work on a session that was never
//     opened: the host's anonymous market-data session;
//   - orders.go: Balance, PlaceOrder (idempotent on ClientOrderID, because
//     the venue deduplicates), GetOrder and OrderResults;
//   - wire.go: the venue's HTTP and WebSocket calls, and the table that
//     turns its error codes into broker sentinels.
//
// The only goroutines the adapter starts read a stream's socket. Each ends
// when the caller's context ends, when the session closes, or when the
// socket breaks; the stream then ends and the host subscribes again.
package skeleton

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/plugin"
	"github.com/stc-trading/stc/sdk/schema"
)

// Name and Version identify the adapter. The host refuses a binary whose
// file name is not stc-broker-<Name>.
const (
	Name    = "skeleton"
	Version = "0.1.0"
)

// EnvVenueURL is the variable of the plugin's one setting, venue_url: the
// venue's base URL (plugin.SettingEnv(Name, "venue_url")).
const EnvVenueURL = "STC_SKELETON_VENUE_URL"

// Settings are the operator settings the plugin declares in GetInfo. The
// host passes a plugin only the settings it declares, so a setting missing
// here never reaches the plugin. venue_url is not Required: an installed
// but unconfigured skeleton must not stop the host from starting.
var Settings = []plugin.Setting{
	{Name: "venue_url", Type: schema.String, Description: "the venue's base URL (http or https); empty: every venue call fails with ErrUnavailable"},
}

// Config configures the adapter.
type Config struct {
	// VenueURL is the venue's base URL (http or https). When it is empty
	// the plugin still starts and answers GetInfo, and every venue call
	// fails with broker.ErrUnavailable: a host that has the plugin
	// installed but not configured starts as usual.
	VenueURL string
	// HTTPClient makes the venue calls; nil means a client with a 10 s
	// timeout.
	HTTPClient *http.Client
}

// ConfigFromEnv reads the settings the host passes the plugin process.
// Plugins inherit nothing else from the host's environment.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	s, err := plugin.LoadSettings(Name, Settings, getenv)
	if err != nil {
		return Config{}, err
	}
	cfg := Config{VenueURL: strings.TrimRight(s.String("venue_url"), "/")}
	if cfg.VenueURL != "" {
		u, err := url.Parse(cfg.VenueURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return Config{}, fmt.Errorf("%s=%q: want an http or https URL", EnvVenueURL, cfg.VenueURL)
		}
	}
	return cfg, nil
}

// Adapter is what the sessions of one plugin process share: the
// configuration and the HTTP client. Per-user state lives in the session.
type Adapter struct {
	cfg  Config
	http *http.Client
}

// New returns an adapter for cfg.
func New(cfg Config) *Adapter {
	c := cfg.HTTPClient
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	return &Adapter{cfg: cfg, http: c}
}

// Factory returns the session factory for plugin.ServeBroker and
// brokertest.Conformance. The SDK calls it once per session id the host
// opens, once for the anonymous market-data session, and once for
// Metadata at start.
func (a *Adapter) Factory() broker.Factory {
	return func() broker.Broker {
		ctx, cancel := context.WithCancel(context.Background())
		return &session{a: a, ctx: ctx, cancel: cancel}
	}
}

// metadata is static: the host fingerprints the adapter from it without
// logging in.
func metadata() broker.Metadata {
	return broker.Metadata{
		Name:        Name,
		Version:     Version,
		DisplayName: "Skeleton",
		Description: "Example adapter for the skeleton venue: the template for broker integrators",
		// The host shows "username" as the account's login (also "email",
		// "login" or "identifier") and stores Sensitive fields encrypted.
		Credentials: []schema.Field{
			{Name: "username", Type: schema.String, Required: true, Description: "Venue user name"},
			{Name: "password", Type: schema.String, Required: true, Sensitive: true, Description: "Venue password"},
		},
		Capabilities: broker.Capabilities{
			CandleStream:        true,
			OrderStream:         true,
			AnonymousMarketData: true, // the venue's market data is public
		},
	}
}

// session is one broker.Broker: one user's login at the venue or, never
// opened, the anonymous market-data session.
type session struct {
	a      *Adapter
	ctx    context.Context // ends on Close, and every stream of the session with it
	cancel context.CancelFunc
	wg     sync.WaitGroup // the session's stream readers

	mu     sync.Mutex // guards the fields below and wg.Add against Close's Wait
	token  string     // the venue's session token; empty until Open
	mode   broker.Mode
	closed bool
}

var _ broker.Broker = (*session)(nil)

// Metadata describes the adapter.
func (s *session) Metadata() broker.Metadata { return metadata() }

// Open logs in. Opening again logs in again and replaces the token, which
// is how the host renews a session.
func (s *session) Open(ctx context.Context, req broker.OpenRequest) (broker.Account, error) {
	if req.Mode != broker.Practice {
		return broker.Account{}, broker.NewError(broker.ErrUnsupported, "the venue has practice accounts only")
	}
	var login struct {
		Token string `json:"token"`
	}
	creds := map[string]string{"username": req.Credentials["username"], "password": req.Credentials["password"]}
	if err := s.a.call(ctx, http.MethodPost, "/login", "", creds, &login); err != nil {
		return broker.Account{}, err
	}
	var acct accountDTO
	if err := s.a.call(ctx, http.MethodGet, "/account", login.Token, nil, &acct); err != nil {
		return broker.Account{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return broker.Account{}, errClosed()
	}
	s.token, s.mode = login.Token, req.Mode
	return broker.Account{Balance: acct.Balance, Currency: acct.Currency, AccountRef: acct.AccountID}, nil
}

// Close ends every stream of the session, waits for their readers and
// logs out. Closing again does nothing.
func (s *session) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	token := s.token
	s.token = ""
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	if token == "" {
		return nil
	}
	// The session is closed either way; an error only says the venue may
	// keep the token until it expires.
	return s.a.call(ctx, http.MethodPost, "/logout", token, nil, nil)
}

// loggedIn returns the session's token for the account calls.
func (s *session) loggedIn() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return "", errClosed()
	case s.token == "":
		return "", broker.NewError(broker.ErrSessionNotFound, "session not open: log in first")
	}
	return s.token, nil
}

// usable reports a closed session; market data needs no login.
func (s *session) usable() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed()
	}
	return nil
}

func errClosed() error { return broker.NewError(broker.ErrSessionNotFound, "session closed") }
