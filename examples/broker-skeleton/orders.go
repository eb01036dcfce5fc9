package skeleton

import (
	"context"
	"net/http"
	"net/url"

	"github.com/coder/websocket/wsjson"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
)

// Balance returns the account's balance.
func (s *session) Balance(ctx context.Context) (broker.Balance, error) {
	token, err := s.loggedIn()
	if err != nil {
		return broker.Balance{}, err
	}
	var acct accountDTO
	if err := s.a.call(ctx, http.MethodGet, "/account", token, nil, &acct); err != nil {
		return broker.Balance{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return broker.Balance{Amount: acct.Balance, Currency: acct.Currency, Mode: s.mode}, nil
}

// PlaceOrder sends the order with its ClientOrderID, and the venue answers
// a repeated id with the first order: PlaceOrder is idempotent with no
// state in the adapter, across plugin restarts too. A venue without client
// order ids needs a journal written before the request is sent (see
// plugins/broker/iqoption/journal.go).
//
// The venue's refusals come back as the sentinels of wire.go, which tell
// the host that nothing was placed. A lost answer (timeout, broken
// connection) comes back as broker.ErrUnavailable: the host then asks
// GetOrder, and never places the order again.
func (s *session) PlaceOrder(ctx context.Context, req broker.OrderRequest) (broker.Order, error) {
	token, err := s.loggedIn()
	if err != nil {
		return broker.Order{}, err
	}
	side := "call"
	if req.Side == market.Put {
		side = "put"
	}
	in := orderRequestDTO{ClientOrderID: req.ClientOrderID, Symbol: req.Symbol, Side: side,
		Amount: req.Amount, Expiry: int64(req.Expiry.Seconds())}
	var o orderDTO
	if err := s.a.call(ctx, http.MethodPost, "/orders", token, in, &o); err != nil {
		return broker.Order{}, err
	}
	return o.order(), nil
}

// GetOrder asks the venue for an order by client order id. The venue's
// "not found" is certain (it deduplicates on the id, so it would know an
// order it accepted); a venue that can lose track of orders must answer
// broker.ErrUnavailable instead, since the host takes
// broker.ErrOrderNotFound as proof that the order was never placed.
func (s *session) GetOrder(ctx context.Context, clientOrderID string) (broker.Order, error) {
	token, err := s.loggedIn()
	if err != nil {
		return broker.Order{}, err
	}
	if clientOrderID == "" {
		return broker.Order{}, broker.NewError(broker.ErrOrderNotFound, "empty client order id")
	}
	var o orderDTO
	if err := s.a.call(ctx, http.MethodGet, "/orders/"+url.PathEscape(clientOrderID), token, nil, &o); err != nil {
		return broker.Order{}, err
	}
	return o.order(), nil
}

// OrderResults streams the account's settled orders from the venue's
// WebSocket. When the socket breaks the channel closes; the host then
// subscribes again and asks GetOrder about every order it still waits
// for, so a result lost in between is not lost.
func (s *session) OrderResults(ctx context.Context) (<-chan broker.Order, error) {
	token, err := s.loggedIn()
	if err != nil {
		return nil, err
	}
	conn, err := s.a.dial(ctx, "/ws/orders", token)
	if err != nil {
		return nil, err
	}
	ch := make(chan broker.Order, 64)
	err = s.spawn(ctx, conn, func(ctx context.Context) {
		defer close(ch)
		for {
			var o orderDTO
			if wsjson.Read(ctx, conn, &o) != nil {
				return
			}
			select {
			case ch <- o.order():
			case <-ctx.Done():
				return
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return ch, nil
}
