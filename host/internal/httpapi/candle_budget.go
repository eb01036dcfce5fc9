package httpapi

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/stc-trading/stc/host/internal/marketdata"
	"github.com/stc-trading/stc/host/internal/users"
)

// candleClient says who asks for candles, for the market-data budgets: a
// signed-in user (a session or an API key of any scope) or, without a
// token, the client address, whose budget is the smallest. A token that
// does not authenticate is refused (401) rather than served as
// anonymous, so a client learns its token is bad instead of meeting the
// anonymous limits. ok is false when the answer has been written.
func (s *Server) candleClient(w http.ResponseWriter, r *http.Request) (c marketdata.Client, ok bool) {
	token, has := bearer(r)
	if !has {
		ip, _ := s.keyByIP(r)
		return marketdata.Client{ID: ip, Anonymous: true}, true
	}
	p, err := s.users.Authenticate(r.Context(), token)
	if errors.Is(err, users.ErrUnauthenticated) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="stc", error="invalid_token"`)
		writeError(w, errUnauthenticated)
		return marketdata.Client{}, false
	}
	if err != nil {
		s.internalError(w, r, err)
		return marketdata.Client{}, false
	}
	return marketdata.Client{ID: "user:" + strconv.FormatInt(p.UserID, 10)}, true
}

// candlesError answers a failed candle read. The market-data budget's
// refusals are the client's to act on: a request that spans too much
// market time is a 400 (ask for less), one that needs a broker fetch the
// budget does not allow now is a 429 with Retry-After. Anything else is
// the broker's, answered by otherwise.
func candlesError(w http.ResponseWriter, err error, otherwise func(http.ResponseWriter, error)) {
	var span *marketdata.SpanError
	var budget *marketdata.BudgetError
	switch {
	case errors.As(err, &span):
		writeError(w, &apiError{Status: http.StatusBadRequest, Code: "candle_span_too_large",
			Message: span.Error() + "; ask for fewer candles, a smaller timeframe or a shorter from/to range",
			Details: map[string]any{"max_days": spanDays(span.Max), "requested_days": spanDays(span.Requested)}})
	case errors.As(err, &budget):
		retryAfter(w, budget.RetryAfter)
		writeError(w, &apiError{Status: http.StatusTooManyRequests, Code: "market_data_rate_limited",
			Message: budget.Error(), Details: map[string]any{"scope": budget.Scope}})
	default:
		otherwise(w, err)
	}
}

// spanDays renders a span in days, to the hundredth.
func spanDays(d time.Duration) float64 {
	return math.Round(d.Hours()/24*100) / 100
}
