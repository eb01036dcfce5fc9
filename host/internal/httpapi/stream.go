package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stc-trading/stc/host/internal/events"
	"github.com/stc-trading/stc/host/internal/marketdata"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
)

// EventLog is the per-user event log the stream reads (*events.Log).
type EventLog interface {
	Head(ctx context.Context, userID int64) (int64, error)
	After(ctx context.Context, userID, after int64, limit int) ([]events.Event, error)
	ForBot(ctx context.Context, userID, botID, before int64, limit int) ([]events.Event, error)
	Subscribe(userID int64) *events.Subscription
}

// CandleFeed delivers closed candles of a key live (*marketdata.Service).
type CandleFeed interface {
	Subscribe(k marketdata.Key) (*marketdata.Subscription, error)
}

// StreamOptions bound the event streams; zero values take the defaults.
type StreamOptions struct {
	// PerUser is how many streams one user may hold open (default 8);
	// one more is 429 too_many_streams.
	PerUser int
	// Max is how many streams the host holds open (default 10,000); one
	// more is 503 streams_full.
	Max int
	// Heartbeat is the interval of the keep-alive comment (default 15 s).
	Heartbeat time.Duration
	// WriteTimeout bounds each write to a client (default 10 s): a client
	// that stops reading is disconnected instead of holding memory.
	WriteTimeout time.Duration
	// Poll is how often a stream reads the log even without a wake
	// (default 30 s): the safety net for a wake from another host.
	Poll time.Duration
}

// MaxStreamCandles is how many candle keys one stream may ask for.
const MaxStreamCandles = 8

// streamBatch is how many events one log read returns.
const streamBatch = 200

func (o StreamOptions) withDefaults() StreamOptions {
	if o.PerUser <= 0 {
		o.PerUser = 8
	}
	if o.Max <= 0 {
		o.Max = 10000
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 15 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.Poll <= 0 {
		o.Poll = 30 * time.Second
	}
	return o
}

// streamSlots counts open streams per user and in total, and ends them
// all at shutdown.
type streamSlots struct {
	mu     sync.Mutex
	total  int
	byUser map[int64]int
	// closing is closed by closeStreams; closed says it was.
	closing chan struct{}
	closed  bool
}

// done returns the channel closed at shutdown.
func (s *streamSlots) done() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing == nil {
		s.closing = make(chan struct{})
	}
	return s.closing
}

func (s *Server) closeStreams() {
	s.streams.mu.Lock()
	defer s.streams.mu.Unlock()
	if s.streams.closing == nil {
		s.streams.closing = make(chan struct{})
	}
	if !s.streams.closed {
		s.streams.closed = true
		close(s.streams.closing)
	}
}

// take reserves a slot for userID, or says which limit is reached.
func (s *streamSlots) take(userID int64, o StreamOptions) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byUser == nil {
		s.byUser = make(map[int64]int)
	}
	if s.byUser[userID] >= o.PerUser {
		return &apiError{Status: http.StatusTooManyRequests, Code: "too_many_streams",
			Message: fmt.Sprintf("at most %d event streams per user are open at once; close one first", o.PerUser)}
	}
	if s.total >= o.Max {
		return &apiError{Status: http.StatusServiceUnavailable, Code: "streams_full",
			Message: "this host holds as many event streams as it can; retry after the number of seconds in Retry-After"}
	}
	s.byUser[userID]++
	s.total++
	return nil
}

func (s *streamSlots) release(userID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total--
	if s.byUser[userID]--; s.byUser[userID] <= 0 {
		delete(s.byUser, userID)
	}
}

// lastEventID reads where a client resumes: the Last-Event-ID header
// (EventSource sends it when it reconnects) or ?last_event_id=.
func lastEventID(r *http.Request) (int64, bool, *apiError) {
	text, field := r.Header.Get("Last-Event-ID"), "Last-Event-ID"
	if text == "" {
		text, field = r.URL.Query().Get("last_event_id"), "last_event_id"
	}
	if text == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil || n < 0 {
		return 0, false, fieldError(field, field+" must be the id of an event this stream sent (a non-negative integer)")
	}
	return n, true, nil
}

// candleKeys parses ?candles=broker:symbol:timeframe (repeatable).
func (s *Server) candleKeys(ctx context.Context, r *http.Request) ([]marketdata.Key, *apiError) {
	raw := r.URL.Query()["candles"]
	if len(raw) > MaxStreamCandles {
		return nil, fieldError("candles", fmt.Sprintf("at most %d candle keys per stream", MaxStreamCandles))
	}
	var keys []marketdata.Key
	for _, text := range raw {
		parts := strings.Split(text, ":")
		if len(parts) != 3 {
			return nil, fieldError("candles", "candles must be broker:symbol:timeframe, e.g. paper:EURUSD-OTC:1m")
		}
		name, e := brokerParam(map[string][]string{"broker": {parts[0]}})
		if e != nil {
			return nil, fieldError("candles", "candles: "+e.Message)
		}
		sym, e := symbolParam(map[string][]string{"symbol": {parts[1]}})
		if e != nil {
			return nil, fieldError("candles", "candles: "+e.Message)
		}
		tf, err := market.ParseTimeframe(parts[2])
		if err != nil {
			return nil, fieldError("candles", "candles: timeframe must be one of 1m 5m 15m 30m 1h 4h 1d")
		}
		list, err := s.markets.Symbols(ctx, name)
		if errors.Is(err, ErrUnknownBroker) {
			return nil, fieldError("candles", fmt.Sprintf("candles: no broker named %q is installed", name))
		}
		if err != nil {
			return nil, &apiError{Status: http.StatusServiceUnavailable, Code: "broker_unavailable", Message: "the broker's symbol list is unavailable; retry later"}
		}
		if !slices.ContainsFunc(list.Items, func(in broker.Instrument) bool { return in.Symbol == sym }) {
			return nil, fieldError("candles", fmt.Sprintf("candles: %s has no symbol %q", name, sym))
		}
		k := marketdata.Key{Broker: name, Symbol: sym, Timeframe: tf}
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// stream serves GET /api/v2/stream: the caller's events as Server-Sent
// Events (docs/STREAM.md).
func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	if s.events == nil {
		writeError(w, &apiError{Status: http.StatusNotFound, Code: "stream_unavailable", Message: "this host serves no event stream"})
		return
	}
	userID := mustPrincipal(r).UserID
	after, resume, apiErr := lastEventID(r)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	keys, apiErr := s.candleKeys(r.Context(), r)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	if e := s.streams.take(userID, s.streamOpts); e != nil {
		if e.Status == http.StatusServiceUnavailable {
			setRetryAfter(w.Header(), 30*time.Second)
		}
		writeError(w, e)
		return
	}
	defer s.streams.release(userID)
	// Subscribe before reading the head: an event committed in between
	// wakes the subscription and is read after the head, never lost.
	sub := s.events.Subscribe(userID)
	defer sub.Close()
	head, err := s.events.Head(r.Context(), userID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	candles := make(chan candleEvent, 64)
	for _, k := range keys {
		cs, err := s.candleFeed.Subscribe(k)
		if err != nil {
			s.fail(w, r, marketData(err))
			return
		}
		defer cs.Close()
		go forwardCandles(r.Context(), k, cs, candles) // ends with the request
	}

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // tell nginx-like proxies not to buffer
	w.WriteHeader(http.StatusOK)
	sw := &sseWriter{w: w, rc: http.NewResponseController(w), timeout: s.streamOpts.WriteTimeout, bw: bufio.NewWriterSize(w, 2048)}
	if s.metrics != nil {
		s.metrics.StreamsOpen.Inc()
		defer s.metrics.StreamsOpen.Dec()
	}

	// The first frame sets the client's last id without dispatching an
	// event, so a client that reconnects before any event arrives resumes
	// from here.
	if !resume {
		after = head
	}
	sw.retryAndID(3000, after)
	if err := s.sendMissed(r.Context(), sw, userID, &after, head, time.Now()); err != nil {
		return
	}
	if sw.flush() != nil {
		return
	}
	beat := time.NewTicker(s.streamOpts.Heartbeat)
	defer beat.Stop()
	poll := time.NewTicker(s.streamOpts.Poll)
	defer poll.Stop()
	shutdown := s.streams.done()
	for {
		// Only a wake or the safety poll reads the log: a heartbeat or a
		// candle costs no query (5,000 streams would otherwise read it
		// 333 times a second for their heartbeats alone).
		read, since := false, time.Time{}
		select {
		case <-r.Context().Done():
			return
		case <-shutdown:
			return
		case <-sub.C:
			read, since = true, sub.WokenAt()
		case <-poll.C:
			read, since = true, time.Now()
		case c := <-candles:
			s.countEvent("candle")
			sw.event("", "candle", c.payload)
		case <-beat.C:
			sw.comment("heartbeat")
		}
		if read {
			if err := s.sendMissed(r.Context(), sw, userID, &after, 0, since); err != nil {
				return
			}
		}
		if sw.flush() != nil {
			return
		}
	}
}

// sendMissed writes the events after *after and moves it on. When the log
// no longer holds them it sends a reset, which tells the client to reload
// its state, and continues from the head. The first read may be shared
// with the user's other streams (readFlights) if it started after since.
func (s *Server) sendMissed(ctx context.Context, sw *sseWriter, userID int64, after *int64, head int64, since time.Time) error {
	for {
		evs, err := s.reads.after(ctx, s.events, userID, *after, since)
		if errors.Is(err, events.ErrGone) {
			if head == 0 {
				if head, err = s.events.Head(ctx, userID); err != nil {
					return err
				}
			}
			s.countEvent("reset")
			body, _ := json.Marshal(map[string]any{"last_event_id": head, "reason": "the events after the id you sent are no longer kept; reload your state"})
			sw.event(strconv.FormatInt(head, 10), "reset", body)
			*after = head
			return sw.err
		}
		if err != nil {
			return err
		}
		for _, e := range evs {
			s.countEvent(string(e.Kind))
			sw.event(strconv.FormatInt(e.Seq, 10), string(e.Kind), e.Payload)
			*after = e.Seq
		}
		if sw.err != nil || len(evs) < streamBatch {
			return sw.err
		}
		// A full batch: flush it before reading the next.
		if err := sw.flush(); err != nil {
			return err
		}
	}
}

// readFlights shares log reads between a user's streams. One commit wakes
// all of them at once, at the same position: instead of each reading the
// same rows (five tabs, five identical queries), the first reads and the
// others wait for its result. A stream only joins a read that began after
// the wake it is answering (Subscription.WokenAt, stamped after the
// commit), so the read includes the commit that woke it.
type readFlights struct {
	mu sync.Mutex
	m  map[readKey]*readFlight
}

type readKey struct{ user, after int64 }

type readFlight struct {
	started time.Time
	done    chan struct{} // closed when evs and err are set
	evs     []events.Event
	err     error
}

// streamReadTimeout bounds a shared read, which runs on no stream's
// context: one stream closing must not fail the read of the others.
const streamReadTimeout = 30 * time.Second

// after returns log.After(user, after, streamBatch), read by this call or
// by one that started no earlier than since. The events are shared:
// callers must not modify them.
func (f *readFlights) after(ctx context.Context, log EventLog, user, after int64, since time.Time) ([]events.Event, error) {
	k := readKey{user, after}
	f.mu.Lock()
	fl := f.m[k]
	lead := fl == nil || fl.started.Before(since)
	if lead {
		fl = &readFlight{started: time.Now(), done: make(chan struct{})}
		if f.m == nil {
			f.m = make(map[readKey]*readFlight)
		}
		f.m[k] = fl // an older flight's waiters keep their own pointer
	}
	f.mu.Unlock()
	if lead {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), streamReadTimeout)
		fl.evs, fl.err = log.After(rctx, user, after, streamBatch)
		cancel()
		f.mu.Lock()
		if f.m[k] == fl {
			delete(f.m, k)
		}
		f.mu.Unlock()
		close(fl.done)
	}
	select {
	case <-fl.done:
		return fl.evs, fl.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *Server) countEvent(kind string) {
	if s.metrics != nil {
		s.metrics.StreamEvents.WithLabelValues(kind).Inc()
	}
}

type candleEvent struct{ payload []byte }

// forwardCandles turns k's closed candles into candle events until ctx
// ends. A stream that does not keep up misses candles (the subscription
// drops them), never other events.
func forwardCandles(ctx context.Context, k marketdata.Key, sub *marketdata.Subscription, out chan<- candleEvent) {
	for {
		select {
		case <-ctx.Done():
			return
		case c, ok := <-sub.C:
			if !ok {
				return
			}
			body, err := json.Marshal(map[string]any{"broker": k.Broker, "symbol": k.Symbol, "timeframe": k.Timeframe.String(), "closed": true,
				"candle": candleJSON{Timestamp: c.Time, Open: c.Open, High: c.High, Low: c.Low, Close: c.Close, Volume: c.Volume}})
			if err != nil {
				continue
			}
			select {
			case out <- candleEvent{payload: body}:
			case <-ctx.Done():
				return
			}
		}
	}
}

// sseWriter writes Server-Sent Events frames through a small buffer; the
// first failed write sticks in err and every later call is a no-op.
type sseWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	bw      *bufio.Writer
	timeout time.Duration
	err     error
}

// setDeadline gives the client s.timeout from now to take what is
// written next. It is set again before every write and flush, so it
// measures the client only, never the log reads between writes (a
// heartbeat can wait in the buffer while a slow read runs); it replaces
// the server's WriteTimeout, which would end every stream.
func (s *sseWriter) setDeadline() {
	if err := s.rc.SetWriteDeadline(time.Now().Add(s.timeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		s.err = err
	}
}

func (s *sseWriter) write(parts ...string) {
	if s.err != nil {
		return
	}
	// A write that fills the buffer goes to the connection.
	if s.setDeadline(); s.err != nil {
		return
	}
	for _, p := range parts {
		if _, err := s.bw.WriteString(p); err != nil {
			s.err = err
			return
		}
	}
}

func (s *sseWriter) retryAndID(retryMS int, id int64) {
	s.write("retry: ", strconv.Itoa(retryMS), "\nid: ", strconv.FormatInt(id, 10), "\n\n")
}

func (s *sseWriter) event(id, name string, data []byte) {
	if id != "" {
		s.write("id: ", id, "\n")
	}
	// Payloads are compact JSON: one data line, no newline inside.
	s.write("event: ", name, "\ndata: ", string(data), "\n\n")
}

func (s *sseWriter) comment(text string) { s.write(": ", text, "\n\n") }

func (s *sseWriter) flush() error {
	if s.err != nil {
		return s.err
	}
	if s.setDeadline(); s.err != nil {
		return s.err
	}
	if err := s.bw.Flush(); err != nil {
		s.err = err
		return err
	}
	if err := s.rc.Flush(); err != nil {
		s.err = err
	}
	return s.err
}
