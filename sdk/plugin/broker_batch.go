package plugin

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/internal/convert"
	brokerv1 "github.com/stc-trading/stc/sdk/internal/pb/stc/broker/v1"
)

// Batched order placement. The host sends a batch in one PlaceOrders RPC;
// the plugin hands it to an adapter that is a broker.BatchPlacer in one
// call (the paper broker persists it with one fsync) and otherwise places
// it order by order, a few at a time. Per-order failures are per-order
// results with their stable reasons, so errors.Is works on each in the
// host; only a failure of the call itself is a call error.

// MaxBatchOrders is the most orders one PlaceOrders RPC carries; the
// client splits larger batches into several calls.
const MaxBatchOrders = convert.MaxBatchOrders

// batchWorkers bounds the PlaceOrder calls a batch runs at once when the
// orders go one by one: enough to overlap a remote broker's latency, few
// enough not to trip its rate limits or flood the plugin.
const batchWorkers = 8

// placeFunc places one order.
type placeFunc func(ctx context.Context, req broker.OrderRequest) (broker.Order, error)

// placeEach places reqs with place, at most workers at a time, and returns
// one result per request in order. A client order id repeated in reqs is
// placed once and every occurrence gets that result, so the batch's
// idempotency does not depend on how the adapter handles two concurrent
// calls with one id. Orders not started when ctx ends get ctx's error.
// Orders run concurrently, so which of them win a contended resource (the
// balance) is not the batch order: adapters that care implement
// broker.BatchPlacer.
func placeEach(ctx context.Context, reqs []broker.OrderRequest, workers int, place placeFunc) []broker.OrderResult {
	out := make([]broker.OrderResult, len(reqs))
	firstOf := make(map[string]int, len(reqs))
	dupOf := make(map[int]int) // index of a repeated id → its first index
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for i, r := range reqs {
		if j, ok := firstOf[r.ClientOrderID]; ok && r.ClientOrderID != "" {
			dupOf[i] = j
			continue
		}
		firstOf[r.ClientOrderID] = i
		if err := ctx.Err(); err != nil { // select below would pick at random
			out[i].Err = err
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			out[i].Err = ctx.Err()
			continue
		}
		wg.Add(1)
		go func() { // bounded by sem, joined below
			defer func() { <-sem; wg.Done() }()
			out[i].Order, out[i].Err = place(ctx, r)
		}()
	}
	wg.Wait()
	for i, j := range dupOf {
		out[i] = out[j]
	}
	return out
}

// PlaceOrders places a batch of one session. Malformed orders (see
// orderRequestFromPB, or another session's id) get their own INVALID_ORDER
// result; the call fails only for an unknown session, an oversize batch, a
// panic of the adapter's PlaceOrders or a broken adapter answer.
func (s *brokerServer) PlaceOrders(ctx context.Context, req *brokerv1.PlaceOrdersRequest) (*brokerv1.PlaceOrdersResponse, error) {
	b, err := s.openSession(req.GetSessionId())
	if err != nil {
		return nil, convert.ToStatus(err)
	}
	msgs := req.GetOrders()
	if len(msgs) > MaxBatchOrders {
		return nil, convert.ToStatus(broker.NewError(broker.ErrInvalidOrder, "batch of %d orders is over the limit of %d", len(msgs), MaxBatchOrders))
	}
	results := make([]broker.OrderResult, len(msgs))
	valid := make([]broker.OrderRequest, 0, len(msgs))
	at := make([]int, 0, len(msgs)) // valid[k] is msgs[at[k]]
	for i, m := range msgs {
		if id := m.GetSessionId(); id != "" && id != req.GetSessionId() {
			results[i].Err = broker.NewError(broker.ErrInvalidOrder, "order of session %q in a batch of session %q", id, req.GetSessionId())
			continue
		}
		or, err := orderRequestFromPB(m)
		if err != nil {
			results[i].Err = err
			continue
		}
		valid = append(valid, or)
		at = append(at, i)
	}
	placed, err := s.placeBatch(ctx, b, valid)
	if err != nil {
		return nil, convert.ToStatus(err)
	}
	for k, r := range placed {
		results[at[k]] = r
	}
	out := &brokerv1.PlaceOrdersResponse{Results: make([]*brokerv1.PlaceOrderResult, len(results))}
	for i, r := range results {
		out.Results[i] = convert.OrderResultToPB(r)
	}
	return out, nil
}

// placeBatch places well-formed orders on b: in one call when b can take
// a batch, else one PlaceOrder per distinct client order id.
func (s *brokerServer) placeBatch(ctx context.Context, b broker.Broker, reqs []broker.OrderRequest) ([]broker.OrderResult, error) {
	if len(reqs) == 0 {
		return nil, nil
	}
	bp, ok := b.(broker.BatchPlacer)
	if !ok {
		return placeEach(ctx, reqs, batchWorkers, func(ctx context.Context, r broker.OrderRequest) (broker.Order, error) {
			var o broker.Order
			err := safeCall(s.log, "PlaceOrder", func() error {
				var err error
				o, err = b.PlaceOrder(ctx, r)
				return err
			})
			return o, err
		}), nil
	}
	var out []broker.OrderResult
	err := safeCall(s.log, "PlaceOrders", func() error {
		var err error
		out, err = bp.PlaceOrders(ctx, reqs)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(out) != len(reqs) {
		// Which result belongs to which order is unknowable: the whole
		// call's outcome is.
		return nil, fmt.Errorf("plugin: the adapter's PlaceOrders answered %d results for %d orders", len(out), len(reqs))
	}
	return out, nil
}

// PlaceOrders sends reqs in PlaceOrders calls of at most MaxBatchOrders,
// one after another. When the plugin predates PlaceOrders it places them
// with PlaceOrder instead (UNIMPLEMENTED proves it placed nothing). A call
// error from any of the calls fails the whole batch, as the contract asks:
// the caller resolves every order of it with GetOrder.
func (s *brokerSessionClient) PlaceOrders(ctx context.Context, reqs []broker.OrderRequest) ([]broker.OrderResult, error) {
	out := make([]broker.OrderResult, 0, len(reqs))
	for start := 0; start < len(reqs); start += MaxBatchOrders {
		chunk := reqs[start:min(start+MaxBatchOrders, len(reqs))]
		res, err := s.placeChunk(ctx, chunk)
		if err != nil {
			return nil, err
		}
		out = append(out, res...)
	}
	return out, nil
}

// placeChunk places at most MaxBatchOrders orders in one call.
func (s *brokerSessionClient) placeChunk(ctx context.Context, reqs []broker.OrderRequest) ([]broker.OrderResult, error) {
	if s.c.noBatch.Load() {
		return s.placeOneByOne(ctx, reqs)
	}
	msg := &brokerv1.PlaceOrdersRequest{SessionId: s.id, Orders: make([]*brokerv1.PlaceOrderRequest, len(reqs))}
	for i, r := range reqs {
		msg.Orders[i] = convert.OrderRequestToPB("", r)
	}
	resp, err := s.c.svc.PlaceOrders(ctx, msg)
	if convert.IsUnimplemented(err) {
		s.c.noBatch.Store(true)
		return s.placeOneByOne(ctx, reqs)
	}
	if err != nil {
		return nil, convert.FromStatus(err)
	}
	if n := len(resp.GetResults()); n != len(reqs) {
		return nil, fmt.Errorf("plugin: PlaceOrders answered %d results for %d orders", n, len(reqs))
	}
	out := make([]broker.OrderResult, len(reqs))
	for i, r := range resp.GetResults() {
		out[i] = convert.OrderResultFromPB(r)
	}
	return out, nil
}

// placeOneByOne is the fallback for plugins without PlaceOrders. An order
// whose call broke in transport (connection lost, deadline, cancel) fails
// the whole batch with that error rather than being one order's result:
// it says the process, not the order, failed, and the host's plugin
// manager recognises a dead process only from a call error.
func (s *brokerSessionClient) placeOneByOne(ctx context.Context, reqs []broker.OrderRequest) ([]broker.OrderResult, error) {
	out := placeEach(ctx, reqs, batchWorkers, s.PlaceOrder)
	for _, r := range out {
		if isTransport(r.Err) {
			return nil, r.Err
		}
	}
	return out, nil
}

// isTransport reports a call that failed outside the adapter's code.
func isTransport(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.Canceled, codes.DeadlineExceeded:
		return true
	}
	return false
}
