package app

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/billing"
	"github.com/stc-trading/stc/host/internal/bots"
	"github.com/stc-trading/stc/sdk/market"
)

// quietBot is a bot that never signals on the practice market (RSI never
// reaches 0 or 100), so nothing but the host changes its status.
func quietBot(accountID int64, name string) bots.Spec {
	return bots.Spec{
		Name: name, Strategy: "rsi", Params: map[string]string{"period": "14", "oversold": "0", "overbought": "100"},
		AccountID: accountID, Symbol: "EURUSD-OTC", Timeframe: market.M1,
		Amount: decimal.NewFromInt(10), Expiration: time.Minute,
	}
}

// The links New makes between the services: a change of plan reaches the
// bots at once (billing's OnChange), and so does an account's disconnect
// (the account manager's hooks); without them the bots would trade on
// until their next signal or the entitlement cache's expiry.
func TestPlanChangeAndDisconnectPauseBotsAtOnce(t *testing.T) {
	h := startApp(t, "")
	ctx, cancel := context.WithTimeout(t.Context(), hangGuard)
	defer cancel()
	a := h.app
	alice, token := h.register("alice@example.com")
	_, err := a.billing.Grant(ctx, alice, billing.Grant{PlanID: "pro"})
	require.NoError(t, err)
	code, body := h.call("POST", "/api/v2/user/account", token, `{"broker":"paper","credentials":{"username":"alice-paper","password":"pw-alice"}}`)
	require.Equal(t, http.StatusCreated, code, "%v", body)
	acct, _ := body["account"].(map[string]any)
	accountID, err := strconv.ParseInt(fmt.Sprint(acct["id"]), 10, 64)
	require.NoError(t, err, "%v", body)

	var ids []int64
	for i := range 2 {
		b, err := a.bots.Create(ctx, alice, quietBot(accountID, fmt.Sprintf("quiet %d", i)))
		require.NoError(t, err)
		_, err = a.bots.Start(ctx, alice, b.ID)
		require.NoError(t, err)
		ids = append(ids, b.ID)
	}

	// The plan lapses: the free plan runs one bot, the oldest.
	_, err = a.billing.Grant(ctx, alice, billing.Grant{PlanID: "pro", Status: billing.StatusCanceled})
	require.NoError(t, err)
	kept, err := a.bots.Get(ctx, alice, ids[0])
	require.NoError(t, err)
	assert.Equal(t, bots.StatusRunning, kept.Status, "the oldest bot keeps the free plan's slot")
	paused, err := a.bots.Get(ctx, alice, ids[1])
	require.NoError(t, err)
	assert.Equal(t, bots.StatusPaused, paused.Status, "paused when the plan changed, not at its next signal")
	assert.Equal(t, bots.ReasonNotEntitled, paused.StatusReason)

	// The account goes: its running bot pauses before the answer.
	code, body = h.call("POST", "/api/v2/user/disconnect", token, fmt.Sprintf(`{"account_id":%d}`, accountID))
	require.Equal(t, http.StatusOK, code, "%v", body)
	kept, err = a.bots.Get(ctx, alice, ids[0])
	require.NoError(t, err)
	assert.Equal(t, bots.StatusPaused, kept.Status, "paused by the disconnect")
	assert.Equal(t, bots.ReasonAccountNotConnected, kept.StatusReason)

	require.NoError(t, h.shutdown())
}
