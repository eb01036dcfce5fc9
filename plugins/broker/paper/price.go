package paper

import (
	"math"
	"sync"
)

// The price process.
//
// Each instrument has a log-price path X(t) defined at every Unix second t
// from originUnix on, as a pure function of (seed, symbol, t):
//
//   - Daily anchors A(d) = X(origin + d·86400) follow a mean-reverting
//     random walk (an Ornstein–Uhlenbeck step per day, half-life about
//     half a year, so prices stay near realistic levels for decades). Each
//     step uses a hashed normal of (seed, symbol, d) and the day's
//     volatility, which carries a hashed log-normal "regime" multiplier for
//     volatility clustering. The walk is computed forward once from the
//     origin and cached per symbol: about 2,500 cheap steps for 2026.
//   - Inside a day X is a Brownian bridge from A(d) to A(d+1) in "business
//     time" τ, the integrated intraday intensity (higher in the London and
//     New York sessions, lower in Asia, nearly flat for closed weekend
//     hours of regular symbols). The bridge is built by hierarchical
//     midpoint subdivision of the integer interval [0, 86400]: the value
//     at midpoint m of [a, b] is the conditional mean given X(a), X(b) plus
//     σ·sqrt((τm−τa)(τb−τm)/(τb−τa)) times a normal hashed from
//     (seed, symbol, d, m). Every interior second is the midpoint of exactly
//     one node, so one second costs one root-to-leaf descent (17 levels)
//     and a run of n seconds costs about n + 34 node evaluations, and every
//     caller sees the same value for the same second.
//
// Prices are exp(X) (see dayFill.set) rounded to the instrument's quote
// digits (points), at least one point, so they are always finite and
// positive, and equal rounded prices make binary-option draws possible as
// on real brokers. Results are bit-identical for the same binary and
// architecture (a different FPU could differ in the last bit of X, which
// the rounding to points hides in all but rare boundary cases).

// originUnix is the first second of price history, 2020-01-01T00:00:00Z
// (a Wednesday). No candles exist before it.
const originUnix int64 = 1577836800

// daySeconds is the length of a UTC day.
const daySeconds = 86400

// meanReversion is the daily pull of the anchors towards the base price.
const meanReversion = 0.004

// Hash domains keep the normals of different uses independent.
const (
	domainAnchor uint64 = 0xa0761d6478bd642f
	domainRegime uint64 = 0xe7037ed1a0b428db
	domainBridge uint64 = 0x8ebc6af09c88c6e3
	domainStart  uint64 = 0x589965cc75374cc3
)

// mix64 is the splitmix64 finaliser: a fast bijective hash whose output
// bits are all well mixed, which is what per-node normals need.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// fnv64 hashes a symbol; a stable, documented hash so the same symbol gets
// the same path on every platform.
func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// hashNormal turns a hash into a standard normal by the inverse CDF.
func hashNormal(h uint64) float64 {
	u := (float64(h>>11) + 0.5) * (1.0 / (1 << 53)) // (0, 1), never 0 or 1
	return invNorm(u)
}

// invNorm is Acklam's rational approximation of the standard normal
// quantile (relative error < 1.2e-9). It is several times cheaper than
// Box–Muller in the central region, which is most of the draws.
func invNorm(p float64) float64 {
	const (
		a1, a2, a3 = -3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02
		a4, a5, a6 = 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00
		b1, b2, b3 = -5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02
		b4, b5     = 6.680131188771972e+01, -1.328068155288572e+01
		c1, c2, c3 = -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00
		c4, c5, c6 = -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00
		d1, d2, d3 = 7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00
		d4         = 3.754408661907416e+00
		pLow       = 0.02425
	)
	switch {
	case p < pLow:
		q := math.Sqrt(-2 * math.Log(p))
		return (((((c1*q+c2)*q+c3)*q+c4)*q+c5)*q + c6) / ((((d1*q+d2)*q+d3)*q+d4)*q + 1)
	case p <= 1-pLow:
		q := p - 0.5
		r := q * q
		return (((((a1*r+a2)*r+a3)*r+a4)*r+a5)*r + a6) * q / (((((b1*r+b2)*r+b3)*r+b4)*r+b5)*r + 1)
	default:
		q := math.Sqrt(-2 * math.Log1p(-p))
		return -(((((c1*q+c2)*q+c3)*q+c4)*q+c5)*q + c6) / ((((d1*q+d2)*q+d3)*q+d4)*q + 1)
	}
}

// dayProfile is the intraday intensity of one weekday: rate[h] is the
// variance rate (per second, relative) during UTC hour h and cum[h] its
// integral up to the start of hour h, so τ(s) is O(1).
type dayProfile struct {
	rate [25]float64
	cum  [25]float64
}

func newDayProfile(hourly [24]float64) dayProfile {
	var p dayProfile
	for h := 0; h < 24; h++ {
		p.rate[h] = hourly[h]
		p.cum[h+1] = p.cum[h] + 3600*hourly[h]
	}
	return p
}

// tau is the business time at second s ∈ [0, 86400] of the day.
func (p *dayProfile) tau(s int) float64 {
	h := s / 3600
	return p.cum[h] + float64(s-h*3600)*p.rate[h]
}

func (p *dayProfile) total() float64 { return p.cum[24] }

// path is one instrument's price path for one seed. It is safe for
// concurrent use; only the anchor cache is mutable.
type path struct {
	key       uint64  // seed ⊕ symbol hash
	level     float64 // log of the base price, the mean-reversion level
	sigmaUnit float64 // log-price stdev per sqrt(unit of business time)
	scale     float64 // points per price unit, 10^digits
	profiles  [7]dayProfile

	mu      sync.RWMutex
	anchors []float64
}

// newPath builds the path of symbol for seed. weekly gives the hourly
// intensity of each weekday (index time.Weekday); dailyVol is the stdev of
// one day's log return on a day whose intensity totals refTotal.
func newPath(seed uint64, symbol string, base float64, digits int, dailyVol float64, weekly [7][24]float64, refTotal float64) *path {
	p := &path{
		key:   mix64(seed ^ mix64(fnv64(symbol))),
		level: math.Log(base),
		scale: math.Pow(10, float64(digits)),
	}
	for wd := range weekly {
		p.profiles[wd] = newDayProfile(weekly[wd])
	}
	p.sigmaUnit = dailyVol / math.Sqrt(refTotal)
	// The start level varies a little with the seed, so seeds differ from
	// the first second on.
	p.anchors = []float64{p.level + 0.02*hashNormal(mix64(p.key^domainStart))}
	return p
}

func (p *path) hash(domain uint64, n int64) uint64 {
	return mix64(p.key ^ mix64(domain+uint64(n)*0x9e3779b97f4a7c15))
}

// profile returns the intensity profile of day index d (origin is a
// Wednesday).
func (p *path) profile(d int64) *dayProfile {
	return &p.profiles[(d+3)%7]
}

// daySigma is the stdev of log price per sqrt(business time) on day d,
// including the day's volatility regime.
func (p *path) daySigma(d int64) float64 {
	regime := math.Exp(0.25*hashNormal(p.hash(domainRegime, d)) - 0.0625)
	return p.sigmaUnit * regime
}

// anchor returns A(d), d ≥ 0, extending the cache as needed.
func (p *path) anchor(d int64) float64 {
	p.mu.RLock()
	if d < int64(len(p.anchors)) {
		v := p.anchors[d]
		p.mu.RUnlock()
		return v
	}
	p.mu.RUnlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := int64(len(p.anchors)) - 1; i < d; i++ {
		a := p.anchors[i]
		step := p.daySigma(i) * math.Sqrt(p.profile(i).total()) * hashNormal(p.hash(domainAnchor, i))
		p.anchors = append(p.anchors, a+meanReversion*(p.level-a)+step)
	}
	return p.anchors[d]
}

// points converts a log price to quote points, at least one point.
func (p *path) points(x float64) int64 {
	v := math.Round(math.Exp(x) * p.scale)
	if !(v >= 1) { // also catches NaN
		return 1
	}
	if v > 1e15 {
		return 1e15
	}
	return int64(v)
}

// dayFill evaluates the bridge of one day for the seconds [lo, hi].
type dayFill struct {
	prof   *dayProfile
	key    uint64
	sig    float64
	lo, hi int
	out    []int64
	x0     float64 // A(d)
	e0     float64 // exp(A(d)) · scale
}

// set stores the points of second s. The price is
// exp(A(d)) · (1 + δ + δ²/2 + δ³/6) with δ = X − A(d): the cubic Taylor
// polynomial of exp(δ), which is strictly increasing and positive for any
// realistic δ (> −1.59). It agrees with exp(X) to < 1e-8 relative for a 2 %
// intraday move, far below a point, and costs three multiplications where
// math.Exp was a third of the cost of a tick.
func (f *dayFill) set(s int, x float64) {
	if s < f.lo || s > f.hi {
		return
	}
	d := x - f.x0
	v := math.Round(f.e0 * (1 + d*(1+d*(0.5+d*(1.0/6)))))
	if !(v >= 1) { // also catches NaN
		v = 1
	}
	f.out[s-f.lo] = int64(min(v, 1e15))
}

// descend evaluates the nodes under [a, b] whose interior meets [lo, hi].
// It recurses on one side and loops on the other, so depth stays ≤ 17.
func (f *dayFill) descend(a, b int, xa, xb, ta, tb float64) {
	for b-a > 1 {
		m := (a + b) >> 1
		tm := f.prof.tau(m)
		l, r, inv := tm-ta, tb-tm, 1/(tb-ta)
		xm := xa + (xb-xa)*(l*inv) + f.sig*math.Sqrt(l*r*inv)*hashNormal(mix64(f.key+uint64(m)*0x9e3779b97f4a7c15))
		f.set(m, xm)
		left := m-a >= 2 && f.lo < m && f.hi > a
		right := b-m >= 2 && f.hi > m && f.lo < b
		switch {
		case left && right:
			f.descend(a, m, xa, xm, ta, tm)
			a, xa, ta = m, xm, tm
		case left:
			b, xb, tb = m, xm, tm
		case right:
			a, xa, ta = m, xm, tm
		default:
			return
		}
	}
}

// fillDay writes the points of seconds [lo, hi] (0 ≤ lo ≤ hi < 86400) of
// day index d ≥ 0 into out.
func (p *path) fillDay(d int64, lo, hi int, out []int64) {
	a0, a1 := p.anchor(d), p.anchor(d+1)
	prof := p.profile(d)
	f := dayFill{prof: prof, key: p.hash(domainBridge, d), sig: p.daySigma(d), lo: lo, hi: hi, out: out,
		x0: a0, e0: math.Exp(a0) * p.scale}
	f.set(0, a0)
	f.descend(0, daySeconds, a0, a1, 0, prof.total())
}

// fill writes the points of the seconds [from, to) into out. Seconds before
// the origin repeat the origin's price.
func (p *path) fill(from, to int64, out []int64) {
	i := 0
	for t := from; t < to; {
		if t < originUnix {
			out[i] = p.points(p.anchor(0))
			i++
			t++
			continue
		}
		d := (t - originUnix) / daySeconds
		s := int(t - originUnix - d*daySeconds)
		n := int(min(to-t, int64(daySeconds-s)))
		p.fillDay(d, s, s+n-1, out[i:i+n])
		i += n
		t += int64(n)
	}
}

// at returns the points of second t.
func (p *path) at(t int64) int64 {
	var v [1]int64
	p.fill(t, t+1, v[:])
	return v[0]
}
