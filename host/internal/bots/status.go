package bots

import (
	"context"
	"fmt"
	"slices"

	"github.com/jmoiron/sqlx"

	"github.com/stc-trading/stc/host/internal/store"
)

// record adds b, as it is after a change made in tx, to its owner's event
// log (Deps.Events), so the change and its event commit or roll back
// together.
func (s *Service) record(tx *sqlx.Tx, b Bot) error {
	if s.deps.Events == nil {
		return nil
	}
	if err := s.deps.Events.Add(tx, b.UserID, b); err != nil {
		return fmt.Errorf("bots: event of bot %d: %w", b.ID, err)
	}
	return nil
}

// setStatus sets a bot's status and records the change.
func (s *Service) setStatus(ctx context.Context, b Bot, st Status, reason string) error {
	err := s.st.Update(ctx, store.Tenant(b.UserID), func(tx *sqlx.Tx) error {
		changed, err := setStatus(tx, b.UserID, b.ID, st, reason, s.nowMillis())
		if err != nil {
			return err
		}
		return s.record(tx, changed)
	})
	return notFound(err, b.ID)
}

// PauseAccount pauses userID's running bots on accountID with reason
// ReasonAccountNotConnected; the account service's disconnect calls it so
// the bots show why they stopped at once rather than at their next signal.
// It returns how many bots it paused.
func (s *Service) PauseAccount(ctx context.Context, userID, accountID int64) (int, error) {
	var ids []int64
	err := s.st.View(ctx, store.Tenant(userID), func(tx *sqlx.Tx) error {
		return tx.Select(&ids, tx.Rebind(`SELECT id FROM bots WHERE user_id = ? AND account_id = ? AND status = ?`),
			userID, accountID, string(StatusRunning))
	})
	if err != nil {
		return 0, err
	}
	return s.pauseAll(ctx, userID, ids, ReasonAccountNotConnected, "account disconnected")
}

// pause moves a running bot to paused and takes it off the runner. It
// reports whether the bot was running.
func (s *Service) pause(ctx context.Context, userID, id int64, reason, lastErr string) (bool, error) {
	n, err := s.pauseAll(ctx, userID, []int64{id}, reason, lastErr)
	return n == 1, err
}

// pauseAll moves those of userID's bots ids that are running to paused,
// with one statement and one event each, and takes them off the runner.
// It holds the bots' locks throughout, so a concurrent Start or Stop
// cannot leave a paused bot on the runner. It returns how many it paused.
func (s *Service) pauseAll(ctx context.Context, userID int64, ids []int64, reason, lastErr string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	defer s.lockBots(ids)()
	var paused []Bot
	err := s.st.Update(ctx, store.Tenant(userID), func(tx *sqlx.Tx) (err error) {
		if paused, err = pauseRunning(tx, userID, ids, reason, lastErr, s.nowMillis()); err != nil {
			return err
		}
		for _, b := range paused {
			if err := s.record(tx, b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		s.run.deactivate(ctx, id)
	}
	for _, b := range paused {
		s.log.Info("bot paused", "bot_id", b.ID, "user_id", userID, "reason", reason)
	}
	return len(paused), nil
}

// lockBots takes the locks of several bots, in ascending stripe order so
// two callers cannot each hold a stripe the other waits for; every other
// holder of a bot lock takes only one. It returns the unlock.
func (s *Service) lockBots(ids []int64) func() {
	stripes := make([]uint64, 0, len(ids))
	for _, id := range ids {
		stripes = append(stripes, uint64(id)%lockStripes)
	}
	slices.Sort(stripes)
	stripes = slices.Compact(stripes)
	for _, i := range stripes {
		s.botLocks[i].Lock()
	}
	return func() {
		for _, i := range slices.Backward(stripes) {
			s.botLocks[i].Unlock()
		}
	}
}
