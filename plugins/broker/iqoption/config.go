package iqoption

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults of Config.
const (
	DefaultAuthURL          = "https://auth.iqoption.com/api/v2/login"
	DefaultWSURL            = "wss://ws.iqoption.com/echo/websocket"
	DefaultRequestTimeout   = 15 * time.Second
	DefaultDialTimeout      = 15 * time.Second
	DefaultTimeSyncTimeout  = 60 * time.Second
	DefaultWatchdogInterval = 10 * time.Second
	DefaultBackoffInitial   = 100 * time.Millisecond
	DefaultBackoffMax       = 10 * time.Second
	DefaultCatalogTTL       = 5 * time.Minute
	DefaultPlatformID       = 82
	DefaultMaxAuthFailures  = 5
)

// Config configures the adapter. ConfigFromEnv builds it from the STC_IQOPTION_*
// variables; the zero value of every field means its default.
type Config struct {
	// AuthURL is the HTTP login endpoint (POST identifier/password → ssid).
	AuthURL string
	// VerifyURL is the second-factor endpoint; empty derives it from
	// AuthURL by replacing the trailing /login with /verify/2fa.
	VerifyURL string
	// WSURL is the WebSocket endpoint.
	WSURL string
	// RequestTimeout bounds one request/response exchange (HTTP login or a
	// WebSocket sendMessage) when the caller's context has no earlier
	// deadline.
	RequestTimeout time.Duration
	// DialTimeout bounds one WebSocket dial plus authentication.
	DialTimeout time.Duration
	// TimeSyncTimeout is how long the socket may go without a timeSync
	// push before the adapter drops it and reconnects (the vendor SDK's 60 s).
	TimeSyncTimeout time.Duration
	// WatchdogInterval is how often the timeSync age is checked (10 s).
	WatchdogInterval time.Duration
	// BackoffInitial and BackoffMax shape the jittered exponential
	// reconnect delay (100 ms doubling to 10 s, like the vendor SDK).
	BackoffInitial, BackoffMax time.Duration
	// MaxAuthFailures consecutive rejected re-authentications end the
	// session (the vendor SDK's terminal AuthenticationFailed after 5).
	MaxAuthFailures int
	// CatalogTTL is how long the actives catalogue is reused before
	// Instruments fetches it again.
	CatalogTTL time.Duration
	// PlatformID is sent as the platform cookie (82 = web).
	PlatformID int
	// HeartbeatReply answers the server's heartbeat pushes. The vendor SDK
	// never does; the web client does.
	HeartbeatReply bool
	// DataDir, when set, holds one order journal per account, which makes
	// PlaceOrder idempotent across plugin restarts (see journal.go). Empty
	// keeps orders in memory only: idempotent within the process.
	DataDir string
	// HTTPClient performs the login requests; nil means a client with
	// RequestTimeout.
	HTTPClient *http.Client
}

// ConfigFromEnv reads STC_IQOPTION_AUTH_URL, STC_IQOPTION_VERIFY_URL,
// STC_IQOPTION_WS_URL, STC_IQOPTION_DATA_DIR, STC_IQOPTION_REQUEST_TIMEOUT,
// STC_IQOPTION_DIAL_TIMEOUT, STC_IQOPTION_TIMESYNC_TIMEOUT,
// STC_IQOPTION_CATALOG_TTL and STC_IQOPTION_HEARTBEAT_REPLY through getenv
// and applies the defaults. Values that do not parse are errors, never
// silently replaced.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{
		AuthURL:        strings.TrimSpace(getenv("STC_IQOPTION_AUTH_URL")),
		VerifyURL:      strings.TrimSpace(getenv("STC_IQOPTION_VERIFY_URL")),
		WSURL:          strings.TrimSpace(getenv("STC_IQOPTION_WS_URL")),
		DataDir:        strings.TrimSpace(getenv("STC_IQOPTION_DATA_DIR")),
		HeartbeatReply: true,
	}
	var errs []error
	durations := []struct {
		name string
		dst  *time.Duration
	}{
		{"STC_IQOPTION_REQUEST_TIMEOUT", &cfg.RequestTimeout},
		{"STC_IQOPTION_DIAL_TIMEOUT", &cfg.DialTimeout},
		{"STC_IQOPTION_TIMESYNC_TIMEOUT", &cfg.TimeSyncTimeout},
		{"STC_IQOPTION_CATALOG_TTL", &cfg.CatalogTTL},
	}
	for _, d := range durations {
		v := strings.TrimSpace(getenv(d.name))
		if v == "" {
			continue
		}
		x, err := time.ParseDuration(v)
		if err != nil || x <= 0 {
			errs = append(errs, fmt.Errorf("iqoption: %s must be a positive duration such as 15s, got %q", d.name, v))
			continue
		}
		*d.dst = x
	}
	if v := strings.TrimSpace(getenv("STC_IQOPTION_HEARTBEAT_REPLY")); v != "" {
		switch strings.ToLower(v) {
		case "1", "true", "yes":
			cfg.HeartbeatReply = true
		case "0", "false", "no":
			cfg.HeartbeatReply = false
		default:
			errs = append(errs, fmt.Errorf("iqoption: STC_IQOPTION_HEARTBEAT_REPLY must be true or false, got %q", v))
		}
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	return cfg.normalize()
}

// normalize applies defaults and validates the URLs.
func (cfg Config) normalize() (Config, error) {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if cfg.AuthURL == "" {
		cfg.AuthURL = DefaultAuthURL
	}
	if cfg.WSURL == "" {
		cfg.WSURL = DefaultWSURL
	}
	if cfg.VerifyURL == "" {
		cfg.VerifyURL = strings.TrimSuffix(strings.TrimRight(cfg.AuthURL, "/"), "/login") + "/verify/2fa"
	}
	def(&cfg.RequestTimeout, DefaultRequestTimeout)
	def(&cfg.DialTimeout, DefaultDialTimeout)
	def(&cfg.TimeSyncTimeout, DefaultTimeSyncTimeout)
	def(&cfg.WatchdogInterval, DefaultWatchdogInterval)
	def(&cfg.BackoffInitial, DefaultBackoffInitial)
	def(&cfg.BackoffMax, DefaultBackoffMax)
	def(&cfg.CatalogTTL, DefaultCatalogTTL)
	if cfg.WatchdogInterval > cfg.TimeSyncTimeout {
		cfg.WatchdogInterval = cfg.TimeSyncTimeout
	}
	if cfg.MaxAuthFailures <= 0 {
		cfg.MaxAuthFailures = DefaultMaxAuthFailures
	}
	if cfg.PlatformID <= 0 {
		cfg.PlatformID = DefaultPlatformID
	}
	for name, raw := range map[string]string{"auth URL": cfg.AuthURL, "verify URL": cfg.VerifyURL, "WebSocket URL": cfg.WSURL} {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			return Config{}, fmt.Errorf("iqoption: %s %q is not an absolute URL", name, raw)
		}
	}
	if u, _ := url.Parse(cfg.WSURL); u.Scheme != "ws" && u.Scheme != "wss" {
		return Config{}, fmt.Errorf("iqoption: WebSocket URL %q must use ws or wss", cfg.WSURL)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: cfg.RequestTimeout}
	}
	return cfg, nil
}
