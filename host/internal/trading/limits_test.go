package trading

import (
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/apperr"
	"github.com/stc-trading/stc/host/internal/store"
)

func ptr[T any](v T) *T { return &v }

// requireField asserts err refuses field with an *apperr.FieldError.
func requireField(t *testing.T, err error, field string) {
	t.Helper()
	require.ErrorIs(t, err, ErrInvalidRequest)
	fe, ok := apperr.FieldOf(err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, field, fe.Field, "%v", err)
}

// UpdateLimits changes what it is given and keeps every other limit: the
// stored value, or the default for a user without a row. Leaving a field
// out never switches its limit off; only an explicit 0 does.
func TestUpdateLimitsKeepsOmittedFields(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ctx := ctxT(t)
		svc := NewService(st, nil, &allowPolicy{}, Options{}, nil)
		alice := addUser(t, st, "alice@example.com")

		l, err := svc.UpdateLimits(ctx, alice, LimitsUpdate{MaxStake: ptr(decimal.NewFromInt(500))})
		require.NoError(t, err)
		want := DefaultLimits()
		want.MaxStake = decimal.NewFromInt(500)
		assert.Equal(t, want, l, "the defaults stay for what was not sent")
		got, err := svc.Limits(ctx, alice)
		require.NoError(t, err)
		assert.Equal(t, want, got)

		l, err = svc.UpdateLimits(ctx, alice, LimitsUpdate{MaxDailyLoss: ptr(decimal.RequireFromString("12.5")), Cooldown: ptr(time.Hour)})
		require.NoError(t, err)
		want.MaxDailyLoss, want.Cooldown = decimal.RequireFromString("12.5"), time.Hour
		assert.Equal(t, want, l)

		l, err = svc.UpdateLimits(ctx, alice, LimitsUpdate{MaxOpenTrades: ptr(0)})
		require.NoError(t, err)
		want.MaxOpenTrades = 0
		assert.Equal(t, want, l, "an explicit 0 switches one limit off, and only it")
		got, err = svc.Limits(ctx, alice)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	})
}

// Limits must fit their columns: an amount that would round to 0 at the
// stored scale (0 is "no limit") or has more decimals than it keeps, and
// a count beyond INTEGER, are refused naming the field, and nothing
// changes; the largest values that fit are stored as given.
func TestUpdateLimitsBounds(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ctx := ctxT(t)
		svc := NewService(st, nil, &allowPolicy{}, Options{}, nil)
		alice := addUser(t, st, "alice@example.com")
		before, err := svc.UpdateLimits(ctx, alice, LimitsUpdate{MaxDailyLoss: ptr(decimal.NewFromInt(50))})
		require.NoError(t, err)

		for _, c := range []struct {
			field string
			u     LimitsUpdate
		}{
			{FieldMaxDailyLoss, LimitsUpdate{MaxDailyLoss: ptr(decimal.RequireFromString("0.000000001"))}},
			{FieldMaxStake, LimitsUpdate{MaxStake: ptr(decimal.RequireFromString("10.123456789"))}},
			{FieldMaxStake, LimitsUpdate{MaxStake: ptr(decimal.New(1, 12))}},
			{FieldMaxStake, LimitsUpdate{MaxStake: ptr(decimal.NewFromInt(-1))}},
			{FieldMaxOpenTrades, LimitsUpdate{MaxOpenTrades: ptr(MaxLimitCount + 1)}},
			{FieldMaxTradesPerDay, LimitsUpdate{MaxTradesPerDay: ptr(-1)}},
			{FieldCooldownLosses, LimitsUpdate{CooldownLosses: ptr(MaxLimitCount + 1)}},
			{FieldCooldown, LimitsUpdate{Cooldown: ptr(MaxUserCooldown + time.Second)}},
			{FieldCooldown, LimitsUpdate{Cooldown: ptr(1500 * time.Millisecond)}},
		} {
			_, err := svc.UpdateLimits(ctx, alice, c.u)
			requireField(t, err, c.field)
		}
		got, err := svc.Limits(ctx, alice)
		require.NoError(t, err)
		assert.Equal(t, before, got, "nothing changed")

		top := LimitsUpdate{
			MaxStake: ptr(decimal.RequireFromString("999999999999.99999999")), MaxOpenTrades: ptr(MaxLimitCount),
			MaxTradesPerDay: ptr(MaxLimitCount), CooldownLosses: ptr(MaxLimitCount), Cooldown: ptr(MaxUserCooldown),
		}
		l, err := svc.UpdateLimits(ctx, alice, top)
		require.NoError(t, err, "the column maxima are stored")
		got, err = svc.Limits(ctx, alice)
		require.NoError(t, err)
		assert.Equal(t, l, got)
		assert.True(t, got.MaxStake.Equal(*top.MaxStake), "stored as given: %s", got.MaxStake)
		assert.Equal(t, MaxLimitCount, got.MaxOpenTrades)
	})
}

// Concurrent updates of different fields all apply: each reads and
// writes under the user's lock, so none overwrites another's field with
// the value it read before.
func TestUpdateLimitsConcurrent(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ctx := ctxT(t)
		svc := NewService(st, nil, &allowPolicy{}, Options{}, nil)
		alice := addUser(t, st, "alice@example.com")
		updates := []LimitsUpdate{
			{MaxStake: ptr(decimal.NewFromInt(11))}, {MaxOpenTrades: ptr(12)}, {MaxTradesPerDay: ptr(13)},
			{MaxDailyLoss: ptr(decimal.NewFromInt(14))}, {CooldownLosses: ptr(15)}, {Cooldown: ptr(16 * time.Second)},
		}
		var wg sync.WaitGroup
		for _, u := range updates {
			wg.Go(func() {
				_, err := svc.UpdateLimits(ctx, alice, u)
				assert.NoError(t, err)
			})
		}
		wg.Wait()
		got, err := svc.Limits(ctx, alice)
		require.NoError(t, err)
		assert.Equal(t, Limits{
			MaxStake: decimal.NewFromInt(11), MaxOpenTrades: 12, MaxTradesPerDay: 13, MaxDailyLoss: decimal.NewFromInt(14),
			CooldownLosses: 15, Cooldown: 16 * time.Second,
		}, got)
	})
}
