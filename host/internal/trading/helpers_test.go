package trading

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/accounts"
	"github.com/stc-trading/stc/host/internal/pluginmgr"
	"github.com/stc-trading/stc/host/internal/plugintest"
	"github.com/stc-trading/stc/host/internal/secrets"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
	"github.com/stc-trading/stc/sdk/plugin"
)

// hangGuard bounds every wait; it only stops a broken test from hanging
// and is never a pass/fail threshold.
const hangGuard = 2 * time.Minute

// otc is a paper symbol that trades 24/7.
const otc = "EURUSD-OTC"

// pgConns caps each test store's PostgreSQL pool: the tests run in
// parallel (and beside other packages' tests) against one server with
// max_connections = 100, and the service needs few connections, since one
// user's inserts take turns anyway.
const pgConns = 6

// each runs f on both stores, as storetest.Each, with a small pool.
func each(t *testing.T, f func(t *testing.T, st *store.Store)) {
	t.Helper()
	storetest.Each(t, f, store.WithMaxOpenConns(pgConns))
}

// clock is the host clock of a test: the wall clock plus an offset the
// test moves forward to pass deadlines without waiting for them.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// allowPolicy lets every trade through unless deny is set.
type allowPolicy struct {
	mu   sync.Mutex
	deny bool
}

func (p *allowPolicy) CheckTrade(context.Context, int64, string, broker.Mode) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.deny {
		return fmt.Errorf("%w: the plan has lapsed", ErrNotEntitled)
	}
	return nil
}

func (p *allowPolicy) CheckConnect(context.Context, int64, string, broker.Mode) error { return nil }

func (p *allowPolicy) AccountLimit(context.Context, int64) (int, error) { return 0, nil }

// placeHook replaces a session's PlaceOrder in a test: inner is the real
// session.
type placeHook func(ctx context.Context, inner broker.Broker, req broker.OrderRequest) (broker.Order, error)

// hookAccounts is the real account manager with test hooks on the
// sessions it hands out: a PlaceOrder interceptor and a switch that makes
// the order-result stream unavailable (so settlement must poll).
type hookAccounts struct {
	*accounts.Manager
	mu       sync.Mutex
	place    placeHook
	noStream bool
}

func (h *hookAccounts) setPlace(f placeHook) {
	h.mu.Lock()
	h.place = f
	h.mu.Unlock()
}

func (h *hookAccounts) Session(ctx context.Context, userID, accountID int64) (broker.Broker, accounts.Account, error) {
	b, a, err := h.Manager.Session(ctx, userID, accountID)
	if err != nil {
		return nil, a, err
	}
	return &hookBroker{Broker: b, h: h}, a, nil
}

type hookBroker struct {
	broker.Broker
	h *hookAccounts
}

func (b *hookBroker) PlaceOrder(ctx context.Context, req broker.OrderRequest) (broker.Order, error) {
	b.h.mu.Lock()
	f := b.h.place
	b.h.mu.Unlock()
	if f != nil {
		return f(ctx, b.Broker, req)
	}
	return b.Broker.PlaceOrder(ctx, req)
}

// PlaceOrders sends the batch in one call, unless a PlaceOrder hook is
// set: then every order goes through the hook.
func (b *hookBroker) PlaceOrders(ctx context.Context, reqs []broker.OrderRequest) ([]broker.OrderResult, error) {
	b.h.mu.Lock()
	f := b.h.place
	b.h.mu.Unlock()
	if f == nil {
		return broker.PlaceOrders(ctx, b.Broker, reqs)
	}
	out := make([]broker.OrderResult, len(reqs))
	for i, r := range reqs {
		out[i].Order, out[i].Err = f(ctx, b.Broker, r)
	}
	return out, nil
}

func (b *hookBroker) OrderResults(ctx context.Context) (<-chan broker.Order, error) {
	b.h.mu.Lock()
	off := b.h.noStream
	b.h.mu.Unlock()
	if off {
		return nil, broker.NewError(broker.ErrUnsupported, "stream switched off by the test")
	}
	return b.Broker.OrderResults(ctx)
}

// env is one host: a store, the real paper plugin under a plugin manager,
// the account manager, and the trading service under test.
type env struct {
	t       testing.TB
	st      *store.Store
	keys    *secrets.Keyring
	plugins *pluginmgr.Manager
	accts   *hookAccounts
	policy  *allowPolicy
	clock   *clock
	svc     *Service
	dataDir string
	opts    Options
}

func newKeyring(t testing.TB) *secrets.Keyring {
	t.Helper()
	spec, err := secrets.GenerateKeySpec("k1")
	require.NoError(t, err)
	kr, err := secrets.ParseKeyring(spec)
	require.NoError(t, err)
	return kr
}

// newEnv starts a host on st. Paper runs 60 market seconds per wall
// second, so a 60 s trade settles in about a second.
func newEnv(t testing.TB, st *store.Store, tune ...func(*Options)) *env {
	t.Helper()
	e := &env{t: t, st: st, keys: newKeyring(t), policy: &allowPolicy{}, clock: &clock{}, dataDir: t.TempDir()}
	e.opts = Options{
		Now:             e.clock.Now,
		PollInterval:    20 * time.Millisecond,
		RecheckInterval: 50 * time.Millisecond,
	}
	for _, f := range tune {
		f(&e.opts)
	}
	e.start()
	return e
}

// start launches the plugin manager, account manager and service.
func (e *env) start() {
	t := e.t
	t.Helper()
	log := hclog.New(&hclog.LoggerOptions{Name: "host", Level: hclog.Warn, Output: io.Discard})
	if testing.Verbose() {
		log = hclog.New(&hclog.LoggerOptions{Name: "host", Level: hclog.Info, Output: t.Output()})
	}
	pm := plugintest.Manager(t, pluginDir, plugintest.Options{
		Env: map[string]map[string]string{"broker/paper": {plugin.DataDirEnv: e.dataDir, "STC_PAPER_TIME_SCALE": "60"}},
		Log: log,
	})
	e.plugins = pm
	e.accts = &hookAccounts{Manager: accounts.NewManager(e.st, e.keys, pm, e.policy, log)}
	e.svc = NewService(e.st, e.accts, e.policy, e.opts, log)
}

// restart stops the plugins (a host shutdown) and starts a new host on the
// same database and paper data; the caller resumes the accounts.
func (e *env) restart() {
	e.t.Helper()
	require.NoError(e.t, e.plugins.Close(context.Background()))
	e.start()
	_, failed, err := e.accts.ResumeAll(ctxT(e.t), accounts.ResumeOptions{})
	require.NoError(e.t, err)
	require.Zero(e.t, failed)
}

// run runs the service's Run until the test ends, and waits for it.
func (e *env) run() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { // owned by the test: cancelled and awaited in Cleanup
		defer close(done)
		e.svc.Run(ctx)
	}()
	e.t.Cleanup(func() {
		cancel()
		<-done
	})
}

// paperPID returns the PID of the running paper plugin process.
func (e *env) paperPID() int {
	e.t.Helper()
	for _, s := range e.plugins.Status() {
		if s.Kind == plugin.KindBroker && s.Name == "paper" && s.Session == "" && s.State == pluginmgr.StateRunning {
			return s.PID
		}
	}
	e.t.Fatalf("no running paper plugin in %+v", e.plugins.Status())
	return 0
}

// kill sends sig to the paper plugin.
func (e *env) kill(pid int, sig syscall.Signal) {
	e.t.Helper()
	require.NoError(e.t, syscall.Kill(pid, sig))
}

// freeze stops process pid with SIGSTOP and waits until the kernel
// reports it stopped: the signal is asynchronous, and a process that is
// not yet stopped may still serve a request sent right after kill(2).
func (e *env) freeze(pid int) {
	e.t.Helper()
	e.kill(pid, syscall.SIGSTOP)
	eventually(e.t, "plugin stopped", func() error {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return err
		}
		// The state follows the parenthesised command name.
		i := strings.LastIndexByte(string(stat), ')')
		if i < 0 || i+2 >= len(stat) || stat[i+2] != 'T' {
			return fmt.Errorf("not stopped: %s", stat)
		}
		return nil
	})
}

// waitRestarted waits until a paper process other than old is running.
func (e *env) waitRestarted(old int) {
	e.t.Helper()
	eventually(e.t, "paper plugin restarted", func() error {
		for _, s := range e.plugins.Status() {
			if s.Kind == plugin.KindBroker && s.Name == "paper" && s.Session == "" && s.State == pluginmgr.StateRunning && s.PID != old {
				return nil
			}
		}
		return fmt.Errorf("status %+v", e.plugins.Status())
	})
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

// connect creates a user with a connected paper account and generous
// limits; it returns the user and account ids.
func (e *env) connect(email string) (userID, accountID int64) {
	t := e.t
	t.Helper()
	userID = addUser(t, e.st, email)
	a, err := e.accts.Connect(ctxT(t), userID, accounts.ConnectRequest{
		Broker:      "paper",
		Credentials: map[string]string{"username": email, "password": "pw-" + email},
	})
	require.NoError(t, err)
	require.NoError(t, e.svc.SetLimits(ctxT(t), userID, Limits{}))
	return userID, a.ID
}

// manual is a manual 60 s trade request.
func manual(userID int64, side market.Side, amount string) PlaceRequest {
	return PlaceRequest{
		UserID: userID, Broker: "paper", Symbol: otc, Direction: side,
		Amount: decimal.RequireFromString(amount), Expiration: time.Minute,
	}
}

// eventually polls f until it returns nil or hangGuard passes.
func eventually(t testing.TB, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: still failing after %s: %v", what, hangGuard, err)
}

// waitStatus waits until trade id of userID is in a final state and
// returns it.
func (e *env) waitFinal(userID, id int64) Trade {
	e.t.Helper()
	var tr Trade
	eventually(e.t, fmt.Sprintf("trade %d final", id), func() error {
		var err error
		tr, err = e.svc.Get(context.Background(), userID, id)
		if err != nil {
			return err
		}
		if !tr.Status.Final() {
			return fmt.Errorf("status %s", tr.Status)
		}
		return nil
	})
	return tr
}

// paperOrders returns the client order ids of every order the paper
// broker persisted (its append-only account logs), across all accounts.
func (e *env) paperOrders() map[string]bool {
	e.t.Helper()
	out := map[string]bool{}
	files, err := filepath.Glob(filepath.Join(e.dataDir, "accounts", "*.log"))
	require.NoError(e.t, err)
	for _, f := range files {
		fh, err := os.Open(f)
		require.NoError(e.t, err)
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if !strings.Contains(sc.Text(), `"type":"order"`) {
				continue
			}
			var rec struct {
				Order struct {
					ClientOrderID string `json:"client_order_id"`
				} `json:"order"`
			}
			if json.Unmarshal(sc.Bytes(), &rec) == nil {
				require.False(e.t, out[rec.Order.ClientOrderID], "paper holds order %s twice", rec.Order.ClientOrderID)
				out[rec.Order.ClientOrderID] = true
			}
		}
		require.NoError(e.t, sc.Err())
		_ = fh.Close()
	}
	return out
}

// allTrades reads every trade row (system scope).
func (e *env) allTrades() []Trade {
	e.t.Helper()
	var rows []row
	require.NoError(e.t, e.st.View(context.Background(), store.System(), func(tx *sqlx.Tx) error {
		return tx.Select(&rows, `SELECT `+columns+` FROM trades ORDER BY id`)
	}))
	out := make([]Trade, len(rows))
	for i, r := range rows {
		out[i] = r.trade()
	}
	return out
}

// checkOrdersMatchTrades asserts the exactly-once invariant: every order
// the paper broker holds has exactly one trade row, and every trade row
// that is not rejected has its order at the broker.
func (e *env) checkOrdersMatchTrades() {
	e.t.Helper()
	orders := e.paperOrders()
	trades := e.allTrades()
	placed := 0
	for _, tr := range trades {
		if tr.Status == StatusRejected {
			require.False(e.t, orders[tr.ClientOrderID], "rejected trade %d has an order at the broker", tr.ID)
			continue
		}
		placed++
		require.True(e.t, orders[tr.ClientOrderID], "trade %d (%s) has no order at the broker", tr.ID, tr.Status)
	}
	require.Equal(e.t, len(orders), placed, "paper order count equals placed trade rows")
}

// result is a synthetic settled order for trade tr.
func result(tr Trade, st broker.OrderState, profit string) broker.Order {
	return broker.Order{
		ClientOrderID: tr.ClientOrderID, BrokerOrderID: tr.BrokerOrderID, Symbol: tr.Symbol, Side: tr.Direction,
		Amount: tr.Amount, State: st, Profit: decimal.RequireFromString(profit), PayoutPercent: 85,
		OpenPrice: 1.1, ClosePrice: 1.2, ClosedAt: time.Now().UTC(),
	}
}
