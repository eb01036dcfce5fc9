package paper

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// clock is the market clock:
//
//	market = anchor + (wall − wallStart) × scale
//
// wallStart is the wall time when the Market was created. anchor is that
// same wall time, unless an earlier run of this DataDir already drove the
// market further ahead (a time scale > 1 runs ahead of the wall clock): then
// anchor is that persisted high-water mark, so market time never goes
// backwards across restarts either and stored orders never lie in the
// future. At scale 1 the mark is never ahead of the wall clock, so market
// time equals wall time.
//
// Within a process the clock is also clamped to be monotone, because a
// stepped wall clock (NTP, a test's fake) must not move market time back.
type clock struct {
	wall      func() time.Time
	wallStart time.Time
	anchor    time.Time
	scale     float64

	mu   sync.Mutex
	last time.Time
}

func newClock(wall func() time.Time, scale float64, notBefore time.Time) *clock {
	start := wall()
	anchor := start
	if notBefore.After(anchor) {
		anchor = notBefore
	}
	return &clock{wall: wall, wallStart: start, anchor: anchor, scale: scale, last: anchor}
}

// Now returns the market time.
func (c *clock) Now() time.Time {
	elapsed := c.wall().Sub(c.wallStart)
	if elapsed < 0 {
		elapsed = 0
	}
	// Float nanoseconds, split into whole seconds, so years of scaled time
	// do not overflow time.Duration.
	off := float64(elapsed) * c.scale
	secs := math.Floor(off / 1e9)
	nanos := off - secs*1e9
	t := time.Unix(c.anchor.Unix()+int64(secs), int64(c.anchor.Nanosecond())+int64(nanos)).UTC()

	c.mu.Lock()
	defer c.mu.Unlock()
	if t.Before(c.last) {
		return c.last
	}
	c.last = t
	return t
}

// unix returns the current market second: the second whose tick is the
// current price.
func (c *clock) unix() int64 { return c.Now().Unix() }

// wallFor converts a market duration into the wall time it takes.
func (c *clock) wallFor(d time.Duration) time.Duration {
	return time.Duration(float64(d) / c.scale)
}

// clockFile is the persisted high-water mark of market time.
type clockFile struct {
	MarketTimeUnixNano int64 `json:"market_time_unix_nano"`
}

func clockPath(dataDir string) string { return filepath.Join(dataDir, "clock.json") }

// loadClockMark returns the persisted mark, or the zero time when none is
// stored yet.
func loadClockMark(dataDir string) (time.Time, error) {
	b, err := os.ReadFile(clockPath(dataDir))
	if errors.Is(err, fs.ErrNotExist) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("paper: read clock mark: %w", err)
	}
	var f clockFile
	if err := json.Unmarshal(b, &f); err != nil {
		return time.Time{}, fmt.Errorf("paper: parse clock mark %s: %w", clockPath(dataDir), err)
	}
	return time.Unix(0, f.MarketTimeUnixNano).UTC(), nil
}

// saveClockMark persists t as the high-water mark.
func saveClockMark(dataDir string, t time.Time) error {
	b, err := json.Marshal(clockFile{MarketTimeUnixNano: t.UnixNano()})
	if err != nil {
		return fmt.Errorf("paper: encode clock mark: %w", err)
	}
	return writeFileAtomic(clockPath(dataDir), b)
}
