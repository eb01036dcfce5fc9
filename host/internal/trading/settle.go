package trading

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/jmoiron/sqlx"

	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/sdk/broker"
)

// sweepBatch bounds the trades one sweep looks at; the rest wait for the
// next tick.
const sweepBatch = 1000

// Reconcile asks the broker about every pending, open and unknown trade of
// every user (except those whose PlaceOrder is running in this process)
// and applies what it says. Run it at start, before new trades are placed,
// so that a host crash leaves nothing unresolved; Run does it too. It
// returns how many trades changed status; the error joins store failures
// (broker failures only postpone a trade, up to Options.UnknownDeadline).
func (s *Service) Reconcile(ctx context.Context) (resolved int, err error) {
	var rows []row
	err = s.st.View(ctx, store.System(), func(tx *sqlx.Tx) error {
		return tx.Select(&rows, `SELECT `+columns+` FROM trades WHERE status IN `+activeStatuses+` ORDER BY id`)
	})
	if err != nil {
		return 0, fmt.Errorf("trading: list active trades: %w", err)
	}
	return s.resolveAll(ctx, rows)
}

// sweep resolves the active trades that are due for a look: open trades
// past expiry that the stream has not settled, unknown trades, and
// pending trades left by a crash.
func (s *Service) sweep(ctx context.Context) (int, error) {
	var rows []row
	now := s.now()
	err := s.st.View(ctx, store.System(), func(tx *sqlx.Tx) error {
		return tx.Select(&rows, tx.Rebind(`SELECT `+columns+` FROM trades
			WHERE status IN `+activeStatuses+` AND next_check_at <= ? ORDER BY next_check_at LIMIT ?`),
			now.UnixMilli(), sweepBatch)
	})
	if err != nil {
		return 0, fmt.Errorf("trading: list due trades: %w", err)
	}
	return s.resolveAll(ctx, rows)
}

// resolveAll resolves rows with at most Options.Concurrency broker calls
// at a time.
func (s *Service) resolveAll(ctx context.Context, rows []row) (int, error) {
	sem := make(chan struct{}, s.opts.Concurrency)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		n    int
		errs []error
	)
	for _, r := range rows {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() { // owned by resolveAll, which waits below
			defer func() { <-sem }()
			changed, err := s.resolve(ctx, r)
			mu.Lock()
			defer mu.Unlock()
			if changed {
				n++
			}
			if err != nil {
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	return n, errors.Join(errs...)
}

// resolve asks the broker about one active trade and applies the answer.
// It reports whether the trade's status changed.
func (s *Service) resolve(ctx context.Context, r row) (bool, error) {
	t := r.trade()
	if s.inFlight(t.ID) {
		return false, nil
	}
	o, callErr := s.getOrder(ctx, t)
	now := s.now()
	log := s.log.With("trade_id", t.ID, "user_id", t.UserID, "status", t.Status, "client_order_id", t.ClientOrderID)
	var c change
	switch {
	case callErr == nil && !o.State.Final() && t.Status == StatusOpen:
		// Still running at the broker: look again once due, or soon if it
		// is already past due (the broker's clock may lag ours).
		next := millisTime(r.DueAt).Add(s.opts.SettleGrace)
		if !next.After(now) {
			next = now.Add(s.opts.RecheckInterval)
		}
		c = recheckChange(StatusOpen, next, "")
	case callErr == nil:
		c = orderChange(o, t, now, s.opts.SettleGrace)
	case errors.Is(callErr, broker.ErrOrderNotFound) && t.Status != StatusOpen:
		// Only once no PlaceOrder for it can still be running anywhere is
		// "not found" proof that the order never reached the broker.
		if safe := s.quietAfter(t.CreatedAt); now.Before(safe) {
			c = recheckChange(t.Status, safe, "")
			break
		}
		c = rejectedChange("never reached the broker: "+callErr.Error(), now)
	default:
		deadline := t.CreatedAt.Add(s.opts.UnknownDeadline)
		if t.Status == StatusOpen && r.DueAt.Valid {
			deadline = millisTime(r.DueAt).Add(s.opts.UnknownDeadline)
		}
		if now.Before(deadline) {
			log.Debug("broker cannot tell yet; asking again later", "error", callErr)
			c = recheckChange(t.Status, now.Add(s.opts.RecheckInterval), "")
			break
		}
		log.Warn("broker could not tell what became of the order in time; the trade is unresolved", "error", callErr)
		c = unresolvedChange(fmt.Sprintf("unresolved after %s: %v", s.opts.UnknownDeadline, callErr), now)
	}
	applied, err := s.applySystem(ctx, t.ID, c)
	if err != nil {
		return false, err
	}
	changed := applied && c.to != t.Status
	if changed {
		log.Info("trade resolved", "to", c.to)
		if c.to == StatusOpen {
			s.nudge(accountRef{UserID: t.UserID, AccountID: t.AccountID})
		}
	}
	return changed, nil
}

// getOrder asks the broker about trade t's order.
func (s *Service) getOrder(ctx context.Context, t Trade) (broker.Order, error) {
	b, _, err := s.accts.Session(ctx, t.UserID, t.AccountID)
	if err != nil {
		return broker.Order{}, fmt.Errorf("trading: session of account %d: %w", t.AccountID, err)
	}
	cctx, cancel := context.WithTimeout(ctx, s.opts.CallTimeout)
	defer cancel()
	o, err := b.GetOrder(cctx, t.ClientOrderID)
	if err != nil {
		return broker.Order{}, fmt.Errorf("trading: get order %s: %w", t.ClientOrderID, err)
	}
	if o.ClientOrderID != "" && o.ClientOrderID != t.ClientOrderID {
		return broker.Order{}, fmt.Errorf("trading: broker answered order %q for %q", o.ClientOrderID, t.ClientOrderID)
	}
	return o, nil
}

// applySystem applies c to trade id in the system scope (workers act for
// every user), with its event when it is one.
func (s *Service) applySystem(ctx context.Context, id int64, c change) (bool, error) {
	// Only an event needs the row back; a recheck does not.
	ret := s.opts.Events != nil && c.visible()
	var applied bool
	err := s.st.Update(ctx, store.System(), func(tx *sqlx.Tx) error {
		r, ok, err := c.apply(tx, id, ret)
		if err != nil {
			return err
		}
		applied = ok
		if ok && ret {
			return s.recordTrade(tx, r)
		}
		return nil
	})
	return applied, err
}

// pushed is an order pushed by an account's result stream.
type pushed struct {
	accountID int64
	order     broker.Order
}

// applyPushed applies pushed results of any accounts in one transaction
// and returns how many trades changed. Results for orders the host does
// not know, or already final, change nothing.
func (s *Service) applyPushed(ctx context.Context, ps []pushed) (int, error) {
	byAcct := make(map[int64][]string)
	var accts []int64
	for _, p := range ps {
		if p.order.ClientOrderID == "" {
			continue
		}
		if byAcct[p.accountID] == nil {
			accts = append(accts, p.accountID)
		}
		byAcct[p.accountID] = append(byAcct[p.accountID], p.order.ClientOrderID)
	}
	if len(accts) == 0 {
		return 0, nil
	}
	type key struct {
		acct int64
		id   string
	}
	// One transaction reads the trades and applies the changes; each
	// change is conditional on the state it read, so a result applied by
	// the sweep meanwhile is not applied twice.
	var (
		before []Status
		after  []row
	)
	err := s.st.Update(ctx, store.System(), func(tx *sqlx.Tx) error {
		found := make(map[key]Trade, len(ps))
		for _, a := range accts {
			ids := byAcct[a]
			for len(ids) > 0 {
				n := min(len(ids), bulkRows)
				q, args, err := sqlx.In(`SELECT `+columns+` FROM trades WHERE account_id = ? AND client_order_id IN (?)`, a, ids[:n])
				if err != nil {
					return err
				}
				var rows []row
				if err := tx.Select(&rows, tx.Rebind(q), args...); err != nil {
					return fmt.Errorf("trading: read trades of results: %w", err)
				}
				for _, r := range rows {
					found[key{r.AccountID, r.ClientOrderID}] = r.trade()
				}
				ids = ids[n:]
			}
		}
		now := s.now()
		var list []idChange
		before = before[:0]
		for _, p := range ps {
			t, ok := found[key{p.accountID, p.order.ClientOrderID}]
			if !ok || t.Status == StatusOpen && !p.order.State.Final() {
				continue
			}
			list = append(list, idChange{userID: t.UserID, id: t.ID, c: orderChange(p.order, t, now, s.opts.SettleGrace)})
			before = append(before, t.Status)
		}
		if len(list) == 0 {
			after = nil
			return nil
		}
		var err error
		after, err = s.applyMany(tx, list)
		return err
	})
	if err != nil {
		return 0, err
	}
	changed := 0
	for i, r := range after {
		if Status(r.Status) != before[i] {
			changed++
		}
	}
	return changed, nil
}
