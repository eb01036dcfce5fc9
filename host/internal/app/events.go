package app

import (
	"github.com/jmoiron/sqlx"

	"github.com/stc-trading/stc/host/internal/accounts"
	"github.com/stc-trading/stc/host/internal/events"
	"github.com/stc-trading/stc/host/internal/trading"
)

// tradeEvents is the event log as trading sees it: each trade event also
// tells the balance watcher that the trade's account has a new balance
// when the trade opened (the stake left) or settled (the payout came),
// so a stream shows the balance move with the trade instead of at the
// watcher's next round.
type tradeEvents struct {
	log   *events.Log
	accts *accounts.Manager
}

// Add records obj and nudges the balance watcher.
func (e tradeEvents) Add(tx *sqlx.Tx, userID int64, obj any) error {
	if err := e.log.Add(tx, userID, obj); err != nil {
		return err
	}
	if t, ok := obj.(trading.Trade); ok {
		switch t.Status {
		case trading.StatusOpen, trading.StatusWon, trading.StatusLost, trading.StatusDraw:
			e.accts.BalanceChanged(userID, t.AccountID)
		}
	}
	return nil
}
