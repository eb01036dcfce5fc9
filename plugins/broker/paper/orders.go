package paper

import (
	"container/heap"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
)

// maxClientOrderID bounds the idempotency key.
const maxClientOrderID = 64

// orderBuffer is the per-subscriber buffer of OrderResults. Settlement
// never waits for a subscriber: when its buffer is full the event is
// dropped for that subscriber only. GetOrder stays the source of truth,
// and the host reconciles open trades by polling it.
const orderBuffer = 256

// orderSub is one OrderResults stream.
type orderSub struct {
	ch chan broker.Order
}

// due is an open order waiting for its expiry.
type due struct {
	at   int64 // expiry, Unix seconds of market time
	acct *account
	id   string
}

// dueHeap is a min-heap of due orders by expiry.
type dueHeap []due

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h dueHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any) {
	if d, ok := x.(due); ok {
		*h = append(*h, d)
	}
}
func (h *dueHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// book is the set of open orders of all accounts, by expiry.
type book struct {
	mu sync.Mutex
	h  dueHeap
}

func (b *book) add(d due) {
	b.mu.Lock()
	defer b.mu.Unlock()
	heap.Push(&b.h, d)
}

// popDue removes and returns the orders expiring at or before now.
func (b *book) popDue(now int64) []due {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []due
	for len(b.h) > 0 && b.h[0].at <= now {
		if d, ok := heap.Pop(&b.h).(due); ok {
			out = append(out, d)
		}
	}
	return out
}

// validateOrder checks everything that does not depend on the account.
func (m *Market) validateOrder(req broker.OrderRequest) (*instrument, error) {
	in, err := m.lookup(req.Symbol)
	if err != nil {
		return nil, err
	}
	if req.Side != market.Call && req.Side != market.Put {
		return nil, broker.NewError(broker.ErrInvalidOrder, "side must be CALL or PUT")
	}
	if _, ok := expiryTime(0, req.Expiry); !ok {
		return nil, broker.NewError(broker.ErrInvalidOrder, "expiry %s is not offered (60s, 2m, 3m, 4m, 5m or 15m)", req.Expiry)
	}
	if req.Amount.LessThan(decimal.NewFromInt(minStake)) || req.Amount.GreaterThan(decimal.NewFromInt(maxStake)) {
		return nil, broker.NewError(broker.ErrInvalidOrder, "amount %s is outside [%d, %d]", req.Amount, minStake, maxStake)
	}
	if !req.Amount.Equal(req.Amount.Round(2)) {
		return nil, broker.NewError(broker.ErrInvalidOrder, "amount %s has more than 2 decimal places", req.Amount)
	}
	if !req.StopLoss.IsZero() || !req.TakeProfit.IsZero() {
		return nil, broker.NewError(broker.ErrInvalidOrder, "binary options take no stop loss or take profit")
	}
	return in, nil
}

// placeOrder accepts req for a: a batch of one, so single orders and
// batches share every check and the persist-then-apply step.
func (m *Market) placeOrder(ctx context.Context, a *account, req broker.OrderRequest) (broker.Order, error) {
	res, err := m.placeOrders(ctx, a, []broker.OrderRequest{req})
	if err != nil {
		return broker.Order{}, err
	}
	return res[0].Order, res[0].Err
}

// placeOrders accepts reqs for a, each idempotently on its ClientOrderID:
// an id a already holds answers its stored order, and an id repeated in
// reqs answers its first occurrence's result. The orders are checked in
// sequence against a running balance, so a batch cannot overdraw; then
// every accepted order is appended to the account log in one write and
// one fsync, and only after that do they count (balance, orders,
// settlement book). The whole check-debit-persist step holds the account
// lock, so a retry can never open a second trade or debit twice. When the
// append fails nothing is applied and every order that would have been
// accepted fails with broker.ErrUnavailable.
func (m *Market) placeOrders(ctx context.Context, a *account, reqs []broker.OrderRequest) ([]broker.OrderResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("paper: place orders: %w", err)
	}
	leave, err := m.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	out := make([]broker.OrderResult, len(reqs))
	firstOf := make(map[string]int, len(reqs))
	var fresh []int // indices of the orders this batch opens
	a.mu.Lock()
	defer a.mu.Unlock()
	now := m.clock.unix()
	balance := a.balance
	for i, req := range reqs {
		if _, ok := firstOf[req.ClientOrderID]; ok {
			continue // answered with its first occurrence's result at the end
		}
		firstOf[req.ClientOrderID] = i
		if o, ok := a.orders[req.ClientOrderID]; ok {
			out[i].Order = *o // idempotent replay: the first order, whatever this request says
			continue
		}
		o, err := m.newOrder(req, now, balance, a.ref, len(a.orders)+len(fresh)+1)
		if err != nil {
			out[i].Err = err
			continue
		}
		balance = balance.Sub(o.Amount)
		out[i].Order = o
		fresh = append(fresh, i)
	}
	if len(fresh) > 0 {
		recs := make([]record, len(fresh))
		for k, i := range fresh {
			recs[k] = record{Type: recOrder, Order: newOrderRecord(out[i].Order)}
		}
		if err := appendRecords(a.file, recs); err != nil {
			// The host resolves an unavailable PlaceOrder through GetOrder.
			for _, i := range fresh {
				out[i] = broker.OrderResult{Err: fmt.Errorf("%w: persist order: %w", broker.ErrUnavailable, err)}
			}
		} else {
			a.balance = balance
			for _, i := range fresh {
				o := out[i].Order
				a.orders[o.ClientOrderID] = &o
				m.book.add(due{at: o.ExpiresAt.Unix(), acct: a, id: o.ClientOrderID})
			}
		}
	}
	for i, req := range reqs {
		out[i] = out[firstOf[req.ClientOrderID]] // repeated ids: the first's final result
	}
	return out, nil
}

// newOrder checks req against the market at now and the account's
// available balance, and returns the order it opens as the account's
// seq-th. It changes nothing.
func (m *Market) newOrder(req broker.OrderRequest, now int64, balance decimal.Decimal, ref string, seq int) (broker.Order, error) {
	if req.ClientOrderID == "" || len(req.ClientOrderID) > maxClientOrderID {
		return broker.Order{}, broker.NewError(broker.ErrInvalidOrder, "client order id must be 1 to %d bytes", maxClientOrderID)
	}
	in, err := m.validateOrder(req)
	if err != nil {
		return broker.Order{}, err
	}
	exp, _ := expiryTime(now, req.Expiry)
	if !in.openAt(now) {
		return broker.Order{}, broker.NewError(broker.ErrMarketClosed, "%s is closed until %s", in.symbol, time.Unix(in.nextOpen(now), 0).UTC().Format(time.RFC3339))
	}
	if !in.openAt(exp) {
		return broker.Order{}, broker.NewError(broker.ErrMarketClosed, "%s closes before the expiry at %s", in.symbol, time.Unix(exp, 0).UTC().Format(time.RFC3339))
	}
	if balance.LessThan(req.Amount) {
		return broker.Order{}, broker.NewError(broker.ErrInsufficientFunds, "balance %s %s is below the stake %s", balance.StringFixed(2), currency, req.Amount)
	}
	return broker.Order{
		ClientOrderID: req.ClientOrderID,
		BrokerOrderID: fmt.Sprintf("%s-%d", ref, seq),
		Symbol:        in.symbol,
		Side:          req.Side,
		Amount:        req.Amount,
		State:         broker.Open,
		OpenPrice:     in.priceOf(in.path.at(now)),
		PayoutPercent: float64(in.payout),
		Expiry:        req.Expiry,
		OpenedAt:      time.Unix(now, 0).UTC(),
		ExpiresAt:     time.Unix(exp, 0).UTC(),
	}, nil
}

// getOrder returns the current state of an order of a.
func (m *Market) getOrder(a *account, id string) (broker.Order, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	o, ok := a.orders[id]
	if !ok {
		return broker.Order{}, broker.NewError(broker.ErrOrderNotFound, "no order with client order id %q", id)
	}
	return *o, nil
}

// outcome decides a binary option: CALL wins above the entry, PUT below,
// an equal close is a draw that refunds the stake. Profit on a win is
// stake × payout rounded to cents half away from zero (half-up for these
// positive amounts).
func outcome(side market.Side, entry, closePrice float64, amount decimal.Decimal, payoutPercent float64) (broker.OrderState, decimal.Decimal) {
	switch {
	case closePrice == entry:
		return broker.Draw, decimal.Zero
	case (closePrice > entry) == (side == market.Call):
		return broker.Won, amount.Mul(decimal.NewFromFloat(payoutPercent)).Div(decimal.NewFromInt(100)).Round(2)
	default:
		return broker.Lost, amount.Neg()
	}
}

// settleDue settles every order whose expiry second has been reached.
// Prices are a pure function of time, so an order that expired while no
// process ran settles with the same historical price it would have had.
func (m *Market) settleDue() {
	var (
		byAcct = make(map[*account][]due)
		order  []*account
	)
	for _, d := range m.book.popDue(m.clock.unix()) {
		if byAcct[d.acct] == nil {
			order = append(order, d.acct)
		}
		byAcct[d.acct] = append(byAcct[d.acct], d)
	}
	for _, a := range order {
		if err := m.settle(a, byAcct[a]); err != nil {
			for _, d := range byAcct[a] {
				m.book.add(d) // disk trouble: retry on the next pass
			}
		}
	}
}

// settle settles account a's due orders with one append and fsync of
// their records (a candle's orders expire together: one fsync each would
// hold the account's lock, and its new orders, for a second or more).
// Nothing is applied unless the records are on disk.
func (m *Market) settle(a *account, ds []due) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	var (
		recs   []record
		orders []*broker.Order
	)
	for _, d := range ds {
		o, ok := a.orders[d.id]
		if !ok || o.State.Final() {
			continue
		}
		closePrice := o.OpenPrice // an instrument no longer listed settles as a draw
		if in, err := m.lookup(o.Symbol); err == nil {
			closePrice = in.priceOf(in.path.at(d.at))
		}
		state, profit := outcome(o.Side, o.OpenPrice, closePrice, o.Amount, o.PayoutPercent)
		recs = append(recs, record{Type: recSettle, Settle: &settleRecord{
			ClientOrderID: o.ClientOrderID, State: state.String(), ClosePrice: closePrice, Profit: profit, ClosedAt: o.ExpiresAt,
		}})
		orders = append(orders, o)
	}
	if len(recs) == 0 {
		return nil
	}
	if err := appendRecords(a.file, recs); err != nil {
		return err
	}
	for i, o := range orders {
		// apply cannot fail here: the state comes from outcome.
		_ = recs[i].Settle.apply(o)
		a.balance = a.balance.Add(o.Amount).Add(o.Profit)
		for s := range a.subs {
			select {
			case s.ch <- *o:
			default: // full: this subscriber misses it and must poll GetOrder
			}
		}
	}
	return nil
}

// subscribeOrders registers an OrderResults stream of a that ends with
// ctx. The closing goroutine takes the account lock, so a settlement can
// never send on a closed channel.
func (m *Market) subscribeOrders(ctx context.Context, a *account, spawn func(func()) error) (<-chan broker.Order, error) {
	s := &orderSub{ch: make(chan broker.Order, orderBuffer)}
	a.mu.Lock()
	a.subs[s] = struct{}{}
	a.mu.Unlock()
	err := spawn(func() {
		<-ctx.Done()
		a.mu.Lock()
		delete(a.subs, s)
		close(s.ch)
		a.mu.Unlock()
	})
	if err != nil {
		a.mu.Lock()
		delete(a.subs, s)
		a.mu.Unlock()
		return nil, err
	}
	return s.ch, nil
}
