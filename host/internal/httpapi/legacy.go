package httpapi

import (
	"errors"
	"fmt"
	"net/http"
)

// The V1 API served IQ Option data only; these routes keep its shapes for
// existing clients and answer from the same services as v2.

const legacyBroker = "iqoption"

// legacyFailure marks a V1 route's market-data error: without the iqoption
// plugin, V1 is not served here (503), rather than refused as the client's
// choice of broker.
func legacyFailure(err error) error {
	if errors.Is(err, ErrUnknownBroker) {
		err = fmt.Errorf("%w: %w", errLegacyBrokerMissing, err)
	}
	return marketData(err)
}

func (s *Server) legacySymbols(w http.ResponseWriter, r *http.Request) {
	list, err := s.markets.Symbols(r.Context(), legacyBroker)
	if err != nil {
		s.fail(w, r, legacyFailure(err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"symbols": instrumentsJSON(list), "source": list.Source})
}

func (s *Server) legacyCandles(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	symbol, apiErr := symbolParam(q)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	tf, apiErr := timeframeParam(q.Get("timeframe"), "1m")
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	count, apiErr := intParam(q.Get("count"), 100, 1, 5000, "count")
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	client, ok := s.candleClient(w, r)
	if !ok {
		return
	}
	series, err := s.markets.Candles(r.Context(), client, legacyBroker, symbol, tf, 0, 0, count)
	if err != nil {
		s.fail(w, r, legacyFailure(err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"candles": candlesJSON(series)})
}
