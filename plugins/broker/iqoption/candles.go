package iqoption

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"sync"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
)

const (
	// candleChunk is the most candles one get-candles request asks for.
	candleChunk = 1000
	// maxPageSize caps CandlesRequest.PageSize; it is served in chunks.
	maxPageSize = 5000
	// maxEmptyChunks bounds the requests one Candles call spends walking
	// through a gap (closed market) before it returns a page token.
	maxEmptyChunks = 20
	// streamBuffer is the output buffer of one candle stream.
	streamBuffer = 64
)

// candleDTO is one candle of a candles answer or a candle-generated push.
type candleDTO struct {
	ActiveID flexInt   `json:"active_id"`
	Size     flexInt   `json:"size"`
	At       flexInt   `json:"at"` // nanoseconds: an int64, never a float64
	From     flexInt   `json:"from"`
	To       flexInt   `json:"to"`
	Open     flexFloat `json:"open"`
	Close    flexFloat `json:"close"`
	Min      flexFloat `json:"min"`
	Max      flexFloat `json:"max"`
	Volume   flexFloat `json:"volume"`
	Phase    string    `json:"phase"`
}

func (d candleDTO) candle() market.Candle {
	return market.Candle{Time: int64(d.From), Open: float64(d.Open), High: float64(d.Max), Low: float64(d.Min), Close: float64(d.Close), Volume: float64(d.Volume)}
}

// timeframeSize returns the candle size in seconds of a supported
// timeframe.
func timeframeSize(tf market.Timeframe) (int64, error) {
	if !tf.Valid() {
		return 0, broker.NewError(broker.ErrUnsupported, "timeframe %v: %v", tf, market.ErrInvalidTimeframe)
	}
	return tf.Seconds(), nil
}

// Candles returns closed candles with open times in [From, To), asking the
// server for at most 1,000 per request (quotes-history.get-candles with
// only_closed). The page token is the next open time. The anonymous
// session asks through a connected account.
func (s *session) Candles(ctx context.Context, req broker.CandlesRequest) (broker.CandlesPage, error) {
	if s.anonymous() {
		return borrow(ctx, s.a, func(l *session) (broker.CandlesPage, error) { return l.Candles(ctx, req) })
	}
	size, err := timeframeSize(req.Timeframe)
	if err != nil {
		return broker.CandlesPage{}, err
	}
	a, c, err := s.lookup(ctx, req.Symbol)
	if err != nil {
		return broker.CandlesPage{}, err
	}
	start := req.From
	if req.PageToken != "" {
		if start, err = strconv.ParseInt(req.PageToken, 10, 64); err != nil {
			return broker.CandlesPage{}, fmt.Errorf("iqoption: malformed page token %q: %w", req.PageToken, err)
		}
	}
	if r := start % size; r != 0 {
		start += size - r
	}
	// No candle opening at or after the server's now can be closed: paging
	// stops there whatever To says.
	now, ok := c.serverTime()
	if !ok {
		return broker.CandlesPage{}, broker.NewError(broker.ErrUnavailable, "no server time yet")
	}
	end := now.Unix() + 1
	if req.To != 0 {
		end = min(req.To, end)
	}
	limit := req.PageSize
	if limit <= 0 {
		limit = candleChunk
	}
	limit = min(limit, maxPageSize)
	var out market.Series
	cursor, empty := start, 0
	for cursor < end && len(out) < limit && empty < maxEmptyChunks {
		n := min(int64(candleChunk), int64(limit-len(out)), (end-cursor+size-1)/size)
		winEnd := min(cursor+n*size, end)
		got, err := fetchCandles(ctx, c, a.id, size, winEnd-1, n)
		if err != nil {
			return broker.CandlesPage{}, err
		}
		added := 0
		for _, d := range got {
			t := int64(d.From)
			if t < cursor || t >= winEnd || t%size != 0 || (len(out) > 0 && t <= out[len(out)-1].Time) {
				continue
			}
			out = append(out, d.candle())
			added++
		}
		if added == 0 {
			empty++
		}
		cursor = winEnd
	}
	page := broker.CandlesPage{Candles: out}
	if cursor < end {
		page.NextPageToken = strconv.FormatInt(cursor, 10)
	}
	return page, nil
}

// candlesMsg is the msg of a candles answer.
type candlesMsg struct {
	Candles []candleDTO `json:"candles"`
}

// fetchCandles asks for the count closed candles of size ending at or
// before to, ascending.
func fetchCandles(ctx context.Context, c *wsClient, activeID, size, to, count int64) ([]candleDTO, error) {
	f, err := c.send(ctx, "quotes-history.get-candles", "2.0", map[string]any{
		"active_id": activeID, "size": size, "to": to, "count": count, "only_closed": true, "split_normalization": true,
	})
	if err != nil {
		return nil, callErr("get candles", err)
	}
	var m candlesMsg
	if err := json.Unmarshal(f.Msg, &m); err != nil {
		return nil, broker.NewError(broker.ErrUnavailable, "candles: %v", err)
	}
	sort.Slice(m.Candles, func(i, j int) bool { return m.Candles[i].From < m.Candles[j].From })
	return m.Candles, nil
}

// feedKey identifies one candle-generated subscription.
type feedKey struct{ active, size int64 }

// feed is one candle-generated subscription shared by the session's
// streams of that active and size.
type feed struct {
	key     feedKey
	sub     subscription
	streams map[*candleStream]struct{}
}

func (f *feed) stopAll() {
	for st := range f.streams {
		st.stop()
	}
}

// candleStream is one SubscribeCandles call. The read loop only queues
// into it (never blocks); its goroutine delivers closed candles in order
// and exactly once, and the newest forming candle when the reader keeps up.
type candleStream struct {
	mu         sync.Mutex
	holding    bool           // after a reconnect, until history filled the gap
	held       []candleDTO    // live updates received while holding
	lastClosed int64          // open time of the last closed candle queued
	forming    *market.Candle // newest forming candle not yet delivered
	formFrom   int64          // open time of the newest forming candle seen
	closedQ    []market.Candle
	notify     chan struct{} // cap 1
	quit       chan struct{}
	quitOnce   sync.Once
}

func (st *candleStream) stop() { st.quitOnce.Do(func() { close(st.quit) }) }

func (st *candleStream) wake() {
	select {
	case st.notify <- struct{}{}:
	default:
	}
}

// push applies one candle update: phase C (or a newer candle replacing an
// unfinished one) closes it; anything else is a forming update.
func (st *candleStream) push(d candleDTO, closedByHistory bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.holding && !closedByHistory {
		st.held = append(st.held, d)
		return
	}
	st.pushLocked(d, closedByHistory)
}

// release ends holding and applies the held live updates in order.
func (st *candleStream) release() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.holding = false
	for _, d := range st.held {
		st.pushLocked(d, false)
	}
	st.held = nil
}

func (st *candleStream) pushLocked(d candleDTO, closedByHistory bool) {
	cd := d.candle()
	if cd.Time <= st.lastClosed {
		return
	}
	if d.Phase == "C" || closedByHistory {
		st.closedQ = append(st.closedQ, cd)
		st.lastClosed = cd.Time
		if st.forming != nil && st.forming.Time <= cd.Time {
			st.forming = nil
		}
		st.wake()
		return
	}
	if d.Phase == "" && st.formFrom != 0 && cd.Time > st.formFrom && st.forming != nil && st.forming.Time == st.formFrom {
		// Servers without phases close a candle by starting the next one.
		st.closedQ = append(st.closedQ, *st.forming)
		st.lastClosed = st.formFrom
	}
	st.formFrom = cd.Time
	st.forming = &cd
	st.wake()
}

// run delivers until ctx ends or the stream is stopped.
func (st *candleStream) run(ctx context.Context, out chan<- broker.CandleEvent, dead <-chan struct{}, deadErr func() error) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-st.quit:
			return
		case <-dead:
			select {
			case out <- broker.CandleEvent{Err: deadErr()}:
			case <-ctx.Done():
			case <-st.quit:
			}
			return
		case <-st.notify:
		}
		for {
			st.mu.Lock()
			var ev broker.CandleEvent
			ok := true
			switch {
			case len(st.closedQ) > 0:
				ev = broker.CandleEvent{Candle: st.closedQ[0], Closed: true}
				st.closedQ = st.closedQ[1:]
			case st.forming != nil:
				ev = broker.CandleEvent{Candle: *st.forming}
				st.forming = nil
			default:
				ok = false
			}
			st.mu.Unlock()
			if !ok {
				break
			}
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			case <-st.quit:
				return
			}
		}
	}
}

// SubscribeCandles streams candle-generated updates of one active and
// size until ctx or the session ends. After a reconnect the closed candles
// the socket missed are fetched from history and delivered in order. The
// anonymous session relays a connected account's stream (anon.go).
func (s *session) SubscribeCandles(ctx context.Context, req broker.SubscribeRequest) (<-chan broker.CandleEvent, error) {
	if s.anonymous() {
		return s.subscribeAnonymous(ctx, req)
	}
	size, err := timeframeSize(req.Timeframe)
	if err != nil {
		return nil, err
	}
	a, c, err := s.lookup(ctx, req.Symbol)
	if err != nil {
		return nil, err
	}
	key := feedKey{a.id, size}
	st := &candleStream{notify: make(chan struct{}, 1), quit: make(chan struct{})}
	if now, ok := c.serverTime(); ok {
		st.lastClosed = now.Unix() - now.Unix()%size - size // deliver closes from the forming candle on
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, broker.NewError(broker.ErrSessionNotFound, "session closed")
	}
	fd := s.feeds[key]
	first := fd == nil
	if first {
		fd = &feed{key: key, streams: map[*candleStream]struct{}{}, sub: subscription{
			Name: "candle-generated", Version: "1.0",
			Params: subParams{RoutingFilters: map[string]any{"active_id": a.id, "size": size}},
		}}
		s.feeds[key] = fd
	}
	fd.streams[st] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	if first {
		if err := c.subscribe(ctx, fd.sub); err != nil {
			s.dropStream(ctx, c, fd, st)
			s.wg.Done()
			return nil, callErr("subscribe candles", err)
		}
	}
	out := make(chan broker.CandleEvent, streamBuffer)
	go func() {
		defer s.wg.Done()
		defer s.dropStream(context.WithoutCancel(ctx), c, fd, st) // after close(out): never delays the reader
		defer close(out)
		st.run(ctx, out, c.dead, c.deadErr)
	}()
	return out, nil
}

// dropStream removes st and unsubscribes when it was the feed's last.
func (s *session) dropStream(ctx context.Context, c *wsClient, fd *feed, st *candleStream) {
	s.mu.Lock()
	delete(fd.streams, st)
	last := len(fd.streams) == 0 && s.feeds[fd.key] == fd
	if last {
		delete(s.feeds, fd.key)
	}
	closed := s.closed
	s.mu.Unlock()
	if last && !closed {
		c.unsubscribe(ctx, fd.sub)
	}
}

// onCandle routes a candle-generated push to the streams of its feed.
func (s *session) onCandle(f frame) {
	var d candleDTO
	if err := json.Unmarshal(f.Msg, &d); err != nil {
		return
	}
	s.mu.Lock()
	fd := s.feeds[feedKey{int64(d.ActiveID), int64(d.Size)}]
	var streams []*candleStream
	if fd != nil {
		for st := range fd.streams {
			streams = append(streams, st)
		}
	}
	s.mu.Unlock()
	for _, st := range streams {
		st.push(d, false)
	}
}

// holdStreams makes every candle stream hold live updates until release.
func (s *session) holdStreams() []*candleStream {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*candleStream
	for _, fd := range s.feeds {
		for st := range fd.streams {
			st.mu.Lock()
			st.holding = true
			st.mu.Unlock()
			out = append(out, st)
		}
	}
	return out
}

// catchUpFeeds delivers, after a reconnect, the candles that closed while
// the socket was down.
func (s *session) catchUpFeeds(ctx context.Context) {
	c, err := s.client()
	if err != nil {
		return
	}
	now, ok := c.serverTime()
	if !ok {
		return
	}
	type job struct {
		key     feedKey
		streams []*candleStream
		from    int64
	}
	var jobs []job
	s.mu.Lock()
	for k, fd := range s.feeds {
		j := job{key: k, from: -1}
		for st := range fd.streams {
			j.streams = append(j.streams, st)
			st.mu.Lock()
			if j.from < 0 || st.lastClosed < j.from {
				j.from = st.lastClosed
			}
			st.mu.Unlock()
		}
		jobs = append(jobs, j)
	}
	s.mu.Unlock()
	for _, j := range jobs {
		if j.from <= 0 {
			continue
		}
		missed := (now.Unix() - j.from) / j.key.size
		if missed <= 1 {
			continue
		}
		got, err := fetchCandles(ctx, c, j.key.active, j.key.size, now.Unix(), min(missed, candleChunk))
		if err != nil {
			s.log.Debug("candle catch-up failed", "error", err)
			continue
		}
		for _, d := range got {
			if int64(d.From)+j.key.size > now.Unix() {
				continue
			}
			for _, st := range j.streams {
				st.push(d, true)
			}
		}
	}
}
