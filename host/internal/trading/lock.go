package trading

import (
	"context"
	"fmt"
)

// waitUser is taken around the insert transaction of a user's order. The
// database lock on the user's row is what makes the risk checks safe (also
// across hosts), but without this one every concurrent Place of one user
// (a burst of bot signals on one candle close) would hold a pool
// connection while it waits for that row, starving every other user of
// connections.
func (s *Service) waitUser(ctx context.Context, userID int64) (func(), error) {
	unlock, err := s.users.Lock(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("trading: waiting for the user's other trades: %w", err)
	}
	return unlock, nil
}
