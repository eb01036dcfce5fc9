package accounts_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/accounts"
	"github.com/stc-trading/stc/host/internal/secrets"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/plugin"
)

// RotateKeys moves every credential onto the active key, after which the
// old key can be removed from the keyring.
func TestRotateKeys(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ctx := ctxT(t)
		k1, err := secrets.GenerateKeySpec("k1")
		require.NoError(t, err)
		k2, err := secrets.GenerateKeySpec("k2")
		require.NoError(t, err)
		parse := func(spec string) *secrets.Keyring {
			kr, err := secrets.ParseKeyring(spec)
			require.NoError(t, err)
			return kr
		}
		e := newEnv(t, st, envOpts{keys: parse(k1)})
		alice := addUser(t, st, "alice@example.com")
		bob := addUser(t, st, "bob@example.com")
		a, err := e.m.Connect(ctx, alice, accounts.ConnectRequest{Broker: "paper", Credentials: paperCreds("alice-paper", "pw-alice")})
		require.NoError(t, err)
		b, err := e.m.Connect(ctx, bob, accounts.ConnectRequest{Broker: "paper", Credentials: paperCreds("bob-paper", "pw-bob")})
		require.NoError(t, err)
		off, err := e.m.Connect(ctx, bob, accounts.ConnectRequest{Broker: "paper", Credentials: paperCreds("bob-off", "pw-bob-off")})
		require.NoError(t, err)
		require.NoError(t, e.m.Disconnect(ctx, bob, off.ID))

		// Dropping k1 too early: nothing decrypts, nothing resumes.
		e.restart(parse(k2))
		resumed, failed, err := e.m.ResumeAll(ctx, accounts.ResumeOptions{})
		require.NoError(t, err)
		assert.Zero(t, resumed)
		assert.Equal(t, 2, failed)
		got, err := e.m.Get(ctx, alice, a.ID)
		require.NoError(t, err)
		assert.Equal(t, accounts.StatusError, got.Status)
		assert.Equal(t, "credentials_unreadable", got.StatusReason)

		// k2 active, k1 still there to decrypt: rotate.
		e.restart(parse(k2 + "," + k1))
		n, err := e.m.RotateKeys(ctx)
		require.NoError(t, err)
		assert.Equal(t, 2, n, "the two accounts with credentials")
		for _, id := range []int64{a.ID, b.ID} {
			row, _ := storedRow(t, st, id)
			assert.Equal(t, "k2", row.KeyID.String)
			assert.True(t, strings.HasPrefix(row.Credentials.String, "v1.k2."))
		}
		n, err = e.m.RotateKeys(ctx)
		require.NoError(t, err)
		assert.Zero(t, n, "nothing left on the old key")

		// k1 removed: every account resumes (the error ones too).
		e.restart(parse(k2))
		resumed, failed, err = e.m.ResumeAll(ctx, accounts.ResumeOptions{})
		require.NoError(t, err)
		assert.Equal(t, 2, resumed)
		assert.Zero(t, failed)
		for _, acc := range []struct{ user, id int64 }{{alice, a.ID}, {bob, b.ID}} {
			got, err := e.m.Get(ctx, acc.user, acc.id)
			require.NoError(t, err)
			assert.Equal(t, accounts.StatusConnected, got.Status)
			assert.True(t, got.BalanceKnown)
		}
	})
}

// A sealed row copied to another account (another user's) does not
// decrypt: the AAD binds it to its user and account.
func TestCopiedCredentialsDoNotDecrypt(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ctx := ctxT(t)
		e := newEnv(t, st, envOpts{})
		alice := addUser(t, st, "alice@example.com")
		bob := addUser(t, st, "bob@example.com")
		a, err := e.m.Connect(ctx, alice, accounts.ConnectRequest{Broker: "paper", Credentials: paperCreds("alice-paper", "pw-alice")})
		require.NoError(t, err)
		b, err := e.m.Connect(ctx, bob, accounts.ConnectRequest{Broker: "paper", Credentials: paperCreds("bob-paper", "pw-bob")})
		require.NoError(t, err)
		a2, err := e.m.Connect(ctx, alice, accounts.ConnectRequest{Broker: "paper", Credentials: paperCreds("alice-two", "pw-alice-two")})
		require.NoError(t, err)

		// An attacker with database access copies alice's sealed
		// credentials onto bob's account and onto alice's other account.
		require.NoError(t, st.Update(ctx, store.System(), func(tx *sqlx.Tx) error {
			_, err := tx.Exec(tx.Rebind(`UPDATE broker_accounts SET (credentials, key_id) =
				(SELECT credentials, key_id FROM broker_accounts WHERE id = ?) WHERE id IN (?, ?)`), a.ID, b.ID, a2.ID)
			return err
		}))
		for _, id := range []int64{b.ID, a2.ID} {
			row, _ := storedRow(t, st, id)
			_, err = openStored(t, e.keys, row, id)
			require.ErrorIs(t, err, secrets.ErrDecrypt)
		}

		e.restart(nil)
		resumed, failed, err := e.m.ResumeAll(ctx, accounts.ResumeOptions{})
		require.NoError(t, err)
		assert.Equal(t, 1, resumed, "alice's own account")
		assert.Equal(t, 2, failed)
		for _, acc := range []struct{ user, id int64 }{{bob, b.ID}, {alice, a2.ID}} {
			got, err := e.m.Get(ctx, acc.user, acc.id)
			require.NoError(t, err)
			assert.Equal(t, accounts.StatusError, got.Status)
			assert.Equal(t, "credentials_unreadable", got.StatusReason)
			_, _, err = e.m.Session(ctx, acc.user, acc.id)
			assert.ErrorIs(t, err, broker.ErrSessionNotFound)
		}
		_, err = e.m.RotateKeys(ctx)
		require.NoError(t, err, "nothing to rotate: every row is on the active key")
	})
}

// The acceptance canary: a password used as broker credentials appears
// nowhere in a plain-text dump of the database, in the host's log (at
// Trace, plugin output included), in any error returned, or in the
// environment of any plugin process, across connect, failed connect,
// second factor, plugin crash, host restart and disconnect.
func TestCanaryPasswordNeverLeaks(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	var raw [12]byte
	_, _ = rand.Read(raw[:])
	canary := "canary-" + hex.EncodeToString(raw[:])
	wrongCanary := "wrong-" + canary

	logs := &syncBuffer{}
	schema := storetest.NewSchema(t)
	st, err := store.Open(ctx, schema.URL, "", hclog.New(&hclog.LoggerOptions{Name: "store", Level: hclog.Trace, Output: logs}))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, st.Close()) })

	var errs []error
	pids := map[int]bool{}
	scanEnv := func(e *env) {
		for _, pid := range e.pluginPIDs() {
			pids[pid] = true
			env, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "environ"))
			require.NoError(t, err, "plugin %d must be running to read its environment", pid)
			assert.NotContains(t, string(env), canary, "plugin %d environment", pid)
			assert.Contains(t, string(env), plugin.DataDirEnv+"="+e.opts.dataDir, "the scan reads the real environment")
		}
	}

	e := newEnv(t, st, envOpts{logs: logs})
	alice := addUser(t, st, "alice@example.com")
	bob := addUser(t, st, "bob@example.com")
	a, err := e.m.Connect(ctx, alice, accounts.ConnectRequest{Broker: "paper", Credentials: paperCreds("canary-user", canary)})
	require.NoError(t, err)
	_, err = e.m.Connect(ctx, bob, accounts.ConnectRequest{Broker: "paper", Credentials: paperCreds("canary-user", wrongCanary)})
	require.ErrorIs(t, err, broker.ErrAuthFailed)
	errs = append(errs, err)
	_, err = e.m.Connect(ctx, alice, accounts.ConnectRequest{Broker: "paper", Credentials: map[string]string{"username": "canary-user", "password": canary, "bad": "\x01"}})
	require.Error(t, err)
	errs = append(errs, err)
	_, err = e.m.List(ctx, alice)
	require.NoError(t, err)
	scanEnv(e)

	// The plugin crashes and re-opens the session from the database.
	pid := e.paperPID()
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	sess, _, err := e.m.Session(ctx, alice, a.ID)
	require.NoError(t, err)
	eventually(t, "the session is re-opened", func() error {
		_, err := sess.Balance(ctx)
		return err
	})
	scanEnv(e)

	// The host restarts and resumes.
	e.restart(nil)
	resumed, _, err := e.m.ResumeAll(ctx, accounts.ResumeOptions{})
	require.NoError(t, err)
	require.Equal(t, 1, resumed)
	scanEnv(e)

	// The second-factor flow, on a second host in 2FA mode.
	tf := newEnv(t, st, envOpts{logs: logs, twoFA: true})
	_, err = tf.m.Connect(ctx, bob, accounts.ConnectRequest{Broker: "paper", Credentials: paperCreds("canary-2fa", canary)})
	require.ErrorIs(t, err, broker.ErrSecondFactorRequired)
	errs = append(errs, err)
	withCode := paperCreds("canary-2fa", canary)
	withCode["code"] = secondFactorCode
	b, err := tf.m.Connect(ctx, bob, accounts.ConnectRequest{Broker: "paper", Credentials: withCode})
	require.NoError(t, err)
	scanEnv(tf)

	dump := pgDump(t, schema.Name)
	assert.Contains(t, dump, "canary-user", "the dump holds the accounts (the login is not secret)")
	assert.Contains(t, dump, "v1.k1.", "the dump holds the sealed credentials")
	assert.NotContains(t, dump, canary, "plain-text database dump")
	assert.NotContains(t, dump, hex.EncodeToString([]byte(canary)), "bytea-style hex in the dump")

	require.NoError(t, tf.m.Disconnect(ctx, bob, b.ID))
	require.NoError(t, e.m.Disconnect(ctx, alice, a.ID))
	assert.NotContains(t, pgDump(t, schema.Name), canary)

	for _, err := range errs {
		assert.NotContains(t, err.Error(), canary, "returned error")
	}
	out := logs.String()
	assert.Contains(t, out, "broker account connected", "the account manager log was captured")
	assert.Contains(t, out, "plugin running", "the plugin manager log was captured")
	assert.NotContains(t, out, canary, "host log")
	assert.GreaterOrEqual(t, len(pids), 3, "the scan covered every plugin process: %v", pids)
}

// pgDump returns a plain-text pg_dump of one schema.
func pgDump(t *testing.T, schema string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/usr/bin/pg_dump", "--format=plain", "--no-owner", "--schema="+schema,
		"--dbname="+storetest.PostgresURL())
	out, err := cmd.Output()
	var stderr string
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		stderr = string(ee.Stderr)
	}
	require.NoError(t, err, "pg_dump: %s", stderr)
	return string(out)
}
