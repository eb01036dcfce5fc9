package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/stc-trading/stc/sdk/internal/convert"
	pluginv1 "github.com/stc-trading/stc/sdk/internal/pb/stc/plugin/v1"
	strategyv1 "github.com/stc-trading/stc/sdk/internal/pb/stc/strategy/v1"
	"github.com/stc-trading/stc/sdk/market"
	"github.com/stc-trading/stc/sdk/schema"
	"github.com/stc-trading/stc/sdk/strategy"
)

// StrategyPlugin is the go-plugin glue for strategies. Plugin binaries get
// it through ServeStrategy; the host and the test kits use it directly.
type StrategyPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	Factory strategy.Factory // nil on the host side
	Logger  hclog.Logger     // nil means hclog.NewNullLogger()
	// Settings are the operator settings GetInfo declares (see Setting);
	// GRPCServer refuses a list CheckSettings rejects.
	Settings []Setting
}

var _ goplugin.GRPCPlugin = (*StrategyPlugin)(nil)

// GRPCServer registers the info and strategy services.
func (p *StrategyPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	if p.Factory == nil {
		return errors.New("plugin: StrategyPlugin.Factory is nil")
	}
	log := p.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	if err := CheckSettings(p.Settings); err != nil {
		return fmt.Errorf("plugin: invalid settings: %w", err)
	}
	meta := p.Factory().Metadata()
	_, vectorized := p.Factory().(strategy.Vectorized)
	pluginv1.RegisterInfoServiceServer(s, &infoServer{info: Info{
		Kind:          KindStrategy,
		Name:          meta.Name,
		Version:       meta.Version,
		SDKVersion:    SDKVersion,
		ProtocolMinor: ProtocolMinor,
		Multiplexing:  true,
		Fields:        meta.Params,
		Capabilities:  map[string]bool{"vectorized": vectorized, "batch": true, "backtest_stream": true},
		Description:   meta.Description,
		DisplayName:   meta.DisplayName,
		Settings:      p.Settings,
	}})
	strategyv1.RegisterStrategyServiceServer(s, &strategyServer{
		factory:   p.Factory,
		meta:      meta,
		log:       log,
		instances: make(map[string]*strategyInstance),
	})
	return nil
}

// GRPCClient returns a *StrategyClient.
func (p *StrategyPlugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return NewStrategyClient(c), nil
}

type strategyServer struct {
	strategyv1.UnimplementedStrategyServiceServer
	factory strategy.Factory
	meta    strategy.Metadata
	log     hclog.Logger

	mu        sync.RWMutex
	instances map[string]*strategyInstance
}

// strategyInstance is one configured strategy value. mu serialises calls
// so author code needs no locking of its own.
type strategyInstance struct {
	mu     sync.Mutex
	s      strategy.Strategy
	key    string // canonical configuration, for idempotent creation
	warmup int
	params map[string]string
	window market.Series // reused decode buffer
}

func configKey(cfg *strategyv1.InstanceConfig) string {
	return fmt.Sprintf("%s|%d|%v", cfg.GetSymbol(), cfg.GetTimeframe(), sortedPairs(cfg.GetParams()))
}

// configure builds and configures a fresh strategy value.
func (s *strategyServer) configure(ctx context.Context, cfg *strategyv1.InstanceConfig) (*strategyInstance, error) {
	if cfg == nil {
		return nil, fmt.Errorf("%w: missing configuration", strategy.ErrInvalidParams)
	}
	tf, err := convert.TimeframeFromPB(cfg.GetTimeframe())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", strategy.ErrInvalidParams, err)
	}
	params, err := schema.Resolve(s.meta.Params, cfg.GetParams())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", strategy.ErrInvalidParams, err)
	}
	inst := &strategyInstance{s: s.factory(), key: configKey(cfg), params: params.Map()}
	err = safeCall(s.log, "Configure", func() error {
		resp, err := inst.s.Configure(ctx, strategy.ConfigureRequest{Params: params, Symbol: cfg.GetSymbol(), Timeframe: tf})
		if err != nil {
			if errors.Is(err, strategy.ErrInvalidParams) || errors.Is(err, schema.ErrInvalid) {
				return err
			}
			return fmt.Errorf("%w: %w", strategy.ErrInvalidParams, err)
		}
		if resp.Warmup < 1 {
			return fmt.Errorf("strategy %s returned warm-up %d; it must be at least 1", s.meta.Name, resp.Warmup)
		}
		inst.warmup = resp.Warmup
		return nil
	})
	if err != nil {
		return nil, err
	}
	return inst, nil
}

func (s *strategyServer) CreateInstance(ctx context.Context, req *strategyv1.CreateInstanceRequest) (*strategyv1.CreateInstanceResponse, error) {
	if req.GetInstanceId() == "" {
		return nil, convert.ToStatus(fmt.Errorf("%w: empty instance id", strategy.ErrInvalidParams))
	}
	s.mu.RLock()
	old := s.instances[req.GetInstanceId()]
	s.mu.RUnlock()
	if old != nil && old.key == configKey(req.GetConfig()) {
		return &strategyv1.CreateInstanceResponse{Warmup: uint32(old.warmup), Params: old.params}, nil
	}
	inst, err := s.configure(ctx, req.GetConfig())
	if err != nil {
		return nil, convert.ToStatus(err)
	}
	s.mu.Lock()
	s.instances[req.GetInstanceId()] = inst // the host is the source of truth: a new config replaces the old
	s.mu.Unlock()
	if old != nil {
		s.closeInstance(ctx, old)
	}
	return &strategyv1.CreateInstanceResponse{Warmup: uint32(inst.warmup), Params: inst.params}, nil
}

func (s *strategyServer) closeInstance(ctx context.Context, inst *strategyInstance) {
	if c, ok := inst.s.(strategy.Closer); ok {
		inst.mu.Lock()
		defer inst.mu.Unlock()
		if err := safeCall(s.log, "Close", func() error { return c.Close(ctx) }); err != nil {
			s.log.Warn("strategy Close failed", "error", err)
		}
	}
}

func (s *strategyServer) DestroyInstance(ctx context.Context, req *strategyv1.DestroyInstanceRequest) (*strategyv1.DestroyInstanceResponse, error) {
	s.mu.Lock()
	inst := s.instances[req.GetInstanceId()]
	delete(s.instances, req.GetInstanceId())
	s.mu.Unlock()
	if inst != nil {
		s.closeInstance(ctx, inst)
	}
	return &strategyv1.DestroyInstanceResponse{}, nil
}

func (s *strategyServer) lookup(id string) (*strategyInstance, error) {
	s.mu.RLock()
	inst := s.instances[id]
	s.mu.RUnlock()
	if inst == nil {
		return nil, fmt.Errorf("%w %q", strategy.ErrUnknownInstance, id)
	}
	return inst, nil
}

// evaluate runs one live evaluation of req's instance on its window:
// req's own, or, when req names it by length, the end of shared (a
// batch's series).
func (s *strategyServer) evaluate(ctx context.Context, req *strategyv1.OnCandleRequest, shared market.Series) (strategy.Signal, error) {
	inst, err := s.lookup(req.GetInstanceId())
	if err != nil {
		return strategy.Signal{}, err
	}
	inst.mu.Lock()
	defer inst.mu.Unlock()
	if n := int(req.GetWindowLength()); n > 0 && len(req.GetWindow().GetTimestamps()) == 0 {
		if n > len(shared) {
			return strategy.Signal{}, fmt.Errorf("%w: window of %d candles, the batch's series has %d", strategy.ErrInvalidParams, n, len(shared))
		}
		// A copy: each instance owns its window, as with a window of its own.
		inst.window = append(inst.window[:0], shared[len(shared)-n:]...)
	} else if inst.window, err = convert.SeriesFromPB(inst.window[:0], req.GetWindow()); err != nil {
		return strategy.Signal{}, fmt.Errorf("%w: %w", strategy.ErrInvalidParams, err)
	}
	if len(inst.window) == 0 {
		return strategy.Signal{}, fmt.Errorf("%w: empty candle window", strategy.ErrInvalidParams)
	}
	window := inst.window
	if len(window) > inst.warmup {
		window = window[len(window)-inst.warmup:]
	}
	var sig strategy.Signal
	err = safeCall(s.log, "OnCandle", func() error {
		var err error
		sig, err = inst.s.OnCandle(ctx, strategy.CandleRequest{Window: window})
		return err
	})
	if err != nil {
		return strategy.Signal{}, err
	}
	if !sig.Action.Valid() {
		return strategy.Signal{}, fmt.Errorf("strategy %s returned invalid action %v", s.meta.Name, sig.Action)
	}
	return sig, nil
}

func (s *strategyServer) OnCandle(ctx context.Context, req *strategyv1.OnCandleRequest) (*strategyv1.OnCandleResponse, error) {
	sig, err := s.evaluate(ctx, req, nil)
	if err != nil {
		return nil, convert.ToStatus(err)
	}
	return &strategyv1.OnCandleResponse{Signal: convert.SignalToPB(sig)}, nil
}

// BatchOnCandle evaluates a batch on GOMAXPROCS workers; one instance's
// failure is reported in its own result and never fails the batch.
func (s *strategyServer) BatchOnCandle(ctx context.Context, req *strategyv1.BatchOnCandleRequest) (*strategyv1.BatchOnCandleResponse, error) {
	reqs := req.GetRequests()
	results := make([]*strategyv1.BatchOnCandleResult, len(reqs))
	var shared market.Series
	if series := req.GetSeries(); len(series.GetTimestamps()) > 0 {
		var err error
		if shared, err = convert.SeriesFromPB(nil, series); err != nil {
			return nil, convert.ToStatus(fmt.Errorf("%w: the batch's series: %w", strategy.ErrInvalidParams, err))
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(reqs))
	var next int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= len(reqs) {
					return
				}
				r := &strategyv1.BatchOnCandleResult{InstanceId: reqs[i].GetInstanceId()}
				if sig, err := s.evaluate(ctx, reqs[i], shared); err != nil {
					r.Error = err.Error()
					r.ErrorReason = errorReason(err)
				} else {
					r.Signal = convert.SignalToPB(sig)
				}
				results[i] = r
			}
		})
	}
	wg.Wait()
	return &strategyv1.BatchOnCandleResponse{Results: results}, nil
}

func errorReason(err error) string {
	switch {
	case errors.Is(err, strategy.ErrUnknownInstance):
		return convert.ReasonUnknownInstance
	case errors.Is(err, strategy.ErrInvalidParams):
		return convert.ReasonInvalidConfig
	case errors.Is(err, convert.ErrPluginPanic):
		return convert.ReasonPanic
	}
	return convert.ReasonStrategyFailed
}

// Backtest runs a fresh instance over a streamed series. Strategies that
// implement strategy.Vectorized get whole chunks; the others get the same
// sliding window the live path would send, so both paths agree.
func (s *strategyServer) Backtest(stream strategyv1.StrategyService_BacktestServer) error {
	ctx := stream.Context()
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	inst, err := s.configure(ctx, first.GetConfig())
	if err != nil {
		return convert.ToStatus(err)
	}
	if err := stream.Send(&strategyv1.BacktestResponse{Warmup: uint32(inst.warmup)}); err != nil {
		return err
	}
	defer s.closeInstance(ctx, inst)
	vec, isVec := inst.s.(strategy.Vectorized)
	slider := newSlidingWindow(inst.warmup)
	var chunk market.Series
	var signals []strategy.Signal
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		chunk, err = convert.SeriesFromPB(chunk[:0], req.GetChunk())
		if err != nil {
			return convert.ToStatus(fmt.Errorf("%w: %w", strategy.ErrInvalidParams, err))
		}
		signals = append(signals[:0], make([]strategy.Signal, len(chunk))...)
		if isVec {
			err = safeCall(s.log, "OnCandles", func() error { return vec.OnCandles(ctx, chunk, signals) })
		} else {
			err = safeCall(s.log, "OnCandle", func() error {
				for i, c := range chunk {
					sig, err := inst.s.OnCandle(ctx, strategy.CandleRequest{Window: slider.push(c)})
					if err != nil {
						return fmt.Errorf("candle %d: %w", c.Time, err)
					}
					signals[i] = sig
				}
				return nil
			})
		}
		if err != nil {
			return convert.ToStatus(err)
		}
		resp := &strategyv1.BacktestResponse{Actions: make([]strategyv1.Action, len(signals))}
		for i, sig := range signals {
			if !sig.Action.Valid() {
				return convert.ToStatus(fmt.Errorf("strategy %s returned invalid action %v", s.meta.Name, sig.Action))
			}
			resp.Actions[i] = convert.ActionToPB(sig.Action)
			if sig.Action != strategy.ActionHold && (sig.Reason != "" || sig.Expiry != 0) {
				resp.Details = append(resp.Details, &strategyv1.SignalDetail{Offset: uint32(i), Reason: sig.Reason, ExpirySeconds: int64(sig.Expiry.Seconds())})
			}
		}
		if err := stream.Send(resp); err != nil {
			return err
		}
	}
}

// slidingWindow keeps the last n candles in a slice that is compacted only
// when its spare capacity runs out, so each push is amortised O(1) and the
// window handed to author code is always contiguous.
type slidingWindow struct {
	n   int
	buf market.Series
}

func newSlidingWindow(n int) *slidingWindow {
	return &slidingWindow{n: n, buf: make(market.Series, 0, 4*n+16)}
}

func (w *slidingWindow) push(c market.Candle) market.Series {
	if len(w.buf) == cap(w.buf) {
		keep := w.n - 1
		copy(w.buf, w.buf[len(w.buf)-keep:])
		w.buf = w.buf[:keep]
	}
	w.buf = append(w.buf, c)
	if len(w.buf) > w.n {
		return w.buf[len(w.buf)-w.n:]
	}
	return w.buf
}
