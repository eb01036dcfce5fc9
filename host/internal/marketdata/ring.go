package marketdata

import "github.com/stc-trading/stc/sdk/market"

// ring keeps the newest closed candles of one key in arrival order (which
// the feed guarantees is ascending). It is not safe for concurrent use; the
// feed's mutex guards it.
type ring struct {
	buf   []market.Candle
	start int // index of the oldest candle
	n     int
}

func newRing(size int) *ring { return &ring{buf: make([]market.Candle, size)} }

func (r *ring) push(c market.Candle) {
	if r.n < len(r.buf) {
		r.buf[(r.start+r.n)%len(r.buf)] = c
		r.n++
		return
	}
	r.buf[r.start] = c
	r.start = (r.start + 1) % len(r.buf)
}

func (r *ring) len() int { return r.n }

// last copies the newest k candles, oldest first.
func (r *ring) last(k int) market.Series {
	k = min(k, r.n)
	out := make(market.Series, k)
	for i := 0; i < k; i++ {
		out[i] = r.buf[(r.start+r.n-k+i)%len(r.buf)]
	}
	return out
}
