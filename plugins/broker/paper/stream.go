package paper

import (
	"context"
	"time"

	"github.com/stc-trading/stc/sdk/broker"
)

// Candle streams.
//
// Each subscription is one goroutine owned by its session and the Market.
// It polls the market clock, folds the new 1-second ticks into the forming
// candle and emits:
//
//   - every closed candle exactly once, in order, with a blocking send: a
//     slow consumer only holds back its own stream, never the market or
//     other streams, and because prices are a pure function of time the
//     stream simply catches up later (at scale 3600, 60 closed 1m candles
//     per wall second all arrive);
//   - the forming candle (Closed=false) at most once per market second and
//     at most every minWake of wall time (≤ 10 per wall second at any
//     scale), with a non-blocking send that is dropped when the buffer is
//     full, since the next update supersedes it.
//
// Closed candles equal what Candles returns for the same open time.
const (
	streamBuffer = 256
	minWake      = 100 * time.Millisecond
	maxWake      = time.Second
)

type candleStream struct {
	m     *Market
	in    *instrument
	w     int64
	start int64 // market second of the subscription: the first candle is the one forming then
	out   chan<- broker.CandleEvent
}

func (st *candleStream) run(ctx context.Context) {
	cur := agg{t: st.start - floorMod(st.start, st.w)}
	next := cur.t            // next second to fold in
	lastForming := int64(-1) // market second of the last forming update
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		nowT := st.m.clock.Now()
		now := nowT.Unix()
		for next <= now {
			end := min(now, cur.t+st.w-1)
			for _, a := range st.in.aggregateTicks(next, end+1, st.w) {
				cur.merge(a)
			}
			next = end + 1
			if next < cur.t+st.w || now < next {
				break // the candle is still forming
			}
			if cur.n > 0 {
				select {
				case st.out <- broker.CandleEvent{Candle: st.in.candle(cur), Closed: true}:
				case <-ctx.Done():
					return
				}
			}
			cur = agg{t: next}
		}
		if cur.n > 0 && now != lastForming {
			select {
			case st.out <- broker.CandleEvent{Candle: st.in.candle(cur)}:
				lastForming = now
			default: // full: superseded by the next update anyway
			}
		}
		timer.Reset(st.wait(nowT))
	}
}

// wait is the wall delay until the next market second, clamped so fast
// clocks coalesce updates and a frozen (test) clock is still polled.
func (st *candleStream) wait(now time.Time) time.Duration {
	left := time.Unix(now.Unix()+1, 0).Sub(now)
	return min(max(st.m.clock.wallFor(left)+2*time.Millisecond, minWake), maxWake)
}
