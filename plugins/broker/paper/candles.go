package paper

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
)

// Candle paging limits.
const (
	defaultPageSize = 1000
	maxPageSize     = 5000
)

// agg aggregates 1-second ticks in quote points. Integer points and
// integer volumes make aggregation exact and associative, so a 1h candle
// equals the merge of its 1m candles bit for bit, however it is computed.
// n == 0 means the span had no tick (market closed).
type agg struct {
	t                      int64 // bucket open time
	open, high, low, close int64
	vol                    int64
	n                      int64
}

func (a *agg) add(p, v int64) {
	if a.n == 0 {
		a.open, a.high, a.low = p, p, p
	} else {
		a.high = max(a.high, p)
		a.low = min(a.low, p)
	}
	a.close = p
	a.vol += v
	a.n++
}

// merge appends b, which must follow a in time.
func (a *agg) merge(b agg) {
	if b.n == 0 {
		return
	}
	if a.n == 0 {
		t := a.t
		*a = b
		a.t = t
		return
	}
	a.high = max(a.high, b.high)
	a.low = min(a.low, b.low)
	a.close = b.close
	a.vol += b.vol
	a.n += b.n
}

func (in *instrument) candle(a agg) market.Candle {
	return market.Candle{
		Time:   a.t,
		Open:   in.priceOf(a.open),
		High:   in.priceOf(a.high),
		Low:    in.priceOf(a.low),
		Close:  in.priceOf(a.close),
		Volume: float64(a.vol),
	}
}

// tickVolume is the pseudo-volume of one second, like a MetaTrader tick
// volume: one plus the size of the move in points (capped). It is
// deterministic, always positive, larger in active sessions, and exactly
// additive.
func tickVolume(prev, p int64) int64 {
	d := p - prev
	if d < 0 {
		d = -d
	}
	return 1 + min(d, 999)
}

// aggregateTicks aggregates the open seconds of [from, to) into buckets of
// width w aligned to the Unix epoch. It returns only buckets with ticks,
// ascending. Work is proportional to the open seconds in the range.
func (in *instrument) aggregateTicks(from, to, w int64) []agg {
	var res []agg
	var buf []int64
	for t := in.nextOpen(from); t < to; t = in.nextOpen(t) {
		end := min(to, in.openUntil(t))
		for t < end {
			n := min(end-t, daySeconds)
			if cap(buf) < int(n+1) {
				buf = make([]int64, n+1)
			}
			buf = buf[:n+1]
			in.path.fill(t-1, t+n, buf) // buf[0] is the previous second, for volume
			bucketEnd := int64(0)
			for i := int64(0); i < n; i++ {
				s := t + i
				if s >= bucketEnd || len(res) == 0 {
					b := s - floorMod(s, w)
					if len(res) == 0 || res[len(res)-1].t != b {
						res = append(res, agg{t: b})
					}
					bucketEnd = b + w
				}
				res[len(res)-1].add(buf[i+1], tickVolume(buf[i], buf[i+1]))
			}
			t += n
		}
	}
	return res
}

// Day cache: quarter-hour aggregates per (symbol, UTC day). Every
// timeframe from 15m up is a whole number of quarters inside one day, so a
// cached day serves 15m…1d candles without touching its 86,400 ticks again.
const (
	quarterSeconds = 900
	quartersPerDay = daySeconds / quarterSeconds
	dayCacheLimit  = 2048 // days, ≈ 5.4 KB each: ≤ 11 MB
)

type dayAggs [quartersPerDay]agg

type dayKey struct {
	symbol string
	day    int64 // Unix second of 00:00 UTC
}

// dayCache bounds memory with two generations, an LRU approximation
// without per-hit bookkeeping: hits in the old generation move to the new
// one, and when the new one is full the old one is dropped. Prices are
// deterministic, so entries never go stale.
type dayCache struct {
	mu       sync.Mutex
	cur, old map[dayKey]*dayAggs
}

func newDayCache() *dayCache {
	return &dayCache{cur: make(map[dayKey]*dayAggs), old: make(map[dayKey]*dayAggs)}
}

func (c *dayCache) get(k dayKey) (*dayAggs, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.cur[k]; ok {
		return v, true
	}
	v, ok := c.old[k]
	if ok {
		c.putLocked(k, v)
	}
	return v, ok
}

func (c *dayCache) put(k dayKey, v *dayAggs) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(k, v)
}

func (c *dayCache) putLocked(k dayKey, v *dayAggs) {
	if len(c.cur) >= dayCacheLimit/2 {
		c.old, c.cur = c.cur, make(map[dayKey]*dayAggs, dayCacheLimit/2)
	}
	c.cur[k] = v
}

func (in *instrument) computeDay(day int64) *dayAggs {
	var d dayAggs
	for i := range d {
		d[i].t = day + int64(i)*quarterSeconds
	}
	for _, a := range in.aggregateTicks(day, day+daySeconds, quarterSeconds) {
		d[(a.t-day)/quarterSeconds] = a
	}
	return &d
}

// days returns the quarter aggregates of the given days, computing missing
// ones in parallel. The workers are joined before it returns.
func (m *Market) days(ctx context.Context, in *instrument, days []int64) (map[int64]*dayAggs, error) {
	out := make(map[int64]*dayAggs, len(days))
	var missing []int64
	for _, d := range days {
		if v, ok := m.cache.get(dayKey{in.symbol, d}); ok {
			out[d] = v
		} else {
			missing = append(missing, d)
		}
	}
	results := make([]*dayAggs, len(missing))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(missing)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(missing) || ctx.Err() != nil {
					return
				}
				results[i] = in.computeDay(missing[i])
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("paper: candles: %w", err)
	}
	for i, d := range missing {
		m.cache.put(dayKey{in.symbol, d}, results[i])
		out[d] = results[i]
	}
	return out, nil
}

// candlesAt computes the candles of width w opening at opens (ascending,
// aligned, each with at least one open second).
func (m *Market) candlesAt(ctx context.Context, in *instrument, w int64, opens []int64) (market.Series, error) {
	out := make(market.Series, 0, len(opens))
	if w < quarterSeconds {
		for i := 0; i < len(opens); {
			j := i
			for j+1 < len(opens) && opens[j+1] == opens[j]+w {
				j++
			}
			for _, a := range in.aggregateTicks(opens[i], opens[j]+w, w) {
				out = append(out, in.candle(a))
			}
			i = j + 1
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("paper: candles: %w", err)
			}
		}
		return out, nil
	}
	var dayList []int64
	for _, o := range opens {
		d := o - floorMod(o, daySeconds)
		if len(dayList) == 0 || dayList[len(dayList)-1] != d {
			dayList = append(dayList, d)
		}
	}
	days, err := m.days(ctx, in, dayList)
	if err != nil {
		return nil, err
	}
	for _, o := range opens {
		d := o - floorMod(o, daySeconds)
		q := days[d]
		a := agg{t: o}
		first := (o - d) / quarterSeconds
		for i := first; i < first+w/quarterSeconds; i++ {
			a.merge(q[i])
		}
		if a.n > 0 {
			out = append(out, in.candle(a))
		}
	}
	return out, nil
}

// nextCandle returns the first open time ≥ o (aligned to w) of a candle
// that has at least one open second, if it is < end.
func (in *instrument) nextCandle(o, end, w int64) (int64, bool) {
	if o >= end {
		return 0, false
	}
	s := in.nextOpen(o)
	c := s - floorMod(s, w)
	return c, c < end
}

// Page tokens are opaque to callers: "c1." and the next open time in base
// 36, versioned so the format can change.
const tokenPrefix = "c1."

func encodeToken(t int64) string { return tokenPrefix + strconv.FormatInt(t, 36) }

func decodeToken(s string) (int64, error) {
	rest, ok := strings.CutPrefix(s, tokenPrefix)
	if !ok {
		return 0, fmt.Errorf("paper: invalid page token %q", s)
	}
	t, err := strconv.ParseInt(rest, 36, 64)
	if err != nil {
		return 0, fmt.Errorf("paper: invalid page token %q: %w", s, err)
	}
	return t, nil
}

// lookupTimeframe validates tf. An unsupported timeframe wraps both
// broker.ErrUnsupported (the wire-visible kind: this broker does not
// serve it) and market.ErrInvalidTimeframe (the precise cause).
func lookupTimeframe(tf market.Timeframe) (int64, error) {
	if !tf.Valid() {
		return 0, fmt.Errorf("%w: %w %s", broker.ErrUnsupported, market.ErrInvalidTimeframe, tf)
	}
	return tf.Seconds(), nil
}

// candles serves one page of CandlesRequest at market second now.
func (m *Market) candles(ctx context.Context, req broker.CandlesRequest) (broker.CandlesPage, error) {
	in, err := m.lookup(req.Symbol)
	if err != nil {
		return broker.CandlesPage{}, err
	}
	w, err := lookupTimeframe(req.Timeframe)
	if err != nil {
		return broker.CandlesPage{}, err
	}
	size := req.PageSize
	if size <= 0 {
		size = defaultPageSize
	}
	size = min(size, maxPageSize)

	// Closed candles only: open + w ≤ now.
	end := m.clock.unix() - w + 1
	if req.To != 0 {
		end = min(end, req.To)
	}
	start := max(req.From, originUnix)
	if req.PageToken != "" {
		t, err := decodeToken(req.PageToken)
		if err != nil {
			return broker.CandlesPage{}, err
		}
		start = max(start, t)
	}
	start += floorMod(-start, w) // first aligned open time ≥ start

	opens := make([]int64, 0, min(size, 1024))
	o := start
	for len(opens) < size {
		c, ok := in.nextCandle(o, end, w)
		if !ok {
			break
		}
		opens = append(opens, c)
		o = c + w
	}
	var page broker.CandlesPage
	if len(opens) == size {
		if c, ok := in.nextCandle(o, end, w); ok {
			page.NextPageToken = encodeToken(c)
		}
	}
	page.Candles, err = m.candlesAt(ctx, in, w, opens)
	if err != nil {
		return broker.CandlesPage{}, err
	}
	return page, nil
}
