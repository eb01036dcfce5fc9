package users

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/stc-trading/stc/host/internal/store"
)

// ListUsers returns up to limit users, newest first, whose id is below
// cursor (0: from the newest), and the cursor of the next page (0 at the
// end). It is the operator's view (the admin routes): it reads across
// tenants, so nothing a user can call may reach it.
func (s *Service) ListUsers(ctx context.Context, limit int, cursor int64) ([]User, int64, error) {
	if limit < 1 {
		limit = 1
	}
	var rows []userRow
	err := s.st.View(ctx, store.System(), func(tx *sqlx.Tx) error {
		q := "SELECT id, email, role, created_at, '' AS password_hash FROM users"
		args := []any{}
		if cursor > 0 {
			q += " WHERE id < ?"
			args = append(args, cursor)
		}
		q += " ORDER BY id DESC LIMIT ?"
		args = append(args, limit+1)
		return tx.SelectContext(ctx, &rows, tx.Rebind(q), args...)
	})
	if err != nil {
		return nil, 0, fmt.Errorf("users: list: %w", err)
	}
	var next int64
	if len(rows) > limit {
		rows = rows[:limit]
		next = rows[limit-1].ID
	}
	out := make([]User, len(rows))
	for i, r := range rows {
		out[i] = r.user()
	}
	return out, next, nil
}
