package iqfake

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// sellLocked closes open options early (binary-options.sell-options):
// close_reason "sold", with a deterministic sell value of 80 % of the
// payout when in the money and 30 % of the stake otherwise.
func (s *Server) sellLocked(o outbox, u *user, body json.RawMessage) {
	var b struct {
		OptionsIDs []int64 `json:"options_ids"`
	}
	_ = json.Unmarshal(body, &b)
	now := s.nowMS / 1000
	for _, id := range b.OptionsIDs {
		for i, p := range u.open {
			if p.optionID != id {
				continue
			}
			q := s.price(p.active, now)
			if (q > p.openQuote) == (p.dir == "call") && q != p.openQuote {
				p.closeProfit = round2(p.invest * (1 + p.payout/100) * 0.8)
			} else {
				p.closeProfit = round2(p.invest * 0.3)
			}
			p.closeQuote, p.status, p.closeReason, p.closeMS = q, "closed", "sold", s.nowMS
			p.version++
			u.balances[p.balanceID] = round2(u.balances[p.balanceID] + p.closeProfit)
			u.open = append(u.open[:i], u.open[i+1:]...)
			u.closed = append(u.closed, p)
			s.positionPushesLocked(o, p)
			break
		}
	}
}

// underlyingLocked answers digital-option-instruments.get-underlying-list.
func (s *Server) underlyingLocked() map[string]any {
	var list []map[string]any
	now := s.nowMS / 1000
	for _, id := range s.order {
		a := s.actives[id]
		list = append(list, map[string]any{
			"active_id": id, "name": strings.TrimPrefix(a.Name, "front."), "underlying": strings.TrimPrefix(a.Name, "front."),
			"is_suspended": a.Suspended, "schedule": []map[string]int64{{"open": now - 86400, "close": now + 7*86400}},
		})
	}
	return map[string]any{"type": "digital-option", "underlying": list}
}

// digitalSymbol builds an instrument id in the 2019 format of
// docs/brokers/IQOPTION.md §11 (item 3); the adapter must take it from the
// instruments answer, never construct it.
func digitalSymbol(a *Active, exp int64, period int64, dir string) string {
	t := time.Unix(exp, 0).UTC()
	return "do" + strings.TrimPrefix(a.Name, "front.") + t.Format("200601021504") + "PT" + strconv.FormatInt(period/60, 10) + "M" + strings.ToUpper(dir[:1]) + "SPT"
}

// instrumentsLocked answers digital-option-instruments.get-instruments.
func (s *Server) instrumentsLocked(body json.RawMessage) map[string]any {
	var b struct {
		AssetID int64 `json:"asset_id"`
	}
	_ = json.Unmarshal(body, &b)
	a := s.actives[b.AssetID]
	list := []map[string]any{}
	if a != nil {
		now := s.nowMS / 1000
		for i, period := range []int64{60, 300, 900} {
			exp := now - now%period + period
			if exp-10 <= now {
				exp += period
			}
			var data []map[string]any
			for _, dir := range []string{"call", "put"} {
				data = append(data, map[string]any{"strike": "SPT", "direction": dir, "symbol": digitalSymbol(a, exp, period, dir)})
			}
			list = append(list, map[string]any{"index": s.nowMS + int64(i), "instrument_type": "digital-option", "asset_id": a.ID,
				"expiration": exp, "period": period, "deadtime": 10, "data": data})
		}
	}
	return map[string]any{"instruments": list}
}

// placeDigitalLocked answers digital-options.place-digital-option: amount
// must be a non-empty string (docs/brokers/IQOPTION.md §14.13 is the
// schema error); the fake debits the stake and answers the order id but
// keeps no digital position.
func (s *Server) placeDigitalLocked(u *user, id string, body json.RawMessage) []byte {
	var b struct {
		Amount        json.RawMessage `json:"amount"`
		UserBalanceID int64           `json:"user_balance_id"`
		InstrumentID  string          `json:"instrument_id"`
	}
	_ = json.Unmarshal(body, &b)
	var amount string
	if err := json.Unmarshal(b.Amount, &amount); err != nil || amount == "" {
		return reply(id, "digital-option-placed", map[string]any{
			"part": "DATA", "level": "INVALID_SCHEMA", "type": "DigitalOptions::PlaceDigitalOptionRequest",
			"message": `strconv.ParseFloat: parsing "": invalid syntax`,
			"schema":  "IqDL 0.6 ... struct PlaceDigitalOptionRequest { userBalanceId Int52 required; instrumentId String required; count Decimal; amount Decimal }",
		}, 4000)
	}
	v, err := strconv.ParseFloat(amount, 64)
	if _, own := u.balances[b.UserBalanceID]; err != nil || v <= 0 || !own || b.InstrumentID == "" {
		return errReply(id, "digital-option-placed", 4000, "invalid request")
	}
	if u.balances[b.UserBalanceID] < v {
		return errReply(id, "digital-option-placed", 4000, "No money on the balance")
	}
	u.balances[b.UserBalanceID] = round2(u.balances[b.UserBalanceID] - v)
	s.optionSeq++
	return reply(id, "digital-option-placed", map[string]any{"id": s.optionSeq}, 2000)
}

// quotePushLocked renders quote-generated for an active at now.
func (s *Server) quotePushLocked(a *Active, nowMS int64) []byte {
	v := s.price(a, nowMS/1000)
	spread := v * 0.00007
	return []byte(`{"name":"quote-generated","microserviceName":"quotes","msg":{"active_id":` + itoa(a.ID) + `,"time":` + itoa(nowMS) +
		`,"ask":` + ftoa(v+spread) + `,"bid":` + ftoa(v-spread) + `,"value":` + ftoa(v) + `,"phase":"T"}}`)
}

// positionsStateLocked renders positions-state for u's open options.
func (s *Server) positionsStateLocked(u *user) []byte {
	now := s.nowMS / 1000
	list := []map[string]any{}
	for _, p := range u.open {
		q := s.price(p.active, now)
		win := (q > p.openQuote) == (p.dir == "call") && q != p.openQuote
		pnl := -p.invest
		if win {
			pnl = round2(p.invest * p.payout / 100)
		}
		list = append(list, map[string]any{"id": p.id, "instrument_type": p.instrumentType(), "sell_profit": round2(p.invest * 0.3),
			"margin": 0, "current_price": q, "quote_timestamp": s.nowMS, "pnl": pnl, "pnl_net": pnl, "open_price": p.openQuote,
			"expected_profit": round2(p.invest * p.payout / 100), "currency_conversion": 1})
	}
	b, _ := json.Marshal(map[string]any{"name": "positions-state", "microserviceName": "portfolio", "msg": map[string]any{
		"positions": list, "expires_in": 60, "user_id": u.UserID, "subscription_id": "sub-" + itoa(u.UserID),
	}})
	return b
}
