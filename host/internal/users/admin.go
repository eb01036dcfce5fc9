package users

import (
	"context"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/stc-trading/stc/host/internal/apperr"
	"github.com/stc-trading/stc/host/internal/names"
	"github.com/stc-trading/stc/host/internal/store"
)

// Page sizes of List.
const (
	defaultListSize = 50
	maxListSize     = 500
)

// Query selects users for an operator's list. Zero fields do not filter.
type Query struct {
	// EmailContains keeps the users whose email holds it, in any case
	// (emails are stored lower-cased); % and _ are plain characters.
	EmailContains string
	// Limit is the page size: default 50, at most 500.
	Limit int
	// Cursor is the next cursor of the previous page (0: first page).
	Cursor int64
}

// List returns one page of users matching q, newest first, and the cursor
// of the next page (0 on the last). It reads every user: only operator
// routes call it.
func (s *Service) List(ctx context.Context, q Query) ([]User, int64, error) {
	switch {
	case q.Limit < 0 || q.Cursor < 0:
		return nil, 0, apperr.Invalid(ErrInvalidInput, "limit", "limit and cursor must not be negative")
	case len(q.EmailContains) > maxEmailBytes:
		return nil, 0, apperr.Invalid(ErrInvalidInput, "email", "the email filter is longer than an email")
	case !names.Valid(q.EmailContains):
		return nil, 0, apperr.Invalid(ErrInvalidInput, "email", "the email filter holds a character no email has")
	}
	limit := q.Limit
	if limit == 0 {
		limit = defaultListSize
	}
	limit = min(limit, maxListSize)
	where, args := []string{"1 = 1"}, []any{}
	if q.EmailContains != "" {
		// LIKE with its wildcards escaped: the filter is a substring, not
		// a pattern a caller could make expensive.
		esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(q.EmailContains))
		where, args = append(where, `email LIKE ? ESCAPE '\'`), append(args, "%"+esc+"%")
	}
	if q.Cursor != 0 {
		where, args = append(where, "id < ?"), append(args, q.Cursor)
	}
	var rows []userRow
	// The system scope: an operator's list spans users (users has no
	// row-level policy; the scope is the store's rule for any transaction).
	err := s.st.View(ctx, store.System(), func(tx *sqlx.Tx) error {
		return tx.SelectContext(ctx, &rows, tx.Rebind(`SELECT id, email, role, created_at, '' AS password_hash FROM users WHERE `+
			strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT ?`), append(args, limit+1)...)
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
