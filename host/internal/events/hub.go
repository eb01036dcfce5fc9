package events

import (
	"sync"
	"sync/atomic"
	"time"
)

// hub wakes a user's subscribers when that user's events commit. A wake
// carries no data: subscribers read the log from their last seq, so a
// wake that coalesces with another loses nothing.
type hub struct {
	mu   sync.Mutex
	subs map[int64]map[*Subscription]struct{}
}

func newHub() *hub { return &hub{subs: make(map[int64]map[*Subscription]struct{})} }

// Subscription is a reader's wake-up channel for one user's events.
type Subscription struct {
	// C receives a value when new events may be in the log. It is
	// buffered by one: wakes that arrive while one is pending merge.
	C      <-chan struct{}
	c      chan struct{}
	userID int64
	hub    *hub
	once   sync.Once
	woken  atomic.Pointer[time.Time]
}

// WokenAt returns when the subscription was last woken (zero before the
// first wake). The commits that woke it were visible from then on, so a
// read of the log that began no earlier sees them: the user's streams
// share such reads instead of each making its own.
func (s *Subscription) WokenAt() time.Time {
	if t := s.woken.Load(); t != nil {
		return *t
	}
	return time.Time{}
}

// Subscribe wakes the returned subscription whenever userID's events
// commit on this host. Close it when done.
func (l *Log) Subscribe(userID int64) *Subscription {
	c := make(chan struct{}, 1)
	s := &Subscription{C: c, c: c, userID: userID, hub: l.hub}
	l.hub.mu.Lock()
	m := l.hub.subs[userID]
	if m == nil {
		m = make(map[*Subscription]struct{})
		l.hub.subs[userID] = m
	}
	m[s] = struct{}{}
	l.hub.mu.Unlock()
	return s
}

// Close stops the wakes.
func (s *Subscription) Close() {
	s.once.Do(func() {
		s.hub.mu.Lock()
		defer s.hub.mu.Unlock()
		m := s.hub.subs[s.userID]
		delete(m, s)
		if len(m) == 0 {
			delete(s.hub.subs, s.userID)
		}
	})
}

// Watched reports whether userID has a subscriber on this host.
func (l *Log) Watched(userID int64) bool {
	l.hub.mu.Lock()
	defer l.hub.mu.Unlock()
	return len(l.hub.subs[userID]) > 0
}

// WatchedUsers returns the users with a subscriber on this host.
func (l *Log) WatchedUsers() []int64 {
	l.hub.mu.Lock()
	defer l.hub.mu.Unlock()
	out := make([]int64, 0, len(l.hub.subs))
	for u := range l.hub.subs {
		out = append(out, u)
	}
	return out
}

func (h *hub) wake(userID int64) {
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs[userID] {
		s.woken.Store(&now) // before the signal, so the reader sees it
		select {
		case s.c <- struct{}{}:
		default:
		}
	}
}
