package iqfake

import (
	"sort"
	"strconv"
)

// stepTo moves the clock to toMS: settles due positions, pushes candles
// and timeSync/heartbeat.
func (s *Server) stepTo(toMS int64) {
	s.mu.Lock()
	if toMS <= s.nowMS {
		s.mu.Unlock()
		return
	}
	prevSec := s.nowMS / 1000
	s.nowMS = toMS
	now := toMS / 1000
	o := outbox{}
	for _, id := range sortedUserIDs(s.byID) {
		u := s.byID[id]
		keep := u.open[:0]
		var due []*position
		for _, p := range u.open {
			if p.exp <= now {
				due = append(due, p)
			} else {
				keep = append(keep, p)
			}
		}
		u.open = keep
		for _, p := range due {
			s.settleLocked(p)
			u.closed = append(u.closed, p)
			s.positionPushesLocked(o, p)
		}
	}
	tick := []byte(`{"name":"timeSync","msg":` + itoa(toMS) + `}`)
	beat := []byte(`{"name":"heartbeat","msg":` + itoa(toMS) + `}`)
	for c := range s.conns {
		if c.u == nil {
			continue
		}
		for _, sb := range c.subs {
			switch canon(sb.name) {
			case "candle-generated":
				s.candlePushesLocked(o, c, sb, now)
			case "quote-generated":
				aid, _ := strconv.ParseInt(sb.filters["active_id"], 10, 64)
				if a := s.actives[aid]; a != nil {
					o[c] = append(o[c], s.quotePushLocked(a, toMS))
				}
			case "positions-state":
				o[c] = append(o[c], s.positionsStateLocked(c.u))
			}
		}
		if !s.faults.NoTimeSync {
			o[c] = append(o[c], tick)
		}
		if now > prevSec {
			o[c] = append(o[c], beat)
		}
	}
	s.mu.Unlock()
	o.flush()
}

func sortedUserIDs(m map[int64]*user) []int64 {
	ids := make([]int64, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// candlePushesLocked pushes the candles that closed since the last push
// (phase C, at most three) and the forming one (phase T).
func (s *Server) candlePushesLocked(o outbox, c *wsConn, sb *sub, now int64) {
	aid, _ := strconv.ParseInt(sb.filters["active_id"], 10, 64)
	size, _ := strconv.ParseInt(sb.filters["size"], 10, 64)
	a := s.actives[aid]
	if a == nil || size <= 0 {
		return
	}
	cur := now - now%size
	if sb.last != 0 && cur > sb.last {
		for t := max(sb.last, cur-3*size); t < cur; t += size {
			cd := s.candleAt(a, t, size, t+size)
			o[c] = append(o[c], []byte(cd.pushJSON(a.ID, (t+size)*1e9, "C")))
		}
	}
	sb.last = cur
	cd := s.candleAt(a, cur, size, now+1)
	o[c] = append(o[c], []byte(cd.pushJSON(a.ID, s.nowMS*1e6+123456, "T")))
}

// settleLocked closes p at its expiry quote.
func (s *Server) settleLocked(p *position) {
	p.closeQuote = s.price(p.active, p.exp)
	reason := s.faults.ForceResult
	if reason == "" {
		up := p.closeQuote > p.openQuote
		switch {
		case p.closeQuote == p.openQuote:
			reason = "equal"
		case up == (p.dir == "call"):
			reason = "win"
		default:
			reason = "loose"
		}
	}
	switch reason {
	case "win":
		p.closeProfit = round2(p.invest + p.invest*p.payout/100)
	case "equal":
		p.closeProfit = p.invest
	default:
		p.closeProfit = 0
	}
	p.status, p.closeReason, p.closeMS = "closed", reason, p.exp*1000
	p.version++
	p.u.balances[p.balanceID] = round2(p.u.balances[p.balanceID] + p.closeProfit)
}
