package iqoption

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/sdk/broker"
)

// initFixture is initialization-data with a suspended classic id, its
// "-op" replacement, an OTC active, an active without the enabled field and
// one whose ids only appear as map keys.
const initFixture = `{"binary":{"actives":{
 "1":{"id":1,"name":"front.EURUSD","is_suspended":true,"enabled":true,"deadtime":300,"minimal_bet":1,"maximal_bet":20000,"option":{"expiration_times":[900],"profit":{"commission":20}}},
 "1861":{"id":1861,"name":"front.EURUSD-op","is_suspended":false,"enabled":true,"deadtime":300,"minimal_bet":1,"maximal_bet":20000,"option":{"profit":{"commission":18}}},
 "76":{"id":76,"name":"front.EURUSD-OTC","is_suspended":false,"enabled":true,"deadtime":300,"option":{"profit":{"commission":15}},"unknown":{"a":1}}}},
 "turbo":{"actives":{
 "1":{"id":1,"name":"front.EURUSD","is_suspended":true,"enabled":true,"deadtime":30,"option":{"expiration_times":[60,120,180,240,300],"profit":{"commission":14}}},
 "1861":{"id":1861,"name":"front.EURUSD-op","is_suspended":false,"enabled":true,"deadtime":30,"minimal_bet":1,"maximal_bet":5000,"schedule":[[0,9999999999]],"option":{"expiration_times":[60,120,180,240,300],"profit":{"commission":13}}},
 "76":{"id":76,"name":"front.EURUSD-OTC","is_suspended":false,"deadtime":30,"option":{"expiration_times":[60,120,300,30],"profit":{"commission":8}}},
 "2111":{"name":"front.AUDUSD-OTC","is_suspended":false,"enabled":true,"deadtime":30,"schedule":[[100,200]],"option":{"profit":{"commission":9}}}}},
 "blitz":{"actives":{}},"currency":"USD","groups":[]}`

func TestCatalogDiscoversActivesAtRuntime(t *testing.T) {
	now := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC).Unix()
	cat, err := parseCatalog(json.RawMessage(initFixture), now)
	require.NoError(t, err)

	eur := cat.bySymbol["EURUSD"]
	require.NotNil(t, eur)
	assert.Equal(t, int64(1861), eur.id, "the tradable -op id serves EURUSD, not the suspended classic id")
	in := eur.instrument(now)
	assert.Equal(t, "EURUSD-op", in.Name)
	assert.Equal(t, "forex", in.Market)
	assert.InDelta(t, 87, in.PayoutPercent, 1e-9, "payout = 100 − turbo commission")
	assert.True(t, in.Open)
	assert.Equal(t, "5000", in.MaxStake.String())
	assert.Equal(t, []time.Duration{time.Minute, 2 * time.Minute, 3 * time.Minute, 4 * time.Minute, 5 * time.Minute, 15 * time.Minute}, in.Expiries)

	otc := cat.bySymbol["EURUSD-OTC"].instrument(now)
	assert.Equal(t, "otc", otc.Market)
	assert.True(t, otc.Open, "a missing enabled field means enabled")
	assert.Equal(t, []time.Duration{time.Minute, 2 * time.Minute, 5 * time.Minute, 15 * time.Minute}, otc.Expiries, "30 s is not a whole minute")
	assert.Equal(t, "1", otc.MinStake.String(), "missing bet limits default to 1..20000")

	aud := cat.bySymbol["AUDUSD-OTC"]
	require.NotNil(t, aud, "an id given only as the map key is still discovered")
	assert.Equal(t, int64(2111), aud.id)
	assert.False(t, aud.instrument(now).Open, "outside its schedule")
	assert.Nil(t, cat.bySymbol["EURUSD-OP"])
}

func TestCatalogWrappedInResult(t *testing.T) {
	cat, err := parseCatalog(json.RawMessage(`{"result":`+initFixture+`}`), 0)
	require.NoError(t, err)
	assert.Len(t, cat.bySymbol, 3)
}

func TestTurboExpiryUsesServerTimeAndDeadtime(t *testing.T) {
	base := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC).Unix()
	cases := []struct {
		at, minutes, want int64
	}{
		{0, 1, 60},      // 60 s left > 30 s deadtime: next minute
		{29, 1, 60},     // 31 s left: still the next minute
		{30, 1, 120},    // exactly the deadtime left: purchase closed, the minute after
		{45, 1, 120},    //
		{45, 5, 360},    // four more minutes
		{59, 3, 240},    //
		{60, 1, 120},    // on a boundary: a full minute left
		{10, 2, 120},    //
		{31, 1, 120},    //
		{899, 1, 960},   //
		{3599, 5, 3900}, //
	}
	for _, c := range cases {
		got := turboExpiry(base+c.at, c.minutes, 30)
		assert.Equal(t, base+c.want, got, "at +%ds for %d min", c.at, c.minutes)
		assert.Zero(t, got%60, "turbo expiries are whole minutes")
		assert.Greater(t, got-30, base+c.at, "the purchase window is open")
	}
}

func TestBinaryExpiryIsOnTheQuarterHourGrid(t *testing.T) {
	base := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC).Unix()
	for _, c := range []struct{ at, want int64 }{{0, 900}, {599, 900}, {600, 1800}, {899, 1800}, {900, 1800}, {1000, 1800}} {
		assert.Equal(t, base+c.want, binaryExpiry(base+c.at, 300), "at +%ds", c.at)
	}
}

func TestPlanPicksTheOptionKind(t *testing.T) {
	cat, err := parseCatalog(json.RawMessage(initFixture), 0)
	require.NoError(t, err)
	a := cat.bySymbol["EURUSD-OTC"]
	now := time.Date(2026, 3, 4, 12, 0, 10, 0, time.UTC).Unix()
	k, exp, err := a.plan(2*time.Minute, now)
	require.NoError(t, err)
	assert.Equal(t, optionTurbo, k.typeID)
	assert.Equal(t, now-10+120, exp)
	k, exp, err = a.plan(15*time.Minute, now)
	require.NoError(t, err)
	assert.Equal(t, optionBinary, k.typeID)
	assert.Equal(t, now-10+900, exp)
	for _, d := range []time.Duration{3 * time.Minute, 90 * time.Second, 10 * time.Minute, 0} {
		_, _, err = a.plan(d, now)
		assert.ErrorIs(t, err, broker.ErrInvalidOrder, "%s", d)
	}
}

func TestSymbolOf(t *testing.T) {
	for name, want := range map[string]string{"front.EURUSD-OTC": "EURUSD-OTC", "front.EURUSD-op": "EURUSD", "GBPJPY": "GBPJPY", "front.": ""} {
		got, _ := symbolOf(activeDTO{Name: name})
		assert.Equal(t, want, got, name)
	}
	got, _ := symbolOf(activeDTO{Ticker: "USDJPY-OTC"})
	assert.Equal(t, "USDJPY-OTC", got)
}
