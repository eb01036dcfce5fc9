package paper

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/sdk/broker"
)

// wednesdayNoon is a time when every market is open.
func wednesdayNoon() time.Time { return time.Date(2024, 3, 6, 12, 0, 0, 0, time.UTC) }

// fakeClock is a settable wall clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{t: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newMarket opens a Market on dir driven by clk and closes it at cleanup.
func newMarket(t testing.TB, dir string, clk *fakeClock, opts ...func(*Config)) *Market {
	t.Helper()
	cfg := Config{DataDir: dir, Seed: 42, Now: clk.Now}
	for _, o := range opts {
		o(&cfg)
	}
	m, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, m.Close()) })
	return m
}

func creds(user, pass string) map[string]string {
	return map[string]string{"username": user, "password": pass}
}

// login opens a new session of m as user.
func login(t testing.TB, m *Market, user, pass string) broker.Broker {
	t.Helper()
	s := m.Factory()()
	_, err := s.Open(context.Background(), broker.OpenRequest{Mode: broker.Practice, Credentials: creds(user, pass)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }
