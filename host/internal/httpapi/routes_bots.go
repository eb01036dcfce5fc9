package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/stc-trading/stc/host/internal/bots"
	"github.com/stc-trading/stc/sdk/market"
)

type botLimitsJSON struct {
	MaxStake        *float64 `json:"max_stake,omitempty"`
	MaxDailyLoss    *float64 `json:"max_daily_loss,omitempty"`
	MaxOpenTrades   int      `json:"max_open_trades,omitempty"`
	MaxTradesPerDay int      `json:"max_trades_per_day,omitempty"`
	CooldownLosses  int      `json:"cooldown_losses,omitempty"`
	CooldownCandles int      `json:"cooldown_candles,omitempty"`
}

type progressionJSON struct {
	Kind       string   `json:"kind"`
	Multiplier *float64 `json:"multiplier,omitempty"`
	MaxSteps   int      `json:"max_steps,omitempty"`
	MaxStake   *float64 `json:"max_stake,omitempty"`
}

type botJSON struct {
	ID           int64             `json:"id"`
	Name         string            `json:"name"`
	Strategy     string            `json:"strategy"`
	Params       map[string]string `json:"params"`
	AccountID    int64             `json:"account_id"`
	Broker       string            `json:"broker"`
	Symbol       string            `json:"symbol"`
	Timeframe    string            `json:"timeframe"`
	Amount       float64           `json:"amount"`
	Expiration   int64             `json:"expiration"`
	Limits       botLimitsJSON     `json:"limits"`
	Progression  progressionJSON   `json:"progression"`
	Status       string            `json:"status"`
	StatusReason string            `json:"status_reason,omitempty"`
	LastSignal   string            `json:"last_signal,omitempty"`
	LastSignalAt *time.Time        `json:"last_signal_at"`
	LastError    string            `json:"last_error,omitempty"`
	CreatedAt    time.Time         `json:"created_at"`
	UpdatedAt    time.Time         `json:"updated_at"`
}

func optAmount(d decimal.Decimal) *float64 {
	if d.IsZero() {
		return nil
	}
	f, _ := d.Float64()
	return &f
}

func toBotJSON(b bots.Bot) botJSON {
	params := b.Params
	if params == nil {
		params = map[string]string{}
	}
	out := botJSON{ID: b.ID, Name: b.Name, Strategy: b.Strategy, Params: params, AccountID: b.AccountID, Broker: b.Broker,
		Symbol: b.Symbol, Timeframe: b.Timeframe.String(), Expiration: int64(b.Expiration / time.Second),
		Limits: botLimitsJSON{MaxStake: optAmount(b.Limits.MaxStake), MaxDailyLoss: optAmount(b.Limits.MaxDailyLoss),
			MaxOpenTrades: b.Limits.MaxOpenTrades, MaxTradesPerDay: b.Limits.MaxTradesPerDay,
			CooldownLosses: b.Limits.CooldownLosses, CooldownCandles: b.Limits.CooldownCandles},
		Progression: progressionJSON{Kind: b.Progression.Kind, Multiplier: optAmount(b.Progression.Multiplier),
			MaxSteps: b.Progression.MaxSteps, MaxStake: optAmount(b.Progression.MaxStake)},
		Status: string(b.Status), StatusReason: b.StatusReason, LastSignal: b.LastSignal, LastSignalAt: optTime(b.LastSignalAt),
		LastError: b.LastError, CreatedAt: b.CreatedAt, UpdatedAt: b.UpdatedAt}
	if out.Progression.Kind == "" {
		out.Progression.Kind = "none"
	}
	out.Amount, _ = b.Amount.Float64()
	return out
}

// botBody is a bot's configuration as clients send it. Every field is a
// pointer so PATCH can tell "not sent" from "zero".
type botBody struct {
	Name       *string                    `json:"name"`
	Strategy   *string                    `json:"strategy"`
	Params     map[string]json.RawMessage `json:"params"`
	AccountID  *int64                     `json:"account_id"`
	Symbol     *string                    `json:"symbol"`
	Timeframe  *string                    `json:"timeframe"`
	Amount     *json.Number               `json:"amount"`
	Expiration *int64                     `json:"expiration"`
	Limits     *struct {
		MaxStake        *json.Number `json:"max_stake"`
		MaxDailyLoss    *json.Number `json:"max_daily_loss"`
		MaxOpenTrades   *int         `json:"max_open_trades"`
		MaxTradesPerDay *int         `json:"max_trades_per_day"`
		CooldownLosses  *int         `json:"cooldown_losses"`
		CooldownCandles *int         `json:"cooldown_candles"`
	} `json:"limits"`
	Progression *struct {
		Kind       string       `json:"kind"`
		Multiplier *json.Number `json:"multiplier"`
		MaxSteps   int          `json:"max_steps"`
		MaxStake   *json.Number `json:"max_stake"`
	} `json:"progression"`
}

// paramText turns a JSON parameter value into the text strategies take:
// numbers keep their literal, strings their content, booleans true/false.
func paramText(name string, raw json.RawMessage) (string, *apiError) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return "", fieldError("params."+name, "params."+name+" is not valid JSON")
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case bool:
		return strconv.FormatBool(x), nil
	}
	return "", fieldError("params."+name, "params."+name+" must be a number, string or boolean")
}

func decimalField(field string, n *json.Number) (decimal.Decimal, *apiError) {
	if n == nil || *n == "" {
		return decimal.Zero, nil
	}
	d, err := decimal.NewFromString(n.String())
	if err != nil || d.IsNegative() {
		return d, fieldError(field, field+" must be a number ≥ 0")
	}
	return d, nil
}

// apply merges b over spec (all of it for POST, what was sent for PATCH).
func (b botBody) apply(spec *bots.Spec) *apiError {
	if b.Name != nil {
		spec.Name = *b.Name
	}
	if b.Strategy != nil {
		spec.Strategy = *b.Strategy
	}
	if b.Params != nil {
		// Counted before the values are converted; the bots service checks
		// the same bound, and names and values.
		if len(b.Params) > bots.MaxParams {
			return fieldError("params", fmt.Sprintf("params must hold at most %d parameters", bots.MaxParams))
		}
		spec.Params = make(map[string]string, len(b.Params))
		for k, raw := range b.Params {
			v, e := paramText(k, raw)
			if e != nil {
				return e
			}
			spec.Params[k] = v
		}
	}
	if b.AccountID != nil {
		spec.AccountID = *b.AccountID
	}
	if b.Symbol != nil {
		spec.Symbol = *b.Symbol
	}
	if b.Timeframe != nil {
		tf, err := market.ParseTimeframe(*b.Timeframe)
		if err != nil {
			return fieldError("timeframe", "timeframe must be one of 1m 5m 15m 30m 1h 4h 1d")
		}
		spec.Timeframe = tf
	}
	if b.Amount != nil {
		d, e := decimalField("amount", b.Amount)
		if e != nil {
			return e
		}
		spec.Amount = d
	}
	if b.Expiration != nil {
		// Bounded before it becomes a Duration, which a huge number of
		// seconds would overflow; the bounds are the bots service's.
		if lo, hi := int64(bots.MinExpiration/time.Second), int64(bots.MaxExpiration/time.Second); *b.Expiration < lo || *b.Expiration > hi {
			return fieldError("expiration", fmt.Sprintf("expiration must be whole seconds from %d to %d", lo, hi))
		}
		spec.Expiration = time.Duration(*b.Expiration) * time.Second
	}
	if l := b.Limits; l != nil {
		var e *apiError
		if l.MaxStake != nil {
			if spec.Limits.MaxStake, e = decimalField("limits.max_stake", l.MaxStake); e != nil {
				return e
			}
		}
		if l.MaxDailyLoss != nil {
			if spec.Limits.MaxDailyLoss, e = decimalField("limits.max_daily_loss", l.MaxDailyLoss); e != nil {
				return e
			}
		}
		for _, f := range []struct {
			name string
			src  *int
			dst  *int
		}{
			{"max_open_trades", l.MaxOpenTrades, &spec.Limits.MaxOpenTrades},
			{"max_trades_per_day", l.MaxTradesPerDay, &spec.Limits.MaxTradesPerDay},
			{"cooldown_losses", l.CooldownLosses, &spec.Limits.CooldownLosses},
			{"cooldown_candles", l.CooldownCandles, &spec.Limits.CooldownCandles},
		} {
			if f.src != nil {
				*f.dst = *f.src // the bots service checks the range
			}
		}
	}
	if p := b.Progression; p != nil {
		spec.Progression = bots.Progression{Kind: p.Kind, MaxSteps: p.MaxSteps}
		var e *apiError
		if spec.Progression.Multiplier, e = decimalField("progression.multiplier", p.Multiplier); e != nil {
			return e
		}
		if spec.Progression.MaxStake, e = decimalField("progression.max_stake", p.MaxStake); e != nil {
			return e
		}
	}
	return nil
}

func (s *Server) createBot(w http.ResponseWriter, r *http.Request) {
	var body botBody
	if e := decodeJSON(w, r, &body); e != nil {
		writeError(w, e)
		return
	}
	var spec bots.Spec
	if e := body.apply(&spec); e != nil {
		writeError(w, e)
		return
	}
	key, hash, e := idempotency(r, body)
	if e != nil {
		writeError(w, e)
		return
	}
	b, _, err := s.bots.CreateIdempotent(r.Context(), mustPrincipal(r).UserID, spec, key, hash)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"bot": toBotJSON(b)})
}

func (s *Server) listBots(w http.ResponseWriter, r *http.Request) {
	pg, e := parsePage(r)
	if e != nil {
		writeError(w, e)
		return
	}
	list, next, err := s.bots.List(r.Context(), mustPrincipal(r).UserID, pg.limit, pg.cursor)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]botJSON, len(list))
	for i, b := range list {
		out[i] = toBotJSON(b)
	}
	var cursor *string
	if next != 0 {
		c := strconv.FormatInt(next, 10)
		cursor = &c
	}
	writeJSON(w, http.StatusOK, listJSON(out, cursor))
}

func (s *Server) getBot(w http.ResponseWriter, r *http.Request) {
	id, e := pathID(r, "id")
	if e != nil {
		writeError(w, e)
		return
	}
	b, err := s.bots.Get(r.Context(), mustPrincipal(r).UserID, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"bot": toBotJSON(b)})
}

func (s *Server) updateBot(w http.ResponseWriter, r *http.Request) {
	id, e := pathID(r, "id")
	if e != nil {
		writeError(w, e)
		return
	}
	var body botBody
	if e := decodeJSON(w, r, &body); e != nil {
		writeError(w, e)
		return
	}
	userID := mustPrincipal(r).UserID
	cur, err := s.bots.Get(r.Context(), userID, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	spec := cur.Spec
	if e := body.apply(&spec); e != nil {
		writeError(w, e)
		return
	}
	b, err := s.bots.Update(r.Context(), userID, id, spec)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"bot": toBotJSON(b)})
}

func (s *Server) deleteBot(w http.ResponseWriter, r *http.Request) {
	id, e := pathID(r, "id")
	if e != nil {
		writeError(w, e)
		return
	}
	if err := s.bots.Delete(r.Context(), mustPrincipal(r).UserID, id); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) startBot(w http.ResponseWriter, r *http.Request) { s.botAction(w, r, s.bots.Start) }
func (s *Server) stopBot(w http.ResponseWriter, r *http.Request)  { s.botAction(w, r, s.bots.Stop) }

func (s *Server) botAction(w http.ResponseWriter, r *http.Request, act func(ctx context.Context, userID, id int64) (bots.Bot, error)) {
	id, e := pathID(r, "id")
	if e != nil {
		writeError(w, e)
		return
	}
	b, err := act(r.Context(), mustPrincipal(r).UserID, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"bot": toBotJSON(b)})
}
