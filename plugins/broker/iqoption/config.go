package iqoption

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/stc-trading/stc/sdk/plugin"
	"github.com/stc-trading/stc/sdk/schema"
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

// Settings are the operator settings the IQ Option plugin declares: the
// host passes each as STC_IQOPTION_<NAME> (STC_IQOPTION_AUTH_URL,
// STC_IQOPTION_WS_URL, …) when the operator sets it. Its order journals
// live in the host's STC_PLUGIN_DATA_DIR.
var Settings = []plugin.Setting{
	{Name: "auth_url", Type: schema.String, Default: DefaultAuthURL, Description: "HTTP login endpoint"},
	{Name: "verify_url", Type: schema.String, Description: "SMS second-factor endpoint; empty derives it from auth_url (/login becomes /verify/2fa)"},
	{Name: "ws_url", Type: schema.String, Default: DefaultWSURL, Description: "WebSocket API endpoint (ws or wss)"},
	{Name: "request_timeout", Type: schema.Duration, Default: DefaultRequestTimeout.String(), Min: schema.Bound(minDuration),
		Description: "bound of one HTTP login or WebSocket request"},
	{Name: "dial_timeout", Type: schema.Duration, Default: DefaultDialTimeout.String(), Min: schema.Bound(minDuration),
		Description: "bound of one WebSocket dial and authentication"},
	{Name: "timesync_timeout", Type: schema.Duration, Default: DefaultTimeSyncTimeout.String(), Min: schema.Bound(minDuration),
		Description: "reconnect when no timeSync push arrived for this long"},
	{Name: "catalog_ttl", Type: schema.Duration, Default: DefaultCatalogTTL.String(), Min: schema.Bound(minDuration),
		Description: "how long the actives catalogue is reused"},
	{Name: "heartbeat_reply", Type: schema.Bool, Default: "true", Description: "answer the server's heartbeat pushes"},
}

// minDuration is the smallest duration setting, in seconds (1 ms): zero or
// negative timeouts are mistakes.
const minDuration = 0.001

// ConfigFromEnv reads the adapter's settings (see Settings) and its data
// directory through getenv and applies the defaults. The data directory is
// STC_PLUGIN_DATA_DIR (set by the host), else STC_IQOPTION_DATA_DIR (the
// older name, for a plugin run by other means), else none (orders kept in
// memory only). Values that do not parse are errors, never silently
// replaced.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	s, err := plugin.LoadSettings(Name, Settings, getenv)
	if err != nil {
		return Config{}, fmt.Errorf("iqoption: %w", err)
	}
	cfg := Config{
		AuthURL:         s.String("auth_url"),
		VerifyURL:       s.String("verify_url"),
		WSURL:           s.String("ws_url"),
		RequestTimeout:  s.Duration("request_timeout"),
		DialTimeout:     s.Duration("dial_timeout"),
		TimeSyncTimeout: s.Duration("timesync_timeout"),
		CatalogTTL:      s.Duration("catalog_ttl"),
		HeartbeatReply:  s.Bool("heartbeat_reply"),
	}
	for _, k := range []string{plugin.DataDirEnv, "STC_IQOPTION_DATA_DIR"} {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			cfg.DataDir = v
			break
		}
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
