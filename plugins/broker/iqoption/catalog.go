package iqoption

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/stc-trading/stc/sdk/broker"
)

// Option type ids of binary-options.open-option.
const (
	optionBinary = 1 // 15-minute grid
	optionTurbo  = 3 // 1 to 5 minutes
	binarySize   = 900
)

// initData is the msg of initialization-data (binary-options v3.0).
type initData struct {
	Binary struct {
		Actives map[string]activeDTO `json:"actives"`
	} `json:"binary"`
	Turbo struct {
		Actives map[string]activeDTO `json:"actives"`
	} `json:"turbo"`
	Result json.RawMessage `json:"result"` // some servers wrap the answer once more
}

// activeDTO is one active of one option kind. Only the fields the adapter
// uses are listed; the rest are ignored.
type activeDTO struct {
	ID          flexInt     `json:"id"`
	Name        string      `json:"name"`
	Ticker      string      `json:"ticker"`
	IsSuspended flexBool    `json:"is_suspended"`
	Enabled     *flexBool   `json:"enabled"`
	Schedule    [][]flexInt `json:"schedule"`
	Deadtime    flexInt     `json:"deadtime"`
	MinimalBet  flexFloat   `json:"minimal_bet"`
	MaximalBet  flexFloat   `json:"maximal_bet"`
	Option      struct {
		ExpirationTimes []flexInt `json:"expiration_times"`
		Profit          struct {
			Commission flexFloat `json:"commission"`
		} `json:"profit"`
	} `json:"option"`
}

// kind is one option kind (turbo or binary) of an active.
type kind struct {
	typeID      int
	deadtime    int64
	commission  float64
	expirations []int64 // seconds
	minBet      decimal.Decimal
	maxBet      decimal.Decimal
	suspended   bool
	enabled     bool
	schedule    [][2]int64
}

func (k *kind) payout() float64 { return 100 - k.commission }

// tradableAt reports whether k can be bought at unix second now.
func (k *kind) tradableAt(now int64) bool {
	if k == nil || !k.enabled || k.suspended || k.payout() <= 0 {
		return false
	}
	if len(k.schedule) == 0 {
		return true
	}
	for _, w := range k.schedule {
		if now >= w[0] && now < w[1] {
			return true
		}
	}
	return false
}

// active is one instrument: an active id with its turbo and binary kinds.
// Its kinds' commissions change live: read them under cat.mu.
type active struct {
	cat    *catalog
	id     int64
	symbol string
	raw    string // the server's own name, e.g. EURUSD-op
	turbo  *kind
	binary *kind
}

// catalog is the actives discovered at runtime, by symbol and by id. The
// maps never change after parsing; mu guards the commissions, which
// commission-changed pushes update. One catalogue is shared by the
// sessions of a user group (see Adapter.catalogs).
type catalog struct {
	mu       sync.RWMutex
	bySymbol map[string]*active
	byID     map[int64]*active
	fetched  time.Time
}

// setCommission applies a commission-changed push.
func (c *catalog) setCommission(m commissionMsg) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.byID[int64(m.ActiveID)]
	if a == nil {
		return
	}
	k := a.turbo
	if m.InstrumentType == "binary-option" || m.InstrumentType == "binary" {
		k = a.binary
	}
	if k != nil {
		k.commission = float64(m.Commission.Value)
	}
}

// instruments describes every symbol at unix second now.
func (c *catalog) instruments(now int64) []broker.Instrument {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]broker.Instrument, 0, len(c.bySymbol))
	for _, a := range c.bySymbol {
		out = append(out, a.instrument(now))
	}
	sortInstruments(out)
	return out
}

// sharedCatalogs holds one catalogue per user group, so a thousand
// sessions of one group hold one parsed catalogue, not a thousand.
type sharedCatalogs struct {
	mu sync.Mutex
	m  map[int64]*catalog
}

func (s *sharedCatalogs) get(group int64) *catalog {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[group]
}

func (s *sharedCatalogs) put(group int64, c *catalog) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.m[group]; old == nil || c.fetched.After(old.fetched) {
		s.m[group] = c
	}
}

// symbolOf turns a localisation key such as "front.EURUSD-OTC" into the
// symbol; the Dec-2024 "-op" suffix is dropped, since it names the same
// market under a new id.
func symbolOf(d activeDTO) (symbol, raw string) {
	raw = d.Name
	if i := strings.LastIndexByte(raw, '.'); i >= 0 {
		raw = raw[i+1:]
	}
	if raw == "" {
		raw = d.Ticker
	}
	raw = strings.TrimSpace(raw)
	symbol = strings.ToUpper(raw)
	if strings.HasSuffix(raw, "-op") || strings.HasSuffix(symbol, "-OP") {
		symbol = symbol[:len(symbol)-3]
	}
	return symbol, raw
}

func kindOf(d activeDTO, typeID int) *kind {
	k := &kind{
		typeID:     typeID,
		deadtime:   int64(d.Deadtime),
		commission: float64(d.Option.Profit.Commission),
		minBet:     decimal.NewFromFloat(float64(d.MinimalBet)),
		maxBet:     decimal.NewFromFloat(float64(d.MaximalBet)),
		suspended:  bool(d.IsSuspended),
		enabled:    d.Enabled == nil || bool(*d.Enabled),
	}
	for _, e := range d.Option.ExpirationTimes {
		k.expirations = append(k.expirations, int64(e))
	}
	for _, w := range d.Schedule {
		if len(w) == 2 {
			k.schedule = append(k.schedule, [2]int64{int64(w[0]), int64(w[1])})
		}
	}
	if !k.minBet.IsPositive() {
		k.minBet = decimal.NewFromInt(1)
	}
	if k.maxBet.LessThan(k.minBet) {
		k.maxBet = decimal.NewFromInt(20000)
	}
	return k
}

// parseCatalog builds the catalogue from an initialization-data msg.
// Symbols served by several ids keep the best one: tradable before
// suspended, then the "-op" id (the current one for regular forex).
func parseCatalog(msg json.RawMessage, now int64) (*catalog, error) {
	var d initData
	if err := json.Unmarshal(msg, &d); err != nil {
		return nil, fmt.Errorf("iqoption: initialization data: %w", err)
	}
	if len(d.Binary.Actives) == 0 && len(d.Turbo.Actives) == 0 && len(d.Result) > 0 {
		return parseCatalog(d.Result, now)
	}
	byID := map[int64]*active{}
	add := func(m map[string]activeDTO, typeID int) {
		for key, a := range m {
			id := int64(a.ID)
			if id == 0 {
				if _, err := fmt.Sscan(key, &id); err != nil {
					continue
				}
			}
			sym, raw := symbolOf(a)
			if sym == "" {
				continue
			}
			x := byID[id]
			if x == nil {
				x = &active{id: id, symbol: sym, raw: raw}
				byID[id] = x
			}
			if typeID == optionTurbo {
				x.turbo = kindOf(a, typeID)
			} else {
				x.binary = kindOf(a, typeID)
			}
		}
	}
	add(d.Turbo.Actives, optionTurbo)
	add(d.Binary.Actives, optionBinary)
	c := &catalog{bySymbol: map[string]*active{}, byID: byID}
	for _, a := range byID {
		a.cat = c
		if a.payout() <= 0 {
			continue
		}
		old := c.bySymbol[a.symbol]
		if old == nil || better(a, old, now) {
			c.bySymbol[a.symbol] = a
		}
	}
	return c, nil
}

func better(a, b *active, now int64) bool {
	if at, bt := a.tradableAt(now), b.tradableAt(now); at != bt {
		return at
	}
	if ao, bo := strings.HasSuffix(a.raw, "-op"), strings.HasSuffix(b.raw, "-op"); ao != bo {
		return ao
	}
	return a.id > b.id
}

func (a *active) tradableAt(now int64) bool {
	return a.turbo.tradableAt(now) || a.binary.tradableAt(now)
}

// main is the kind that represents the active in listings: turbo first.
func (a *active) main() *kind {
	if a.turbo != nil {
		return a.turbo
	}
	return a.binary
}

func (a *active) payout() float64 {
	if k := a.main(); k != nil {
		return k.payout()
	}
	return 0
}

// expiries lists the durations PlaceOrder accepts for a.
func (a *active) expiries() []time.Duration {
	var out []time.Duration
	if a.turbo != nil {
		for _, m := range turboMinutes(a.turbo) {
			out = append(out, time.Duration(m)*time.Minute)
		}
	}
	if a.binary != nil {
		out = append(out, binarySize*time.Second)
	}
	return out
}

// turboMinutes are the turbo durations in minutes: the active's
// expiration_times that are whole minutes from 1 to 5, or 1..5 when the
// server lists none.
func turboMinutes(k *kind) []int64 {
	var out []int64
	for _, e := range k.expirations {
		if e > 0 && e%60 == 0 && e <= 300 {
			out = append(out, e/60)
		}
	}
	if len(out) == 0 {
		out = []int64{1, 2, 3, 4, 5}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return compact(out)
}

func compact(s []int64) []int64 {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// instrument describes a at unix second now; a.cat.mu is held.
func (a *active) instrument(now int64) broker.Instrument {
	k := a.main()
	market := "forex"
	if strings.HasSuffix(a.symbol, "-OTC") {
		market = "otc"
	}
	return broker.Instrument{
		Symbol:        a.symbol,
		Name:          a.raw,
		Market:        market,
		PayoutPercent: math.Round(a.payout()*100) / 100,
		Open:          a.tradableAt(now),
		MinStake:      k.minBet,
		MaxStake:      k.maxBet,
		Expiries:      a.expiries(),
	}
}

// turboExpiry is the expiry of a turbo option of the given minutes bought
// at server second now: the next whole minute whose purchase window
// (expiry − deadtime) is still open, plus minutes − 1.
func turboExpiry(now, minutes, deadtime int64) int64 {
	next := now - now%60 + 60
	if next-deadtime <= now {
		next += 60
	}
	return next + (minutes-1)*60
}

// binaryExpiry is the first quarter-hour boundary whose purchase window is
// still open at server second now (the vendor SDK's rule).
func binaryExpiry(now, deadtime int64) int64 {
	exp := now - now%binarySize + binarySize
	if exp-deadtime <= now {
		exp += binarySize
	}
	return exp
}

// plan picks the option kind and expiry second for an order of duration d
// at server second now; a.cat.mu is held.
func (a *active) plan(d time.Duration, now int64) (*kind, int64, error) {
	secs := int64(d / time.Second)
	if d%time.Second == 0 && a.turbo != nil && secs%60 == 0 {
		for _, m := range turboMinutes(a.turbo) {
			if m*60 == secs {
				return a.turbo, turboExpiry(now, m, a.turbo.deadtime), nil
			}
		}
	}
	if secs == binarySize && d%time.Second == 0 && a.binary != nil {
		return a.binary, binaryExpiry(now, a.binary.deadtime), nil
	}
	return nil, 0, broker.NewError(broker.ErrInvalidOrder, "expiry %s is not offered for %s (offered: %v)", d, a.symbol, a.expiries())
}

// commissionMsg is the msg of a commission-changed push.
type commissionMsg struct {
	InstrumentType string  `json:"instrument_type"`
	ActiveID       flexInt `json:"active_id"`
	Commission     struct {
		Value flexFloat `json:"value"`
	} `json:"commission"`
}

// sortInstruments orders a listing by symbol, for stable answers.
func sortInstruments(list []broker.Instrument) {
	sort.Slice(list, func(i, j int) bool { return list[i].Symbol < list[j].Symbol })
}
