package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/accounts"
	"github.com/stc-trading/stc/host/internal/auth"
	"github.com/stc-trading/stc/host/internal/billing"
	"github.com/stc-trading/stc/host/internal/billing/webhook"
	"github.com/stc-trading/stc/host/internal/bots"
	"github.com/stc-trading/stc/host/internal/events"
	"github.com/stc-trading/stc/host/internal/httpapi"
	"github.com/stc-trading/stc/host/internal/marketdata"
	"github.com/stc-trading/stc/host/internal/metrics"
	"github.com/stc-trading/stc/host/internal/pluginmgr"
	"github.com/stc-trading/stc/host/internal/plugintest"
	"github.com/stc-trading/stc/host/internal/secrets"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/trading"
	"github.com/stc-trading/stc/host/internal/users"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
	"github.com/stc-trading/stc/sdk/plugin"
)

// noMarkets answers the market-data routes with nothing: these tests are
// about who may call what, and the market routes are public.
type noMarkets struct{}

func (noMarkets) Symbols(context.Context, string) (httpapi.SymbolList, error) {
	return httpapi.SymbolList{Source: "fallback"}, nil
}

func (noMarkets) Candles(context.Context, marketdata.Client, string, string, market.Timeframe, int64, int64, int) (market.Series, error) {
	return market.Series{}, nil
}

func (noMarkets) CandleVersion(string, string, market.Timeframe) (uint64, bool) { return 0, false }

// withLiveMarkets serves the market-data routes from the environment's
// real candle service (the paper plugin and the store) instead of
// noMarkets.
func withLiveMarkets(d *httpapi.Deps) { d.Markets = liveMarkets{} }

// liveMarkets is the host's market-data adapter (host/internal/app marketsAPI) for
// the one broker the environment installs.
type liveMarkets struct{ data *marketdata.Service }

func (l liveMarkets) Symbols(ctx context.Context, name string) (httpapi.SymbolList, error) {
	if name != "paper" {
		return httpapi.SymbolList{}, fmt.Errorf("%w %q", httpapi.ErrUnknownBroker, name)
	}
	items, err := l.data.Instruments(ctx, name)
	return httpapi.SymbolList{Items: items, Source: "live"}, err
}

func (l liveMarkets) Candles(ctx context.Context, c marketdata.Client, b, s string, tf market.Timeframe, from, to int64, limit int) (market.Series, error) {
	if b != "paper" {
		return nil, fmt.Errorf("%w %q", httpapi.ErrUnknownBroker, b)
	}
	return l.data.CandlesFor(ctx, c, b, s, tf, from, to, limit)
}

func (l liveMarkets) CandleVersion(b, s string, tf market.Timeframe) (uint64, bool) {
	return l.data.Version(marketdata.Key{Broker: b, Symbol: s, Timeframe: tf})
}

type noPlugins struct{}

func (noPlugins) Strategies(context.Context) ([]plugin.Info, error) { return nil, nil }
func (noPlugins) Ready(context.Context) error                       { return nil }
func (noPlugins) Brokers(context.Context) ([]plugin.Info, error)    { return nil, nil }
func (noPlugins) Status() []pluginmgr.PluginStatus                  { return nil }

// policy is the host's entitlement rule for connecting accounts, asked of
// the real billing service.
type policy struct{ b *billing.Service }

func (p policy) CheckTrade(ctx context.Context, userID int64, name string, mode broker.Mode) error {
	if err := p.CheckConnect(ctx, userID, name, mode); err != nil {
		return trading.ErrNotEntitled
	}
	return nil
}

func (p policy) AccountLimit(ctx context.Context, userID int64) (int, error) {
	ent, err := p.b.Entitlements(ctx, userID)
	return ent.MaxAccounts, err
}

func (p policy) CheckConnect(ctx context.Context, userID int64, name string, mode broker.Mode) error {
	ent, err := p.b.Entitlements(ctx, userID)
	if err != nil {
		return err
	}
	if !ent.AllowsBroker(name) || (mode == broker.Real && !ent.LiveTrading) {
		return accounts.ErrNotEntitled
	}
	return nil
}

// env is a host API over real services: a store, the paper broker plugin
// process, and the users, billing and accounts services.
type env struct {
	t       testing.TB
	h       http.Handler
	st      *store.Store
	users   *users.Service
	billing *billing.Service
	secret  []byte
	logs    *lockedBuffer
	plugins *pluginmgr.Manager
	data    *marketdata.Service
	events  *events.Log
	// allow5xx are the 5xx statuses the test provokes on purpose (a
	// broken plugin's 502, 503 or 504); call fails the test on any other
	// 5xx, since no client input may cause one.
	allow5xx map[int]bool
}

// as returns e reporting to t: a fuzz target must fail through its own t.
func (e *env) as(t testing.TB) *env {
	c := *e
	c.t = t
	return &c
}

// allowUpstreamFailures lets answers with these statuses (502, 503, 504)
// pass call's 5xx guard, for a test that breaks a broker on purpose.
func (e *env) allowUpstreamFailures(codes ...int) {
	e.allow5xx = make(map[int]bool, len(codes))
	for _, c := range codes {
		require.Contains(e.t, []int{http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout}, c,
			"only upstream failures may be allowed, never a 500")
		e.allow5xx[c] = true
	}
}

func newEnv(t testing.TB, st *store.Store, limits httpapi.RateLimits, tune ...func(*httpapi.Deps)) *env {
	t.Helper()
	logs := &lockedBuffer{}
	log := hclog.New(&hclog.LoggerOptions{Name: "host", Level: hclog.Trace, Output: logs})
	m := plugintest.Manager(t, pluginDir, plugintest.Options{
		Env: map[string]map[string]string{"broker/paper": {"STC_PAPER_TIME_SCALE": "60"}},
		Log: log.Named("plugins"),
	})
	spec, err := secrets.GenerateKeySpec("k1")
	require.NoError(t, err)
	keys, err := secrets.ParseKeyring(spec)
	require.NoError(t, err)
	hasher, err := auth.NewHasher(auth.OWASPMinimum(), 0)
	require.NoError(t, err)
	secret := []byte("whsec_" + randHex(t))
	bill := billing.NewService(st, &webhook.Verifier{Secret: secret}, time.Now, log.Named("billing"))
	us := users.NewService(st, hasher, auth.NewThrottle(auth.DefaultThrottleConfig()), users.Options{}, log.Named("users"))
	ev := events.New(st, httpapi.RenderEvent, log.Named("events"), events.Options{})
	acc := accounts.NewManager(st, keys, m, policy{bill}, log.Named("accounts"))
	acc.SetEvents(ev)
	data := marketdata.New(m, marketdata.FromStore(st), metrics.New(), log.Named("marketdata"), marketdata.Options{})
	t.Cleanup(func() { require.NoError(t, data.Close(context.Background())) })
	tr := trading.NewService(st, acc, policy{bill}, trading.Options{Events: ev}, log.Named("trading"))
	bs := bots.NewService(st, bots.Deps{Strategies: m, Market: data, Accounts: acc, Entitlements: bill, Trader: bots.FromTrading(tr), Events: ev},
		bots.Options{}, log.Named("bots"))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { tr.Run(ctx) })
	wg.Go(func() { _ = bs.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	deps := httpapi.Deps{
		Markets: noMarkets{}, Plugins: noPlugins{}, Users: us, Billing: bill, Accounts: acc, Trading: tr, Bots: bs,
		Limits: limits, Metrics: metrics.New(), Log: log.Named("http"),
		Events: ev, Candles: data,
	}
	for _, f := range tune {
		f(&deps)
	}
	if _, ok := deps.Markets.(liveMarkets); ok {
		deps.Markets = liveMarkets{data: data}
	}
	h := httpapi.New(deps)
	return &env{t: t, h: h, st: st, users: us, billing: bill, secret: secret, logs: logs, plugins: m, data: data, events: ev}
}

func randHex(t testing.TB) string {
	var b [6]byte
	_, err := rand.Read(b[:])
	require.NoError(t, err)
	return hex.EncodeToString(b[:])
}

// lockedBuffer is a bytes.Buffer the logger may write from many goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// response is one answer, decoded when it is JSON.
type response struct {
	Status int
	Header http.Header
	Raw    string
	JSON   map[string]any
}

func (r response) errorCode() string {
	e, _ := r.JSON["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// call sends a request with an optional bearer token and JSON body.
func (e *env) call(method, path, token, body string, headers ...string) response {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	req.RemoteAddr = "192.0.2.10:4000"
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	httpapi.CheckOpenAPI(e.t, req, []byte(body), rec)
	out := response{Status: rec.Code, Header: rec.Header(), Raw: rec.Body.String()}
	if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		_ = json.Unmarshal(rec.Body.Bytes(), &out.JSON)
	}
	if out.errorCode() == "validation_failed" {
		// Every validation error names its field (issue 13): the key is
		// there, empty only when the request as a whole is refused.
		errObj, _ := out.JSON["error"].(map[string]any)
		details, _ := errObj["details"].(map[string]any)
		if _, ok := details["field"].(string); !ok {
			e.t.Errorf("%s %s: a validation_failed answer without details.field: %s", method, path, out.Raw)
		}
	}
	if out.Status >= 500 && !e.allow5xx[out.Status] {
		e.t.Errorf("%s %s answered %d; no client input may cause a 5xx (a test that breaks a broker on purpose calls allowUpstreamFailures): %s",
			method, path, out.Status, out.Raw)
	}
	return out
}

// actor is one registered user with a paper account and a read-only key.
type actor struct {
	id        int64
	email     string
	token     string
	readKey   string
	readKeyID int64
	account   int64
	login     string
	trade     int64 // a manual trade
	bot       int64 // a stopped RSI bot
}

func (e *env) register(name string) actor {
	e.t.Helper()
	a := actor{email: name + "-" + randHex(e.t) + "@example.com", login: name + "-trader-" + randHex(e.t)}
	r := e.call("POST", "/api/v2/auth/register", "", `{"email":"`+a.email+`","password":"correct horse battery"}`)
	require.Equal(e.t, http.StatusCreated, r.Status, r.Raw)
	a.token = jsonStr(e.t, r.JSON["token"])
	a.id = jsonID(e.t, jsonObj(e.t, r.JSON["user"])["id"])
	a.readKey = e.newKey(a, "read")
	r = e.call("GET", "/api/v2/user/api-keys", a.token, "")
	require.Equal(e.t, http.StatusOK, r.Status, r.Raw)
	items, ok := r.JSON["items"].([]any)
	require.True(e.t, ok && len(items) == 1, r.Raw)
	a.readKeyID = jsonID(e.t, jsonObj(e.t, items[0])["id"])
	return a
}

// newKey creates an API key of a with scopes and returns its secret.
func (e *env) newKey(a actor, scopes ...string) string {
	e.t.Helper()
	r := e.call("POST", "/api/v2/user/api-keys", a.token, `{"name":"key","scopes":["`+strings.Join(scopes, `","`)+`"]}`)
	require.Equal(e.t, http.StatusCreated, r.Status, r.Raw)
	return jsonStr(e.t, jsonObj(e.t, r.JSON["api_key"])["secret"])
}

func (e *env) connectPaper(a *actor, password string) {
	e.t.Helper()
	r := e.call("POST", "/api/v2/user/account", a.token,
		`{"broker":"paper","credentials":{"username":"`+a.login+`","password":"`+password+`"}}`)
	require.Equal(e.t, http.StatusCreated, r.Status, r.Raw)
	a.account = jsonID(e.t, jsonObj(e.t, r.JSON["account"])["id"])
}

func jsonObj(t testing.TB, v any) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	require.True(t, ok, "want a JSON object, got %T %v", v, v)
	return m
}

func jsonStr(t testing.TB, v any) string {
	t.Helper()
	s, ok := v.(string)
	require.True(t, ok, "want a JSON string, got %T %v", v, v)
	return s
}

func jsonID(t testing.TB, v any) int64 {
	t.Helper()
	f, ok := v.(float64)
	require.True(t, ok && f > 0, "want an id, got %T %v", v, v)
	return int64(f)
}

// trade places a manual paper trade on a's account and creates a bot.
func (e *env) tradeAndBot(a *actor) {
	e.t.Helper()
	acct := strconv.FormatInt(a.account, 10)
	r := e.call("POST", "/api/v2/user/trade", a.token,
		`{"account_id":`+acct+`,"symbol":"EURUSD-OTC","direction":"CALL","amount":1,"expiration":60}`)
	require.Equal(e.t, http.StatusCreated, r.Status, r.Raw)
	a.trade = jsonID(e.t, jsonObj(e.t, r.JSON["trade"])["id"])
	r = e.call("POST", "/api/v2/bots", a.token, `{"name":"rsi","strategy":"rsi","params":{"period":14},"account_id":`+acct+
		`,"symbol":"EURUSD-OTC","timeframe":"1m","amount":1,"expiration":60}`)
	require.Equal(e.t, http.StatusCreated, r.Status, r.Raw)
	a.bot = jsonID(e.t, jsonObj(e.t, r.JSON["bot"])["id"])
}
