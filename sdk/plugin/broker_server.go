package plugin

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/internal/convert"
	brokerv1 "github.com/stc-trading/stc/sdk/internal/pb/stc/broker/v1"
	pluginv1 "github.com/stc-trading/stc/sdk/internal/pb/stc/plugin/v1"
	"github.com/stc-trading/stc/sdk/schema"
)

// BrokerPlugin is the go-plugin glue for broker adapters. Plugin binaries
// get it through ServeBroker; the host and the test kits use it directly.
type BrokerPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	Factory broker.Factory // nil on the host side
	Logger  hclog.Logger   // nil means hclog.NewNullLogger()
	// Settings are the operator settings GetInfo declares (see Setting);
	// GRPCServer refuses a list CheckSettings rejects.
	Settings []Setting
}

var _ goplugin.GRPCPlugin = (*BrokerPlugin)(nil)

// BrokerCapabilities turns broker capabilities into GetInfo flags.
func BrokerCapabilities(c broker.Capabilities) map[string]bool {
	return map[string]bool{
		"candle_stream":         c.CandleStream,
		"order_stream":          c.OrderStream,
		"anonymous_market_data": c.AnonymousMarketData,
		"second_factor":         c.SecondFactor,
		"real_accounts":         c.RealAccounts,
	}
}

// GRPCServer registers the info and broker services.
func (p *BrokerPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	if p.Factory == nil {
		return errors.New("plugin: BrokerPlugin.Factory is nil")
	}
	log := p.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	if err := CheckSettings(p.Settings); err != nil {
		return fmt.Errorf("plugin: invalid settings: %w", err)
	}
	meta := p.Factory().Metadata()
	pluginv1.RegisterInfoServiceServer(s, &infoServer{info: Info{
		Kind:          KindBroker,
		Name:          meta.Name,
		Version:       meta.Version,
		SDKVersion:    SDKVersion,
		ProtocolMinor: ProtocolMinor,
		Multiplexing:  !meta.PerSession,
		Fields:        meta.Credentials,
		Capabilities:  BrokerCapabilities(meta.Capabilities),
		Description:   meta.Description,
		DisplayName:   meta.DisplayName,
		Settings:      p.Settings,
	}})
	brokerv1.RegisterBrokerServiceServer(s, &brokerServer{
		factory:  p.Factory,
		meta:     meta,
		log:      log,
		sessions: make(map[string]*brokerSession),
	})
	return nil
}

// GRPCClient returns a *BrokerClient.
func (p *BrokerPlugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return NewBrokerClient(c), nil
}

type brokerServer struct {
	brokerv1.UnimplementedBrokerServiceServer
	factory broker.Factory
	meta    broker.Metadata
	log     hclog.Logger

	mu        sync.Mutex
	sessions  map[string]*brokerSession
	anonymous broker.Broker // the never-opened market-data session ("")
}

type brokerSession struct {
	b      broker.Broker
	opened bool
	// open serialises Open/Close of one session; other calls run freely,
	// since adapters must be safe for concurrent use per session.
	open sync.Mutex
}

// session returns the broker value for id. The empty id is the anonymous
// market-data session, available only when the adapter supports it.
func (s *brokerServer) session(id string) (broker.Broker, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == "" {
		if !s.meta.Capabilities.AnonymousMarketData {
			return nil, broker.NewError(broker.ErrUnsupported, "%s needs a logged-in session for market data", s.meta.Name)
		}
		if s.anonymous == nil {
			s.anonymous = s.factory()
		}
		return s.anonymous, nil
	}
	sess := s.sessions[id]
	if sess == nil || !sess.opened {
		return nil, broker.NewError(broker.ErrSessionNotFound, "session %q is not open", id)
	}
	return sess.b, nil
}

func (s *brokerServer) OpenSession(ctx context.Context, req *brokerv1.OpenSessionRequest) (*brokerv1.OpenSessionResponse, error) {
	id := req.GetSessionId()
	if id == "" {
		return nil, convert.ToStatus(fmt.Errorf("%w: empty session id", schema.ErrInvalid))
	}
	mode := convert.ModeFromPB(req.GetMode())
	if mode == 0 {
		return nil, convert.ToStatus(fmt.Errorf("%w: mode must be practice or real", schema.ErrInvalid))
	}
	if mode == broker.Real && !s.meta.Capabilities.RealAccounts {
		return nil, convert.ToStatus(broker.NewError(broker.ErrUnsupported, "%s has no real-money accounts", s.meta.Name))
	}
	creds, err := schema.Resolve(s.meta.Credentials, req.GetCredentials())
	if err != nil {
		return nil, convert.ToStatus(err)
	}
	s.mu.Lock()
	sess := s.sessions[id]
	if sess == nil {
		sess = &brokerSession{b: s.factory()}
		s.sessions[id] = sess
	}
	s.mu.Unlock()

	sess.open.Lock()
	defer sess.open.Unlock()
	var acct broker.Account
	err = safeCall(s.log, "Open", func() error {
		var err error
		acct, err = sess.b.Open(ctx, broker.OpenRequest{Mode: mode, Credentials: creds.Map()})
		return err
	})
	if err != nil {
		if !sess.opened {
			s.mu.Lock()
			if s.sessions[id] == sess {
				delete(s.sessions, id)
			}
			s.mu.Unlock()
		}
		return nil, convert.ToStatus(err)
	}
	s.mu.Lock()
	sess.opened = true
	s.mu.Unlock()
	s.log.Debug("session opened", "session_id", id)
	return &brokerv1.OpenSessionResponse{
		Balance:           convert.DecimalToPB(acct.Balance),
		Currency:          acct.Currency,
		AccountRef:        acct.AccountRef,
		ResumeCredentials: acct.ResumeCredentials,
	}, nil
}

func (s *brokerServer) CloseSession(ctx context.Context, req *brokerv1.CloseSessionRequest) (*brokerv1.CloseSessionResponse, error) {
	s.mu.Lock()
	sess := s.sessions[req.GetSessionId()]
	delete(s.sessions, req.GetSessionId())
	s.mu.Unlock()
	if sess != nil {
		sess.open.Lock()
		defer sess.open.Unlock()
		if err := safeCall(s.log, "Close", func() error { return sess.b.Close(ctx) }); err != nil {
			s.log.Warn("session close failed", "session_id", req.GetSessionId(), "error", err)
		}
	}
	return &brokerv1.CloseSessionResponse{}, nil
}

func (s *brokerServer) ListInstruments(ctx context.Context, req *brokerv1.ListInstrumentsRequest) (*brokerv1.ListInstrumentsResponse, error) {
	b, err := s.session(req.GetSessionId())
	if err != nil {
		return nil, convert.ToStatus(err)
	}
	var ins []broker.Instrument
	if err := safeCall(s.log, "Instruments", func() error { ins, err = b.Instruments(ctx); return err }); err != nil {
		return nil, convert.ToStatus(err)
	}
	out := &brokerv1.ListInstrumentsResponse{Instruments: make([]*brokerv1.Instrument, len(ins))}
	for i, in := range ins {
		out.Instruments[i] = convert.InstrumentToPB(in)
	}
	return out, nil
}

func (s *brokerServer) GetCandles(ctx context.Context, req *brokerv1.GetCandlesRequest) (*brokerv1.GetCandlesResponse, error) {
	b, err := s.session(req.GetSessionId())
	if err != nil {
		return nil, convert.ToStatus(err)
	}
	tf, err := convert.TimeframeFromPB(req.GetTimeframe())
	if err != nil {
		return nil, convert.ToStatus(broker.NewError(broker.ErrUnsupported, "%v", err))
	}
	var page broker.CandlesPage
	err = safeCall(s.log, "Candles", func() error {
		page, err = b.Candles(ctx, broker.CandlesRequest{
			Symbol: req.GetSymbol(), Timeframe: tf, From: req.GetFromUnix(), To: req.GetToUnix(),
			PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken(),
		})
		return err
	})
	if err != nil {
		return nil, convert.ToStatus(err)
	}
	return &brokerv1.GetCandlesResponse{Candles: convert.SeriesToPB(page.Candles), NextPageToken: page.NextPageToken}, nil
}

func (s *brokerServer) StreamCandles(req *brokerv1.StreamCandlesRequest, stream brokerv1.BrokerService_StreamCandlesServer) error {
	b, err := s.session(req.GetSessionId())
	if err != nil {
		return convert.ToStatus(err)
	}
	tf, err := convert.TimeframeFromPB(req.GetTimeframe())
	if err != nil {
		return convert.ToStatus(broker.NewError(broker.ErrUnsupported, "%v", err))
	}
	ctx := stream.Context()
	var ch <-chan broker.CandleEvent
	err = safeCall(s.log, "SubscribeCandles", func() error {
		ch, err = b.SubscribeCandles(ctx, broker.SubscribeRequest{Symbol: req.GetSymbol(), Timeframe: tf})
		return err
	})
	if err != nil {
		return convert.ToStatus(err)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-ch:
			if !ok {
				return nil
			}
			if ev.Err != nil {
				return convert.ToStatus(ev.Err)
			}
			if err := stream.Send(&brokerv1.StreamCandlesResponse{Candle: convert.CandleToPB(ev.Candle), Closed: ev.Closed}); err != nil {
				return err
			}
		}
	}
}

func (s *brokerServer) GetBalance(ctx context.Context, req *brokerv1.GetBalanceRequest) (*brokerv1.GetBalanceResponse, error) {
	b, err := s.openSession(req.GetSessionId())
	if err != nil {
		return nil, convert.ToStatus(err)
	}
	var bal broker.Balance
	if err := safeCall(s.log, "Balance", func() error { bal, err = b.Balance(ctx); return err }); err != nil {
		return nil, convert.ToStatus(err)
	}
	return &brokerv1.GetBalanceResponse{Balance: convert.DecimalToPB(bal.Amount), Currency: bal.Currency, Mode: convert.ModeToPB(bal.Mode)}, nil
}

// openSession is session() without the anonymous fallback: account
// operations always need a logged-in session.
func (s *brokerServer) openSession(id string) (broker.Broker, error) {
	if id == "" {
		return nil, broker.NewError(broker.ErrSessionNotFound, "account operations need a session id")
	}
	return s.session(id)
}

func (s *brokerServer) PlaceOrder(ctx context.Context, req *brokerv1.PlaceOrderRequest) (*brokerv1.PlaceOrderResponse, error) {
	b, err := s.openSession(req.GetSessionId())
	if err != nil {
		return nil, convert.ToStatus(err)
	}
	or, err := orderRequestFromPB(req)
	if err != nil {
		return nil, convert.ToStatus(err)
	}
	var o broker.Order
	if err := safeCall(s.log, "PlaceOrder", func() error { o, err = b.PlaceOrder(ctx, or); return err }); err != nil {
		return nil, convert.ToStatus(err)
	}
	return &brokerv1.PlaceOrderResponse{Order: convert.OrderToPB(o)}, nil
}

func orderRequestFromPB(req *brokerv1.PlaceOrderRequest) (broker.OrderRequest, error) {
	if req.GetClientOrderId() == "" {
		return broker.OrderRequest{}, broker.NewError(broker.ErrInvalidOrder, "client_order_id is required")
	}
	side := convert.SideFromPB(req.GetSide())
	if side == 0 {
		return broker.OrderRequest{}, broker.NewError(broker.ErrInvalidOrder, "side must be CALL or PUT")
	}
	amount, err := convert.DecimalFromPB(req.GetAmount())
	if err != nil {
		return broker.OrderRequest{}, broker.NewError(broker.ErrInvalidOrder, "amount: %v", err)
	}
	sl, err := convert.DecimalFromPB(req.GetStopLoss())
	if err != nil {
		return broker.OrderRequest{}, broker.NewError(broker.ErrInvalidOrder, "stop loss: %v", err)
	}
	tp, err := convert.DecimalFromPB(req.GetTakeProfit())
	if err != nil {
		return broker.OrderRequest{}, broker.NewError(broker.ErrInvalidOrder, "take profit: %v", err)
	}
	return broker.OrderRequest{
		ClientOrderID: req.GetClientOrderId(),
		Symbol:        req.GetSymbol(),
		Side:          side,
		Amount:        amount,
		Expiry:        time.Duration(req.GetExpirySeconds()) * time.Second,
		StopLoss:      sl,
		TakeProfit:    tp,
	}, nil
}

func (s *brokerServer) GetOrder(ctx context.Context, req *brokerv1.GetOrderRequest) (*brokerv1.GetOrderResponse, error) {
	b, err := s.openSession(req.GetSessionId())
	if err != nil {
		return nil, convert.ToStatus(err)
	}
	var o broker.Order
	if err := safeCall(s.log, "GetOrder", func() error { o, err = b.GetOrder(ctx, req.GetClientOrderId()); return err }); err != nil {
		return nil, convert.ToStatus(err)
	}
	return &brokerv1.GetOrderResponse{Order: convert.OrderToPB(o)}, nil
}

func (s *brokerServer) StreamOrderResults(req *brokerv1.StreamOrderResultsRequest, stream brokerv1.BrokerService_StreamOrderResultsServer) error {
	b, err := s.openSession(req.GetSessionId())
	if err != nil {
		return convert.ToStatus(err)
	}
	ctx := stream.Context()
	var ch <-chan broker.Order
	if err := safeCall(s.log, "OrderResults", func() error { ch, err = b.OrderResults(ctx); return err }); err != nil {
		return convert.ToStatus(err)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case o, ok := <-ch:
			if !ok {
				return nil
			}
			if err := stream.Send(&brokerv1.StreamOrderResultsResponse{Order: convert.OrderToPB(o)}); err != nil {
				return err
			}
		}
	}
}
