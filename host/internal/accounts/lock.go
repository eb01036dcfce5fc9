package accounts

import (
	"context"
	"fmt"
)

// lockUser serializes one user's connects, disconnects and resumes.
func (m *Manager) lockUser(ctx context.Context, userID int64) (func(), error) {
	unlock, err := m.users.Lock(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("accounts: waiting for the user's other account operation: %w", err)
	}
	return unlock, nil
}
