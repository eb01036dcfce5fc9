package marketdata

import (
	"slices"
	"sync"
)

// span is a half-open range [from, to) of candle open times.
type span struct{ from, to int64 }

// Bounds of the coverage index. Keys are real (broker, symbol,
// timeframe) triples, since a fetch for an unknown symbol fails before
// anything is recorded; spans per key stay few unless clients ask for
// scattered ranges, and then the shortest are forgotten first.
const (
	maxCoveredKeys = 50_000
	maxSpansPerKey = 32
)

// coverage remembers, per key, the ranges of open times for which the
// store holds every candle the broker had when it was asked: what the
// service fetched and stored. A query whose range is covered is answered
// from the store alone, however few candles the range holds (history
// that starts in 2020 holds fewer than 5,000 daily candles, so "have we
// got limit candles?" can never tell). It lives in memory: after a host
// restart the first request for a range asks the broker again, and the
// store already has the candles.
type coverage struct {
	mu   sync.Mutex
	keys map[Key][]span // per key: sorted, disjoint, non-adjacent
}

func newCoverage() *coverage { return &coverage{keys: make(map[Key][]span)} }

// add records that the store holds every candle of k in [from, to).
func (c *coverage) add(k Key, from, to int64) {
	if to <= from {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	spans, known := c.keys[k]
	if !known && len(c.keys) >= maxCoveredKeys {
		// Forgetting costs one broker fetch the next time; an arbitrary
		// key is as good a victim as any.
		for victim := range c.keys {
			delete(c.keys, victim)
			break
		}
	}
	merged := span{from, to}
	out := make([]span, 0, len(spans)+1)
	for _, s := range spans {
		if s.to < merged.from || s.from > merged.to {
			out = append(out, s)
			continue
		}
		merged.from, merged.to = min(merged.from, s.from), max(merged.to, s.to)
	}
	out = append(out, merged)
	slices.SortFunc(out, func(a, b span) int {
		switch {
		case a.from < b.from:
			return -1
		case a.from > b.from:
			return 1
		}
		return 0
	})
	for len(out) > maxSpansPerKey {
		shortest := 0
		for i, s := range out {
			if s.to-s.from < out[shortest].to-out[shortest].from {
				shortest = i
			}
		}
		out = slices.Delete(out, shortest, shortest+1)
	}
	c.keys[k] = out
}

// gaps returns the parts of [from, to) that are not covered, ascending.
func (c *coverage) gaps(k Key, from, to int64) []span {
	if to <= from {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []span
	at := from
	for _, s := range c.keys[k] {
		if s.to <= at {
			continue
		}
		if s.from >= to {
			break
		}
		if s.from > at {
			out = append(out, span{at, s.from})
		}
		at = s.to
		if at >= to {
			return out
		}
	}
	return append(out, span{at, to})
}
