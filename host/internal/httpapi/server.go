// Package httpapi is the host's REST API (gorilla/mux): routing, input
// validation, status codes and the JSON error envelope. It runs no SQL and
// never touches go-plugin (it only matches the plugin manager's and the
// store's error values); it talks to services through small interfaces.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/stc-trading/stc/host/internal/accounts"
	"github.com/stc-trading/stc/host/internal/auth"
	"github.com/stc-trading/stc/host/internal/billing"
	"github.com/stc-trading/stc/host/internal/bots"
	"github.com/stc-trading/stc/host/internal/logsafe"
	"github.com/stc-trading/stc/host/internal/marketdata"
	"github.com/stc-trading/stc/host/internal/metrics"
	"github.com/stc-trading/stc/host/internal/pluginmgr"
	"github.com/stc-trading/stc/host/internal/pluginsettings"
	"github.com/stc-trading/stc/host/internal/trading"
	"github.com/stc-trading/stc/host/internal/users"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
	"github.com/stc-trading/stc/sdk/plugin"
)

// SymbolList is a broker's instruments and where they came from.
type SymbolList struct {
	Items  []broker.Instrument
	Source string // live | cache | fallback
}

// Markets serves market data.
type Markets interface {
	Symbols(ctx context.Context, brokerName string) (SymbolList, error)
	// Candles reads history for client c, within c's market-data budget
	// (refusals: *marketdata.SpanError, *marketdata.BudgetError).
	Candles(ctx context.Context, c marketdata.Client, brokerName, symbol string, tf market.Timeframe, from, to int64, limit int) (market.Series, error)
	// CandleVersion changes whenever a candle of the key closes; ok is
	// false when the key has no live feed (then nothing is cached).
	CandleVersion(brokerName, symbol string, tf market.Timeframe) (version uint64, ok bool)
}

// Plugins reports installed plugins.
type Plugins interface {
	Strategies(ctx context.Context) ([]plugin.Info, error)
	Ready(ctx context.Context) error
}

// Users authenticates callers and manages users and their API keys
// (*users.Service).
type Users interface {
	Register(ctx context.Context, email, password string) (users.Session, error)
	Login(ctx context.Context, req users.LoginRequest) (users.Session, error)
	Logout(ctx context.Context, p users.Principal) error
	Authenticate(ctx context.Context, token string) (users.Principal, error)
	User(ctx context.Context, id int64) (users.User, error)
	CreateAPIKey(ctx context.Context, p users.Principal, req users.NewAPIKey) (users.APIKey, string, error)
	APIKeys(ctx context.Context, userID int64) ([]users.APIKey, error)
	APIKey(ctx context.Context, userID, id int64) (users.APIKey, error)
	RevokeAPIKey(ctx context.Context, userID, id int64) error
	List(ctx context.Context, q users.Query) ([]users.User, int64, error)
}

// Billing answers plan, subscription and entitlement questions and applies
// payment webhooks (*billing.Service).
type Billing interface {
	Plans(ctx context.Context) ([]billing.Plan, error)
	Subscription(ctx context.Context, userID int64) (billing.Subscription, bool, error)
	Entitlements(ctx context.Context, userID int64) (billing.Entitlements, error)
	Grant(ctx context.Context, userID int64, g billing.Grant) (billing.Subscription, error)
	HandleWebhook(ctx context.Context, signatureHeader string, body []byte) (billing.WebhookResult, error)
	Subscriptions(ctx context.Context, userIDs []int64) (map[int64]billing.Subscription, error)
}

// Accounts connects and lists users' broker accounts (*accounts.Manager).
type Accounts interface {
	Connect(ctx context.Context, userID int64, req accounts.ConnectRequest) (accounts.Account, error)
	List(ctx context.Context, userID int64) ([]accounts.Account, error)
	Get(ctx context.Context, userID, accountID int64) (accounts.Account, error)
	Disconnect(ctx context.Context, userID, accountID int64) error
	DisconnectBroker(ctx context.Context, userID int64, brokerName string) (int, error)
}

// Trading places and reports trades (*trading.Service).
type Trading interface {
	Place(ctx context.Context, req trading.PlaceRequest) (trading.Trade, error)
	Get(ctx context.Context, userID, id int64) (trading.Trade, error)
	List(ctx context.Context, userID int64, f trading.Filter) ([]trading.Trade, int64, error)
	Stats(ctx context.Context, userID int64, from, to time.Time) (trading.Stats, error)
	Limits(ctx context.Context, userID int64) (trading.Limits, error)
	UpdateLimits(ctx context.Context, userID int64, u trading.LimitsUpdate) (trading.Limits, error)
	Equity(ctx context.Context, userID int64, f trading.AnalyticsFilter, maxPoints int) (trading.EquityCurve, error)
	Daily(ctx context.Context, userID int64, f trading.AnalyticsFilter, loc *time.Location) ([]trading.DayTally, error)
	ByHour(ctx context.Context, userID int64, f trading.AnalyticsFilter, loc *time.Location) ([]trading.HourTally, error)
	BySymbol(ctx context.Context, userID int64, f trading.AnalyticsFilter) ([]trading.SymbolTally, error)
	ByBot(ctx context.Context, userID int64, f trading.AnalyticsFilter) (trading.Stats, error)
}

// Bots manages users' bots (*bots.Service).
type Bots interface {
	CreateIdempotent(ctx context.Context, userID int64, spec bots.Spec, key string, hash []byte) (bots.Bot, bool, error)
	Get(ctx context.Context, userID, id int64) (bots.Bot, error)
	List(ctx context.Context, userID int64, limit int, cursor int64) ([]bots.Bot, int64, error)
	Update(ctx context.Context, userID, id int64, spec bots.Spec) (bots.Bot, error)
	Delete(ctx context.Context, userID, id int64) error
	Start(ctx context.Context, userID, id int64) (bots.Bot, error)
	Stop(ctx context.Context, userID, id int64) (bots.Bot, error)
}

// PluginProcesses reports how the plugin processes are doing
// (*pluginmgr.Manager).
type PluginProcesses interface {
	Status() []pluginmgr.PluginStatus
}

// ErrUnknownBroker is returned by Markets for a broker that is not
// installed.
var ErrUnknownBroker = errors.New("unknown broker")

// Deps are the API's dependencies.
type Deps struct {
	Markets  Markets
	Plugins  Plugins
	Users    Users
	Billing  Billing
	Accounts Accounts
	Trading  Trading
	Bots     Bots
	// Declared is what each installed plugin declared when the host
	// fingerprinted it at start (schemas, capabilities, settings);
	// Processes is how their processes are doing now. The broker list and
	// the operator's plugin list come from them.
	Declared  []pluginsettings.Plugin
	Processes PluginProcesses
	Limits    RateLimits
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed for the client address (rate limits, the login throttle);
	// none by default.
	TrustedProxies []netip.Prefix
	Metrics        *metrics.Metrics
	// MetricsAccess is who may read /metrics on this handler; the zero
	// value serves it to anyone (development mode).
	MetricsAccess MetricsAccess
	// Web, when set, serves every path outside /api/ that no route
	// matches: the cockpit's pages and assets. Unknown /api/ paths keep
	// their JSON 404.
	Web http.Handler
	// Events is the per-user event log GET /api/v2/stream and the bot
	// journal read; without it the stream answers 404 stream_unavailable.
	Events EventLog
	// Candles delivers the closed candles a stream asks for.
	Candles CandleFeed
	// Stream bounds the event streams.
	Stream StreamOptions
	// Log receives the access log and failures; client-controlled values
	// in it are escaped (logsafe), so no request can forge a log line.
	Log hclog.Logger
}

// Server holds the API's dependencies.
type Server struct {
	cache    *candleCache
	markets  Markets
	plugins  Plugins
	users    Users
	billing  Billing
	accounts Accounts
	trading  Trading
	bots     Bots
	declared []pluginsettings.Plugin
	procs    PluginProcesses
	limits   RateLimits
	addr     clientAddr
	metrics  *metrics.Metrics
	access   MetricsAccess
	log      hclog.Logger
	csrf     *http.CrossOriginProtection
	web      http.Handler

	events     EventLog
	candleFeed CandleFeed
	streamOpts StreamOptions
	streams    streamSlots
	reads      readFlights
}

// New returns the API handler.
func New(d Deps) *API {
	s := &Server{cache: newCandleCache(4096), markets: d.Markets, plugins: d.Plugins, users: d.Users, billing: d.Billing,
		accounts: d.Accounts, trading: d.Trading, bots: d.Bots, declared: d.Declared, procs: d.Processes, limits: d.Limits.withDefaults(),
		addr: clientAddr{trusted: d.TrustedProxies}, metrics: d.Metrics, access: d.MetricsAccess, log: logsafe.Wrap(d.Log),
		csrf: http.NewCrossOriginProtection(), web: d.Web,
		events: d.Events, candleFeed: d.Candles, streamOpts: d.Stream.withDefaults()}
	return s.routes()
}

// route is one endpoint and who may call it. The table in routes is the
// single place access is decided; the authorization-matrix test walks the
// router and fails on any route it has no expectation for.
type route struct {
	method, path string
	access       access
	// scope an API key needs (sessions have every scope of their role).
	scope auth.Scope
	// authLimit puts the route under the stricter per-address budget of
	// register and login.
	authLimit bool
	handler   http.HandlerFunc
}

func (s *Server) table() []route {
	const get, post, put, patch, del = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete
	return []route{
		{method: get, path: "/healthz", handler: s.healthz},
		{method: get, path: "/readyz", handler: s.readyz},
		{method: get, path: "/metrics", handler: s.metricsRoute()},
		{method: get, path: "/api/openapi.json", handler: serveOpenAPI},

		{method: post, path: "/api/v2/auth/register", authLimit: true, handler: s.register},
		{method: post, path: "/api/v2/auth/login", authLimit: true, handler: s.login},
		{method: post, path: "/api/v2/auth/logout", access: accessUser, handler: s.logout},
		{method: get, path: "/api/v2/user", access: accessUser, scope: auth.ScopeRead, handler: s.currentUser},
		{method: get, path: "/api/v2/user/api-keys", access: accessSession, handler: s.listAPIKeys},
		{method: post, path: "/api/v2/user/api-keys", access: accessSession, handler: s.createAPIKey},
		{method: get, path: "/api/v2/user/api-keys/{id}", access: accessSession, handler: s.getAPIKey},
		{method: del, path: "/api/v2/user/api-keys/{id}", access: accessSession, handler: s.revokeAPIKey},

		{method: get, path: "/api/v2/plans", handler: s.plans},
		{method: get, path: "/api/v2/user/subscription", access: accessUser, scope: auth.ScopeRead, handler: s.subscription},
		{method: post, path: "/api/v2/billing/webhook", handler: s.billingWebhook},
		{method: post, path: "/api/v2/admin/users/{id}/subscription", access: accessAdmin, handler: s.grantSubscription},
		{method: get, path: "/api/v2/admin/users", access: accessAdmin, handler: s.adminUsers},
		{method: get, path: "/api/v2/admin/plugins", access: accessAdmin, handler: s.adminPlugins},

		{method: post, path: "/api/v2/user/account", access: accessSession, handler: s.connectAccount},
		{method: get, path: "/api/v2/user/accounts", access: accessUser, scope: auth.ScopeRead, handler: s.listAccounts},
		{method: get, path: "/api/v2/user/accounts/{id}", access: accessUser, scope: auth.ScopeRead, handler: s.getAccount},
		{method: post, path: "/api/v2/user/disconnect", access: accessUser, scope: auth.ScopeTrade, handler: s.disconnectAccount},

		{method: post, path: "/api/v2/user/trade", access: accessUser, scope: auth.ScopeTrade, handler: s.placeTrade},
		{method: get, path: "/api/v2/user/trades", access: accessUser, scope: auth.ScopeRead, handler: s.listTradesOrExport},
		{method: get, path: "/api/v2/user/trades/{id}", access: accessUser, scope: auth.ScopeRead, handler: s.getTrade},
		{method: get, path: "/api/v2/user/stats", access: accessUser, scope: auth.ScopeRead, handler: s.stats},
		{method: get, path: "/api/v2/user/analytics/equity", access: accessUser, scope: auth.ScopeRead, handler: s.analyticsEquity},
		{method: get, path: "/api/v2/user/analytics/daily", access: accessUser, scope: auth.ScopeRead, handler: s.analyticsDaily},
		{method: get, path: "/api/v2/user/analytics/by-symbol", access: accessUser, scope: auth.ScopeRead, handler: s.analyticsBySymbol},
		{method: get, path: "/api/v2/user/analytics/by-hour", access: accessUser, scope: auth.ScopeRead, handler: s.analyticsByHour},
		{method: get, path: "/api/v2/user/analytics/bots", access: accessUser, scope: auth.ScopeRead, handler: s.analyticsBots},
		{method: get, path: "/api/v2/user/limits", access: accessUser, scope: auth.ScopeRead, handler: s.getLimits},
		{method: put, path: "/api/v2/user/limits", access: accessSession, handler: s.putLimits},
		{method: post, path: "/api/iq/trade", access: accessUser, scope: auth.ScopeTrade, handler: s.legacyTrade},

		{method: post, path: "/api/v2/bots", access: accessUser, scope: auth.ScopeBots, handler: s.createBot},
		{method: get, path: "/api/v2/bots", access: accessUser, scope: auth.ScopeRead, handler: s.listBots},
		{method: get, path: "/api/v2/bots/{id}", access: accessUser, scope: auth.ScopeRead, handler: s.getBot},
		{method: patch, path: "/api/v2/bots/{id}", access: accessUser, scope: auth.ScopeBots, handler: s.updateBot},
		{method: del, path: "/api/v2/bots/{id}", access: accessUser, scope: auth.ScopeBots, handler: s.deleteBot},
		{method: post, path: "/api/v2/bots/{id}/start", access: accessUser, scope: auth.ScopeBots, handler: s.startBot},
		{method: post, path: "/api/v2/bots/{id}/stop", access: accessUser, scope: auth.ScopeBots, handler: s.stopBot},
		{method: get, path: "/api/v2/bots/{id}/journal", access: accessUser, scope: auth.ScopeRead, handler: s.botJournal},

		{method: get, path: "/api/v2/stream", access: accessUser, scope: auth.ScopeRead, handler: s.stream},

		{method: get, path: "/api/v2/symbols", handler: s.symbols},
		{method: get, path: "/api/v2/candles", handler: s.candles},
		{method: get, path: "/api/v2/strategies", handler: s.strategies},
		{method: get, path: "/api/v2/brokers", access: accessUser, scope: auth.ScopeRead, handler: s.brokers},
		{method: get, path: "/api/iq/symbols", handler: s.legacySymbols},
		{method: get, path: "/api/iq/candles", handler: s.legacyCandles},
	}
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if err := s.plugins.Ready(r.Context()); err != nil {
		// The reason names plugins, processes and the store: the operator
		// reads it in the log, an anonymous caller gets the verdict.
		s.log.Warn("not ready", "reason", err)
		writeError(w, &apiError{Status: http.StatusServiceUnavailable, Code: "not_ready", Message: "the host is not ready; the reason is in its log"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

type instrumentJSON struct {
	Symbol      string  `json:"symbol"`
	Name        string  `json:"name"`
	Market      string  `json:"market"`
	Payout      float64 `json:"payout"`
	Open        bool    `json:"open"`
	MinAmount   float64 `json:"min_amount"`
	MaxAmount   float64 `json:"max_amount"`
	Expirations []int64 `json:"expirations"`
}

func (s *Server) symbols(w http.ResponseWriter, r *http.Request) {
	name, apiErr := brokerParam(r.URL.Query())
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	list, err := s.markets.Symbols(r.Context(), name)
	if err != nil {
		s.fail(w, r, marketData(err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"broker": name, "items": instrumentsJSON(list), "source": list.Source})
}

func instrumentsJSON(list SymbolList) []instrumentJSON {
	items := make([]instrumentJSON, len(list.Items))
	for i, in := range list.Items {
		exp := make([]int64, len(in.Expiries))
		for j, d := range in.Expiries {
			exp[j] = int64(d / time.Second)
		}
		minA, _ := in.MinStake.Float64()
		maxA, _ := in.MaxStake.Float64()
		items[i] = instrumentJSON{Symbol: in.Symbol, Name: in.Name, Market: in.Market, Payout: in.PayoutPercent, Open: in.Open, MinAmount: minA, MaxAmount: maxA, Expirations: exp}
	}
	return items
}

type candleJSON struct {
	Timestamp int64   `json:"timestamp"`
	Open      float64 `json:"open"`
	High      float64 `json:"high"`
	Low       float64 `json:"low"`
	Close     float64 `json:"close"`
	Volume    float64 `json:"volume"`
}

func (s *Server) candles(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	name, apiErr := brokerParam(q)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	symbol, apiErr := symbolParam(q)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	tf, apiErr := timeframeParam(q.Get("timeframe"), "")
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	limit, apiErr := intParam(q.Get("limit"), 100, 1, 5000, "limit")
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	from, apiErr := intParam(q.Get("from"), 0, 0, 1<<40, "from")
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	to, apiErr := intParam(q.Get("to"), 0, 0, 1<<40, "to")
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	if to != 0 && from >= to {
		writeError(w, fieldError("from", "from must be before to"))
		return
	}
	latest := from == 0 && to == 0
	ck := candleCacheKey{broker: name, symbol: symbol, tf: tf, limit: limit}
	// Read the version before the data: if a candle closes in between, the
	// answer is stored under the older version and simply not reused.
	version, live := s.markets.CandleVersion(name, symbol, tf)
	if latest && live {
		if body, ok := s.cache.get(ck, version); ok {
			writeRaw(w, body)
			return
		}
	}
	client, ok := s.candleClient(w, r)
	if !ok {
		return
	}
	series, err := s.markets.Candles(r.Context(), client, name, symbol, tf, int64(from), int64(to), limit)
	if err != nil {
		s.fail(w, r, marketData(err))
		return
	}
	body, err := json.Marshal(map[string]any{"broker": name, "symbol": symbol, "timeframe": tf.String(), "candles": candlesJSON(series)})
	if err != nil {
		writeError(w, &apiError{Status: http.StatusInternalServerError, Code: "internal", Message: "encoding failed"})
		return
	}
	body = append(body, '\n')
	if latest && live && len(series) == limit {
		s.cache.put(ck, version, body)
	}
	writeRaw(w, body)
}

func candlesJSON(series market.Series) []candleJSON {
	out := make([]candleJSON, len(series))
	for i, c := range series {
		out[i] = candleJSON{Timestamp: c.Time, Open: c.Open, High: c.High, Low: c.Low, Close: c.Close, Volume: c.Volume}
	}
	return out
}

// timeframeParam parses a timeframe query value; def is used when it is
// empty ("" makes it required).
func timeframeParam(text, def string) (market.Timeframe, *apiError) {
	if text == "" {
		text = def
	}
	tf, err := market.ParseTimeframe(text)
	if err != nil {
		return 0, fieldError("timeframe", "timeframe must be one of 1m 5m 15m 30m 1h 4h 1d")
	}
	return tf, nil
}

func intParam(text string, def, lo, hi int, name string) (int, *apiError) {
	if text == "" {
		return def, nil
	}
	n, err := strconv.Atoi(text)
	if err != nil || n < lo || n > hi {
		return 0, fieldError(name, name+" must be an integer between "+strconv.Itoa(lo)+" and "+strconv.Itoa(hi))
	}
	return n, nil
}

type fieldJSON struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Default     string   `json:"default,omitempty"`
	Description string   `json:"description,omitempty"`
	Required    bool     `json:"required,omitempty"`
	Min         *float64 `json:"min,omitempty"`
	Max         *float64 `json:"max,omitempty"`
	Options     []string `json:"options,omitempty"`
}

func (s *Server) strategies(w http.ResponseWriter, r *http.Request) {
	infos, err := s.plugins.Strategies(r.Context())
	if err != nil {
		s.fail(w, r, marketData(err))
		return
	}
	type strategyJSON struct {
		Name        string      `json:"name"`
		Version     string      `json:"version"`
		Description string      `json:"description"`
		Params      []fieldJSON `json:"params"`
	}
	items := make([]strategyJSON, len(infos))
	for i, in := range infos {
		params := make([]fieldJSON, len(in.Fields))
		for j, f := range in.Fields {
			params[j] = fieldJSON{Name: f.Name, Type: f.Type.String(), Default: f.Default, Description: f.Description, Required: f.Required, Min: f.Min, Max: f.Max, Options: f.Options}
		}
		items[i] = strategyJSON{Name: in.Name, Version: in.Version, Description: in.Description, Params: params}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}
