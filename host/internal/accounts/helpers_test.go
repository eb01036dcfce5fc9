package accounts_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/accounts"
	"github.com/stc-trading/stc/host/internal/events"
	"github.com/stc-trading/stc/host/internal/pluginmgr"
	"github.com/stc-trading/stc/host/internal/plugintest"
	"github.com/stc-trading/stc/host/internal/secrets"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/plugin"
)

// hangGuard bounds every wait; it only stops a broken test from hanging.
const hangGuard = 2 * time.Minute

// secondFactorCode is the paper broker's accepted code in 2FA mode.
const secondFactorCode = "424242"

// syncBuffer is a log sink that goroutines of the plugin manager and the
// account manager write to concurrently.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// policy is the entitlement service of the tests: the listed brokers,
// real mode only when real is set, and at most maxAccounts accounts (0:
// no limit).
type policy struct {
	brokers     map[string]bool
	real        bool
	maxAccounts int
}

func (p policy) AccountLimit(context.Context, int64) (int, error) { return p.maxAccounts, nil }

func (p policy) CheckConnect(_ context.Context, _ int64, name string, mode broker.Mode) error {
	if !p.brokers[name] {
		return fmt.Errorf("%w: the plan does not include broker %s", accounts.ErrNotEntitled, name)
	}
	if mode == broker.Real && !p.real {
		return fmt.Errorf("%w: the plan does not include real-money trading", accounts.ErrNotEntitled)
	}
	return nil
}

func practicePlan() policy { return policy{brokers: map[string]bool{"paper": true}} }

// envOpts shape one host of a test.
type envOpts struct {
	twoFA   bool
	keys    *secrets.Keyring
	policy  accounts.Policy
	dataDir string // paper data dir; shared across a "host restart"
	logs    *syncBuffer
	onEvent func(pluginmgr.Event) // the plugin manager's lifecycle events
	// timeScale is the paper market's speed (STC_PAPER_TIME_SCALE); empty
	// is real time.
	timeScale string
}

// env is one host: a store, a plugin manager running the real paper
// plugin, and the account manager under test.
type env struct {
	t       *testing.T
	st      *store.Store
	keys    *secrets.Keyring
	plugins *pluginmgr.Manager
	m       *accounts.Manager
	// ev is the event log the manager records account changes in.
	ev   *events.Log
	opts envOpts
}

// newKeyring returns a keyring of fresh random keys, the first active.
func newKeyring(t *testing.T, ids ...string) *secrets.Keyring {
	t.Helper()
	spec := ""
	for _, id := range ids {
		s, err := secrets.GenerateKeySpec(id)
		require.NoError(t, err)
		if spec != "" {
			spec += ","
		}
		spec += s
	}
	kr, err := secrets.ParseKeyring(spec)
	require.NoError(t, err)
	return kr
}

func newEnv(t *testing.T, st *store.Store, o envOpts) *env {
	t.Helper()
	if o.keys == nil {
		o.keys = newKeyring(t, "k1")
	}
	if o.policy == nil {
		o.policy = practicePlan()
	}
	if o.dataDir == "" {
		o.dataDir = t.TempDir()
	}
	if o.logs == nil {
		o.logs = &syncBuffer{}
	}
	e := &env{t: t, st: st, keys: o.keys, opts: o}
	e.start()
	return e
}

// start launches the plugin manager and the account manager.
func (e *env) start() {
	t := e.t
	t.Helper()
	log := hclog.New(&hclog.LoggerOptions{Name: "host", Level: hclog.Trace, Output: e.opts.logs})
	paperEnv := map[string]string{
		plugin.DataDirEnv:       e.opts.dataDir,
		"STC_PAPER_REQUIRE_2FA": strconv.FormatBool(e.opts.twoFA),
		"STC_PAPER_2FA_CODE":    secondFactorCode,
	}
	if e.opts.timeScale != "" {
		paperEnv["STC_PAPER_TIME_SCALE"] = e.opts.timeScale
	}
	pm := plugintest.Manager(t, pluginDir, plugintest.Options{
		Env:     map[string]map[string]string{"broker/paper": paperEnv},
		Log:     log,
		Manager: pluginmgr.Options{OnEvent: e.opts.onEvent},
	})
	e.plugins = pm
	e.m = accounts.NewManager(e.st, e.keys, pm, e.opts.policy, log)
	// Every test records its account changes in a real event log, so each
	// flow also proves its events are written without deadlocking the
	// store's single SQLite writer.
	e.ev = events.New(e.st, renderAccount, log, events.Options{})
	e.m.SetEvents(e.ev)
}

// restart stops the plugin manager (as a host shutdown does) and starts a
// new host on the same database and paper data, with keys when given.
func (e *env) restart(keys *secrets.Keyring) {
	e.t.Helper()
	require.NoError(e.t, e.plugins.Close(context.Background()))
	if keys != nil {
		e.keys = keys
	}
	e.start()
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

// pluginPIDs returns every plugin process the manager has started.
func (e *env) pluginPIDs() []int {
	var pids []int
	for _, s := range e.plugins.Status() {
		if s.PID > 0 {
			pids = append(pids, s.PID)
		}
	}
	return pids
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	t.Cleanup(cancel)
	return ctx
}

// addUser creates a user (system scope, as registration does).
func addUser(t *testing.T, st *store.Store, email string) int64 {
	t.Helper()
	var id int64
	require.NoError(t, st.Update(context.Background(), store.System(), func(tx *sqlx.Tx) error {
		return tx.Get(&id, tx.Rebind(`INSERT INTO users (email, password_hash, created_at, updated_at)
			VALUES (?, 'x', 1, 1) RETURNING id`), email)
	}))
	return id
}

// stored is what broker_accounts holds for one account, read in the
// system scope.
type stored struct {
	UserID      int64          `db:"user_id"`
	Status      string         `db:"status"`
	Reason      string         `db:"status_reason"`
	Login       string         `db:"login"`
	Credentials sql.NullString `db:"credentials"`
	KeyID       sql.NullString `db:"key_id"`
}

func storedRow(t *testing.T, st *store.Store, id int64) (stored, bool) {
	t.Helper()
	var rs []stored
	require.NoError(t, st.View(context.Background(), store.System(), func(tx *sqlx.Tx) error {
		return tx.Select(&rs, tx.Rebind(`SELECT user_id, status, status_reason, login, credentials, key_id
			FROM broker_accounts WHERE id = ?`), id)
	}))
	if len(rs) == 0 {
		return stored{}, false
	}
	return rs[0], true
}

func countRows(t *testing.T, st *store.Store) int {
	t.Helper()
	var n int
	require.NoError(t, st.View(context.Background(), store.System(), func(tx *sqlx.Tx) error {
		return tx.Get(&n, "SELECT count(*) FROM broker_accounts")
	}))
	return n
}

// openStored decrypts an account's stored credentials with keys, as only
// the manager should.
func openStored(t *testing.T, keys *secrets.Keyring, row stored, accountID int64) (map[string]string, error) {
	t.Helper()
	require.True(t, row.Credentials.Valid, "no credentials stored")
	s, err := secrets.ParseSealed(row.Credentials.String)
	require.NoError(t, err)
	return keys.OpenJSON(s, secrets.AAD{UserID: row.UserID, AccountID: accountID, Purpose: "broker-credentials"})
}

func paperCreds(user, password string) map[string]string {
	return map[string]string{"username": user, "password": password}
}

// eventually polls f until it returns nil or hangGuard passes.
func eventually(t *testing.T, what string, f func() error) {
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
