package symbols

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/sdk/broker"
)

type fakeFetcher struct {
	calls atomic.Int32
	fail  atomic.Bool
	gate  chan struct{}
}

func (f *fakeFetcher) Instruments(ctx context.Context, name string) ([]broker.Instrument, error) {
	f.calls.Add(1)
	if f.gate != nil {
		<-f.gate
	}
	if f.fail.Load() {
		return nil, broker.ErrUnavailable
	}
	return []broker.Instrument{{Symbol: name + "-X", PayoutPercent: 80}}, nil
}

func TestCacheLiveFallback(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	f := &fakeFetcher{}
	s := New(f, 5*time.Minute, nil, func() time.Time { return now })
	ctx := context.Background()

	items, src, err := s.List(ctx, "demo")
	require.NoError(t, err)
	assert.Equal(t, SourceLive, src)
	assert.Equal(t, "demo-X", items[0].Symbol)

	_, src, _ = s.List(ctx, "demo")
	assert.Equal(t, SourceCache, src)
	assert.EqualValues(t, 1, f.calls.Load(), "a fresh cache asks the broker nothing")

	now = now.Add(6 * time.Minute)
	f.fail.Store(true)
	items, src, err = s.List(ctx, "demo")
	require.NoError(t, err)
	assert.Equal(t, SourceCache, src, "a stale list beats the built-in one")
	assert.Equal(t, "demo-X", items[0].Symbol)

	items, src, err = s.List(ctx, "other-never-reached")
	assert.True(t, errors.Is(err, broker.ErrUnavailable), "no cache and no fallback: %v %v %v", items, src, err)

	builtin := func(time.Time) []broker.Instrument { return []broker.Instrument{{Symbol: "BUILTIN"}} }
	s2 := New(f, time.Minute, builtin, nil)
	for _, name := range []string{"demo", "another-broker"} {
		items, src, err = s2.List(ctx, name)
		require.NoError(t, err)
		assert.Equal(t, SourceFallback, src, "the built-in list stands in for any broker")
		assert.Equal(t, "BUILTIN", items[0].Symbol)
	}
}

// TestFallbackIsCurrent: the built-in list is built when it is served, so
// a regular pair closes when the forex week ends, however long ago the
// host started.
func TestFallbackIsCurrent(t *testing.T) {
	now := time.Date(2026, 11, 27, 20, 59, 0, 0, time.UTC) // a Friday
	f := &fakeFetcher{}
	f.fail.Store(true)
	s := New(f, time.Minute, Builtin, func() time.Time { return now })
	open := func() bool {
		items, src, err := s.List(context.Background(), "demo")
		require.NoError(t, err)
		require.Equal(t, SourceFallback, src)
		for _, in := range items {
			if in.Symbol == "EURUSD" {
				return in.Open
			}
		}
		t.Fatal("no EURUSD in the built-in list")
		return false
	}
	assert.True(t, open(), "Friday 20:59 UTC")
	now = now.Add(2 * time.Minute)
	assert.False(t, open(), "Friday 21:01 UTC: the forex week is over")
}

func TestConcurrentMissesShareOneRequest(t *testing.T) {
	f := &fakeFetcher{gate: make(chan struct{})}
	s := New(f, time.Minute, nil, nil)
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			_, _, err := s.List(context.Background(), "demo")
			assert.NoError(t, err)
		})
	}
	for f.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	close(f.gate)
	wg.Wait()
	assert.EqualValues(t, 1, f.calls.Load())
}

func TestRunRefreshesInTheBackground(t *testing.T) {
	f := &fakeFetcher{}
	s := New(f, 20*time.Millisecond, nil, nil)
	_, _, err := s.List(context.Background(), "demo")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	for f.calls.Load() < 3 {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	_, src, err := s.List(context.Background(), "demo")
	require.NoError(t, err)
	assert.Contains(t, []string{SourceCache, SourceLive}, src)
}

func TestBuiltinFallback(t *testing.T) {
	saturday := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	list := Builtin(saturday)
	require.Len(t, list, 24)
	for _, in := range list {
		assert.Equal(t, in.Market == "otc", in.Open, "%s at the weekend", in.Symbol)
	}
	monday := Builtin(saturday.Add(48 * time.Hour))
	for _, in := range monday {
		assert.True(t, in.Open, "%s on a Monday", in.Symbol)
	}
}
