package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/storetest"
)

// paperOrders reads the client order ids of every order the paper broker
// accepted, from its append-only account logs (each accepted order is
// fsynced there before the broker answers).
func paperOrders(t *testing.T, paperDir string) map[string]int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(paperDir, "accounts", "*.log"))
	require.NoError(t, err)
	out := map[string]int{}
	for _, name := range files {
		f, err := os.Open(name)
		require.NoError(t, err)
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var rec struct {
				Type  string `json:"type"`
				Order *struct {
					ClientOrderID string `json:"client_order_id"`
				} `json:"order"`
			}
			// A torn last line (the plugin was killed mid-append) is not
			// an accepted order: the broker had not answered.
			if json.Unmarshal(sc.Bytes(), &rec) != nil || rec.Type != "order" || rec.Order == nil {
				continue
			}
			out[rec.Order.ClientOrderID]++
		}
		require.NoError(t, sc.Err())
		_ = f.Close()
	}
	return out
}

// TestHostCrashLosesNoTrade kills the host with SIGKILL while bots place
// orders, restarts it, and repeats. Afterwards every order the paper
// broker accepted has exactly one trade row, no order has two, and every
// trade reached a final state.
func TestHostCrashLosesNoTrade(t *testing.T) {
	bin, pluginDir := buildBinaries(t)
	data, err := os.MkdirTemp("", "stccr") //nolint:usetesting // t.TempDir paths are too long for the plugin sockets under it
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(data) })
	sch := storetest.NewSchema(t)
	symbols := []string{"EURUSD-OTC", "GBPUSD-OTC", "USDJPY-OTC", "AUDCAD-OTC"}
	env := hostEnv(freeAddr(t), data, pluginDir, sch.URL, "STC_PAPER_TIME_SCALE=60", "STC_LOG_LEVEL=warn",
		"STC_TRACK=paper:EURUSD-OTC:1m,paper:GBPUSD-OTC:1m,paper:USDJPY-OTC:1m,paper:AUDCAD-OTC:1m")
	h := startHost(t, bin, env)
	admin := makeAdmin(t, h, bin, sch.URL, data)
	u := signUp(t, h, "crash@example.com", "crash-paper")
	grant(t, h, admin, u.id, "elite")
	for _, s := range symbols {
		startBot(t, h, u, "rsi", `{"period":5,"oversold":49.99,"overbought":50}`, s)
	}

	const crashes = 4
	seen := 0
	for i := range crashes {
		// Let the bots place a few more orders, then pull the plug with
		// orders in flight.
		waitFor(t, h, fmt.Sprintf("bots trade before crash %d", i+1), 2*time.Minute, func() bool {
			return len(allTrades(t, h, u.token)) >= seen+4
		})
		time.Sleep(time.Duration(150+97*i) * time.Millisecond)
		h.kill()
		h = startHost(t, bin, env)
		seen = len(allTrades(t, h, u.token))
	}
	waitFor(t, h, "bots trade after the last restart", 2*time.Minute, func() bool {
		return len(allTrades(t, h, u.token)) >= seen+4
	})
	for _, id := range u.bots {
		code, body := h.call("POST", fmt.Sprintf("/api/v2/bots/%d/stop", id), u.token, "")
		require.Equal(t, http.StatusOK, code, "%v", body)
	}
	waitFor(t, h, "every trade reaches a final state", 3*time.Minute, func() bool {
		for _, tr := range allTrades(t, h, u.token) {
			if !isFinal(tr["status"]) {
				return false
			}
		}
		return true
	})
	h.stop()

	db, err := sqlx.Connect("postgres", sch.URL)
	require.NoError(t, err)
	defer db.Close()
	var rows []struct {
		ClientOrderID string `db:"client_order_id"`
		Status        string `db:"status"`
	}
	require.NoError(t, db.SelectContext(context.Background(), &rows, "SELECT client_order_id, status FROM trades"))
	byOrder := map[string]int{}
	statuses := map[string]int{}
	for _, r := range rows {
		byOrder[r.ClientOrderID]++
		statuses[r.Status]++
		assert.Contains(t, []string{"won", "lost", "draw", "rejected", "unresolved"}, r.Status, "trade %s is final", r.ClientOrderID)
	}
	accepted := paperOrders(t, filepath.Join(data, "paper"))
	t.Logf("%d trade rows after %d crashes: %v; the broker accepted %d orders", len(rows), crashes, statuses, len(accepted))
	require.NotEmpty(t, accepted)
	for id, n := range accepted {
		assert.Equal(t, 1, n, "the broker accepted order %s once", id)
		assert.Equal(t, 1, byOrder[id], "accepted order %s has exactly one trade row", id)
	}
	for id, n := range byOrder {
		assert.Equal(t, 1, n, "client order id %s is on one row", id)
	}
	settled := statuses["won"] + statuses["lost"] + statuses["draw"]
	assert.Equal(t, len(accepted), settled, "every accepted order settled, and only those")
}
