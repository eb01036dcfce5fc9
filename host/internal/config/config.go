// Package config loads the host's configuration from defaults, STC_*
// environment variables and command-line flags (flags win), and validates
// it so that a bad setting fails at start with a message saying what to fix.
//
// It knows no plugin: a plugin's settings are declared by the plugin
// itself and resolved by package pluginsettings; the configuration file
// may hold their values too (Config.PluginSettings).
package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/stc-trading/stc/sdk/market"
)

// Config is the host's configuration.
type Config struct {
	HTTPAddr    string        // STC_HTTP_ADDR
	DataDir     string        // STC_DATA_DIR
	DatabaseURL string        // STC_DATABASE_URL; empty = embedded store
	PluginDir   string        // STC_PLUGIN_DIR
	LogLevel    string        // STC_LOG_LEVEL
	CallTimeout time.Duration // STC_PLUGIN_CALL_TIMEOUT
	// Track is the operator's tracked candle keys, "broker:symbol:timeframe"
	// (STC_TRACK, comma-separated; none by default, `make run` sets some).
	// Keys bots need are added at run time.
	Track []string
	// PollInterval is how often the candle worker polls brokers that
	// cannot stream (STC_POLL_INTERVAL).
	PollInterval time.Duration

	// Dev is development mode (STC_DEV=true or -dev; `make run` sets it):
	// a missing encryption key is generated into the data directory, with
	// a loud warning. Without it the host refuses to start when
	// STC_ENCRYPTION_KEY is missing.
	Dev bool
	// EncryptionKey is the broker-credential keyring,
	// "id:base64(32 bytes)[,id:base64…]", the first entry active
	// (STC_ENCRYPTION_KEY; `stc keys generate` prints one). Secrets are read
	// from the environment or the config file only, never from flags,
	// which other users of the machine can read in ps.
	EncryptionKey string
	// BillingWebhookSecret signs payment webhooks
	// (STC_BILLING_WEBHOOK_SECRET); empty disables the webhook (503).
	BillingWebhookSecret string
	// Rate limits in requests per minute; negative turns one off
	// (STC_RATE_LIMIT_IP, STC_RATE_LIMIT_USER, STC_RATE_LIMIT_AUTH).
	RateLimitIP, RateLimitUser, RateLimitAuth int
	// Retention of what the host deletes by age (docs/CONFIG.md
	// "Retention"): Idempotency-Key claims of trades
	// (STC_IDEMPOTENCY_TTL), billing webhook event records
	// (STC_RETAIN_BILLING_EVENTS) and sessions and API keys after they
	// expired or were revoked (STC_RETAIN_ENDED_TOKENS).
	IdempotencyTTL, RetainBillingEvents, RetainEndedTokens time.Duration
	// RetainEvents is how long the per-user event log keeps events
	// (STC_RETAIN_EVENTS): how far back a stream client can resume with
	// Last-Event-ID and a bot's journal reaches.
	RetainEvents time.Duration
	// Event streams (docs/STREAM.md): open streams per user
	// (STC_STREAM_PER_USER) and per host (STC_STREAM_MAX), and the
	// keep-alive interval (STC_STREAM_HEARTBEAT).
	StreamPerUser, StreamMax int
	StreamHeartbeat          time.Duration
	// TrustedProxies are the reverse proxies in front of the host whose
	// X-Forwarded-For is believed for the client address
	// (STC_TRUSTED_PROXIES: addresses and CIDR prefixes, comma-separated;
	// none by default).
	TrustedProxies []netip.Prefix
	// MetricsAddr is the address of a listener of its own for /metrics
	// (STC_METRICS_ADDR, host:port); when set, the API listener does not
	// serve /metrics. Empty: /metrics is on the API listener, where
	// MetricsOnAPI decides who may read it.
	MetricsAddr string
	// MetricsToken, when set, must be sent as "Authorization: Bearer
	// <token>" to read /metrics, on either listener (STC_METRICS_TOKEN;
	// environment or configuration file only, never a flag).
	MetricsToken string
	// PluginSettings are the configuration file's lines that name no host
	// setting, by variable (STC_<PLUGIN>_<SETTING>): values of the
	// settings plugins declare. The host checks them against the
	// declarations at start (package pluginsettings), since only the
	// installed plugins know their settings.
	PluginSettings map[string]string
	// MarketDataTimeout is the deadline of one broker Candles call (a
	// history page), and MarketDataConcurrency how many one broker process
	// serves at once; order calls never wait for them, and their timeouts
	// never restart a plugin (STC_PLUGIN_MARKETDATA_TIMEOUT,
	// STC_PLUGIN_MARKETDATA_CONCURRENCY).
	MarketDataTimeout     time.Duration
	MarketDataConcurrency int
	// Candles is the market-data budget of API clients (docs/CONFIG.md
	// "Market-data budgets").
	Candles CandleBudget
}

// CandleBudget bounds the broker fetches API clients can cause; a
// negative value turns that limit off.
type CandleBudget struct {
	// MaxDaysAnon and MaxDaysUser bound the market time one request may
	// cover, limit × timeframe (STC_CANDLES_MAX_DAYS_ANON,
	// STC_CANDLES_MAX_DAYS_USER).
	MaxDaysAnon, MaxDaysUser int
	// FetchDaysAnon, FetchDaysUser and FetchDaysAnonTotal are the market
	// time, in days, that broker fetches may cover per minute per
	// anonymous address, per user, and for all anonymous clients together
	// (STC_CANDLES_FETCH_DAYS_ANON, STC_CANDLES_FETCH_DAYS_USER,
	// STC_CANDLES_FETCH_DAYS_ANON_TOTAL).
	FetchDaysAnon, FetchDaysUser, FetchDaysAnonTotal int
	// Concurrency and ConcurrencyAnon are broker fetches in flight for API
	// clients, host-wide and of which anonymous
	// (STC_CANDLES_FETCH_CONCURRENCY, STC_CANDLES_FETCH_CONCURRENCY_ANON).
	Concurrency, ConcurrencyAnon int
}

// Defaults returns the zero-setup configuration of `make run`.
func Defaults() Config {
	return Config{
		HTTPAddr:              "127.0.0.1:8080",
		DataDir:               "./data",
		PluginDir:             "./bin/plugins",
		LogLevel:              "info",
		CallTimeout:           10 * time.Second,
		PollInterval:          5 * time.Second,
		IdempotencyTTL:        24 * time.Hour,
		RetainBillingEvents:   30 * 24 * time.Hour,
		RetainEndedTokens:     30 * 24 * time.Hour,
		RetainEvents:          7 * 24 * time.Hour,
		StreamPerUser:         8,
		StreamMax:             10000,
		StreamHeartbeat:       15 * time.Second,
		RateLimitIP:           600,
		RateLimitUser:         600,
		RateLimitAuth:         20,
		MarketDataTimeout:     30 * time.Second,
		MarketDataConcurrency: 4,
		Candles: CandleBudget{
			MaxDaysAnon: 366, MaxDaysUser: 3660,
			FetchDaysAnon: 2000, FetchDaysUser: 20000, FetchDaysAnonTotal: 4000,
			Concurrency: 2, ConcurrencyAnon: 1,
		},
	}
}

// Load reads, over the defaults, an optional configuration file (named by
// -config or STC_CONFIG_FILE), then the environment (through getenv), then
// args (flags): each later source wins.
func Load(args []string, getenv func(string) string) (Config, error) {
	c := Defaults()
	var errs []error
	if path := configPath(args, getenv); path != "" {
		file, plugins, err := readFile(path)
		if err != nil {
			return Config{}, err
		}
		c.PluginSettings = plugins
		// The file's settings apply where the environment has none.
		env := getenv
		getenv = func(k string) string {
			if v := env(k); v != "" {
				return v
			}
			return file[k]
		}
	}
	str := func(dst *string, key string) {
		if v := getenv(key); v != "" {
			*dst = v
		}
	}
	str(&c.HTTPAddr, "STC_HTTP_ADDR")
	str(&c.DataDir, "STC_DATA_DIR")
	str(&c.DatabaseURL, "STC_DATABASE_URL")
	str(&c.PluginDir, "STC_PLUGIN_DIR")
	str(&c.LogLevel, "STC_LOG_LEVEL")
	if v := getenv("STC_PLUGIN_CALL_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("STC_PLUGIN_CALL_TIMEOUT=%q: want a duration such as 10s", v))
		}
		c.CallTimeout = d
	}
	for key, dst := range map[string]*time.Duration{
		"STC_IDEMPOTENCY_TTL": &c.IdempotencyTTL, "STC_RETAIN_BILLING_EVENTS": &c.RetainBillingEvents,
		"STC_RETAIN_ENDED_TOKENS": &c.RetainEndedTokens, "STC_RETAIN_EVENTS": &c.RetainEvents,
		"STC_STREAM_HEARTBEAT": &c.StreamHeartbeat,
	} {
		if v := getenv(key); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: want a duration such as 720h", key, v))
			}
			*dst = d
		}
	}
	if v := getenv("STC_TRACK"); v != "" {
		c.Track = splitList(v)
	}
	if v := getenv("STC_POLL_INTERVAL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("STC_POLL_INTERVAL=%q: want a duration such as 5s", v))
		}
		c.PollInterval = d
	}
	str(&c.EncryptionKey, "STC_ENCRYPTION_KEY")
	str(&c.BillingWebhookSecret, "STC_BILLING_WEBHOOK_SECRET")
	boolean := func(dst *bool, key string) {
		if v := getenv(key); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: want true or false", key, v))
			}
			*dst = b
		}
	}
	boolean(&c.Dev, "STC_DEV")
	integer := func(dst *int, key string) {
		if v := getenv(key); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: want an integer (requests per minute; negative turns the limit off)", key, v))
			}
			*dst = n
		}
	}
	integer(&c.RateLimitIP, "STC_RATE_LIMIT_IP")
	integer(&c.StreamPerUser, "STC_STREAM_PER_USER")
	integer(&c.StreamMax, "STC_STREAM_MAX")
	integer(&c.RateLimitUser, "STC_RATE_LIMIT_USER")
	integer(&c.RateLimitAuth, "STC_RATE_LIMIT_AUTH")
	if v := getenv("STC_PLUGIN_MARKETDATA_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("STC_PLUGIN_MARKETDATA_TIMEOUT=%q: want a duration such as 30s", v))
		}
		c.MarketDataTimeout = d
	}
	for key, dst := range map[string]*int{
		"STC_PLUGIN_MARKETDATA_CONCURRENCY": &c.MarketDataConcurrency,
		"STC_CANDLES_MAX_DAYS_ANON":         &c.Candles.MaxDaysAnon, "STC_CANDLES_MAX_DAYS_USER": &c.Candles.MaxDaysUser,
		"STC_CANDLES_FETCH_DAYS_ANON": &c.Candles.FetchDaysAnon, "STC_CANDLES_FETCH_DAYS_USER": &c.Candles.FetchDaysUser,
		"STC_CANDLES_FETCH_DAYS_ANON_TOTAL": &c.Candles.FetchDaysAnonTotal, "STC_CANDLES_FETCH_CONCURRENCY": &c.Candles.Concurrency,
		"STC_CANDLES_FETCH_CONCURRENCY_ANON": &c.Candles.ConcurrencyAnon,
	} {
		if v := getenv(key); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: want an integer", key, v))
			}
			*dst = n
		}
	}
	if v := getenv("STC_TRUSTED_PROXIES"); v != "" {
		p, err := parseTrustedProxies(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("STC_TRUSTED_PROXIES: %w", err))
		}
		c.TrustedProxies = p
	}

	str(&c.MetricsAddr, "STC_METRICS_ADDR")
	str(&c.MetricsToken, "STC_METRICS_TOKEN")

	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	fs.String("config", "", "configuration file of STC_* settings, one KEY=value per line (STC_CONFIG_FILE)")
	fs.StringVar(&c.HTTPAddr, "http-addr", c.HTTPAddr, "HTTP listen address (STC_HTTP_ADDR)")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "data directory (STC_DATA_DIR)")
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "postgres://… URL; empty = embedded store (STC_DATABASE_URL)")
	fs.StringVar(&c.PluginDir, "plugin-dir", c.PluginDir, "directory of plugin binaries and SHA256SUMS (STC_PLUGIN_DIR)")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "trace|debug|info|warn|error (STC_LOG_LEVEL)")
	fs.DurationVar(&c.CallTimeout, "plugin-call-timeout", c.CallTimeout, "default deadline of a plugin call (STC_PLUGIN_CALL_TIMEOUT)")
	track := fs.String("track", strings.Join(c.Track, ","), "tracked candle keys broker:symbol:timeframe, comma-separated (STC_TRACK)")
	fs.DurationVar(&c.PollInterval, "poll-interval", c.PollInterval, "polling period for brokers that cannot stream (STC_POLL_INTERVAL)")
	fs.BoolVar(&c.Dev, "dev", c.Dev, "development mode: generate a local encryption key if none is set (STC_DEV)")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	c.Track = splitList(*track)
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments %q", fs.Args()))
	}
	if err := errors.Join(append(errs, c.Validate())...); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Validate checks every setting and reports all problems at once.
func (c Config) Validate() error {
	var errs []error
	if _, port, err := net.SplitHostPort(c.HTTPAddr); err != nil || port == "" {
		errs = append(errs, fmt.Errorf("STC_HTTP_ADDR=%q: want host:port such as 127.0.0.1:8080", c.HTTPAddr))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("STC_DATA_DIR must not be empty"))
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		errs = append(errs, fmt.Errorf("STC_DATABASE_URL must be a postgres:// URL (or empty for the embedded store)"))
	}
	if st, err := os.Stat(c.PluginDir); err != nil || !st.IsDir() {
		errs = append(errs, fmt.Errorf("STC_PLUGIN_DIR=%q is not a directory (run `make build`, which writes bin/plugins)", c.PluginDir))
	}
	if hclog.LevelFromString(c.LogLevel) == hclog.NoLevel {
		errs = append(errs, fmt.Errorf("STC_LOG_LEVEL=%q: want trace, debug, info, warn or error", c.LogLevel))
	}
	if c.CallTimeout <= 0 {
		errs = append(errs, errors.New("STC_PLUGIN_CALL_TIMEOUT must be positive"))
	}
	if c.IdempotencyTTL < time.Hour {
		errs = append(errs, fmt.Errorf("STC_IDEMPOTENCY_TTL=%v: want at least 1h (clients retry within minutes, but after outages too)", c.IdempotencyTTL))
	}
	if c.RetainBillingEvents < 7*24*time.Hour {
		errs = append(errs, fmt.Errorf("STC_RETAIN_BILLING_EVENTS=%v: want at least 168h (providers retry a delivery for days; a pruned event would apply again)", c.RetainBillingEvents))
	}
	if c.RetainEvents < time.Hour {
		errs = append(errs, fmt.Errorf("STC_RETAIN_EVENTS=%v: want at least 1h (a phone that slept must be able to catch up)", c.RetainEvents))
	}
	if c.StreamPerUser < 1 || c.StreamMax < 1 {
		errs = append(errs, fmt.Errorf("STC_STREAM_PER_USER=%d, STC_STREAM_MAX=%d: want at least 1 each", c.StreamPerUser, c.StreamMax))
	}
	if c.StreamHeartbeat < time.Second || c.StreamHeartbeat > 5*time.Minute {
		errs = append(errs, fmt.Errorf("STC_STREAM_HEARTBEAT=%v: want 1s to 5m (proxies close connections idle for a minute or more)", c.StreamHeartbeat))
	}
	if c.RetainEndedTokens < 0 {
		errs = append(errs, fmt.Errorf("STC_RETAIN_ENDED_TOKENS=%v: want 0 or more", c.RetainEndedTokens))
	}
	if c.PollInterval < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("STC_POLL_INTERVAL=%v: want at least 100ms", c.PollInterval))
	}
	for _, k := range c.Track {
		if parts := strings.Split(k, ":"); len(parts) != 3 || parts[0] == "" || parts[1] == "" {
			errs = append(errs, fmt.Errorf("STC_TRACK entry %q: want broker:symbol:timeframe such as demo:EURUSD:1m", k))
		} else if _, err := market.ParseTimeframe(parts[2]); err != nil {
			errs = append(errs, fmt.Errorf("STC_TRACK entry %q: %w", k, err))
		}
	}
	if c.RateLimitIP == 0 || c.RateLimitUser == 0 || c.RateLimitAuth == 0 {
		errs = append(errs, errors.New("STC_RATE_LIMIT_*: 0 would refuse every request; use a positive budget or a negative value to turn a limit off"))
	}
	if c.MetricsAddr != "" {
		if _, port, err := net.SplitHostPort(c.MetricsAddr); err != nil || port == "" {
			errs = append(errs, fmt.Errorf("STC_METRICS_ADDR=%q: want host:port such as 127.0.0.1:9100", c.MetricsAddr))
		} else if c.MetricsAddr == c.HTTPAddr {
			errs = append(errs, errors.New("STC_METRICS_ADDR must differ from STC_HTTP_ADDR (leave it empty to serve /metrics on the API listener)"))
		}
	}
	if c.MetricsToken != "" && (len(c.MetricsToken) < 16 || strings.IndexFunc(c.MetricsToken, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0) {
		errs = append(errs, errors.New("STC_METRICS_TOKEN: want at least 16 printable ASCII characters without spaces (e.g. `openssl rand -hex 24`)"))
	}
	if c.MarketDataTimeout <= 0 {
		errs = append(errs, errors.New("STC_PLUGIN_MARKETDATA_TIMEOUT must be positive"))
	}
	if c.MarketDataConcurrency <= 0 {
		errs = append(errs, fmt.Errorf("STC_PLUGIN_MARKETDATA_CONCURRENCY=%d: want at least 1", c.MarketDataConcurrency))
	}
	b := c.Candles
	if b.MaxDaysAnon == 0 || b.MaxDaysUser == 0 || b.FetchDaysAnon == 0 || b.FetchDaysUser == 0 || b.FetchDaysAnonTotal == 0 ||
		b.Concurrency == 0 || b.ConcurrencyAnon == 0 {
		errs = append(errs, errors.New("STC_CANDLES_*: 0 would refuse every broker fetch; use a positive budget or a negative value to turn a limit off"))
	}
	return errors.Join(errs...)
}

// MetricsOnAPI reports whether the API listener serves /metrics: not when
// STC_METRICS_ADDR gives it a listener of its own; in development mode
// yes (to anyone unless STC_METRICS_TOKEN is set); outside it only behind
// STC_METRICS_TOKEN, so a production host never publishes its metrics by
// default.
func (c Config) MetricsOnAPI() bool {
	return c.MetricsAddr == "" && (c.Dev || c.MetricsToken != "")
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// parseTrustedProxies parses a comma-separated list of addresses and CIDR
// prefixes.
func parseTrustedProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if strings.Contains(f, "/") {
			p, err := netip.ParsePrefix(f)
			if err != nil {
				return nil, fmt.Errorf("%q: want an address or a CIDR prefix such as 10.0.0.0/8", f)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q: want an address or a CIDR prefix such as 10.0.0.0/8", f)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
