package users_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
)

// BenchmarkLoginRefused measures what a login refused by the throttle
// costs the host: the reservation's transaction (locks, one indexed read,
// no insert) and no hashing. It is the price of every request of a
// guessing flood once the limits are reached, against ~200 ms of argon2
// for a check. Run: go test -run '^$' -bench LoginRefused ./host/internal/users
func BenchmarkLoginRefused(b *testing.B) {
	for _, bc := range []struct {
		name string
		open func(testing.TB, ...store.Option) *store.Store
	}{{"postgres", storetest.OpenPostgres}, {"sqlite", storetest.OpenSQLite}} {
		b.Run(bc.name, func(b *testing.B) {
			clk := &clock{t: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
			svc := serviceWithClock(b, bc.open(b), clk)
			for i := range limits.PerAccount {
				clk.Add(time.Second)
				_, err := login(svc, "victim@example.com", "wrong password!", fmt.Sprintf("198.51.100.%d", i+1))
				require.Equal(b, "checked", outcome(b, err))
			}
			i := 0
			for b.Loop() {
				i++
				_, err := login(svc, "victim@example.com", "guess!", fmt.Sprintf("203.0.%d.%d", i/250%250, i%250))
				if outcome(b, err) != "throttled" {
					b.Fatal("not throttled")
				}
			}
		})
	}
}
