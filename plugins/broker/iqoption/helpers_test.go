package iqoption_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/plugins/broker/iqoption"
	"github.com/stc-trading/stc/plugins/broker/iqoption/iqfake"
	"github.com/stc-trading/stc/sdk/broker"
)

const (
	testUser = "trader@example.com"
	testPass = "correct horse"
)

// startFake runs a fake with one user and stops it with t.
func startFake(t testing.TB, cfg iqfake.Config) (*iqfake.Server, int64) {
	t.Helper()
	fk, err := iqfake.Start(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = fk.Close() })
	uid := fk.AddUser(iqfake.User{Identifier: testUser, Password: testPass})
	return fk, uid
}

// adapter returns an adapter pointed at fk; edit tweaks the config.
func adapter(t testing.TB, fk *iqfake.Server, edit ...func(*iqoption.Config)) *iqoption.Adapter {
	t.Helper()
	cfg := iqoption.Config{AuthURL: fk.AuthURL(), WSURL: fk.WSURL(), RequestTimeout: 10 * time.Second}
	for _, e := range edit {
		e(&cfg)
	}
	a, err := iqoption.New(cfg)
	require.NoError(t, err)
	return a
}

func creds() map[string]string {
	return map[string]string{"identifier": testUser, "password": testPass}
}

// open opens a practice session and closes it with t.
func open(t testing.TB, a *iqoption.Adapter) broker.Broker {
	t.Helper()
	s := a.Factory()()
	_, err := s.Open(context.Background(), broker.OpenRequest{Mode: broker.Practice, Credentials: creds()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// waitFor polls cond until it holds; the bound only guards against a hung
// test, it is not a timing assertion.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func decimalOne() decimal.Decimal { return decimal.NewFromInt(1) }

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
