package iqoption

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/stc-trading/stc/sdk/broker"
)

// onPosition handles a position-changed push.
func (s *session) onPosition(f frame) {
	var p positionMsg
	if err := json.Unmarshal(f.Msg, &p); err != nil {
		return
	}
	id := p.optionID()
	if id == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.byOption[id]
	if rec == nil {
		rec = s.claimLocked(p) // an order whose answer was lost
	}
	if rec == nil {
		if old, ok := s.orphans[id]; !ok || p.Version > old.Version {
			if len(s.orphans) >= maxOrphans {
				for k := range s.orphans {
					delete(s.orphans, k)
					break
				}
			}
			s.orphans[id] = p
		}
		return
	}
	s.applyLocked(rec, p)
}

// claimLocked binds p to the order whose placement answer was lost, when
// one matches it (see matchLocked); nil when none does.
func (s *session) claimLocked(p positionMsg) *orderRec {
	if p.RawEvent.Binary == nil {
		return nil // too little to tell it from a trade placed elsewhere
	}
	for _, rec := range s.orders {
		if !rec.unknown || rec.o.State.Final() {
			continue
		}
		if _, ok := s.matchLocked(rec, []positionMsg{p}); ok {
			s.bindLocked(rec, p.optionID())
			return rec
		}
	}
	return nil
}

// adoptOrphanLocked binds an order whose answer was lost to a position
// that arrived while it was being placed.
func (s *session) adoptOrphanLocked(rec *orderRec) {
	for id, p := range s.orphans {
		if p.RawEvent.Binary == nil {
			continue
		}
		if _, ok := s.matchLocked(rec, []positionMsg{p}); ok {
			s.bindLocked(rec, id) // applies and removes the orphan
			return
		}
	}
}

// applyLocked applies a position to its order: only a higher version,
// never after the order is final, so a result is recorded exactly once
// whether it arrives as a push, from history, or both.
func (s *session) applyLocked(rec *orderRec, p positionMsg) {
	if rec.o.State.Final() {
		return
	}
	if v := int64(p.Version); v > 0 {
		if v <= rec.version {
			return
		}
		rec.version = v
	}
	if rec.o.OpenPrice == 0 && p.OpenQuote > 0 {
		rec.o.OpenPrice = float64(p.OpenQuote)
	}
	closed := p.Status == "closed" || p.CloseReason != ""
	if !closed {
		if rec.o.State == broker.Pending {
			rec.o.State = broker.Open
		}
		return
	}
	invest := p.Invest.Decimal
	if invest.IsZero() {
		invest = rec.o.Amount
	}
	profit := p.CloseProfit.Sub(invest)
	switch p.CloseReason {
	case "win":
		rec.o.State = broker.Won
	case "loose", "lose", "loss":
		rec.o.State = broker.Lost
	case "equal":
		rec.o.State, profit = broker.Draw, decimal.Zero
	default: // sold, expired, default: by the money
		switch profit.Sign() {
		case 1:
			rec.o.State = broker.Won
		case -1:
			rec.o.State = broker.Lost
		default:
			rec.o.State = broker.Draw
		}
	}
	rec.o.Profit = profit
	rec.o.ClosePrice = float64(p.CloseQuote)
	if p.CloseTime > 0 {
		rec.o.ClosedAt = time.UnixMilli(int64(p.CloseTime)).UTC()
	} else {
		rec.o.ClosedAt = rec.o.ExpiresAt
	}
	s.emitLocked(rec.o)
}

// rejectedMsg is the msg of an option-rejected push.
type rejectedMsg struct {
	OptionID flexInt `json:"option_id"`
	Reason   string  `json:"reason"`
}

// onRejected handles a (legacy) option-rejected push.
func (s *session) onRejected(f frame) {
	var m rejectedMsg
	if err := json.Unmarshal(f.Msg, &m); err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.byOption[int64(m.OptionID)]
	if rec == nil {
		if len(s.rejections) < maxOrphans {
			s.rejections[int64(m.OptionID)] = m.Reason // the push may beat the option answer
		}
		return
	}
	s.rejectLocked(rec, m.Reason)
}

// rejectLocked records an asynchronous rejection of an accepted option.
func (s *session) rejectLocked(rec *orderRec, reason string) {
	if rec.o.State.Final() {
		return
	}
	rec.o.State = broker.Rejected
	rec.o.Profit = decimal.Zero
	rec.o.RejectReason = fmt.Sprintf("%s (%v)", reason, rejectKind(reason))
	s.emitLocked(rec.o)
}

// journalLocked appends a non-durable journal line (page cache only).
func (s *session) journalLocked(e journalEntry) {
	if err := s.journal.append(e, false); err != nil {
		s.log.Warn("journal write failed", "error", err)
	}
}

// emitLocked records a final order and pushes it to every subscriber
// without blocking.
func (s *session) emitLocked(o broker.Order) {
	s.journalLocked(finalEntry(o))
	for _, ch := range s.subs {
		select {
		case ch <- o:
		default:
		}
	}
}
