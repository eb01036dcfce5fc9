package bots

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/stc-trading/stc/host/internal/marketdata"
	"github.com/stc-trading/stc/host/internal/pluginmgr"
	"github.com/stc-trading/stc/sdk/market"
	"github.com/stc-trading/stc/sdk/plugin"
	"github.com/stc-trading/stc/sdk/strategy"
)

// candleWireBytes is what one candle costs in a BatchOnCandle message
// (packed columns: a timestamp varint and five doubles), rounded up.
const candleWireBytes = 48

// dispatcher runs the bots of one candle key: it keeps the key's recent
// closed candles and evaluates every bot on each new one. Its goroutine is
// started by the runner in Run's wait group and ends when stop is called
// or Run's context ends.
type dispatcher struct {
	r      *runner
	key    marketdata.Key
	sub    *marketdata.Subscription
	ctx    context.Context
	cancel context.CancelFunc

	mu   sync.Mutex
	bots map[int64]*runBot
	need int // the largest warm-up of the bots

	// Owned by the run goroutine.
	window    market.Series
	loadedFor int // the need the window was last loaded for
}

func newDispatcher(r *runner, key marketdata.Key) (*dispatcher, error) {
	sub, err := r.s.deps.Market.Subscribe(key)
	if err != nil {
		return nil, fmt.Errorf("subscribe %s: %w", key, err)
	}
	ctx, cancel := context.WithCancel(r.ctx)
	return &dispatcher{r: r, key: key, sub: sub, ctx: ctx, cancel: cancel, bots: make(map[int64]*runBot)}, nil
}

func (d *dispatcher) add(rb *runBot) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.bots[rb.ID] = rb
	d.need = max(d.need, rb.warmup)
}

// remove drops a bot and returns how many remain.
func (d *dispatcher) remove(id int64) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.bots, id)
	d.need = 0
	for _, b := range d.bots {
		d.need = max(d.need, b.warmup)
	}
	return len(d.bots)
}

// stop ends the goroutine without waiting for it (the caller may hold the
// runner's lock, which an evaluation in flight may need).
func (d *dispatcher) stop() { d.cancel() }

func (d *dispatcher) run() {
	ctx := d.ctx
	defer d.sub.Close()
	for {
		select {
		case <-ctx.Done():
			return
		case c := <-d.sub.C:
			received := d.r.s.opts.Now()
			// A feed that (re)connects delivers the candles it backfilled
			// in one burst. Only the newest is a decision point: trading
			// on each older one would act on prices long gone. The others
			// still enter the window.
			var older market.Series
		drain:
			for {
				select {
				case next := <-d.sub.C:
					older = append(older, c)
					c = next
				default:
					break drain
				}
			}
			d.onCandle(ctx, older, c, received)
		}
	}
}

// onCandle evaluates every bot of the key on closed candle c, after
// adding the older candles of its burst to the window.
func (d *dispatcher) onCandle(ctx context.Context, older market.Series, c market.Candle, received time.Time) {
	d.mu.Lock()
	bots := make([]*runBot, 0, len(d.bots))
	for _, b := range d.bots {
		bots = append(bots, b)
	}
	need := d.need
	d.mu.Unlock()
	if len(bots) == 0 {
		return
	}
	for _, o := range older {
		d.push(ctx, o, need)
	}
	if !d.push(ctx, c, need) {
		return
	}
	// Bots of one group share an evaluation: the first one's instance
	// answers for all.
	groups := make(map[string][]*runBot)
	var order []string
	for _, b := range bots {
		if groups[b.group] == nil {
			order = append(order, b.group)
		}
		groups[b.group] = append(groups[b.group], b)
	}
	reps := make([]*runBot, len(order))
	for i, g := range order {
		reps[i] = groups[g][0]
	}
	results := d.evaluate(ctx, reps)
	if ctx.Err() != nil {
		// The key's last bot was taken off the runner, or Run ended,
		// during the evaluation: its answers (errors of the canceled
		// calls, mostly) are nobody's to record.
		return
	}
	for i, g := range order {
		res := results[i]
		for _, b := range groups[g] {
			d.r.observe(Event{Kind: EventEvaluated, BotID: b.ID, UserID: b.UserID, Candle: c, Received: received, Signal: res.Signal, Err: res.Err})
			if res.Err != nil {
				d.r.last.recordError(b, fmt.Sprintf("strategy: %v", res.Err), received)
				continue
			}
			if res.Signal.Action != strategy.ActionCall && res.Signal.Action != strategy.ActionPut {
				continue
			}
			if !d.r.enqueue(ctx, orderJob{bot: b, signal: res.Signal, candle: c, received: received}) {
				return
			}
		}
	}
}

// push adds c to the window and reports whether it is new. The window is
// (re)loaded from the candle service when it is empty, after a gap, or
// when a bot needing a longer warm-up joined.
func (d *dispatcher) push(ctx context.Context, c market.Candle, need int) bool {
	n := len(d.window)
	if n > 0 && c.Time <= d.window[n-1].Time {
		return false
	}
	gap := n > 0 && c.Time != d.window[n-1].Time+d.key.Timeframe.Seconds()
	if n == 0 || gap || d.loadedFor < need {
		loaded, err := d.r.s.deps.Market.Candles(ctx, d.key.Broker, d.key.Symbol, d.key.Timeframe, 0, 0, need)
		if err != nil {
			d.r.s.log.Warn("loading a bot warm-up window failed", "feed", d.key.String(), "error", err)
		} else {
			w := make(market.Series, 0, 2*need+1)
			for _, l := range loaded {
				if l.Time < c.Time {
					w = append(w, l)
				}
			}
			d.window, d.loadedFor = w, need
		}
	}
	d.window = append(d.window, c)
	if len(d.window) > 2*need && need > 0 {
		// Compact rarely: the windows handed out are only used during
		// this candle's evaluation, which has not begun.
		d.window = append(d.window[:0], d.window[len(d.window)-need:]...)
	}
	return true
}

// evalResult is one group's answer.
type evalResult struct {
	Signal strategy.Signal
	Err    error
}

// evalChunk is one BatchOnCandle message: bots of one strategy plugin.
type evalChunk struct {
	handle *pluginmgr.StrategyHandle
	idx    []int // into the representatives
	items  []plugin.BatchItem
}

// chunkReps groups the representatives into BatchOnCandle messages: one
// plugin's bots together, at most limit bytes of candles a message, each
// bot's window the last warm-up candles of window (so all of a message's
// windows end at the same candle, and the SDK sends the series once).
func chunkReps(reps []*runBot, window market.Series, limit int) []*evalChunk {
	var chunks []*evalChunk
	// Keyed by the handle's value, not its pointer: every bot holds a
	// handle of its own, and the handles of one plugin are equal values
	// (keyed by pointer, 10,000 bots of distinct configurations were
	// 10,000 messages of one instance each).
	open := make(map[pluginmgr.StrategyHandle]*evalChunk)
	sizes := make(map[pluginmgr.StrategyHandle]int)
	for i, b := range reps {
		w := window
		if len(w) > b.warmup {
			w = w[len(w)-b.warmup:]
		}
		key := *b.handle
		ch := open[key]
		if ch == nil || (sizes[key]+len(w)*candleWireBytes > limit && len(ch.items) > 0) {
			ch = &evalChunk{handle: b.handle}
			open[key] = ch
			sizes[key] = 0
			chunks = append(chunks, ch)
		}
		ch.idx = append(ch.idx, i)
		ch.items = append(ch.items, plugin.BatchItem{InstanceID: b.instance, Window: w})
		sizes[key] += len(w) * candleWireBytes
	}
	return chunks
}

// evaluate asks the strategies for the representatives' signals, in
// BatchOnCandle messages of at most BatchBytes of candles, several at once.
func (d *dispatcher) evaluate(ctx context.Context, reps []*runBot) []evalResult {
	out := make([]evalResult, len(reps))
	chunks := chunkReps(reps, d.window, d.r.s.opts.BatchBytes)
	sem := make(chan struct{}, d.r.s.opts.BatchConcurrency)
	var wg sync.WaitGroup
	for _, ch := range chunks {
		sem <- struct{}{}
		wg.Go(func() { // owned by evaluate, which waits below
			defer func() { <-sem }()
			res, err := batch(ctx, ch.handle, ch.items)
			for j, i := range ch.idx {
				if err != nil {
					out[i] = evalResult{Err: err}
					continue
				}
				out[i] = evalResult{Signal: res[j].Signal, Err: res[j].Err}
				if errors.Is(res[j].Err, strategy.ErrUnknownInstance) {
					out[i] = d.recreate(ctx, reps[i], ch.items[j].Window)
				}
			}
		})
	}
	wg.Wait()
	return out
}

// batch calls BatchOnCandle, once more when the plugin died under the
// first call: the manager restarts it and re-creates the instances, and
// the handle waits for that.
func batch(ctx context.Context, h *pluginmgr.StrategyHandle, items []plugin.BatchItem) ([]plugin.BatchResult, error) {
	res, err := h.BatchOnCandle(ctx, items)
	if err != nil && (errors.Is(err, pluginmgr.ErrPluginExited) || errors.Is(err, pluginmgr.ErrPluginUnavailable)) && ctx.Err() == nil {
		res, err = h.BatchOnCandle(ctx, items)
	}
	if err == nil && len(res) != len(items) {
		err = fmt.Errorf("strategy answered %d results for %d bots", len(res), len(items))
	}
	return res, err
}

// recreate handles an instance the plugin does not know (a restart that
// the manager has not finished re-creating, or lost): create it again,
// idempotently, and evaluate once more.
func (d *dispatcher) recreate(ctx context.Context, b *runBot, window market.Series) evalResult {
	cfg := plugin.InstanceConfig{Params: b.Params, Symbol: b.Symbol, Timeframe: b.Timeframe}
	if !d.r.current(b) {
		return evalResult{Err: errors.New("bot stopped")}
	}
	if _, err := b.handle.CreateInstance(ctx, b.instance, cfg); err != nil {
		return evalResult{Err: fmt.Errorf("re-create strategy instance: %w", err)}
	}
	if !d.r.current(b) {
		// Stopped while we re-created it: do not leave it behind.
		_ = b.handle.DestroyInstance(ctx, b.instance)
		return evalResult{Err: errors.New("bot stopped")}
	}
	sig, err := b.handle.OnCandle(ctx, b.instance, window)
	return evalResult{Signal: sig, Err: err}
}
