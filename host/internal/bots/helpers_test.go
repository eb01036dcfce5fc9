package bots_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/accounts"
	"github.com/stc-trading/stc/host/internal/billing"
	"github.com/stc-trading/stc/host/internal/bots"
	"github.com/stc-trading/stc/host/internal/events"
	"github.com/stc-trading/stc/host/internal/marketdata"
	"github.com/stc-trading/stc/host/internal/metrics"
	"github.com/stc-trading/stc/host/internal/pluginmgr"
	"github.com/stc-trading/stc/host/internal/plugintest"
	"github.com/stc-trading/stc/host/internal/secrets"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
	"github.com/stc-trading/stc/sdk/plugin"
)

// hangGuard bounds every wait; it only stops a broken test from hanging.
const hangGuard = 2 * time.Minute

// syncBuffer is a log sink shared by many goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// policy is the account manager's entitlement check, backed by billing as
// in stc serve.
type policy struct{ bill *billing.Service }

func (p policy) AccountLimit(ctx context.Context, userID int64) (int, error) {
	ent, err := p.bill.Entitlements(ctx, userID)
	return ent.MaxAccounts, err
}

func (p policy) CheckConnect(ctx context.Context, userID int64, name string, mode broker.Mode) error {
	ent, err := p.bill.Entitlements(ctx, userID)
	if err != nil {
		return err
	}
	if !ent.AllowsBroker(name) || (mode == broker.Real && !ent.LiveTrading) {
		return accounts.ErrNotEntitled
	}
	return nil
}

// recTrader is a Trader that records orders. Place checks the account's
// session like the trading service does, so a disconnected account fails
// with ErrAccountNotConnected.
type recTrader struct {
	acc *accounts.Manager

	mu       sync.Mutex
	orders   []bots.OrderRequest
	settled  map[int64][]bots.SettledTrade
	placeErr error
}

func (t *recTrader) Place(ctx context.Context, req bots.OrderRequest) error {
	if _, _, err := t.acc.Session(ctx, req.UserID, req.AccountID); err != nil {
		if errors.Is(err, broker.ErrSessionNotFound) {
			return fmt.Errorf("%w: %w", bots.ErrAccountNotConnected, err)
		}
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.orders = append(t.orders, req)
	return t.placeErr
}

func (t *recTrader) RecentSettled(_ context.Context, _, botID int64, n int) ([]bots.SettledTrade, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.settled[botID]
	return s[:min(n, len(s))], nil
}

func (t *recTrader) ordersOf(botID int64) []bots.OrderRequest {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []bots.OrderRequest
	for _, o := range t.orders {
		if o.BotID == botID {
			out = append(out, o)
		}
	}
	return out
}

func (t *recTrader) setSettled(botID int64, s []bots.SettledTrade) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.settled == nil {
		t.settled = make(map[int64][]bots.SettledTrade)
	}
	t.settled[botID] = s
}

func (t *recTrader) setPlaceErr(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.placeErr = err
}

// eventLog collects runner events for tests to wait on.
type eventLog struct {
	mu     sync.Mutex
	events []bots.Event
	notify chan struct{}
}

func newEventLog() *eventLog { return &eventLog{notify: make(chan struct{}, 1)} }

func (l *eventLog) observe(ev bots.Event) {
	l.mu.Lock()
	l.events = append(l.events, ev)
	l.mu.Unlock()
	select {
	case l.notify <- struct{}{}:
	default:
	}
}

// waitN waits for n events matching match, counted from the start.
func (l *eventLog) waitN(t testing.TB, n int, what string, match func(bots.Event) bool) []bots.Event {
	t.Helper()
	deadline := time.After(hangGuard)
	for {
		l.mu.Lock()
		var got []bots.Event
		for _, ev := range l.events {
			if match(ev) {
				got = append(got, ev)
			}
		}
		l.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-l.notify:
		case <-deadline:
			t.Fatalf("waiting for %d × %s: saw %d", n, what, len(got))
		}
	}
}

// count returns how many events match so far.
func (l *eventLog) count(match func(bots.Event) bool) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, ev := range l.events {
		if match(ev) {
			n++
		}
	}
	return n
}

func ordered(botID int64) func(bots.Event) bool {
	return func(ev bots.Event) bool { return ev.Kind == bots.EventOrdered && ev.BotID == botID }
}

// envOpts shape a test host.
type envOpts struct {
	timeScale string // STC_PAPER_TIME_SCALE; default "60" (a 1m candle per second)
	paperDir  string // shared across a host restart
	botOpts   bots.Options
	trader    bots.Trader // default: a recTrader
	// market replaces the paper plugin as the candle service's source.
	market marketdata.Sessions
	// eventLog replaces the env's journal as the service's Deps.Events.
	eventLog bots.EventLog
}

// env is one host: store, plugin manager with real plugin processes,
// accounts, billing, the candle service and the bot service under test.
type env struct {
	t      testing.TB
	st     *store.Store
	pm     *pluginmgr.Manager
	acc    *accounts.Manager
	bill   *billing.Service
	data   *marketdata.Service
	trader *recTrader
	events *eventLog
	// journal is the users' event log the service records bot changes
	// in (unless envOpts.eventLog replaces it).
	journal *events.Log
	svc     *bots.Service
	opts    envOpts
}

func newEnv(t testing.TB, st *store.Store, o envOpts) *env {
	t.Helper()
	if o.timeScale == "" {
		o.timeScale = "60"
	}
	if o.paperDir == "" {
		o.paperDir = t.TempDir()
	}
	e := &env{t: t, st: st, opts: o, events: newEventLog(), journal: events.New(st, renderBot, nil, events.Options{})}
	logs := &syncBuffer{}
	log := hclog.New(&hclog.LoggerOptions{Name: "host", Level: hclog.Info, Output: logs})
	pm := plugintest.Manager(t, pluginDir, plugintest.Options{
		Env: map[string]map[string]string{
			"broker/paper": {plugin.DataDirEnv: o.paperDir, "STC_PAPER_TIME_SCALE": o.timeScale},
		},
		Log: log,
	})
	e.pm = pm
	spec, err := secrets.GenerateKeySpec("k1")
	require.NoError(t, err)
	keys, err := secrets.ParseKeyring(spec)
	require.NoError(t, err)
	e.bill = billing.NewService(st, nil, nil, log)
	e.acc = accounts.NewManager(st, keys, pm, policy{e.bill}, log)
	var src marketdata.Sessions = pm
	if o.market != nil {
		src = o.market
	}
	e.data = marketdata.New(src, marketdata.FromStore(st), metrics.New(), log, marketdata.Options{})
	t.Cleanup(func() { require.NoError(t, e.data.Close(context.Background())) })
	e.trader = &recTrader{acc: e.acc}
	e.newService()
	return e
}

// newService builds a bot service on the env's dependencies, replacing
// the previous one (a host restart as far as bots are concerned).
func (e *env) newService() {
	o := e.opts.botOpts
	o.Observer = e.events.observe
	if o.EntitlementTTL == 0 {
		o.EntitlementTTL = time.Nanosecond // every order sees the database
	}
	var tr bots.Trader = e.trader
	if e.opts.trader != nil {
		tr = e.opts.trader
	}
	var evlog bots.EventLog = e.journal
	if e.opts.eventLog != nil {
		evlog = e.opts.eventLog
	}
	e.svc = bots.NewService(e.st, bots.Deps{
		Strategies: e.pm, Market: e.data, Accounts: e.acc, Entitlements: e.bill, Trader: tr, Events: evlog,
	}, o, hclog.NewNullLogger())
}

// run starts Service.Run; the returned stop (also a cleanup) ends it and
// waits.
func (e *env) run() func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	svc := e.svc
	go func() { done <- svc.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			require.NoError(e.t, <-done)
		})
	}
	e.t.Cleanup(stop)
	return stop
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	t.Cleanup(cancel)
	return ctx
}

// addUser creates a user (system scope, as registration does).
func addUser(t testing.TB, st *store.Store, email string) int64 {
	t.Helper()
	var id int64
	require.NoError(t, st.Update(context.Background(), store.System(), func(tx *sqlx.Tx) error {
		return tx.Get(&id, tx.Rebind(`INSERT INTO users (email, password_hash, created_at, updated_at)
			VALUES (?, 'x', 1, 1) RETURNING id`), email)
	}))
	return id
}

// user creates a user on plan ("" = the free practice plan) with a
// connected paper account and returns both ids.
func (e *env) user(name, plan string) (userID, accountID int64) {
	t := e.t
	t.Helper()
	ctx := ctxT(t)
	userID = addUser(t, e.st, name+"@example.com")
	if plan != "" {
		_, err := e.bill.Grant(ctx, userID, billing.Grant{PlanID: plan})
		require.NoError(t, err)
	}
	a, err := e.acc.Connect(ctx, userID, accounts.ConnectRequest{Broker: "paper", Credentials: map[string]string{
		"username": name, "password": "pw-" + name,
	}})
	require.NoError(t, err)
	return userID, a.ID
}

// rsiSpec is a valid RSI bot on the paper OTC market.
func rsiSpec(accountID int64) bots.Spec {
	return bots.Spec{
		Name: "rsi bot", Strategy: "rsi", Params: map[string]string{"period": "14"},
		AccountID: accountID, Symbol: "EURUSD-OTC", Timeframe: market.M1,
		Amount: decimal.NewFromInt(10), Expiration: time.Minute,
	}
}

// eager is an RSI bot that signals CALL on almost every candle (RSI below
// 99.99), so tests see orders on each close.
func eager(accountID int64) bots.Spec {
	sp := rsiSpec(accountID)
	sp.Name = "eager"
	sp.Params = map[string]string{"period": "14", "oversold": "99.99", "overbought": "100"}
	return sp
}

// waitStatus polls a bot until it has status st.
func (e *env) waitStatus(userID, id int64, st bots.Status) bots.Bot {
	e.t.Helper()
	deadline := time.Now().Add(hangGuard)
	for {
		b, err := e.svc.Get(context.Background(), userID, id)
		require.NoError(e.t, err)
		if b.Status == st {
			return b
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("bot %d is %s (%s), want %s", id, b.Status, b.StatusReason, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func billingGrant(plan string) billing.Grant { return billing.Grant{PlanID: plan} }

type accountsRequest = accounts.ConnectRequest
