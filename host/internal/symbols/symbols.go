// Package symbols caches each broker's instrument list (payouts, open or
// closed, stake limits, expiries) so that a thousand users asking for the
// symbols cost one broker request every few minutes, and answers from a
// built-in list when the broker cannot be reached.
package symbols

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/stc-trading/stc/sdk/broker"
)

// Sources of an answer.
const (
	SourceLive     = "live"     // fetched from the broker for this request
	SourceCache    = "cache"    // a cached broker answer
	SourceFallback = "fallback" // the built-in list: the broker is unreachable
)

// Fetcher asks a broker for its instruments.
type Fetcher interface {
	Instruments(ctx context.Context, brokerName string) ([]broker.Instrument, error)
}

// Service is the shared symbols cache. It is safe for concurrent use.
type Service struct {
	fetch    Fetcher
	ttl      time.Duration
	now      func() time.Time
	fallback func(now time.Time) []broker.Instrument

	mu      sync.Mutex
	entries map[string]*entry
}

type entry struct {
	items   []broker.Instrument
	fetched time.Time
	flight  chan struct{} // non-nil while a fetch runs; closed when done
}

// New returns a cache with the given time to live (5 minutes in
// production). fallback, when not nil, builds the list served for any
// broker that cannot be reached and has nothing cached (Builtin); it is
// called at the time of the request, so whether a market is open is
// current. The cache knows no broker by name: callers ask only for
// brokers the host has. now may be nil.
func New(f Fetcher, ttl time.Duration, fallback func(now time.Time) []broker.Instrument, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{fetch: f, ttl: ttl, now: now, fallback: fallback, entries: make(map[string]*entry)}
}

// Run refreshes every broker asked for so far once per time to live, so
// answers stay fresh without a user paying for the fetch. It returns when
// ctx ends; the caller owns it.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.ttl)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.mu.Lock()
			names := make([]string, 0, len(s.entries))
			for name := range s.entries {
				names = append(names, name)
			}
			s.mu.Unlock()
			for _, name := range names {
				s.refresh(ctx, name)
			}
		}
	}
}

// refresh fetches name's list and caches it; a failure keeps the old one.
func (s *Service) refresh(ctx context.Context, name string) {
	items, err := s.fetch.Instruments(ctx, name)
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.entries[name]; e != nil {
		e.items, e.fetched = items, s.now()
	}
}

// List returns brokerName's instruments and their source. Concurrent
// misses for one broker share one upstream request. When the broker fails,
// a stale cached list beats the built-in one; with neither, the error is
// returned.
func (s *Service) List(ctx context.Context, brokerName string) ([]broker.Instrument, string, error) {
	for {
		s.mu.Lock()
		e := s.entries[brokerName]
		if e == nil {
			e = &entry{}
			s.entries[brokerName] = e
		}
		if e.items != nil && s.now().Sub(e.fetched) < s.ttl {
			items := e.items
			s.mu.Unlock()
			return items, SourceCache, nil
		}
		if wait := e.flight; wait != nil {
			s.mu.Unlock()
			select {
			case <-wait:
				continue // the other request's result is in the cache now (or it failed)
			case <-ctx.Done():
				return nil, "", ctx.Err()
			}
		}
		done := make(chan struct{})
		e.flight = done
		s.mu.Unlock()

		items, err := s.fetch.Instruments(ctx, brokerName)

		s.mu.Lock()
		e.flight = nil
		close(done)
		if err == nil {
			e.items, e.fetched = items, s.now()
			s.mu.Unlock()
			return items, SourceLive, nil
		}
		stale := e.items
		s.mu.Unlock()
		if stale != nil {
			return stale, SourceCache, nil
		}
		if s.fallback != nil {
			return s.fallback(s.now()), SourceFallback, nil
		}
		return nil, "", fmt.Errorf("symbols of %s: %w", brokerName, err)
	}
}
