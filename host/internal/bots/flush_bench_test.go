package bots

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/events"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
)

// BenchmarkLastSignalsFlush measures one flush of the runner's last
// signals for N bots (a candle close on which every bot signalled), on
// PostgreSQL, 100 bots per user, four ways, reported as ms per flush:
// the updates alone (updates-ms, the path without an event log), the
// updates reading the rows back (returning-ms), those rows also rendered
// as JSON as the HTTP API does (render-ms), and with the event log, every
// bot an event rendered and written (events-ms). One iteration is one
// flush of each.
//
//	go test -run '^$' -bench LastSignalsFlush -benchtime 10x ./host/internal/bots/
//
// STC_BENCH_BOTS sets N (default 10000).
func BenchmarkLastSignalsFlush(b *testing.B) {
	n := 10000
	if v, _ := strconv.Atoi(os.Getenv("STC_BENCH_BOTS")); v > 0 {
		n = v
	}
	st := storetest.OpenPostgres(b)
	ctx := context.Background()
	type botOf struct{ id, user int64 }
	var all []botOf
	require.NoError(b, st.Update(ctx, store.System(), func(tx *sqlx.Tx) error {
		for u := 0; len(all) < n; u++ {
			var uid, acct int64
			if err := tx.Get(&uid, `INSERT INTO users (email, password_hash, created_at, updated_at)
				VALUES ($1, 'x', 1, 1) RETURNING id`, fmt.Sprintf("flush%05d@example.com", u)); err != nil {
				return err
			}
			if err := tx.Get(&acct, `INSERT INTO broker_accounts (user_id, broker, mode, status, created_at, updated_at)
				VALUES ($1, 'paper', 'practice', 'connected', 1, 1) RETURNING id`, uid); err != nil {
				return err
			}
			for i := 0; i < 100 && len(all) < n; i++ {
				var id int64
				if err := tx.Get(&id, `INSERT INTO bots (user_id, account_id, name, strategy, params, broker, symbol, timeframe,
					amount, expiration_seconds, status, created_at, updated_at)
					VALUES ($1, $2, 'bench', 'rsi', '{"period":"14","oversold":"99.99","overbought":"100"}', 'paper', 'EURUSD-OTC', '1m', 1, 60, 'running', 1, 1)
					RETURNING id`, uid, acct); err != nil {
					return err
				}
				all = append(all, botOf{id, uid})
			}
		}
		return nil
	}))
	render := func(obj any) (events.Rendered, error) {
		bot := obj.(Bot) //nolint:forcetypeassert // only bots are recorded here
		p, err := json.Marshal(map[string]Bot{"bot": bot})
		return events.Rendered{Kind: events.KindBot, BotID: bot.ID, Payload: p}, err
	}
	// The modes take turns within each iteration, so a load that drifts
	// (the machine is shared) weighs on all of them alike.
	modes := []string{"updates", "returning", "render", "events"}
	plain := &Service{st: st, opts: Options{}.withDefaults()}
	logged := &Service{st: st, opts: plain.opts, deps: Deps{Events: events.New(st, render, nil, events.Options{})}}
	spent := make([]time.Duration, len(modes))
	var at int64
	for b.Loop() {
		for m, mode := range modes {
			at++
			batch := make([]lastUpdate, len(all))
			for i, x := range all {
				batch[i] = lastUpdate{id: x.id, userID: x.user, signal: "call", reason: "rsi 12.3 < 99.99", at: at}
			}
			s := plain
			if mode == "events" {
				s = logged
			}
			start := time.Now()
			require.NoError(b, st.Update(ctx, store.System(), func(tx *sqlx.Tx) error {
				changed, err := writeLast(tx, true, mode != "updates", batch)
				if err != nil {
					return err
				}
				for _, bot := range changed {
					if mode == "render" {
						if _, err := render(bot); err != nil {
							return err
						}
						continue
					}
					if err := s.record(tx, bot); err != nil {
						return err
					}
				}
				return nil
			}))
			spent[m] += time.Since(start)
		}
	}
	for m, mode := range modes {
		b.ReportMetric(float64(spent[m].Milliseconds())/float64(b.N), mode+"-ms")
	}
}
