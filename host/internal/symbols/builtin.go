package symbols

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/stc-trading/stc/sdk/broker"
)

// Builtin returns the fallback list served for a broker that cannot be
// reached and has nothing cached: the major forex pairs and their -OTC
// twins that binary-options brokers list, with conservative payouts. It
// is the same for every broker, so the host names none. Whether a regular
// pair is open is computed from the forex week at now (closed Friday 21:00
// to Sunday 21:00 UTC); OTC pairs are always open.
func Builtin(now time.Time) []broker.Instrument {
	pairs := []struct{ symbol, name string }{
		{"EURUSD", "EUR/USD"}, {"GBPUSD", "GBP/USD"}, {"USDJPY", "USD/JPY"}, {"AUDCAD", "AUD/CAD"},
		{"EURJPY", "EUR/JPY"}, {"GBPJPY", "GBP/JPY"}, {"USDCHF", "USD/CHF"}, {"AUDUSD", "AUD/USD"},
		{"NZDUSD", "NZD/USD"}, {"USDCAD", "USD/CAD"}, {"EURGBP", "EUR/GBP"}, {"EURCHF", "EUR/CHF"},
	}
	expiries := []time.Duration{time.Minute, 2 * time.Minute, 3 * time.Minute, 4 * time.Minute, 5 * time.Minute, 15 * time.Minute}
	open := forexOpen(now)
	var list []broker.Instrument
	for _, p := range pairs {
		base := broker.Instrument{Symbol: p.symbol, Name: p.name, Market: "forex", PayoutPercent: 80, Open: open,
			MinStake: decimal.NewFromInt(1), MaxStake: decimal.NewFromInt(20000), Expiries: expiries}
		otc := base
		otc.Symbol, otc.Name, otc.Market, otc.PayoutPercent, otc.Open = p.symbol+"-OTC", p.name+" (OTC)", "otc", 75, true
		list = append(list, base, otc)
	}
	return list
}

// forexOpen reports whether the regular forex market is open at t.
func forexOpen(t time.Time) bool {
	t = t.UTC()
	switch t.Weekday() {
	case time.Saturday:
		return false
	case time.Friday:
		return t.Hour() < 21
	case time.Sunday:
		return t.Hour() >= 21
	}
	return true
}
