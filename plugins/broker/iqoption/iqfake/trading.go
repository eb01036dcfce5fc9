package iqfake

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
)

// position is one binary/turbo option as the portfolio service sees it.
type position struct {
	id          string
	optionID    int64
	version     int64
	u           *user
	balanceID   int64
	active      *Active
	typeID      int
	dir         string
	invest      float64
	payout      float64
	openMS      int64
	openQuote   float64
	exp         int64
	status      string
	closeMS     int64
	closeQuote  float64
	closeReason string
	closeProfit float64
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

func (p *position) instrumentType() string {
	if p.typeID == 1 {
		return "binary-option"
	}
	return "turbo-option"
}

// msg renders the position in the shape of the vendor SDK's
// position-changed v3 push (docs/brokers/IQOPTION.md §12.2), with
// raw_event (§12.3).
func (p *position) msg() map[string]any {
	result := "opened"
	m := map[string]any{
		"id": p.id, "external_id": p.optionID, "version": p.version, "user_id": p.u.UserID, "user_balance_id": p.balanceID,
		"active_id": p.active.ID, "instrument_type": p.instrumentType(), "instrument_id": "",
		"source": "binary-options", "status": p.status, "open_time": p.openMS, "open_quote": p.openQuote,
		"invest": p.invest, "invest_enrolled": p.invest, "expected_profit": round2(p.invest * p.payout / 100),
		"currency": "USD", "swap": 0, "commission": 0,
	}
	if p.status == "closed" {
		result = p.closeReason
		pnl := round2(p.closeProfit - p.invest)
		m["close_time"], m["close_quote"], m["close_reason"], m["close_profit"] = p.closeMS, p.closeQuote, p.closeReason, p.closeProfit
		m["pnl"], m["pnl_realized"], m["pnl_net"] = pnl, pnl, pnl
	}
	m["raw_event"] = map[string]any{"binary_options_option_changed1": map[string]any{
		"option_id": p.optionID, "direction": p.dir, "result": result, "amount": p.invest,
		"profit_amount": round2(p.invest + p.invest*p.payout/100), "expiration_time": p.exp,
		"expiration_value": p.closeQuote, "profit_percent": p.payout, "option_type_id": p.typeID,
		"balance_id": p.balanceID, "active_id": p.active.ID, "open_time": p.openMS / 1000,
	}}
	return m
}

func (p *position) push() []byte {
	b, _ := json.Marshal(map[string]any{"name": "position-changed", "microserviceName": "portfolio", "msg": p.msg()})
	return b
}

// pushToLocked returns the connections of u subscribed to name for the
// given routing values.
func (s *Server) pushToLocked(u *user, name string, have map[string]string) []*wsConn {
	var out []*wsConn
	for c := range s.conns {
		if c.u == u && c.subscribedLocked(name, have) {
			out = append(out, c)
		}
	}
	return out
}

type outbox map[*wsConn][][]byte

func (o outbox) add(conns []*wsConn, b []byte) {
	for _, c := range conns {
		o[c] = append(o[c], b)
	}
}

func (o outbox) flush() {
	for c, list := range o {
		for _, b := range list {
			c.enqueue(b)
		}
	}
}

// positionPushesLocked queues position-changed and balance-changed for p.
func (s *Server) positionPushesLocked(o outbox, p *position) {
	have := map[string]string{"user_id": itoa(p.u.UserID), "user_balance_id": itoa(p.balanceID), "instrument_type": p.instrumentType()}
	o.add(s.pushToLocked(p.u, "position-changed", have), p.push())
	o.add(s.pushToLocked(p.u, "balance-changed", nil), s.balanceChangedLocked(p.u, p.balanceID))
}

// balanceChangedLocked renders a balance-changed push
// (docs/brokers/IQOPTION.md §14.6).
func (s *Server) balanceChangedLocked(u *user, id int64) []byte {
	typ := 4
	if id == u.realID {
		typ = 1
	}
	amt := ftoa(round2(u.balances[id]))
	return []byte(`{"name":"balance-changed","microserviceName":"internal-billing","msg":{"id":` + itoa(id) + `,"user_id":` + itoa(u.UserID) +
		`,"current_balance":{"id":` + itoa(id) + `,"type":` + strconv.Itoa(typ) + `,"index":` + itoa(s.nowMS) + `,"amount":` + amt +
		`,"is_fiat":true,"currency":"USD","new_amount":` + amt + `,"is_marginal":false,"bonus_amount":0,"enrolled_amount":` + amt + `,"bonus_total_amount":0}}}`)
}

func (s *Server) profileJSON(u *user) []byte {
	b, _ := json.Marshal(map[string]any{
		"user_id": u.UserID, "id": u.UserID, "first_name": "Fake", "last_name": "Trader", "email": u.Identifier,
		"group_id": 193, "currency": "USD", "currency_char": "$", "balance_id": u.practiceID, "balance_type": 4,
		"locale": "en_US", "is_activated": true, "tc": true, "balances": s.balancesLocked(u),
	})
	return b
}

func (s *Server) balancesLocked(u *user) []map[string]any {
	return []map[string]any{
		{"id": u.realID, "user_id": u.UserID, "type": 1, "amount": round2(u.balances[u.realID]), "enrolled_amount": round2(u.balances[u.realID]), "currency": "USD", "is_fiat": true, "is_marginal": false, "tournament_id": nil},
		{"id": u.practiceID, "user_id": u.UserID, "type": 4, "amount": round2(u.balances[u.practiceID]), "enrolled_amount": round2(u.balances[u.practiceID]), "currency": "USD", "is_fiat": true, "is_marginal": false, "tournament_id": nil},
	}
}

// sendMessage answers one RPC: a result frame first when sendResults is
// on, then the typed answer.
func (c *wsConn) sendMessage(f inFrame, id string) {
	var m struct {
		Name    string          `json:"name"`
		Version string          `json:"version"`
		Body    json.RawMessage `json:"body"`
	}
	_ = json.Unmarshal(f.Msg, &m)
	s := c.s
	s.mu.Lock()
	results := c.sendResults
	u := c.u
	o := outbox{}
	var answer []byte
	kill := false
	switch m.Name {
	case "core.get-profile":
		answer = reply(id, "profile", map[string]any{"isSuccessful": true, "message": []any{}, "result": json.RawMessage(s.profileJSON(u))}, 2000)
	case "balances.get-available-balances", "get-balances":
		answer = reply(id, "balances", s.balancesLocked(u), 2000)
	case "binary-options.get-initialization-data", "get-initialization-data":
		answer = reply(id, "initialization-data", s.initDataLocked(), 2000)
	case "features.get-features":
		answer = reply(id, "features", map[string]any{"features": []any{map[string]any{"name": "client-sdk", "status": "enabled"}}}, 2000)
	case "get-commissions":
		answer = reply(id, "commissions", s.commissionsLocked(), 2000)
	case "quotes-history.get-candles", "get-candles":
		answer = s.candlesLocked(id, m.Body)
	case "get-first-candles":
		answer = reply(id, "first-candles", map[string]any{"candles_by_size": map[string]any{"60": map[string]any{"from": s.cfg.Start.Unix() - 365*86400}}}, 2000)
	case "binary-options.open-option":
		answer, kill = s.openOptionLocked(o, c, id, m.Body)
	case "portfolio.get-positions":
		answer = reply(id, "positions", s.positionsLocked(u, false, m.Body), 2000)
	case "portfolio.get-history-positions":
		answer = reply(id, "history-positions", s.positionsLocked(u, true, m.Body), 2000)
	case "binary-options.sell-options":
		s.sellLocked(o, u, m.Body)
	case "portfolio.subscribe-positions", "internal-billing.reset-training-balance", "digital-options.close-position":
		answer = s.resultOnlyLocked(u, m.Name, m.Body)
	case "digital-option-instruments.get-underlying-list":
		answer = reply(id, "underlying-list", s.underlyingLocked(), 2000)
	case "digital-option-instruments.get-instruments":
		answer = reply(id, "instruments", s.instrumentsLocked(m.Body), 2000)
	case "digital-options.place-digital-option":
		answer = s.placeDigitalLocked(u, id, m.Body)
	default:
		answer = errReply(id, m.Name, 4000, "invalid request")
	}
	s.mu.Unlock()
	if kill {
		c.kill() // nothing more reaches this socket: the answer is lost with it
		delete(o, c)
		o.flush()
		return
	}
	if results {
		c.enqueue(resultFrame(id, true))
	}
	if answer != nil {
		c.enqueue(answer)
	}
	o.flush()
}

func (s *Server) commissionsLocked() map[string]any {
	var items []map[string]any
	for _, id := range s.order {
		items = append(items, map[string]any{"active_id": id, "value": s.actives[id].TurboCommission})
	}
	return map[string]any{"items": items}
}

// candlesLocked serves get-candles: the count newest candles whose open
// time is ≤ to (default now), only closed ones when only_closed is set.
func (s *Server) candlesLocked(id string, body json.RawMessage) []byte {
	var b struct {
		ActiveID   json.Number `json:"active_id"`
		Size       int64       `json:"size"`
		To         int64       `json:"to"`
		Count      int64       `json:"count"`
		OnlyClosed bool        `json:"only_closed"`
	}
	if err := json.Unmarshal(body, &b); err != nil || b.Size <= 0 {
		return errReply(id, "candles", 4000, "invalid request")
	}
	aid, _ := b.ActiveID.Int64()
	a := s.actives[aid]
	if a == nil {
		return errReply(id, "candles", 4000, "invalid request")
	}
	now := s.nowMS / 1000
	to := b.To
	if to <= 0 || to > now {
		to = now
	}
	last := to - to%b.Size
	if b.OnlyClosed && last+b.Size > now {
		last -= b.Size
	}
	s.stats.CandleRequests++
	s.stats.MaxCandleCount = max(s.stats.MaxCandleCount, int(b.Count))
	count := min(max(b.Count, 1), 1000)
	floor := s.cfg.Start.Unix() - 365*86400
	var parts [][]byte
	for t := last - (count-1)*b.Size; t <= last; t += b.Size {
		if t < floor {
			continue
		}
		parts = append(parts, []byte(s.candleAt(a, t, b.Size, now+1).json()))
	}
	return []byte(`{"name":"candles","request_id":` + quote(id) + `,"msg":{"candles":[` + string(bytes.Join(parts, []byte(","))) + `]},"status":2000}`)
}

// openOptionLocked validates and opens an option. kill asks the caller to
// drop the socket instead of answering (DropBeforeAnswer).
func (s *Server) openOptionLocked(o outbox, c *wsConn, id string, body json.RawMessage) ([]byte, bool) {
	var b struct {
		ActiveID      json.RawMessage `json:"active_id"`
		Direction     string          `json:"direction"`
		Expired       int64           `json:"expired"`
		OptionTypeID  int             `json:"option_type_id"`
		Price         json.RawMessage `json:"price"`
		UserBalanceID json.RawMessage `json:"user_balance_id"`
	}
	if s.faults.DropBeforeOpen {
		s.faults.DropBeforeOpen = false
		return nil, true
	}
	invalid := errReply(id, "option", 4000, "invalid request")
	if err := json.Unmarshal(body, &b); err != nil {
		return invalid, false
	}
	price, err := strconv.ParseFloat(string(b.Price), 64) // a JSON string fails here, as on the real server (docs/brokers/IQOPTION.md §14.10)
	if err != nil || price <= 0 || (b.Direction != "call" && b.Direction != "put") || (b.OptionTypeID != 1 && b.OptionTypeID != 3) {
		return invalid, false
	}
	u := c.u
	balID, err1 := strconv.ParseInt(string(bytes.Trim(b.UserBalanceID, `"`)), 10, 64)
	aid, err2 := strconv.ParseInt(string(bytes.Trim(b.ActiveID, `"`)), 10, 64)
	a := s.actives[aid]
	if _, own := u.balances[balID]; err1 != nil || err2 != nil || !own || a == nil {
		return invalid, false
	}
	if a.Suspended || (b.OptionTypeID == 3 && !a.Turbo) || (b.OptionTypeID == 1 && !a.Binary) {
		return errReply(id, "option", 4119, "Cannot purchase an option (active is suspended)"), false
	}
	now := s.nowMS / 1000
	dead, payout := a.TurboDeadtime, 100-a.TurboCommission
	if b.OptionTypeID == 1 {
		dead, payout = a.BinaryDeadtime, 100-a.BinaryCommission
		if b.Expired%900 != 0 {
			return invalid, false
		}
	} else if b.Expired%60 != 0 || b.Expired-now > 360 {
		return invalid, false
	}
	if s.faults.PurchaseOver || b.Expired-dead <= now {
		return errReply(id, "option", 4000, "Time for purchasing options is over, please try again later."), false
	}
	if price < a.MinBet || price > a.MaxBet {
		return invalid, false
	}
	if u.balances[balID] < price {
		// [INF] No capture shows the synchronous refusal for missing funds;
		// the captured form is the async option-rejected reason no_money
		// (docs/brokers/IQOPTION.md §9.4).
		return errReply(id, "option", 4000, "No money on the balance"), false
	}
	s.optionSeq++
	s.stats.Options++
	u.balances[balID] = round2(u.balances[balID] - price)
	p := &position{
		id: s.tokenLocked("position"), optionID: s.optionSeq, version: 1, u: u, balanceID: balID, active: a,
		typeID: b.OptionTypeID, dir: b.Direction, invest: price, payout: payout, openMS: s.nowMS,
		openQuote: s.price(a, now), exp: b.Expired, status: "open",
	}
	if s.faults.RejectByRisks {
		s.faults.RejectByRisks = false
		u.balances[balID] = round2(u.balances[balID] + price)
		rej := []byte(`{"name":"option-rejected","microserviceName":"binary-options","msg":{"index":` + itoa(s.nowMS) + `,"option_id":` + itoa(p.optionID) +
			`,"reason":"rejected_by_risks","amount":` + itoa(int64(price*1e6)) + `,"currency":"USD","balance_id":` + itoa(balID) +
			`,"option_type_id":` + strconv.Itoa(p.typeID) + `,"user_id":` + itoa(u.UserID) + `,"open_time":` + itoa(now) +
			`,"expiration_time":` + itoa(p.exp) + `,"direction":"` + p.dir + `","active_id":` + itoa(a.ID) + `}}`)
		o.add([]*wsConn{c}, rej)
		return s.optionAnswer(id, p), false
	}
	u.open = append(u.open, p)
	s.positionPushesLocked(o, p)
	if s.faults.DropBeforeAnswer {
		s.faults.DropBeforeAnswer = false
		return nil, true
	}
	if s.faults.SwallowAnswer {
		s.faults.SwallowAnswer = false
		return nil, false
	}
	return s.optionAnswer(id, p), false
}

// optionAnswer renders the option answer (docs/brokers/IQOPTION.md §9.2).
func (s *Server) optionAnswer(id string, p *position) []byte {
	typ := "turbo"
	if p.typeID == 1 {
		typ = "binary"
	}
	return reply(id, "option", map[string]any{
		"user_id": p.u.UserID, "id": p.optionID, "refund_value": 0, "price": p.invest, "exp": p.exp,
		"created": p.openMS / 1000, "created_millisecond": p.openMS, "time_rate": 9, "type": typ,
		"act": p.active.ID, "direction": p.dir, "exp_value": int64(p.openQuote * 1e6), "value": p.openQuote,
		"profit_income": int(math.Round(100 + p.payout)), "profit_return": 0, "robot_id": nil, "client_platform_id": 82,
	}, 2000)
}

// positionsLocked lists open or closed positions of u, newest first,
// filtered by external_id, limit and offset.
func (s *Server) positionsLocked(u *user, closed bool, body json.RawMessage) map[string]any {
	var b struct {
		ExternalID int64 `json:"external_id"`
		Limit      int   `json:"limit"`
		Offset     int   `json:"offset"`
	}
	_ = json.Unmarshal(body, &b)
	src := u.open
	if closed {
		src = u.closed
	}
	var list []map[string]any
	for i := len(src) - 1; i >= 0; i-- {
		if b.ExternalID != 0 && src[i].optionID != b.ExternalID {
			continue
		}
		list = append(list, src[i].msg())
	}
	total := len(list)
	if b.Offset > 0 {
		list = list[min(b.Offset, len(list)):]
	}
	if b.Limit > 0 && len(list) > b.Limit {
		list = list[:b.Limit]
	}
	if list == nil {
		list = []map[string]any{}
	}
	return map[string]any{"positions": list, "total": total, "limit": b.Limit}
}

// resultOnlyLocked handles requests answered by their result frame only.
func (s *Server) resultOnlyLocked(u *user, name string, _ json.RawMessage) []byte {
	if name == "internal-billing.reset-training-balance" {
		u.balances[u.practiceID] = 10000
	}
	return nil
}
