package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	"github.com/stc-trading/stc/sdk/internal/convert"
	pluginv1 "github.com/stc-trading/stc/sdk/internal/pb/stc/plugin/v1"
	strategyv1 "github.com/stc-trading/stc/sdk/internal/pb/stc/strategy/v1"
	"github.com/stc-trading/stc/sdk/market"
	"github.com/stc-trading/stc/sdk/strategy"
)

// StrategyClient is the host's typed client for a strategy plugin process.
// It is safe for concurrent use.
type StrategyClient struct {
	info pluginv1.InfoServiceClient
	svc  strategyv1.StrategyServiceClient
	// minor is the plugin's ProtocolMinor, -1 until known.
	minor atomic.Int64
}

// NewStrategyClient wraps a connection to a strategy plugin.
func NewStrategyClient(c grpc.ClientConnInterface) *StrategyClient {
	sc := &StrategyClient{info: pluginv1.NewInfoServiceClient(c), svc: strategyv1.NewStrategyServiceClient(c)}
	sc.minor.Store(-1)
	return sc
}

// protocolMinor is the plugin's ProtocolMinor, asked once (0 while it
// cannot be asked: the oldest encoding is always understood).
func (c *StrategyClient) protocolMinor(ctx context.Context) int64 {
	if m := c.minor.Load(); m >= 0 {
		return m
	}
	info, err := c.Info(ctx)
	if err != nil {
		return 0
	}
	c.minor.Store(int64(info.ProtocolMinor))
	return int64(info.ProtocolMinor)
}

// sharedSeries returns the series every item's window is a suffix of,
// when they all end at the same element of one array (the windows a host
// cuts from one candle key's series), so that it can be sent once.
func sharedSeries(items []BatchItem) (market.Series, bool) {
	if len(items) < 2 {
		return nil, false
	}
	var longest market.Series
	for _, it := range items {
		if len(it.Window) == 0 {
			return nil, false
		}
		if len(it.Window) > len(longest) {
			longest = it.Window
		}
	}
	end := &longest[len(longest)-1]
	for _, it := range items {
		if &it.Window[len(it.Window)-1] != end {
			return nil, false
		}
	}
	return longest, true
}

// Info fetches the plugin's fingerprint.
func (c *StrategyClient) Info(ctx context.Context) (Info, error) { return getInfo(ctx, c.info) }

// InstanceConfig configures a strategy instance.
type InstanceConfig struct {
	Params    map[string]string // raw values; the plugin applies defaults
	Symbol    string
	Timeframe market.Timeframe
}

func (cfg InstanceConfig) toPB() *strategyv1.InstanceConfig {
	return &strategyv1.InstanceConfig{Params: cfg.Params, Symbol: cfg.Symbol, Timeframe: convert.TimeframeToPB(cfg.Timeframe)}
}

// Instance describes a created instance.
type Instance struct {
	Warmup int               // closed candles OnCandle wants
	Params map[string]string // effective parameters, defaults applied
}

// CreateInstance creates (or re-creates, idempotently) instance id.
// Invalid parameters give an error matching schema.ErrInvalid.
func (c *StrategyClient) CreateInstance(ctx context.Context, id string, cfg InstanceConfig) (Instance, error) {
	resp, err := c.svc.CreateInstance(ctx, &strategyv1.CreateInstanceRequest{InstanceId: id, Config: cfg.toPB()})
	if err != nil {
		return Instance{}, convert.FromStatus(err)
	}
	return Instance{Warmup: int(resp.GetWarmup()), Params: resp.GetParams()}, nil
}

// DestroyInstance destroys instance id; unknown ids succeed.
func (c *StrategyClient) DestroyInstance(ctx context.Context, id string) error {
	_, err := c.svc.DestroyInstance(ctx, &strategyv1.DestroyInstanceRequest{InstanceId: id})
	return convert.FromStatus(err)
}

// OnCandle evaluates instance id on window (oldest first, last = just
// closed). An instance lost to a plugin restart gives an error matching
// strategy.ErrUnknownInstance.
func (c *StrategyClient) OnCandle(ctx context.Context, id string, window market.Series) (strategy.Signal, error) {
	resp, err := c.svc.OnCandle(ctx, &strategyv1.OnCandleRequest{InstanceId: id, Window: convert.SeriesToPB(window)})
	if err != nil {
		return strategy.Signal{}, convert.FromStatus(err)
	}
	return convert.SignalFromPB(resp.GetSignal()), nil
}

// BatchItem is one instance's input in a batch.
type BatchItem struct {
	InstanceID string
	Window     market.Series
}

// BatchResult is one instance's output in a batch.
type BatchResult struct {
	InstanceID string
	Signal     strategy.Signal
	Err        error // this instance only; matches strategy.ErrUnknownInstance etc.
}

// BatchOnCandle evaluates many instances in one round trip. The error is
// for the whole call (transport, plugin gone); per-instance failures are in
// the results, which come in item order.
//
// Windows cut from one series (each a suffix of the same array, as the
// windows of one candle key's bots are) cross the wire once, as the
// series and each instance's window length, when the plugin speaks
// protocol minor 2 or later; otherwise each window is sent whole.
func (c *StrategyClient) BatchOnCandle(ctx context.Context, items []BatchItem) ([]BatchResult, error) {
	req := &strategyv1.BatchOnCandleRequest{Requests: make([]*strategyv1.OnCandleRequest, len(items))}
	if series, ok := sharedSeries(items); ok && c.protocolMinor(ctx) >= 2 {
		req.Series = convert.SeriesToPB(series)
		for i, it := range items {
			req.Requests[i] = &strategyv1.OnCandleRequest{InstanceId: it.InstanceID, WindowLength: uint32(len(it.Window))}
		}
	} else {
		for i, it := range items {
			req.Requests[i] = &strategyv1.OnCandleRequest{InstanceId: it.InstanceID, Window: convert.SeriesToPB(it.Window)}
		}
	}
	resp, err := c.svc.BatchOnCandle(ctx, req)
	if err != nil {
		return nil, convert.FromStatus(err)
	}
	if len(resp.GetResults()) != len(items) {
		return nil, fmt.Errorf("plugin answered %d results for %d items", len(resp.GetResults()), len(items))
	}
	out := make([]BatchResult, len(items))
	for i, r := range resp.GetResults() {
		out[i] = BatchResult{InstanceID: r.GetInstanceId(), Signal: convert.SignalFromPB(r.GetSignal())}
		if r.GetError() != "" {
			out[i].Err = batchError(r.GetErrorReason(), r.GetError())
		}
	}
	return out, nil
}

func batchError(reason, msg string) error {
	switch reason {
	case convert.ReasonUnknownInstance:
		return fmt.Errorf("%w: %s", strategy.ErrUnknownInstance, msg)
	case convert.ReasonInvalidConfig:
		return fmt.Errorf("%w: %s", strategy.ErrInvalidParams, msg)
	case convert.ReasonPanic:
		return fmt.Errorf("%w: %s", convert.ErrPluginPanic, msg)
	}
	return errors.New(msg)
}

// BacktestResult is a backtest's output.
type BacktestResult struct {
	Warmup  int
	Signals []strategy.Signal // one per input candle, in order
}

// DefaultBacktestChunk is the candles per message of a backtest stream:
// large enough that transport costs little per candle (≥ 100 makes it
// negligible), small enough to keep messages around 50 KB.
const DefaultBacktestChunk = 1000

// Backtest streams series through a fresh instance configured with cfg and
// returns one signal per candle. Sending and receiving overlap, so the
// plugin evaluates one chunk while the next is on the wire.
func (c *StrategyClient) Backtest(ctx context.Context, cfg InstanceConfig, series market.Series, chunk int) (BacktestResult, error) {
	if chunk <= 0 {
		chunk = DefaultBacktestChunk
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.svc.Backtest(ctx)
	if err != nil {
		return BacktestResult{}, convert.FromStatus(err)
	}
	if err := stream.Send(&strategyv1.BacktestRequest{Payload: &strategyv1.BacktestRequest_Config{Config: cfg.toPB()}}); err != nil {
		return BacktestResult{}, recvError(stream)
	}
	first, err := stream.Recv()
	if err != nil {
		return BacktestResult{}, convert.FromStatus(err)
	}
	res := BacktestResult{Warmup: int(first.GetWarmup()), Signals: make([]strategy.Signal, 0, len(series))}

	sendErr := make(chan error, 1)
	go func() { // owned by this call: it ends before Backtest returns
		for start := 0; start < len(series); start += chunk {
			part := series[start:min(start+chunk, len(series))]
			msg := &strategyv1.BacktestRequest{Payload: &strategyv1.BacktestRequest_Chunk{Chunk: convert.SeriesToPB(part)}}
			if err := stream.Send(msg); err != nil {
				sendErr <- err
				return
			}
		}
		sendErr <- stream.CloseSend()
	}()
	for len(res.Signals) < len(series) {
		resp, err := stream.Recv()
		if err != nil {
			cancel()
			<-sendErr //nolint:errcheck // the receive error is the one that matters
			return BacktestResult{}, convert.FromStatus(err)
		}
		base := len(res.Signals)
		for _, a := range resp.GetActions() {
			res.Signals = append(res.Signals, strategy.Signal{Action: convert.ActionFromPB(a)})
		}
		for _, d := range resp.GetDetails() {
			if i := base + int(d.GetOffset()); i < len(res.Signals) {
				res.Signals[i].Reason = d.GetReason()
				res.Signals[i].Expiry = time.Duration(d.GetExpirySeconds()) * time.Second
			}
		}
	}
	if err := <-sendErr; err != nil && !errors.Is(err, io.EOF) {
		return BacktestResult{}, convert.FromStatus(err)
	}
	return res, nil
}

// recvError returns the real error after a failed Send: gRPC reports only
// io.EOF from Send, and the status arrives on Recv.
func recvError(stream strategyv1.StrategyService_BacktestClient) error {
	_, err := stream.Recv()
	if err == nil {
		err = errors.New("backtest stream closed unexpectedly")
	}
	return convert.FromStatus(err)
}
