package marketdata

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
)

// Instruments lists a broker's instruments, live.
func (s *Service) Instruments(ctx context.Context, brokerName string) ([]broker.Instrument, error) {
	b, err := s.sessions.MarketData(ctx, brokerName)
	if err != nil {
		return nil, err
	}
	return b.Instruments(ctx)
}

// closeSkew is how long after a candle's close the service trusts a
// broker to have it: a range is only recorded as fetched up to the candles
// closed that long ago, so a broker whose clock or publication lags a
// little is asked again for its newest candle rather than never.
const closeSkew = 5 * time.Second

// widenFactor and widenSteps: a "latest N" query first looks back N
// timeframes, then three and nine times further (closed markets leave
// gaps: weekends, holidays), and finally 27 times, at most.
const (
	widenFactor = 3
	widenSteps  = 4
)

// Candles answers a history query for the host itself (bots): no budget
// applies. See CandlesFor.
func (s *Service) Candles(ctx context.Context, brokerName, symbol string, tf market.Timeframe, from, to int64, limit int) (market.Series, error) {
	return s.CandlesFor(ctx, Client{}, brokerName, symbol, tf, from, to, limit)
}

// query is one history request.
type query struct {
	client   Client
	key      Key
	from, to int64
	limit    int
	maxSpan  int64 // seconds of market time the client may cover; 0: any
}

// CandlesFor answers client c's history query: the latest limit closed
// candles before to (from 0; to 0 = now), or the first limit at or after
// from. The latest candles of a running feed come from memory; everything
// else from the store, once the service has fetched the range from the
// broker and stored it — so the same request again costs the broker
// nothing. Identical and overlapping requests in flight share one fetch.
//
// c's budget applies: a request covering more market time than c may ask
// for fails with *SpanError, and one that needs a broker fetch c's (or the
// host's) budget does not allow now fails with *BudgetError.
func (s *Service) CandlesFor(ctx context.Context, c Client, brokerName, symbol string, tf market.Timeframe, from, to int64, limit int) (market.Series, error) {
	k := Key{Broker: brokerName, Symbol: symbol, Timeframe: tf}
	if err := s.validKey(k); err != nil {
		return nil, err
	}
	if limit <= 0 || from < 0 || to < 0 || (to != 0 && from >= to) {
		return nil, fmt.Errorf("marketdata: invalid range from %d to %d, limit %d", from, to, limit)
	}
	maxSpan, err := s.budget.checkSpan(c, requestSpan(tf, from, to, limit))
	if err != nil {
		s.metrics.CandleFetches.WithLabelValues("refused_span").Inc()
		return nil, err
	}
	if from == 0 && to == 0 {
		if out, _, ok := s.Recent(k, limit); ok {
			s.metrics.CacheRequests.WithLabelValues("candles", "hit").Inc()
			return out, nil
		}
	}
	s.metrics.CacheRequests.WithLabelValues("candles", "miss").Inc()
	q := query{client: c, key: k, from: from, to: to, limit: limit, maxSpan: int64(maxSpan / time.Second)}
	adm := &admission{s: s, c: c}
	defer adm.done()
	var out market.Series
	if from != 0 {
		out, err = s.rangeQuery(ctx, q, adm)
	} else {
		out, err = s.latestQuery(ctx, q, adm)
	}
	var be *BudgetError
	if errors.As(err, &be) {
		s.metrics.CandleFetches.WithLabelValues("refused_" + be.Scope).Inc()
	}
	return out, err
}

// requestSpan is the market time a request covers: limit timeframes, or
// the from/to range when that is shorter.
func requestSpan(tf market.Timeframe, from, to int64, limit int) time.Duration {
	secs := int64(limit) * tf.Seconds()
	if from != 0 && to != 0 {
		secs = min(secs, to-from)
	}
	return time.Duration(secs) * time.Second
}

// closedEnd bounds the open times of candles every broker has closed and
// published by now.
func (s *Service) closedEnd(tf market.Timeframe) int64 {
	return tf.Align(s.opts.Now().Add(-closeSkew).Unix())
}

// latestQuery answers the latest limit candles before q.to: it looks back
// limit timeframes, widening while the range holds fewer candles, and
// every range it looks at is fetched once and then read from the store.
func (s *Service) latestQuery(ctx context.Context, q query, adm *admission) (market.Series, error) {
	tfs := q.key.Timeframe.Seconds()
	end := s.closedEnd(q.key.Timeframe)
	if q.to != 0 {
		end = min(end, q.to)
	}
	lookback := int64(q.limit) * tfs
	widest := lookback
	for range widenSteps - 1 {
		widest *= widenFactor
	}
	if q.maxSpan > 0 {
		widest = min(widest, max(lookback, q.maxSpan))
	}
	for {
		start := max(q.key.Timeframe.Align(end-lookback), tfs)
		fetchErr := s.cover(q, adm, start, end)
		if isRefusal(fetchErr) {
			return nil, fetchErr
		}
		got, err := s.store.Candles(ctx, q.key.Broker, q.key.Symbol, q.key.Timeframe, 0, q.to, q.limit)
		if err != nil {
			return nil, fmt.Errorf("stored candles: %w", err)
		}
		got = since(got, start)
		if fetchErr != nil {
			if len(got) > 0 {
				s.log.Warn("broker history unavailable; answering from the store", "feed", q.key.String(), "error", fetchErr)
				return got, nil
			}
			return nil, fetchErr
		}
		if len(got) >= q.limit || lookback >= widest || start <= tfs {
			return got, nil
		}
		lookback = min(lookback*widenFactor, widest)
	}
}

// rangeQuery answers the first limit candles at or after q.from (before
// q.to, and within the client's span).
func (s *Service) rangeQuery(ctx context.Context, q query, adm *admission) (market.Series, error) {
	readTo := q.to
	if q.maxSpan > 0 && (readTo == 0 || readTo > q.from+q.maxSpan) {
		readTo = q.from + q.maxSpan
	}
	end := s.closedEnd(q.key.Timeframe)
	if readTo != 0 {
		end = min(end, readTo)
	}
	q.to = readTo
	// Each round fetches the first missing stretch (up to limit candles),
	// so a few rounds cover any range of limit candles.
	for round := 0; ; round++ {
		stored, err := s.store.Candles(ctx, q.key.Broker, q.key.Symbol, q.key.Timeframe, q.from, readTo, q.limit)
		if err != nil {
			return nil, fmt.Errorf("stored candles: %w", err)
		}
		need := end
		if len(stored) >= q.limit {
			need = min(need, stored[len(stored)-1].Time+1)
		}
		if round == 3 || len(s.coverage.gaps(q.key, q.from, need)) == 0 {
			return stored, nil
		}
		if err := s.cover(q, adm, q.from, need); err != nil {
			if isRefusal(err) || len(stored) == 0 {
				return nil, err
			}
			s.log.Warn("broker history unavailable; answering from the store", "feed", q.key.String(), "error", err)
			return stored, nil
		}
	}
}

// since drops the candles that open before start.
func since(c market.Series, start int64) market.Series {
	for i, x := range c {
		if x.Time >= start {
			return c[i:]
		}
	}
	return c[:0]
}

func isRefusal(err error) bool {
	return errors.Is(err, ErrBudgetExceeded) || errors.Is(err, ErrSpanTooLarge)
}

// admission counts a request in its client's in-flight requests from its
// first broker fetch (its own or shared) until the request ends.
type admission struct {
	s       *Service
	c       Client
	release func()
}

func (a *admission) enter() error {
	if a.release != nil {
		return nil
	}
	release, err := a.s.budget.enter(a.c)
	if err != nil {
		return err
	}
	a.release = release
	return nil
}

func (a *admission) done() {
	if a.release != nil {
		a.release()
	}
}

// cover makes the store hold every candle of q's key in [from, to) that
// the broker has, fetching what the coverage lacks; for a range query it
// fetches the first q.limit candles of the first gap, once, and the caller
// looks at the store again. Requests for the same key share one fetch at a
// time: a request that finds one in flight waits for it and looks again.
func (s *Service) cover(q query, adm *admission, from, to int64) error {
	var refused error
	for range 3 {
		gaps := s.coverage.gaps(q.key, from, to)
		if len(gaps) == 0 {
			return nil
		}
		if err := adm.enter(); err != nil {
			return err
		}
		// Do, not DoChan: the request's goroutine owns the fetch it leads
		// (a follower cannot leave early; every fetch call has a deadline).
		led := false
		_, err, _ := s.flights.Do(q.key.String(), func() (any, error) {
			led = true
			return nil, s.fill(q, gaps)
		})
		if !led && isRefusal(err) {
			// The fetch we waited for was refused by its starter's budget,
			// which is not ours: look again, and start one ourselves.
			refused = err
			continue
		}
		if err != nil || led {
			return err
		}
		refused = nil
		s.metrics.CandleFetches.WithLabelValues("coalesced").Inc()
		if q.from != 0 {
			return nil
		}
	}
	// Still gaps after three other requests' fetches: answer from the
	// store, unless those were refused.
	return refused
}

// fill fetches gaps of q's key from the broker, stores what it gets and
// records the coverage. It runs on the service's context, not the
// request's: requests sharing it still get their answer, and what was
// fetched is stored, when the one that started it has gone.
func (s *Service) fill(q query, gaps []span) error {
	limit := 0 // a latest query needs every candle of its range
	if q.from != 0 {
		// A range query needs the first limit candles: its first gap is
		// enough for this round (rangeQuery looks again).
		limit, gaps = q.limit, gaps[:1]
	}
	release, err := s.budget.fetch(s.ctx, q.client, fetchDays(q.key.Timeframe, gaps, limit))
	if err != nil {
		return err
	}
	defer release()
	ctx := s.ctx
	s.metrics.CandleFetches.WithLabelValues("fetched").Inc()
	b, err := s.sessions.MarketData(ctx, q.key.Broker)
	if err != nil {
		return err
	}
	for i, g := range gaps {
		to := g.to
		if q.to == 0 && i == len(gaps)-1 {
			to = 0 // up to now: the newest closed candle too
		}
		candles, more, err := fetchPages(ctx, b, q.key, g.from, to, limit)
		if err != nil {
			return err
		}
		covered := g.to
		if n := len(candles); n > 0 {
			res, err := s.store.InsertCandles(ctx, q.key.Broker, q.key.Symbol, q.key.Timeframe, candles)
			if err != nil {
				return fmt.Errorf("storing fetched candles: %w", err)
			}
			s.metrics.CandlesIngested.WithLabelValues(q.key.Broker).Add(float64(res.Inserted))
			s.metrics.CandlesDuplicate.WithLabelValues(q.key.Broker).Add(float64(res.Duplicates))
			s.metrics.CandlesRejected.WithLabelValues(q.key.Broker).Add(float64(res.Rejected))
			if last := candles[n-1].Time + 1; more {
				covered = last
			} else {
				covered = max(covered, last)
			}
		}
		s.coverage.add(q.key, g.from, covered)
	}
	return nil
}

// fetchDays is the market time a fill covers, in whole days (at least 1):
// the gaps, or for a range query (limit > 0) at most limit timeframes.
func fetchDays(tf market.Timeframe, gaps []span, limit int) int {
	var secs int64
	for _, g := range gaps {
		secs += g.to - g.from
	}
	if limit > 0 {
		secs = min(secs, int64(limit)*tf.Seconds())
	}
	return int(max(1, (secs+86399)/86400))
}

// maxPages bounds one fetch so a wide range cannot hold a caller for long.
const maxPages = 200

// fetchPages pages through [from, to) (to 0 = now): the first limit
// candles (limit 0: every candle, up to maxPages pages). more reports
// that the broker may have further candles in the range.
func fetchPages(ctx context.Context, b broker.Broker, k Key, from, to int64, limit int) (out market.Series, more bool, err error) {
	token := ""
	for page := 0; ; page++ {
		size := 1000
		if limit > 0 {
			size = min(size, limit-len(out)) // ask for no more than is needed: pages cost the broker
		}
		p, err := b.Candles(ctx, broker.CandlesRequest{Symbol: k.Symbol, Timeframe: k.Timeframe, From: from, To: to, PageSize: size, PageToken: token})
		if err != nil {
			return nil, false, fmt.Errorf("candles %s: %w", k, err)
		}
		out = append(out, p.Candles...)
		if limit > 0 && len(out) >= limit {
			return out[:limit], true, nil
		}
		if p.NextPageToken == "" {
			return out, false, nil
		}
		if page+1 == maxPages {
			return out, true, nil
		}
		token = p.NextPageToken
	}
}
