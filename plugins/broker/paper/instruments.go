package paper

import (
	"math"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/stc-trading/stc/sdk/broker"
)

// Trading hours of the regular (non-OTC) symbols, as offsets into the Unix
// week, which starts on Thursday 00:00 UTC: closed from Friday 21:00 to
// Sunday 21:00 UTC market time, like the spot forex market. Holidays are
// not modelled.
const (
	weekSeconds = 7 * daySeconds
	closeOffset = 1*daySeconds + 21*3600 // Friday 21:00
	openOffset  = 3*daySeconds + 21*3600 // Sunday 21:00
)

// Stake limits in whole currency units.
const (
	minStake = 1
	maxStake = 20000
)

// gridExpiry is the "binary" expiry: the order expires at the next
// quarter-hour boundary at least gridMinLead away.
const (
	gridExpiry  = 15 * time.Minute
	gridMinLead = 5 * time.Minute
)

// currency is the currency of every paper account.
const currency = "USD"

// instrument is one tradable symbol with its path.
type instrument struct {
	symbol string
	name   string
	market string
	otc    bool
	payout int // percent
	path   *path
}

type pairSpec struct {
	symbol    string
	base      float64
	digits    int
	annualVol float64
}

// pairSpecs are the forex pairs with realistic levels, quote digits and
// annualised volatilities.
func pairSpecs() []pairSpec {
	return []pairSpec{
		{"EURUSD", 1.0850, 5, 0.070},
		{"GBPUSD", 1.2650, 5, 0.080},
		{"USDJPY", 150.00, 3, 0.090},
		{"AUDCAD", 0.9050, 5, 0.075},
		{"EURJPY", 162.50, 3, 0.090},
		{"GBPJPY", 190.00, 3, 0.105},
		{"USDCHF", 0.8800, 5, 0.075},
		{"AUDUSD", 0.6600, 5, 0.100},
		{"NZDUSD", 0.6100, 5, 0.105},
		{"USDCAD", 1.3600, 5, 0.060},
		{"EURGBP", 0.8550, 5, 0.055},
		{"EURCHF", 0.9550, 5, 0.055},
	}
}

// sessionProfile is the relative variance rate per UTC hour of a weekday:
// quiet Asia, London open at 07:00, the London/New York overlap peaking at
// 13:00–15:00, a fading New York afternoon.
func sessionProfile() [24]float64 {
	return [24]float64{
		0.55, 0.60, 0.60, 0.55, 0.50, 0.50, 0.65, 1.05, 1.35, 1.30, 1.15, 1.10,
		1.35, 1.60, 1.70, 1.50, 1.20, 0.95, 0.80, 0.75, 0.65, 0.45, 0.50, 0.55,
	}
}

// closedIntensity damps the variance of closed hours, so the path drifts
// only a little over a weekend and the Sunday open gaps modestly.
const closedIntensity = 0.05

// buildInstruments returns the 12 pairs and their OTC twins for seed.
func buildInstruments(seed uint64) []*instrument {
	specs := pairSpecs()
	out := make([]*instrument, 0, 2*len(specs))
	for _, s := range specs {
		prof := sessionProfile()
		if hasAny(s.symbol, "JPY", "AUD", "NZD") {
			for h := 0; h < 7; h++ { // Tokyo and Sydney trade these actively
				prof[h] *= 1.5
			}
		}
		var refTotal float64
		for _, v := range prof {
			refTotal += 3600 * v
		}
		var weekly [7][24]float64
		for wd := range weekly {
			for h := range 24 {
				v := prof[h]
				closed := (wd == int(time.Friday) && h >= 21) || wd == int(time.Saturday) || (wd == int(time.Sunday) && h < 21)
				if closed {
					v *= closedIntensity
				}
				weekly[wd][h] = v
			}
		}
		payout := 80 + int(fnv64("payout:"+s.symbol)%13)
		out = append(out, &instrument{
			symbol: s.symbol,
			name:   s.symbol[:3] + "/" + s.symbol[3:],
			market: "forex",
			payout: payout,
			path:   newPath(seed, s.symbol, s.base, s.digits, s.annualVol/math.Sqrt(260), weekly, refTotal),
		})

		// OTC: a synthetic 24/7 market with its own path and a flatter
		// intraday profile; brokers pay a little less on it.
		otc := s.symbol + "-OTC"
		var otcProf [24]float64
		var otcTotal float64
		for h, v := range prof {
			otcProf[h] = 0.5 + 0.5*v
			otcTotal += 3600 * otcProf[h]
		}
		var otcWeekly [7][24]float64
		for wd := range otcWeekly {
			otcWeekly[wd] = otcProf
		}
		out = append(out, &instrument{
			symbol: otc,
			name:   s.symbol[:3] + "/" + s.symbol[3:] + " (OTC)",
			market: "otc",
			otc:    true,
			payout: max(70, payout-4-int(fnv64("payout:"+otc)%6)),
			path:   newPath(seed, otc, s.base, s.digits, 1.2*s.annualVol/math.Sqrt(365), otcWeekly, otcTotal),
		})
	}
	return out
}

func hasAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func floorMod(a, b int64) int64 {
	r := a % b
	if r < 0 {
		r += b
	}
	return r
}

// openAt reports whether the market of in is open at second t.
func (in *instrument) openAt(t int64) bool {
	if in.otc {
		return true
	}
	off := floorMod(t, weekSeconds)
	return off < closeOffset || off >= openOffset
}

// nextOpen returns the first open second ≥ t.
func (in *instrument) nextOpen(t int64) int64 {
	if in.openAt(t) {
		return t
	}
	return t + openOffset - floorMod(t, weekSeconds)
}

// openUntil returns the first closed second after the open second t.
func (in *instrument) openUntil(t int64) int64 {
	if in.otc {
		return math.MaxInt64
	}
	off := floorMod(t, weekSeconds)
	if off < closeOffset {
		return t + closeOffset - off
	}
	return t + weekSeconds - off + closeOffset
}

// priceOf converts points to a price.
func (in *instrument) priceOf(points int64) float64 { return float64(points) / in.path.scale }

// expiries are the allowed order durations.
func expiries() []time.Duration {
	return []time.Duration{60 * time.Second, 120 * time.Second, 180 * time.Second, 240 * time.Second, 300 * time.Second, gridExpiry}
}

// expiryTime returns when an order placed at second placed with duration
// d expires; ok is false for a duration that is not offered. Durations of
// 60–300 s run exactly that long. 15 minutes is the quarter-hour grid: the
// first boundary (:00, :15, :30, :45 UTC) at least 5 minutes after
// placement, so the order runs between 5:00 and 19:59.
func expiryTime(placed int64, d time.Duration) (int64, bool) {
	switch d {
	case gridExpiry:
		step := int64(gridExpiry / time.Second)
		earliest := placed + int64(gridMinLead/time.Second)
		return earliest + floorMod(-earliest, step), true
	case 60 * time.Second, 120 * time.Second, 180 * time.Second, 240 * time.Second, 300 * time.Second:
		return placed + int64(d/time.Second), true
	}
	return 0, false
}

// info describes in at market second now.
func (in *instrument) info(now int64) broker.Instrument {
	return broker.Instrument{
		Symbol:        in.symbol,
		Name:          in.name,
		Market:        in.market,
		PayoutPercent: float64(in.payout),
		Open:          in.openAt(now),
		MinStake:      decimal.NewFromInt(minStake),
		MaxStake:      decimal.NewFromInt(maxStake),
		Expiries:      expiries(),
	}
}
