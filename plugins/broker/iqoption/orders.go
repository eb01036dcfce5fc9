package iqoption

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
)

const (
	// maxClientOrderID bounds the idempotency key.
	maxClientOrderID = 64
	// orderBuffer is the buffer of one OrderResults subscriber; a full
	// subscriber misses the event and GetOrder stays the truth.
	orderBuffer = 256
	// maxOrphans bounds positions seen before their order's answer.
	maxOrphans = 1024
	// unknownGrace is how long after expiry an order whose placement
	// outcome was unknown may stay unmatched before it is declared never
	// placed (the broker would list a position for it).
	unknownGrace = 60 * time.Second
)

// orderRec is one order of the session.
type orderRec struct {
	o         broker.Order
	activeID  int64
	optionID  int64 // 0 until the server's answer (or reconciliation) names it
	typeID    int
	exp       int64 // expiry, server Unix seconds
	direction string
	version   int64 // highest position version applied
	unknown   bool  // the open-option answer was lost: outcome unknown
	done      chan struct{}
}

// flexDecimal decodes a JSON number or numeric string exactly.
type flexDecimal struct{ decimal.Decimal }

// UnmarshalJSON implements json.Unmarshaler.
func (d *flexDecimal) UnmarshalJSON(b []byte) error {
	b = bytes.Trim(bytes.TrimSpace(b), `"`)
	if len(b) == 0 || string(b) == "null" {
		d.Decimal = decimal.Zero
		return nil
	}
	v, err := decimal.NewFromString(string(b))
	if err != nil {
		return fmt.Errorf("iqoption: %q is not a decimal: %w", b, err)
	}
	d.Decimal = v
	return nil
}

// optionMsg is the msg of a successful option answer.
type optionMsg struct {
	ID                 flexInt   `json:"id"`
	Value              flexFloat `json:"value"`
	Exp                flexInt   `json:"exp"`
	Created            flexInt   `json:"created"`
	CreatedMillisecond flexInt   `json:"created_millisecond"`
	ProfitIncome       flexFloat `json:"profit_income"`
}

// positionMsg is a portfolio position (position-changed push or history).
type positionMsg struct {
	ID             flexString  `json:"id"`
	ExternalID     flexInt     `json:"external_id"`
	Version        flexInt     `json:"version"`
	ActiveID       flexInt     `json:"active_id"`
	InstrumentType string      `json:"instrument_type"`
	Status         string      `json:"status"`
	OpenTime       flexInt     `json:"open_time"`
	OpenQuote      flexFloat   `json:"open_quote"`
	Invest         flexDecimal `json:"invest"`
	CloseTime      flexInt     `json:"close_time"`
	CloseQuote     flexFloat   `json:"close_quote"`
	CloseReason    string      `json:"close_reason"`
	CloseProfit    flexDecimal `json:"close_profit"`
	RawEvent       struct {
		Binary *struct {
			OptionID       flexInt     `json:"option_id"`
			Direction      string      `json:"direction"`
			ExpirationTime flexInt     `json:"expiration_time"`
			Amount         flexDecimal `json:"amount"`
		} `json:"binary_options_option_changed1"`
	} `json:"raw_event"`
}

func (p positionMsg) optionID() int64 {
	if p.ExternalID != 0 {
		return int64(p.ExternalID)
	}
	if p.RawEvent.Binary != nil {
		return int64(p.RawEvent.Binary.OptionID)
	}
	return 0
}

// PlaceOrder opens a binary or turbo option, idempotently on
// ClientOrderID within the session. A request whose answer was lost is
// never sent again: the order stays pending until reconciliation finds
// its position (GetOrder drives that), and PlaceOrder returns an
// ErrUnavailable error saying so.
func (s *session) PlaceOrder(ctx context.Context, req broker.OrderRequest) (broker.Order, error) {
	if req.ClientOrderID == "" || len(req.ClientOrderID) > maxClientOrderID {
		return broker.Order{}, broker.NewError(broker.ErrInvalidOrder, "client order id must be 1 to %d bytes", maxClientOrderID)
	}
	for {
		c, err := s.client()
		if err != nil {
			return broker.Order{}, err
		}
		s.mu.Lock()
		rec, exists := s.orders[req.ClientOrderID]
		if !exists {
			rec = &orderRec{done: make(chan struct{})}
			s.orders[req.ClientOrderID] = rec
			s.mu.Unlock()
			return s.place(ctx, c, rec, req)
		}
		done := rec.done
		s.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return broker.Order{}, fmt.Errorf("iqoption: waiting for the first request of %q: %w", req.ClientOrderID, ctx.Err())
		}
		s.mu.Lock()
		cur, still := s.orders[req.ClientOrderID]
		o, unknown := rec.o, rec.unknown
		s.mu.Unlock()
		if !still || cur != rec {
			continue // the first attempt was refused: this one is a new try
		}
		if unknown {
			return o, broker.NewError(broker.ErrUnavailable, "order %q was sent but its answer was lost; it is not sent again, resolve it with GetOrder", req.ClientOrderID)
		}
		return o, nil
	}
}

// place runs the first request of one client order id.
func (s *session) place(ctx context.Context, c *wsClient, rec *orderRec, req broker.OrderRequest) (broker.Order, error) {
	defer close(rec.done)
	forget := func(err error) (broker.Order, error) {
		s.mu.Lock()
		if s.orders[req.ClientOrderID] == rec {
			delete(s.orders, req.ClientOrderID)
		}
		s.mu.Unlock()
		return broker.Order{}, err
	}
	a, _, err := s.lookup(ctx, req.Symbol)
	if err != nil {
		return forget(err)
	}
	dir := "call"
	switch req.Side {
	case market.Call:
	case market.Put:
		dir = "put"
	default:
		return forget(broker.NewError(broker.ErrInvalidOrder, "side must be CALL or PUT"))
	}
	if !req.StopLoss.IsZero() || !req.TakeProfit.IsZero() {
		return forget(broker.NewError(broker.ErrInvalidOrder, "options take no stop loss or take profit"))
	}
	now, ok := c.serverTime()
	if !ok {
		return forget(broker.NewError(broker.ErrUnavailable, "no server time yet"))
	}
	a.cat.mu.RLock()
	k, exp, err := a.plan(req.Expiry, now.Unix())
	var payout float64
	var minBet, maxBet decimal.Decimal
	if err == nil {
		payout, minBet, maxBet = k.payout(), k.minBet, k.maxBet
		switch {
		case !k.tradableAt(now.Unix()):
			err = broker.NewError(broker.ErrMarketClosed, "%s is not open for %s options now", a.symbol, typeName(k.typeID))
		case !req.Amount.IsPositive() || req.Amount.LessThan(minBet) || req.Amount.GreaterThan(maxBet):
			err = broker.NewError(broker.ErrInvalidOrder, "amount %s outside [%s, %s]", req.Amount, minBet, maxBet)
		case !req.Amount.Equal(req.Amount.Round(2)):
			err = broker.NewError(broker.ErrInvalidOrder, "amount %s has more than 2 decimal places", req.Amount)
		}
	}
	a.cat.mu.RUnlock()
	s.mu.Lock()
	balanceID := s.balanceID
	s.mu.Unlock()
	if err != nil {
		return forget(err)
	}
	body := map[string]any{
		"active_id":       a.id,
		"direction":       dir,
		"expired":         exp,
		"option_type_id":  k.typeID,
		"price":           json.Number(req.Amount.String()),
		"user_balance_id": balanceID,
		"profit_percent":  int(math.Round(payout)),
	}
	s.mu.Lock()
	rec.activeID, rec.typeID, rec.exp, rec.direction = a.id, k.typeID, exp, dir
	rec.o = broker.Order{
		ClientOrderID: req.ClientOrderID, Symbol: a.symbol, Side: req.Side, Amount: req.Amount,
		State: broker.Pending, PayoutPercent: payout, Expiry: req.Expiry,
		OpenedAt: now, ExpiresAt: time.Unix(exp, 0).UTC(),
	}
	j, entry := s.journal, placeEntry(rec)
	s.mu.Unlock()
	if err := j.append(entry, true); err != nil { // durable before the order can exist
		return forget(broker.NewError(broker.ErrUnavailable, "not sent: %v", err))
	}
	refused := func(err error) (broker.Order, error) {
		if jerr := j.append(journalEntry{K: "forget", ID: req.ClientOrderID}, false); jerr != nil {
			s.log.Warn("journal write failed", "error", jerr)
		}
		return forget(err)
	}
	f, err := c.send(ctx, "binary-options.open-option", "2.0", body)
	if err != nil {
		if errors.Is(err, errNotSent) {
			return refused(err)
		}
		var ae *apiError
		if errors.As(err, &ae) {
			return refused(orderError(err))
		}
		s.mu.Lock()
		rec.unknown = true
		s.adoptOrphanLocked(rec)
		o, unknown := rec.o, rec.unknown
		s.mu.Unlock()
		if !unknown {
			return o, nil // its position had already arrived
		}
		s.log.Warn("open-option answer lost; the order will be reconciled, never resent", "client_order_id", req.ClientOrderID, "error", err)
		return o, broker.NewError(broker.ErrUnavailable, "order %q was sent but its answer was lost (%v); resolve it with GetOrder", req.ClientOrderID, err)
	}
	var m optionMsg
	if err := json.Unmarshal(f.Msg, &m); err != nil || m.ID == 0 {
		// Sent and answered, but unreadable: treat like a lost answer.
		s.mu.Lock()
		rec.unknown = true
		o := rec.o
		s.mu.Unlock()
		return o, broker.NewError(broker.ErrUnavailable, "order %q: unreadable option answer; resolve it with GetOrder", req.ClientOrderID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec.o.OpenPrice == 0 {
		rec.o.OpenPrice = float64(m.Value)
	}
	s.bindLocked(rec, int64(m.ID))
	if rec.o.State == broker.Pending {
		rec.o.State = broker.Open
	}
	if m.CreatedMillisecond > 0 {
		rec.o.OpenedAt = time.UnixMilli(int64(m.CreatedMillisecond)).UTC()
	} else if m.Created > 0 {
		rec.o.OpenedAt = time.Unix(int64(m.Created), 0).UTC()
	}
	if m.Exp > 0 {
		rec.exp = int64(m.Exp)
		rec.o.ExpiresAt = time.Unix(rec.exp, 0).UTC()
	}
	if m.ProfitIncome > 100 && rec.o.State == broker.Open {
		rec.o.PayoutPercent = float64(m.ProfitIncome) - 100
	}
	return rec.o, nil
}

func typeName(id int) string {
	if id == optionBinary {
		return "binary"
	}
	return "turbo"
}

// bindLocked ties rec to its option id and applies any position that
// arrived before the answer.
func (s *session) bindLocked(rec *orderRec, optionID int64) {
	rec.optionID = optionID
	rec.unknown = false
	rec.o.BrokerOrderID = strconv.FormatInt(optionID, 10)
	s.byOption[optionID] = rec
	s.journalLocked(journalEntry{K: "bound", ID: rec.o.ClientOrderID, Option: optionID, OpenPrice: rec.o.OpenPrice})
	if p, ok := s.orphans[optionID]; ok {
		delete(s.orphans, optionID)
		s.applyLocked(rec, p)
	}
	if reason, ok := s.rejections[optionID]; ok {
		delete(s.rejections, optionID)
		s.rejectLocked(rec, reason)
	}
}

// GetOrder returns the session's order; an order whose placement outcome
// is unknown, or that is past its expiry without a result, is reconciled
// with the broker's positions first.
func (s *session) GetOrder(ctx context.Context, clientOrderID string) (broker.Order, error) {
	c, err := s.client()
	if err != nil {
		return broker.Order{}, err
	}
	s.mu.Lock()
	rec := s.orders[clientOrderID]
	s.mu.Unlock()
	if rec == nil {
		return broker.Order{}, broker.NewError(broker.ErrOrderNotFound, "%q", clientOrderID)
	}
	select {
	case <-rec.done:
	case <-ctx.Done():
		return broker.Order{}, fmt.Errorf("iqoption: get order: %w", ctx.Err())
	}
	s.mu.Lock()
	need := !rec.o.State.Final() && (rec.unknown || s.overdueLocked(c, rec))
	s.mu.Unlock()
	if need {
		s.reconcile(ctx)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur := s.orders[clientOrderID]; cur == nil {
		return broker.Order{}, broker.NewError(broker.ErrOrderNotFound, "%q", clientOrderID)
	}
	return rec.o, nil
}

// overdueLocked reports whether rec is past expiry by a few seconds of
// server time without a result.
func (s *session) overdueLocked(c *wsClient, rec *orderRec) bool {
	now, ok := c.serverTime()
	return ok && rec.exp > 0 && now.Unix() > rec.exp+5
}

// OrderResults streams final orders of the session until ctx ends, the
// session is closed, or the connection gives up for good (the channel then
// closes while ctx is live, which tells the host the stream broke).
func (s *session) OrderResults(ctx context.Context) (<-chan broker.Order, error) {
	c, err := s.client()
	if err != nil {
		return nil, err
	}
	ch := make(chan broker.Order, orderBuffer)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, broker.NewError(broker.ErrSessionNotFound, "session closed")
	}
	s.subs = append(s.subs, ch)
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		select {
		case <-ctx.Done():
		case <-c.dead:
		case <-s.closing:
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		for i, x := range s.subs {
			if x == ch {
				s.subs = append(s.subs[:i], s.subs[i+1:]...)
				close(ch)
				return
			}
		}
	}()
	return ch, nil
}
