package trading

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/stc-trading/stc/host/internal/store"
)

// ActiveOnAccount counts userID's trades on accountID that the broker has
// still to resolve (pending, open, unknown). Disconnecting such an account
// would leave them without a session to settle or reconcile through.
func (s *Service) ActiveOnAccount(ctx context.Context, userID, accountID int64) (int, error) {
	var n int
	err := s.st.View(ctx, store.Tenant(userID), func(tx *sqlx.Tx) error {
		return tx.GetContext(ctx, &n, tx.Rebind(`SELECT count(*) FROM trades
			WHERE user_id = ? AND account_id = ? AND status IN `+activeStatuses), userID, accountID)
	})
	if err != nil {
		return 0, fmt.Errorf("trading: active trades of account %d: %w", accountID, err)
	}
	return n, nil
}
