package trading

import (
	"context"
	"fmt"
)

// keyCutoff is the creation time (Unix ms) before which an
// Idempotency-Key is forgotten.
func (s *Service) keyCutoff() int64 {
	return s.now().Add(-s.opts.IdempotencyTTL).UnixMilli()
}

// PruneIdempotencyKeys deletes the Idempotency-Key records older than
// Options.IdempotencyTTL (the trades stay) and returns how many it
// deleted. Such keys are already ignored; pruning only bounds the table.
// The host's housekeeping calls it periodically.
func (s *Service) PruneIdempotencyKeys(ctx context.Context) (int64, error) {
	n, err := s.st.Prune(ctx, `DELETE FROM idempotency_keys WHERE (user_id, key) IN
		(SELECT user_id, key FROM idempotency_keys WHERE created_at < ? LIMIT ?)`, s.keyCutoff())
	if err != nil {
		return n, fmt.Errorf("trading: prune idempotency keys: %w", err)
	}
	return n, nil
}
