package httpapi

import (
	"sync"

	"github.com/stc-trading/stc/sdk/market"
)

// candleCache keeps encoded answers of "latest N candles" requests. JSON
// encoding 500 candles costs as much as querying them, and the answer only
// changes when a candle closes, which bumps the feed's version: an entry is
// served while its version is current. Keys are bounded by the number of
// tracked feeds times the limits clients use.
type candleCache struct {
	mu      sync.RWMutex
	entries map[candleCacheKey]cachedAnswer
	max     int
}

type candleCacheKey struct {
	broker, symbol string
	tf             market.Timeframe
	limit          int
}

type cachedAnswer struct {
	version uint64
	body    []byte
}

func newCandleCache(maxEntries int) *candleCache {
	return &candleCache{entries: make(map[candleCacheKey]cachedAnswer), max: maxEntries}
}

func (c *candleCache) get(k candleCacheKey, version uint64) ([]byte, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	a, ok := c.entries[k]
	if !ok || a.version != version {
		return nil, false
	}
	return a.body, true
}

func (c *candleCache) put(k candleCacheKey, version uint64, body []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		// Crude but bounded: drop everything; hot keys refill at once.
		clear(c.entries)
	}
	c.entries[k] = cachedAnswer{version: version, body: body}
}
