package venue

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/shopspring/decimal"
)

func (s *Server) placeOrder(w http.ResponseWriter, r *http.Request, a *account) {
	var in struct {
		ClientOrderID string          `json:"client_order_id"`
		Symbol        string          `json:"symbol"`
		Side          string          `json:"side"`
		Amount        decimal.Decimal `json:"amount"`
		Expiry        int64           `json:"expiry"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		fail(w, http.StatusBadRequest, "invalid_order", "%v", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := a.orders[in.ClientOrderID]; o != nil {
		reply(w, http.StatusOK, o) // the same request again: the first order
		return
	}
	ins, ok := lookup(in.Symbol)
	switch {
	case in.ClientOrderID == "" || len(in.ClientOrderID) > 128:
		fail(w, http.StatusBadRequest, "invalid_order", "client_order_id must be 1 to 128 characters")
	case !ok:
		fail(w, http.StatusBadRequest, "unknown_symbol", "no instrument %q", in.Symbol)
	case in.Side != "call" && in.Side != "put":
		fail(w, http.StatusBadRequest, "invalid_order", "side must be call or put")
	case in.Amount.LessThan(decimal.NewFromInt(1)) || in.Amount.GreaterThan(decimal.NewFromInt(1000)) || !in.Amount.Equal(in.Amount.Round(2)):
		fail(w, http.StatusBadRequest, "invalid_order", "amount must be 1 to 1000 with at most two decimals")
	case in.Expiry != 60 && in.Expiry != 300:
		fail(w, http.StatusBadRequest, "invalid_order", "expiry must be 60 or 300 seconds")
	case a.balance.LessThan(in.Amount):
		fail(w, http.StatusBadRequest, "insufficient_funds", "balance %s is less than %s", a.balance, in.Amount)
	default:
		now := s.Now().Unix()
		s.seq++
		o := &order{ClientOrderID: in.ClientOrderID, ID: fmt.Sprintf("V%06d", s.seq), Symbol: ins.symbol,
			Side: in.Side, Amount: in.Amount, Expiry: in.Expiry, State: "open", OpenPrice: ins.price(now),
			Payout: ins.payout, OpenedAt: now, ExpiresAt: now + in.Expiry}
		a.orders[o.ClientOrderID] = o
		a.balance = a.balance.Sub(o.Amount)
		reply(w, http.StatusOK, o)
	}
}

func (s *Server) getOrder(w http.ResponseWriter, r *http.Request, a *account) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := a.orders[r.PathValue("id")]; o != nil {
		reply(w, http.StatusOK, o)
		return
	}
	fail(w, http.StatusNotFound, "order_not_found", "no order %q", r.PathValue("id"))
}

// settleLoop settles due orders until Close.
func (s *Server) settleLoop() {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			s.settleDue(s.Now().Unix())
		}
	}
}

// settleDue settles every open order that expired by now at the price of
// its expiry second and pushes it to the account's order streams; a
// stream that does not keep up misses it (GET /orders/{id} still tells).
func (s *Server) settleDue(now int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.accounts {
		for _, o := range a.orders {
			if o.State != "open" || o.ExpiresAt > now {
				continue
			}
			ins, _ := lookup(o.Symbol)
			o.ClosePrice, o.ClosedAt = ins.price(o.ExpiresAt), o.ExpiresAt
			up, down := o.ClosePrice > o.OpenPrice, o.ClosePrice < o.OpenPrice
			switch {
			case (up && o.Side == "call") || (down && o.Side == "put"):
				o.State = "won"
				o.Profit = o.Amount.Mul(decimal.NewFromFloat(o.Payout)).Div(decimal.NewFromInt(100)).Round(2)
				a.balance = a.balance.Add(o.Amount).Add(o.Profit)
			case up || down:
				o.State, o.Profit = "lost", o.Amount.Neg()
			default:
				o.State = "draw"
				a.balance = a.balance.Add(o.Amount)
			}
			for ch := range a.subs {
				select {
				case ch <- *o:
				default:
				}
			}
		}
	}
}

// subscribe registers an order stream of a; cancel removes it.
func (s *Server) subscribe(a *account) (ch chan order, cancel func()) {
	ch = make(chan order, 64)
	s.mu.Lock()
	a.subs[ch] = struct{}{}
	s.mu.Unlock()
	return ch, func() {
		s.mu.Lock()
		delete(a.subs, ch)
		s.mu.Unlock()
	}
}

// Orders returns the client order ids user's account holds, sorted.
func (s *Server) Orders(user string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[user]
	if a == nil {
		return nil
	}
	var ids []string
	for id := range a.orders {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
