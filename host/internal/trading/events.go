package trading

import (
	"fmt"
	"slices"

	"github.com/jmoiron/sqlx"

	"github.com/stc-trading/stc/host/internal/events"
)

// EventLog is where the service records every change of a trade's state
// for its user's event stream; *events.Log satisfies it (a nil one
// records nothing).
type EventLog interface {
	// Add records obj, here always a Trade as it is after the change, as
	// an event of userID. tx is the store.Update transaction that makes
	// the change: the event is written if and only if tx commits.
	Add(tx *sqlx.Tx, userID int64, obj any) error
}

var _ EventLog = (*events.Log)(nil)

// recordTrade adds the trade of r, the row as tx leaves it, to its user's
// events (none when Options.Events is nil: then r is not even converted).
// A failure rolls tx back with the change: a client following the stream
// must see every state the trade went through, and a change without its
// event would be a silent gap.
func (s *Service) recordTrade(tx *sqlx.Tx, r row) error {
	if s.opts.Events == nil {
		return nil
	}
	t := r.trade()
	if err := s.opts.Events.Add(tx, t.UserID, t); err != nil {
		return fmt.Errorf("trading: event of trade %d (%s): %w", t.ID, t.Status, err)
	}
	return nil
}

// visible reports whether applying c changes what a client sees of the
// trade, its status or its error, which is what makes it an event. A
// recheck that only moves the sweep's next look is none: the sweep makes
// thousands of them, and the trade a client would be sent is unchanged.
func (c change) visible() bool {
	return !slices.Contains(c.from, c.to) || slices.Contains(c.sets, "error = ?")
}
