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

// spanDays renders a span in days, to the hundredth.
func spanDays(d time.Duration) float64 {
	return math.Round(d.Hours()/24*100) / 100
}
