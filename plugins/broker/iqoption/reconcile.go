package iqoption

import (
	"context"
	"encoding/json"
	"time"

	"github.com/shopspring/decimal"

	"github.com/stc-trading/stc/sdk/broker"
)

// reconcileLimit is how many recent positions are compared with orders
// whose placement outcome is unknown.
const reconcileLimit = 100

// positionsMsg is the msg of positions and history-positions answers.
type positionsMsg struct {
	Positions []positionMsg `json:"positions"`
}

func instrumentTypes() []string { return []string{"turbo-option", "binary-option"} }

// fetchPositions runs portfolio.get-positions (open) or
// portfolio.get-history-positions (closed) with extra filters.
func (s *session) fetchPositions(ctx context.Context, c *wsClient, history bool, extra map[string]any) ([]positionMsg, error) {
	s.mu.Lock()
	body := map[string]any{"instrument_types": instrumentTypes(), "limit": reconcileLimit, "offset": 0, "user_balance_id": s.balanceID}
	if history {
		body["user_id"] = s.userID
	}
	s.mu.Unlock()
	for k, v := range extra {
		body[k] = v
	}
	name, version := "portfolio.get-positions", "4.0"
	if history {
		name, version = "portfolio.get-history-positions", "2.0"
	}
	f, err := c.send(ctx, name, version, body)
	if err != nil {
		return nil, callErr(name, err)
	}
	var m positionsMsg
	if err := json.Unmarshal(f.Msg, &m); err != nil {
		return nil, broker.NewError(broker.ErrUnavailable, "%s: %v", name, err)
	}
	return m.Positions, nil
}

// reconcile settles what pushes did not: orders past expiry without a
// result are looked up in the position history by option id, and orders
// whose placement answer was lost are matched against open and recent
// closed positions by active, direction, expiry and stake. Each result is
// applied through applyLocked, so it is recorded once however often it
// is found. Errors leave the orders as they were, for the next attempt.
func (s *session) reconcile(ctx context.Context) {
	c, err := s.client()
	if err != nil {
		return
	}
	var overdue, unknown []*orderRec
	s.mu.Lock()
	for _, rec := range s.orders {
		select {
		case <-rec.done:
		default:
			continue // still placing
		}
		switch {
		case rec.o.State.Final():
		case rec.unknown:
			unknown = append(unknown, rec)
		case rec.optionID != 0 && s.overdueLocked(c, rec):
			overdue = append(overdue, rec)
		}
	}
	s.mu.Unlock()
	for _, rec := range overdue {
		list, err := s.fetchPositions(ctx, c, true, map[string]any{"external_id": rec.optionID})
		if err != nil {
			s.log.Debug("history lookup failed", "option_id", rec.optionID, "error", err)
			continue
		}
		s.mu.Lock()
		for _, p := range list {
			if p.optionID() == rec.optionID {
				s.applyLocked(rec, p)
			}
		}
		s.mu.Unlock()
	}
	if len(unknown) == 0 {
		return
	}
	open, err := s.fetchPositions(ctx, c, false, nil)
	if err != nil {
		return
	}
	closed, err := s.fetchPositions(ctx, c, true, nil)
	if err != nil {
		return
	}
	all := append(open, closed...)
	now, _ := c.serverTime()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rec := range unknown {
		if !rec.unknown {
			continue // settled meanwhile
		}
		if p, ok := s.matchLocked(rec, all); ok {
			s.bindLocked(rec, p.optionID())
			s.applyLocked(rec, p)
			continue
		}
		if !now.IsZero() && now.After(rec.o.ExpiresAt.Add(unknownGrace)) {
			rec.unknown = false
			rec.o.State = broker.Rejected
			rec.o.Profit = decimal.Zero
			rec.o.RejectReason = "the broker has no position for this order: it was never placed"
			rec.o.ClosedAt = now
			s.emitLocked(rec.o)
		}
	}
}

// matchLocked finds the position of an order whose option id is unknown.
func (s *session) matchLocked(rec *orderRec, all []positionMsg) (positionMsg, bool) {
	for _, p := range all {
		id := p.optionID()
		if id == 0 || int64(p.ActiveID) != rec.activeID {
			continue
		}
		if owner := s.byOption[id]; owner != nil && owner != rec {
			continue
		}
		if b := p.RawEvent.Binary; b != nil {
			if int64(b.ExpirationTime) != rec.exp || (b.Direction != "" && b.Direction != rec.direction) {
				continue
			}
		}
		if inv := p.Invest.Decimal; !inv.IsZero() && !inv.Equal(rec.o.Amount) {
			continue
		}
		if t := int64(p.OpenTime); t > 0 && time.UnixMilli(t).Before(rec.o.OpenedAt.Add(-time.Minute)) {
			continue
		}
		return p, true
	}
	return positionMsg{}, false
}
