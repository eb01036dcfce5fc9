package iqoption_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/plugins/broker/iqoption/iqfake"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
)

// Many sessions trade concurrently while every socket drops twice, once
// while their trades settle: each order's result is delivered exactly once
// and equals the broker's.
func TestManySessionsExactlyOnceAcrossDrops(t *testing.T) {
	const users, perUser = 12, 4
	fk, _ := startFake(t, iqfake.Config{Seed: 21})
	a := adapter(t, fk, fastBackoff)
	ctx := context.Background()
	type acct struct {
		uid     int64
		s       broker.Broker
		results <-chan broker.Order
	}
	accts := make([]acct, users)
	for i := range accts {
		id := fmt.Sprintf("stress%d@example.com", i)
		uid := fk.AddUser(iqfake.User{Identifier: id, Password: "pw"})
		s := a.Factory()()
		_, err := s.Open(ctx, broker.OpenRequest{Mode: broker.Practice, Credentials: map[string]string{"identifier": id, "password": "pw"}})
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close(ctx) })
		ch, err := s.OrderResults(ctx)
		require.NoError(t, err)
		accts[i] = acct{uid, s, ch}
	}
	var wg sync.WaitGroup
	for i := range accts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < perUser; k++ {
				side := market.Call
				if k%2 == 1 {
					side = market.Put
				}
				req := order(fmt.Sprintf("o%d-%d", i, k), "EURUSD-OTC", time.Duration(1+k%2)*time.Minute, "3")
				req.Side = side
				_, err := accts[i].s.PlaceOrder(ctx, req)
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()

	drop := func() {
		auths := fk.Stats().Authentications
		fk.DropConnections()
		waitFor(t, "every session back", func() bool { return fk.Stats().Authentications >= auths+users })
	}
	drop()
	fk.UpdateFaults(func(f *iqfake.Faults) { f.RefuseWS = true })
	fk.DropConnections()
	waitFor(t, "all sockets down", func() bool { return fk.Connections() == 0 })
	fk.Advance(4 * time.Minute) // everything settles while nobody listens
	auths := fk.Stats().Authentications
	fk.UpdateFaults(func(f *iqfake.Faults) { f.RefuseWS = false })
	waitFor(t, "every session back", func() bool { return fk.Stats().Authentications >= auths+users })

	for _, ac := range accts {
		want := map[string]string{}
		for _, p := range fk.Positions(ac.uid) {
			want[strconv.FormatInt(p.OptionID, 10)] = p.CloseReason
		}
		require.Len(t, want, perUser)
		seen := map[string]bool{}
		for len(seen) < perUser {
			o := next(t, ac.results)
			require.False(t, seen[o.ClientOrderID], "%s delivered twice", o.ClientOrderID)
			seen[o.ClientOrderID] = true
			reason, ok := want[o.BrokerOrderID]
			require.True(t, ok, "unknown broker id %s", o.BrokerOrderID)
			assert.Equal(t, map[string]broker.OrderState{"win": broker.Won, "loose": broker.Lost, "equal": broker.Draw}[reason], o.State)
		}
	}
	drop() // a later reconnect reconciles again and must add nothing
	for _, ac := range accts {
		assertQuiet(t, ac.s, ac.results)
	}
}
