package iqfake

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

// Active is one instrument of the fake catalogue.
type Active struct {
	ID   int64
	Name string // localisation key, e.g. "front.EURUSD-OTC"
	// Base is the price level the path oscillates around.
	Base      float64
	Precision int
	Suspended bool
	// Turbo and Binary say which option kinds the active offers.
	Turbo, Binary                     bool
	TurboCommission, BinaryCommission float64
	TurboDeadtime, BinaryDeadtime     int64
	MinBet, MaxBet                    float64
}

// DefaultActives is a small catalogue with the shapes that matter: classic
// non-OTC ids that are suspended since the Dec-2024 "-op" migration, their
// "-op" replacements, and OTC actives (ids from docs/brokers/IQOPTION.md
// §7.4).
func DefaultActives() []Active {
	mk := func(id int64, name string, base float64, commission float64, suspended bool) Active {
		return Active{ID: id, Name: "front." + name, Base: base, Precision: 6, Suspended: suspended,
			Turbo: true, Binary: true, TurboCommission: commission, BinaryCommission: commission + 5,
			TurboDeadtime: 30, BinaryDeadtime: 300, MinBet: 1, MaxBet: 20000}
	}
	return []Active{
		mk(1, "EURUSD", 1.0842, 14, true),
		mk(1861, "EURUSD-op", 1.0842, 13, false),
		mk(5, "GBPUSD", 1.2661, 15, true),
		mk(1867, "GBPUSD-op", 1.2661, 16, false),
		mk(76, "EURUSD-OTC", 1.0791, 8, false),
		mk(77, "EURGBP-OTC", 0.8553, 12, false),
		mk(81, "GBPUSD-OTC", 1.2702, 10, false),
		mk(85, "USDJPY-OTC", 149.812, 11, false),
		mk(86, "AUDCAD-OTC", 0.9042, 13, false),
	}
}

// splitmix64 is the hash behind the price noise.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// price is the deterministic quote of a at unix second t.
func (s *Server) price(a *Active, t int64) float64 {
	h := splitmix64(s.cfg.Seed ^ uint64(a.ID)<<40 ^ uint64(t))
	noise := float64(h>>11)/float64(1<<53)*2 - 1
	phase := float64(a.ID % 17)
	x := float64(t)
	v := a.Base * (1 + 0.002*math.Sin(2*math.Pi*x/3600+phase) + 0.0006*math.Sin(2*math.Pi*x/420+2*phase) + 0.00015*noise)
	p := math.Pow(10, float64(a.Precision))
	return math.Round(v*p) / p
}

// candle is one OHLC bar of the fake.
type candle struct {
	from, size            int64
	open, close, min, max float64
	volume                int64
}

// candleAt aggregates [from, min(from+size, upto)) sampled at most ~60 times.
func (s *Server) candleAt(a *Active, from, size, upto int64) candle {
	end := min(from+size, upto)
	stride := max(size/60, 1)
	c := candle{from: from, size: size, open: s.price(a, from)}
	c.min, c.max = c.open, c.open
	last := c.open
	for t := from; t < end; t += stride {
		p := s.price(a, t)
		c.min, c.max = math.Min(c.min, p), math.Max(c.max, p)
		last = p
		c.volume++
	}
	if end-1 > from {
		last = s.price(a, end-1)
		c.min, c.max = math.Min(c.min, last), math.Max(c.max, last)
	}
	c.close = last
	return c
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
func itoa(v int64) string   { return strconv.FormatInt(v, 10) }

// json renders a candle as in the candles answer
// (docs/brokers/IQOPTION.md §8.1, §14.7).
func (c candle) json() string {
	return `{"id":` + itoa(c.from/c.size) + `,"from":` + itoa(c.from) + `,"to":` + itoa(c.from+c.size) +
		`,"open":` + ftoa(c.open) + `,"close":` + ftoa(c.close) + `,"min":` + ftoa(c.min) + `,"max":` + ftoa(c.max) +
		`,"volume":` + itoa(c.volume) + `}`
}

// pushJSON renders a candle-generated push (docs/brokers/IQOPTION.md
// §14.8), at in nanoseconds.
func (c candle) pushJSON(activeID, atNS int64, phase string) string {
	spread := c.close * 0.00007
	return `{"name":"candle-generated","microserviceName":"quotes","msg":{"active_id":` + itoa(activeID) + `,"size":` + itoa(c.size) +
		`,"at":` + itoa(atNS) + `,"from":` + itoa(c.from) + `,"to":` + itoa(c.from+c.size) + `,"id":` + itoa(c.from/c.size) +
		`,"open":` + ftoa(c.open) + `,"close":` + ftoa(c.close) + `,"min":` + ftoa(c.min) + `,"max":` + ftoa(c.max) +
		`,"ask":` + ftoa(c.close+spread) + `,"bid":` + ftoa(c.close-spread) + `,"volume":` + itoa(c.volume) + `,"phase":"` + phase + `"}}`
}

// initDataLocked renders initialization-data: binary and turbo actives
// with the fields of docs/brokers/IQOPTION.md §7.1 (plus a few
// real-looking extras).
func (s *Server) initDataLocked() json.RawMessage {
	kind := func(turbo bool) map[string]any {
		actives := map[string]any{}
		for _, id := range s.order {
			a := s.actives[id]
			if (turbo && !a.Turbo) || (!turbo && !a.Binary) {
				continue
			}
			comm, dead, exps := a.BinaryCommission, a.BinaryDeadtime, []int{900, 1800, 2700, 3600}
			if turbo {
				comm, dead, exps = a.TurboCommission, a.TurboDeadtime, []int{60, 120, 180, 240, 300}
			}
			ticker := strings.TrimPrefix(a.Name, "front.")
			actives[itoa(id)] = map[string]any{
				"id": id, "name": a.Name, "ticker": ticker, "description": "front." + ticker + "-desc", "image": "/files/" + ticker + ".png",
				"is_suspended": a.Suspended, "enabled": true, "schedule": [][]int64{{s.nowMS/1000 - 86400, s.nowMS/1000 + 7*86400}},
				"deadtime": dead, "buyback_deadtime": 1800, "minimal_bet": a.MinBet, "maximal_bet": a.MaxBet, "precision": a.Precision,
				"group_id": 1, "provider": "OANDA", "sort": id, "is_buyback": false, "rollover_enabled": false,
				"option": map[string]any{
					"count": 5, "expiration_times": exps, "bet_close_time": dead, "exp_time": 60,
					"profit":  map[string]any{"commission": comm, "refund_min": 0, "refund_max": 0},
					"special": map[string]any{},
				},
			}
		}
		return map[string]any{"actives": actives, "list": []any{}}
	}
	b, _ := json.Marshal(map[string]any{
		"binary": kind(false), "turbo": kind(true), "blitz": map[string]any{"actives": map[string]any{}},
		"currency": "USD", "is_buyback": true, "groups": []any{},
	})
	return b
}
