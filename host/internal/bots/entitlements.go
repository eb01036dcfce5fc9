package bots

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/sdk/broker"
)

// EntitlementsChanged re-checks userID's running bots against the user's
// plan as it is now. Call it when the user's subscription changes (a
// billing webhook, an admin grant): without it a bot would go on trading
// under the cached entitlements for up to Options.EntitlementTTL, and a
// bot that does not signal would show running for as long as it stays
// quiet. The cached entitlements are dropped, so the next order asks
// billing afresh, and every running bot the plan no longer allows (the
// oldest ones keep the plan's bot slots) is paused with
// ReasonNotEntitled and taken off the runner, its orders in flight
// finished first. It returns how many bots it paused.
func (s *Service) EntitlementsChanged(ctx context.Context, userID int64) (int, error) {
	s.run.forgetEntitlements(userID)
	var running []Bot
	if err := s.st.View(ctx, store.Tenant(userID), func(tx *sqlx.Tx) error {
		var rs []row
		if err := tx.Select(&rs, tx.Rebind(`SELECT `+columns+` FROM bots WHERE user_id = ? AND status = ? ORDER BY id`),
			userID, string(StatusRunning)); err != nil {
			return fmt.Errorf("bots: running bots of user %d: %w", userID, err)
		}
		var err error
		running, err = rowsToBots(rs)
		return err
	}); err != nil {
		return 0, err
	}
	if len(running) == 0 {
		return 0, nil
	}
	ent, err := s.deps.Entitlements.Entitlements(ctx, userID)
	if err != nil {
		return 0, fmt.Errorf("bots: entitlements: %w", err)
	}
	paused, kept := 0, 0
	for _, b := range running {
		mode, ok := s.run.mode(b.ID)
		if !ok && !ent.LiveTrading {
			// Not on this runner (still resuming, or on another host):
			// the account says whether it trades real money.
			mode = broker.Practice
			if acct, err := s.deps.Accounts.Get(ctx, userID, b.AccountID); err == nil {
				mode = acct.Mode
			}
		}
		if why := allowed(b, mode, ent, kept); why != nil {
			changed, err := s.pause(ctx, userID, b.ID, ReasonNotEntitled, why.Error())
			if err != nil {
				return paused, err
			}
			if changed {
				paused++
				s.run.observe(Event{Kind: EventPaused, BotID: b.ID, UserID: userID, Reason: ReasonNotEntitled, Err: why})
			}
			continue
		}
		kept++
	}
	return paused, nil
}

// forgetEntitlements drops the cached entitlements of userID, if Run is
// running.
func (r *runner) forgetEntitlements(userID int64) {
	r.mu.Lock()
	ents := r.ents
	r.mu.Unlock()
	if ents != nil {
		ents.forget(userID)
	}
}

// mode returns the account mode of a bot on the runner; ok is false when
// the bot is not on it.
func (r *runner) mode(botID int64) (broker.Mode, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rb := r.bots[botID]; rb != nil {
		return rb.mode, true
	}
	return 0, false
}
