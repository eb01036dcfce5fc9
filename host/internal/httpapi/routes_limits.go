package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/stc-trading/stc/host/internal/trading"
)

// limitsJSON is the user's limits as GET and PUT answer them.
type limitsJSON struct {
	MaxStake        json.Number `json:"max_stake"`
	MaxOpenTrades   int         `json:"max_open_trades"`
	MaxTradesPerDay int         `json:"max_trades_per_day"`
	MaxDailyLoss    json.Number `json:"max_daily_loss"`
	CooldownLosses  int         `json:"cooldown_losses"`
	CooldownSeconds int64       `json:"cooldown_seconds"`
}

func toLimitsJSON(l trading.Limits) limitsJSON {
	return limitsJSON{MaxStake: json.Number(l.MaxStake.String()), MaxOpenTrades: l.MaxOpenTrades,
		MaxTradesPerDay: l.MaxTradesPerDay, MaxDailyLoss: json.Number(l.MaxDailyLoss.String()), CooldownLosses: l.CooldownLosses,
		CooldownSeconds: int64(l.Cooldown / time.Second)}
}

func (s *Server) getLimits(w http.ResponseWriter, r *http.Request) {
	l, err := s.trading.Limits(r.Context(), mustPrincipal(r).UserID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toLimitsJSON(l))
}

// optNumber is a JSON number field of a partial update. It tells a field
// left out (set false) from one sent as null, which is refused rather
// than read as "no limit": a limit is switched off only by an explicit 0.
// It takes a number or a numeric string and keeps its text; any other
// value leaves text empty, which the field's parser refuses by name.
type optNumber struct {
	set, null, notNumber bool
	text                 string
}

// UnmarshalJSON implements json.Unmarshaler; it runs only for a field
// that is present.
func (o *optNumber) UnmarshalJSON(b []byte) error {
	o.set = true
	switch {
	case string(b) == "null":
		o.null = true
	case len(b) > 0 && b[0] == '"':
		return json.Unmarshal(b, &o.text)
	case len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')):
		o.text = string(b)
	default:
		o.notNumber = true
	}
	return nil
}

// limitsBody is a PUT /api/v2/user/limits body. Every field is optional:
// what is sent changes, what is left out keeps its value.
type limitsBody struct {
	MaxStake        optNumber `json:"max_stake"`
	MaxOpenTrades   optNumber `json:"max_open_trades"`
	MaxTradesPerDay optNumber `json:"max_trades_per_day"`
	MaxDailyLoss    optNumber `json:"max_daily_loss"`
	CooldownLosses  optNumber `json:"cooldown_losses"`
	CooldownSeconds optNumber `json:"cooldown_seconds"`
}

// limitAmount parses an amount limit: 0 (no limit) or a positive amount
// below the money columns' bound with at most their 8 decimals. More
// decimals are refused rather than rounded, so 0.000000001 can never be
// stored as 0 ("no limit").
func limitAmount(field string, o optNumber) (*decimal.Decimal, *apiError) {
	if !o.set {
		return nil, nil
	}
	msg := fmt.Sprintf("%s must be 0 (no limit) or a positive amount below 1000000000000 with at most %d decimals",
		field, trading.LimitDecimals)
	if o.null {
		return nil, fieldError(field, msg+"; leave it out to keep it")
	}
	if o.notNumber {
		return nil, fieldError(field, field+" must be a JSON number")
	}
	d, err := decimal.NewFromString(o.text)
	if err != nil || d.IsNegative() || d.GreaterThanOrEqual(decimal.New(1, 12)) {
		return nil, fieldError(field, msg)
	}
	if !d.Equal(d.Round(trading.LimitDecimals)) {
		if d.Round(trading.LimitDecimals).IsZero() {
			return nil, fieldError(field, fmt.Sprintf("%s would round to 0 at %d decimals, which would switch the limit off; %s",
				field, trading.LimitDecimals, msg))
		}
		return nil, fieldError(field, msg)
	}
	return &d, nil
}

// limitCount parses a count limit: an integer from 0 (no limit) to max.
func limitCount(field string, o optNumber, max int64) (*int64, *apiError) {
	if !o.set {
		return nil, nil
	}
	msg := fmt.Sprintf("%s must be an integer from 0 (no limit) to %d", field, max)
	if o.null {
		return nil, fieldError(field, msg+"; leave it out to keep it")
	}
	if o.notNumber {
		return nil, fieldError(field, field+" must be a JSON number")
	}
	n, err := strconv.ParseInt(o.text, 10, 64)
	if err != nil || n < 0 || n > max {
		return nil, fieldError(field, msg)
	}
	return &n, nil
}

// update turns the body into the service's update, checking every field
// against its column.
func (b limitsBody) update() (trading.LimitsUpdate, *apiError) {
	var u trading.LimitsUpdate
	var e *apiError
	if u.MaxStake, e = limitAmount(trading.FieldMaxStake, b.MaxStake); e != nil {
		return u, e
	}
	if u.MaxDailyLoss, e = limitAmount(trading.FieldMaxDailyLoss, b.MaxDailyLoss); e != nil {
		return u, e
	}
	for _, c := range []struct {
		field string
		src   optNumber
		dst   **int
	}{
		{trading.FieldMaxOpenTrades, b.MaxOpenTrades, &u.MaxOpenTrades},
		{trading.FieldMaxTradesPerDay, b.MaxTradesPerDay, &u.MaxTradesPerDay},
		{trading.FieldCooldownLosses, b.CooldownLosses, &u.CooldownLosses},
	} {
		n, e := limitCount(c.field, c.src, trading.MaxLimitCount)
		if e != nil {
			return u, e
		}
		if n != nil {
			v := int(*n)
			*c.dst = &v
		}
	}
	secs, e := limitCount(trading.FieldCooldown, b.CooldownSeconds, int64(trading.MaxUserCooldown/time.Second))
	if e != nil {
		return u, e
	}
	if secs != nil {
		d := time.Duration(*secs) * time.Second
		u.Cooldown = &d
	}
	if u.Empty() {
		return u, fieldError("", "send at least one of max_stake, max_open_trades, max_trades_per_day, "+
			"max_daily_loss, cooldown_losses, cooldown_seconds")
	}
	return u, nil
}

// putLimits changes the limits the body sends and keeps the others: a
// limit left out is never switched off. 0 switches a limit off.
func (s *Server) putLimits(w http.ResponseWriter, r *http.Request) {
	var body limitsBody
	if e := decodeJSON(w, r, &body); e != nil {
		writeError(w, e)
		return
	}
	u, e := body.update()
	if e != nil {
		writeError(w, e)
		return
	}
	l, err := s.trading.UpdateLimits(r.Context(), mustPrincipal(r).UserID, u)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toLimitsJSON(l))
}
