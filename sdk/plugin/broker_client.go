package plugin

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/internal/convert"
	brokerv1 "github.com/stc-trading/stc/sdk/internal/pb/stc/broker/v1"
	pluginv1 "github.com/stc-trading/stc/sdk/internal/pb/stc/plugin/v1"
)

// BrokerClient is the host's typed client for a broker plugin process. It
// is safe for concurrent use.
type BrokerClient struct {
	info pluginv1.InfoServiceClient
	svc  brokerv1.BrokerServiceClient

	mu   sync.Mutex
	meta broker.Metadata // from the last Info call

	// noBatch is set once the plugin answered PlaceOrders with
	// UNIMPLEMENTED: it predates the RPC, and a process never changes its
	// binary, so later batches go straight to one PlaceOrder per order.
	noBatch atomic.Bool
}

// NewBrokerClient wraps a connection to a broker plugin.
func NewBrokerClient(c grpc.ClientConnInterface) *BrokerClient {
	return &BrokerClient{info: pluginv1.NewInfoServiceClient(c), svc: brokerv1.NewBrokerServiceClient(c)}
}

// Info fetches the plugin's fingerprint and remembers it for the sessions'
// Metadata.
func (c *BrokerClient) Info(ctx context.Context) (Info, error) {
	info, err := getInfo(ctx, c.info)
	if err != nil {
		return Info{}, err
	}
	caps := info.Capabilities
	c.mu.Lock()
	c.meta = broker.Metadata{
		Name:        info.Name,
		Version:     info.Version,
		Description: info.Description,
		Credentials: info.Fields,
		PerSession:  !info.Multiplexing,
		Capabilities: broker.Capabilities{
			CandleStream:        caps["candle_stream"],
			OrderStream:         caps["order_stream"],
			AnonymousMarketData: caps["anonymous_market_data"],
			SecondFactor:        caps["second_factor"],
			RealAccounts:        caps["real_accounts"],
		},
	}
	c.mu.Unlock()
	return info, nil
}

// Session returns session id as a broker.Broker, so host code depends only
// on the SDK interface. The empty id is the anonymous market-data session.
func (c *BrokerClient) Session(id string) broker.Broker { return &brokerSessionClient{c: c, id: id} }

type brokerSessionClient struct {
	c  *BrokerClient
	id string
}

var (
	_ broker.Broker      = (*brokerSessionClient)(nil)
	_ broker.BatchPlacer = (*brokerSessionClient)(nil)
)

// Metadata returns the plugin's metadata, fetching it once if no Info call
// has been made yet (Metadata has no context, so the fetch is bounded by
// a short timeout; on failure the result is empty).
func (s *brokerSessionClient) Metadata() broker.Metadata {
	s.c.mu.Lock()
	meta := s.c.meta
	s.c.mu.Unlock()
	if meta.Name == "" {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := s.c.Info(ctx); err == nil {
			s.c.mu.Lock()
			meta = s.c.meta
			s.c.mu.Unlock()
		}
	}
	return meta
}

func (s *brokerSessionClient) Open(ctx context.Context, req broker.OpenRequest) (broker.Account, error) {
	resp, err := s.c.svc.OpenSession(ctx, &brokerv1.OpenSessionRequest{SessionId: s.id, Mode: convert.ModeToPB(req.Mode), Credentials: req.Credentials})
	if err != nil {
		return broker.Account{}, convert.FromStatus(err)
	}
	bal, err := convert.DecimalFromPB(resp.GetBalance())
	if err != nil {
		return broker.Account{}, err
	}
	return broker.Account{Balance: bal, Currency: resp.GetCurrency(), AccountRef: resp.GetAccountRef(), ResumeCredentials: resp.GetResumeCredentials()}, nil
}

func (s *brokerSessionClient) Close(ctx context.Context) error {
	_, err := s.c.svc.CloseSession(ctx, &brokerv1.CloseSessionRequest{SessionId: s.id})
	return convert.FromStatus(err)
}

func (s *brokerSessionClient) Instruments(ctx context.Context) ([]broker.Instrument, error) {
	resp, err := s.c.svc.ListInstruments(ctx, &brokerv1.ListInstrumentsRequest{SessionId: s.id})
	if err != nil {
		return nil, convert.FromStatus(err)
	}
	out := make([]broker.Instrument, 0, len(resp.GetInstruments()))
	for _, in := range resp.GetInstruments() {
		i, err := convert.InstrumentFromPB(in)
		if err != nil {
			return nil, err
		}
		out = append(out, i)
	}
	return out, nil
}

func (s *brokerSessionClient) Candles(ctx context.Context, req broker.CandlesRequest) (broker.CandlesPage, error) {
	resp, err := s.c.svc.GetCandles(ctx, &brokerv1.GetCandlesRequest{
		SessionId: s.id, Symbol: req.Symbol, Timeframe: convert.TimeframeToPB(req.Timeframe),
		FromUnix: req.From, ToUnix: req.To, PageSize: uint32(max(req.PageSize, 0)), PageToken: req.PageToken,
	})
	if err != nil {
		return broker.CandlesPage{}, convert.FromStatus(err)
	}
	series, err := convert.SeriesFromPB(nil, resp.GetCandles())
	if err != nil {
		return broker.CandlesPage{}, err
	}
	return broker.CandlesPage{Candles: series, NextPageToken: resp.GetNextPageToken()}, nil
}

// SubscribeCandles streams candle events. The channel closes when ctx ends
// or the stream fails; a failure is delivered as a last event with Err set
// (errors.Is works on it; a dead plugin gives a gRPC Unavailable error).
func (s *brokerSessionClient) SubscribeCandles(ctx context.Context, req broker.SubscribeRequest) (<-chan broker.CandleEvent, error) {
	stream, err := s.c.svc.StreamCandles(ctx, &brokerv1.StreamCandlesRequest{SessionId: s.id, Symbol: req.Symbol, Timeframe: convert.TimeframeToPB(req.Timeframe)})
	if err != nil {
		return nil, convert.FromStatus(err)
	}
	ch := make(chan broker.CandleEvent, 64)
	go func() { // owned by ctx: ends when the stream ends or ctx is cancelled
		defer close(ch)
		for {
			msg, err := stream.Recv()
			if err != nil {
				if !errors.Is(err, io.EOF) && ctx.Err() == nil {
					select {
					case ch <- broker.CandleEvent{Err: convert.FromStatus(err)}:
					case <-ctx.Done():
					}
				}
				return
			}
			select {
			case ch <- broker.CandleEvent{Candle: convert.CandleFromPB(msg.GetCandle()), Closed: msg.GetClosed()}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}

func (s *brokerSessionClient) Balance(ctx context.Context) (broker.Balance, error) {
	resp, err := s.c.svc.GetBalance(ctx, &brokerv1.GetBalanceRequest{SessionId: s.id})
	if err != nil {
		return broker.Balance{}, convert.FromStatus(err)
	}
	amount, err := convert.DecimalFromPB(resp.GetBalance())
	if err != nil {
		return broker.Balance{}, err
	}
	return broker.Balance{Amount: amount, Currency: resp.GetCurrency(), Mode: convert.ModeFromPB(resp.GetMode())}, nil
}

func (s *brokerSessionClient) PlaceOrder(ctx context.Context, req broker.OrderRequest) (broker.Order, error) {
	msg := convert.OrderRequestToPB(s.id, req)
	resp, err := s.c.svc.PlaceOrder(ctx, msg)
	if err != nil {
		return broker.Order{}, convert.FromStatus(err)
	}
	return convert.OrderFromPB(resp.GetOrder())
}

func (s *brokerSessionClient) GetOrder(ctx context.Context, clientOrderID string) (broker.Order, error) {
	resp, err := s.c.svc.GetOrder(ctx, &brokerv1.GetOrderRequest{SessionId: s.id, ClientOrderId: clientOrderID})
	if err != nil {
		return broker.Order{}, convert.FromStatus(err)
	}
	return convert.OrderFromPB(resp.GetOrder())
}

// OrderResults streams order changes; the channel closes when ctx ends or
// the stream fails. A channel that closes while ctx is still live means the
// stream broke (plugin restart, broker disconnect): the caller re-subscribes
// and reconciles open orders with GetOrder.
func (s *brokerSessionClient) OrderResults(ctx context.Context) (<-chan broker.Order, error) {
	stream, err := s.c.svc.StreamOrderResults(ctx, &brokerv1.StreamOrderResultsRequest{SessionId: s.id})
	if err != nil {
		return nil, convert.FromStatus(err)
	}
	ch := make(chan broker.Order, 64)
	go func() { // owned by ctx
		defer close(ch)
		for {
			msg, err := stream.Recv()
			if err != nil {
				return
			}
			o, err := convert.OrderFromPB(msg.GetOrder())
			if err != nil {
				return
			}
			select {
			case ch <- o:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}
