package plugin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/internal/convert"
	brokerv1 "github.com/stc-trading/stc/sdk/internal/pb/stc/broker/v1"
	"github.com/stc-trading/stc/sdk/market"
)

// batchFake is the state of a test adapter whose answer depends on the
// order's symbol: CLOSED, NOPE, BUSY and BOOM fail (BOOM by panicking);
// anything else opens, idempotently on the client order id.
type batchFake struct {
	mu         sync.Mutex
	orders     map[string]broker.Order
	placed     map[string]int // PlaceOrder calls that reached the book, by id
	batchSizes []int          // sizes of the adapter's PlaceOrders calls
}

func newBatchFake() *batchFake {
	return &batchFake{orders: map[string]broker.Order{}, placed: map[string]int{}}
}

func (f *batchFake) place(req broker.OrderRequest) (broker.Order, error) {
	switch req.Symbol {
	case "CLOSED":
		return broker.Order{}, broker.NewError(broker.ErrMarketClosed, "%s is closed", req.Symbol)
	case "NOPE":
		return broker.Order{}, broker.NewError(broker.ErrUnknownInstrument, "no %s", req.Symbol)
	case "BUSY":
		return broker.Order{}, broker.RateLimited(3*time.Second, "slow down")
	case "BOOM":
		panic("boom")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.placed[req.ClientOrderID]++
	if o, ok := f.orders[req.ClientOrderID]; ok {
		return o, nil
	}
	o := broker.Order{
		ClientOrderID: req.ClientOrderID, BrokerOrderID: fmt.Sprintf("b-%d", len(f.orders)+1), Symbol: req.Symbol,
		Side: req.Side, Amount: req.Amount, State: broker.Open, Expiry: req.Expiry,
	}
	f.orders[req.ClientOrderID] = o
	return o, nil
}

func (f *batchFake) placedCount(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.placed[id]
}

// plainFake places orders one by one only.
type plainFake struct{ f *batchFake }

func (plainFake) Metadata() broker.Metadata { return broker.Metadata{Name: "fake", Version: "1.0.0"} }
func (plainFake) Open(context.Context, broker.OpenRequest) (broker.Account, error) {
	return broker.Account{Balance: decimal.NewFromInt(100), Currency: "USD"}, nil
}
func (plainFake) Close(context.Context) error { return nil }
func (plainFake) Instruments(context.Context) ([]broker.Instrument, error) {
	return nil, broker.ErrUnsupported
}

func (plainFake) Candles(context.Context, broker.CandlesRequest) (broker.CandlesPage, error) {
	return broker.CandlesPage{}, broker.ErrUnsupported
}

func (plainFake) SubscribeCandles(context.Context, broker.SubscribeRequest) (<-chan broker.CandleEvent, error) {
	return nil, broker.ErrUnsupported
}

func (plainFake) Balance(context.Context) (broker.Balance, error) {
	return broker.Balance{Amount: decimal.NewFromInt(100), Currency: "USD", Mode: broker.Practice}, nil
}

func (p plainFake) PlaceOrder(_ context.Context, req broker.OrderRequest) (broker.Order, error) {
	return p.f.place(req)
}

func (plainFake) GetOrder(context.Context, string) (broker.Order, error) {
	return broker.Order{}, broker.ErrOrderNotFound
}

func (plainFake) OrderResults(context.Context) (<-chan broker.Order, error) {
	return nil, broker.ErrUnsupported
}

// batchingFake also takes whole batches (sequentially, so a repeated id
// is answered by the adapter's own idempotency).
type batchingFake struct{ plainFake }

func (b batchingFake) PlaceOrders(_ context.Context, reqs []broker.OrderRequest) ([]broker.OrderResult, error) {
	b.f.mu.Lock()
	b.f.batchSizes = append(b.f.batchSizes, len(reqs))
	b.f.mu.Unlock()
	out := make([]broker.OrderResult, len(reqs))
	for i, r := range reqs {
		out[i].Order, out[i].Err = b.f.place(r)
	}
	return out, nil
}

// oldServer is a plugin built before PlaceOrders existed.
type oldServer struct {
	brokerv1.BrokerServiceServer
	batchCalls atomic.Int32
}

func (o *oldServer) PlaceOrders(ctx context.Context, req *brokerv1.PlaceOrdersRequest) (*brokerv1.PlaceOrdersResponse, error) {
	o.batchCalls.Add(1)
	return brokerv1.UnimplementedBrokerServiceServer{}.PlaceOrders(ctx, req)
}

// newFakeServer is the SDK's broker server for sessions of b.
func newFakeServer(b broker.Broker) *brokerServer {
	return &brokerServer{factory: func() broker.Broker { return b }, meta: b.Metadata(), log: hclog.NewNullLogger(), sessions: map[string]*brokerSession{}}
}

// serveFake serves srv over loopback gRPC and returns the host's client of
// session "s", opened.
func serveFake(t *testing.T, srv brokerv1.BrokerServiceServer) (*BrokerClient, broker.Broker) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	gs := grpc.NewServer()
	brokerv1.RegisterBrokerServiceServer(gs, srv)
	go func() { _ = gs.Serve(lis) }() // ends with gs.Stop at cleanup
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(); gs.Stop() })
	c := NewBrokerClient(conn)
	s := c.Session("s")
	_, err = s.Open(context.Background(), broker.OpenRequest{Mode: broker.Practice})
	require.NoError(t, err)
	return c, s
}

func order(id, symbol string) broker.OrderRequest {
	return broker.OrderRequest{ClientOrderID: id, Symbol: symbol, Side: market.Call, Amount: decimal.NewFromInt(5), Expiry: time.Minute}
}

// mixedBatch holds one of every per-order outcome; see checkMixed.
func mixedBatch() []broker.OrderRequest {
	noSide := order("no-side", "X")
	noSide.Side = 0
	return []broker.OrderRequest{
		order("a", "X"), order("closed", "CLOSED"), order("nope", "NOPE"), order("busy", "BUSY"),
		order("", "X"), noSide, order("a", "Y"), order("b", "X"),
	}
}

func checkMixed(t *testing.T, f *batchFake, res []broker.OrderResult) {
	t.Helper()
	require.Len(t, res, 8)
	require.NoError(t, res[0].Err)
	assert.Equal(t, "a", res[0].Order.ClientOrderID)
	assert.True(t, errors.Is(res[1].Err, broker.ErrMarketClosed), "got %v", res[1].Err)
	assert.Contains(t, res[1].Err.Error(), "CLOSED is closed")
	assert.True(t, errors.Is(res[2].Err, broker.ErrUnknownInstrument), "got %v", res[2].Err)
	assert.True(t, errors.Is(res[3].Err, broker.ErrRateLimited), "got %v", res[3].Err)
	d, ok := broker.RetryAfter(res[3].Err)
	assert.True(t, ok && d == 3*time.Second, "retry hint %v %v", d, ok)
	assert.True(t, errors.Is(res[4].Err, broker.ErrInvalidOrder), "empty id: %v", res[4].Err)
	assert.True(t, errors.Is(res[5].Err, broker.ErrInvalidOrder), "no side: %v", res[5].Err)
	require.NoError(t, res[6].Err)
	assert.Equal(t, res[0].Order, res[6].Order, "a repeated id gets the first order")
	assert.Equal(t, "X", res[6].Order.Symbol)
	require.NoError(t, res[7].Err)
	assert.NotEqual(t, res[0].Order.BrokerOrderID, res[7].Order.BrokerOrderID)
	for _, r := range res {
		assert.False(t, errors.Is(r.Err, broker.ErrInsufficientFunds), "no item matches a sentinel it does not carry")
	}
	assert.Equal(t, 0, f.placedCount(""), "an invalid order never reaches the adapter")
}

func TestPlaceOrdersPerOrderErrorsCrossTheWire(t *testing.T) {
	ctx := context.Background()
	t.Run("one by one", func(t *testing.T) {
		f := newBatchFake()
		_, s := serveFake(t, newFakeServer(plainFake{f}))
		res, err := broker.PlaceOrders(ctx, s, mixedBatch())
		require.NoError(t, err)
		checkMixed(t, f, res)
		assert.Equal(t, 1, f.placedCount("a"), "a repeated id is placed once")
	})
	t.Run("batch placer", func(t *testing.T) {
		f := newBatchFake()
		_, s := serveFake(t, newFakeServer(batchingFake{plainFake{f}}))
		res, err := broker.PlaceOrders(ctx, s, mixedBatch())
		require.NoError(t, err)
		checkMixed(t, f, res)
		assert.Equal(t, []int{6}, f.batchSizes, "one adapter call with the well-formed orders only")
	})
}

func TestPlaceOrdersPanics(t *testing.T) {
	ctx := context.Background()
	t.Run("one order of a one-by-one batch", func(t *testing.T) {
		f := newBatchFake()
		_, s := serveFake(t, newFakeServer(plainFake{f}))
		res, err := broker.PlaceOrders(ctx, s, []broker.OrderRequest{order("a", "X"), order("boom", "BOOM")})
		require.NoError(t, err, "the other orders were placed: the panic is that order's result")
		require.NoError(t, res[0].Err)
		assert.True(t, errors.Is(res[1].Err, ErrPluginPanic), "got %v", res[1].Err)
	})
	t.Run("the adapter's PlaceOrders", func(t *testing.T) {
		f := newBatchFake()
		_, s := serveFake(t, newFakeServer(batchingFake{plainFake{f}}))
		_, err := broker.PlaceOrders(ctx, s, []broker.OrderRequest{order("a", "X"), order("boom", "BOOM")})
		assert.True(t, errors.Is(err, ErrPluginPanic), "got %v", err)
	})
}

func TestPlaceOrdersCallErrors(t *testing.T) {
	ctx := context.Background()
	f := newBatchFake()
	c, _ := serveFake(t, newFakeServer(batchingFake{plainFake{f}}))
	_, err := broker.PlaceOrders(ctx, c.Session("never-opened"), []broker.OrderRequest{order("a", "X")})
	assert.True(t, errors.Is(err, broker.ErrSessionNotFound), "got %v", err)

	big := &brokerv1.PlaceOrdersRequest{SessionId: "s", Orders: make([]*brokerv1.PlaceOrderRequest, MaxBatchOrders+1)}
	for i := range big.Orders {
		big.Orders[i] = convert.OrderRequestToPB("", order(fmt.Sprint(i), "X"))
	}
	_, err = c.svc.PlaceOrders(ctx, big)
	assert.Equal(t, codes.InvalidArgument, status.Code(err))
	assert.True(t, errors.Is(convert.FromStatus(err), broker.ErrInvalidOrder))
	assert.Empty(t, f.batchSizes, "nothing of an oversize batch is placed")

	other := &brokerv1.PlaceOrdersRequest{SessionId: "s", Orders: []*brokerv1.PlaceOrderRequest{convert.OrderRequestToPB("t", order("x", "X"))}}
	resp, err := c.svc.PlaceOrders(ctx, other)
	require.NoError(t, err)
	assert.True(t, errors.Is(convert.OrderResultFromPB(resp.GetResults()[0]).Err, broker.ErrInvalidOrder), "an order of another session")
}

func TestPlaceOrdersSplitsLargeBatches(t *testing.T) {
	f := newBatchFake()
	_, s := serveFake(t, newFakeServer(batchingFake{plainFake{f}}))
	reqs := make([]broker.OrderRequest, 2*MaxBatchOrders+5)
	for i := range reqs {
		reqs[i] = order(fmt.Sprint("o", i), "X")
	}
	res, err := broker.PlaceOrders(context.Background(), s, reqs)
	require.NoError(t, err)
	require.Len(t, res, len(reqs))
	for i, r := range res {
		require.NoError(t, r.Err)
		require.Equal(t, reqs[i].ClientOrderID, r.Order.ClientOrderID)
	}
	assert.Equal(t, []int{MaxBatchOrders, MaxBatchOrders, 5}, f.batchSizes)
}

func TestPlaceOrdersFallsBackForOldPlugins(t *testing.T) {
	f := newBatchFake()
	old := &oldServer{BrokerServiceServer: newFakeServer(batchingFake{plainFake{f}})}
	c, s := serveFake(t, old)
	res, err := broker.PlaceOrders(context.Background(), s, mixedBatch())
	require.NoError(t, err)
	checkMixed(t, f, res)
	assert.Equal(t, 1, f.placedCount("a"), "a repeated id is sent once")
	assert.Empty(t, f.batchSizes, "the orders went one PlaceOrder each")
	assert.True(t, c.noBatch.Load())

	_, err = broker.PlaceOrders(context.Background(), s, []broker.OrderRequest{order("c", "X")})
	require.NoError(t, err)
	assert.Equal(t, int32(1), old.batchCalls.Load(), "UNIMPLEMENTED is remembered for the process")
	assert.Equal(t, 1, f.placedCount("c"))
}

func TestPlaceEachStopsAtContextEnd(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := placeEach(ctx, []broker.OrderRequest{order("a", "X")}, 1, func(context.Context, broker.OrderRequest) (broker.Order, error) {
		t.Error("placed after the context ended")
		return broker.Order{}, nil
	})
	assert.ErrorIs(t, res[0].Err, context.Canceled)
}

func TestIsUnimplementedIgnoresUnsupported(t *testing.T) {
	assert.True(t, convert.IsUnimplemented(status.Error(codes.Unimplemented, "method PlaceOrders not implemented")))
	assert.False(t, convert.IsUnimplemented(convert.ToStatus(broker.ErrUnsupported)), "the adapter's own UNSUPPORTED answer")
	assert.False(t, convert.IsUnimplemented(nil))
}
