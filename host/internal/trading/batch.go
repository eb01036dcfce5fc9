package trading

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/stc-trading/stc/host/internal/accounts"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/sdk/broker"
)

// PlaceResult is what Place returns for one request of a PlaceBatch.
type PlaceResult struct {
	Trade Trade
	Err   error
}

// PlaceBatch places many trades, each with exactly the guarantees and
// results of Place, at a fraction of the cost per trade: the checks ask
// once per account and user (and reuse a successful answer of a batch
// less than Options.BatchCheckTTL old), the risk limits of every user in
// the batch are read and their pending rows written in one transaction,
// each account's orders go to its broker plugin in one PlaceOrders call
// (one journal fsync on the paper broker), and all outcomes are recorded
// in one transaction. A bot runner hands it the signals of a candle close.
//
// One difference: while Run runs, PlaceBatch returns as soon as the
// brokers have answered, and Run's applier records the outcomes shortly
// after (after the orders being placed at that moment, see
// Options.ResultHold), so a candle close's orders are not held up by
// writing the ones before them. A result's Trade then has the outcome's
// Status, Error and BrokerOrderID on the row as written; reading the
// trade back may show it pending for that moment. The pending row was
// committed before the broker call, so an outcome the host dies before
// recording is reconciled at the next start, as with Place.
//
// Requests of one user are checked against the limits in the order given,
// each counting the ones accepted before it. Requests with an
// IdempotencyKey are placed one by one with Place after the rest.
//
// The batch transaction runs in the system scope (it writes for several
// users); every statement names its users explicitly, and each request's
// account was checked to be its user's (accounts.Manager.Session) first.
func (s *Service) PlaceBatch(ctx context.Context, reqs []PlaceRequest) []PlaceResult {
	out := make([]PlaceResult, len(reqs))
	p := newBatchPrep(s)
	var (
		items []*batchItem
		keyed []int
	)
	for i, req := range reqs {
		if err := validatePlace(req); err != nil {
			out[i].Err = err
			continue
		}
		if req.IdempotencyKey != "" {
			keyed = append(keyed, i)
			continue
		}
		b, acct, err := p.check(ctx, req)
		if err != nil {
			out[i].Err = err
			continue
		}
		items = append(items, &batchItem{idx: i, req: req, b: b, acct: acct})
	}
	if len(items) > 0 {
		s.placing.Add(1)
		defer s.placing.Add(-1)
		if err := s.insertBatch(ctx, items); err != nil {
			for _, it := range items {
				out[it.idx].Err = err
			}
		} else {
			s.sendBatch(ctx, items, true)
			for _, it := range items {
				out[it.idx] = PlaceResult{Trade: it.trade, Err: it.err}
			}
		}
	}
	for _, i := range keyed {
		out[i].Trade, out[i].Err = s.Place(ctx, reqs[i])
	}
	return out
}

// batchItem is one request of a batch on its way.
type batchItem struct {
	idx  int
	req  PlaceRequest
	b    broker.Broker
	acct accounts.Account
	// trade is the row as written (and then as recorded); err a refusal
	// (then no row) or the failure to record the outcome.
	trade   Trade
	written bool
	err     error
}

// insertBatch checks the items' risk limits and writes the pending rows
// of those that pass, in one transaction. Items refused by a limit get
// their err; an error return means nothing was written.
func (s *Service) insertBatch(ctx context.Context, items []*batchItem) error {
	var users []int64
	for _, it := range items {
		users = append(users, it.req.UserID)
	}
	slices.Sort(users)
	users = slices.Compact(users)
	// In ascending order, as every other holder of several takes them, so
	// two batches cannot deadlock.
	var unlocks []func()
	defer func() {
		for _, u := range unlocks {
			u()
		}
	}()
	for _, u := range users {
		unlock, err := s.waitUser(ctx, u)
		if err != nil {
			return err
		}
		unlocks = append(unlocks, unlock)
	}
	now := s.now()
	type verdict struct {
		row  row
		err  error
		sent bool
	}
	var verdicts []verdict
	err := s.st.Update(ctx, store.System(), func(tx *sqlx.Tx) error {
		verdicts = make([]verdict, len(items))
		limits, err := s.lockUsers(ctx, tx, users)
		if err != nil {
			return err
		}
		var needs []riskNeed
		seen := make(map[riskScope]bool)
		for _, it := range items {
			l, ok := limits[it.req.UserID]
			if !ok {
				continue
			}
			for _, n := range riskNeeds(it.req, l) {
				if !seen[n.scope] {
					seen[n.scope] = true
					needs = append(needs, n)
				}
			}
		}
		states, err := s.loadRisk(tx, needs, now)
		if err != nil {
			return err
		}
		var accepted []int
	items:
		for j, it := range items {
			l, ok := limits[it.req.UserID]
			if !ok {
				verdicts[j].err = fmt.Errorf("%w: user %d", ErrNotFound, it.req.UserID)
				continue
			}
			scopeNeeds := riskNeeds(it.req, l)
			for _, n := range scopeNeeds {
				if err := states[n.scope].check(n.scope, n.limits, it.req, now); err != nil {
					verdicts[j].err = err
					continue items
				}
			}
			for _, n := range scopeNeeds {
				states[n.scope].add()
			}
			accepted = append(accepted, j)
		}
		for len(accepted) > 0 {
			n := min(len(accepted), bulkRows)
			rows, err := s.insertRows(tx, items, accepted[:n], now)
			if err != nil {
				return err
			}
			for k, j := range accepted[:n] {
				verdicts[j] = verdict{row: rows[k], sent: true}
				if err := s.recordTrade(tx, rows[k]); err != nil {
					return err
				}
			}
			accepted = accepted[n:]
		}
		return nil
	})
	if err != nil {
		return err
	}
	for j, it := range items {
		it.err = verdicts[j].err
		if verdicts[j].sent {
			it.trade, it.written = verdicts[j].row.trade(), true
		}
	}
	return nil
}

// insertRows writes the pending rows of items[idx...] with one INSERT and
// returns them in that order. On PostgreSQL the rows go as one array per
// column (INSERT … SELECT FROM unnest): a statement of fixed size, where a
// VALUES list of thousands of parameters costs more to parse and plan
// than the insert itself.
func (s *Service) insertRows(tx *sqlx.Tx, items []*batchItem, idx []int, now time.Time) ([]row, error) {
	const head = `INSERT INTO trades (user_id, bot_id, account_id, broker, symbol, direction,
		amount, expiration_ms, status, client_order_id, created_at, updated_at, next_check_at) `
	n := len(idx)
	var (
		users, accts, exps  = make([]int64, n), make([]int64, n), make([]int64, n)
		bots                = make([]sql.NullInt64, n)
		brokers, symbols    = make([]string, n), make([]string, n)
		dirs, amounts, oids = make([]string, n), make([]string, n), make([]string, n)
		byOrder             = make(map[string]int, n)
	)
	for k, j := range idx {
		req, acct := items[j].req, items[j].acct
		users[k], bots[k], accts[k] = req.UserID, nullBot(req.BotID), acct.ID
		brokers[k], symbols[k], dirs[k] = acct.Broker, req.Symbol, req.Direction.String()
		amounts[k], exps[k] = req.Amount.String(), req.Expiration.Milliseconds()
		oids[k] = newClientOrderID()
		byOrder[oids[k]] = k
	}
	created, check := now.UnixMilli(), s.quietAfter(now).UnixMilli()
	var (
		q    string
		args []any
	)
	if s.postgres {
		// next_check_at: not before the call's deadline; until then only
		// the placing call may decide what became of the order.
		q = head + `SELECT u, b, a, br, sy, d, am, e, $9, o, $11, $11, $12
			FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[],
				$7::numeric[], $8::bigint[], $10::text[]) AS v(u, b, a, br, sy, d, am, e, o)
			RETURNING ` + columns
		args = []any{pq.Array(users), pq.Array(bots), pq.Array(accts), pq.Array(brokers), pq.Array(symbols),
			pq.Array(dirs), pq.Array(amounts), pq.Array(exps), string(StatusPending), pq.Array(oids), created, check}
	} else {
		var b strings.Builder
		b.WriteString(head + "VALUES ")
		for k := range n {
			if k > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, users[k], bots[k], accts[k], brokers[k], symbols[k], dirs[k], amounts[k], exps[k],
				string(StatusPending), oids[k], created, created, check)
		}
		b.WriteString(" RETURNING " + columns)
		q = b.String()
	}
	var rows []row
	if err := tx.Select(&rows, q, args...); err != nil {
		return nil, fmt.Errorf("trading: insert %d trades: %w", n, err)
	}
	if len(rows) != n {
		return nil, fmt.Errorf("trading: inserted %d trades, got %d rows back", n, len(rows))
	}
	// RETURNING's order is not promised: match on the client order ids.
	out := make([]row, n)
	for _, r := range rows {
		out[byOrder[r.ClientOrderID]] = r
	}
	return out, nil
}

// sendBatch sends the written items' orders, one PlaceOrders call per
// account (at most Options.SendConcurrency at once), and records every
// outcome in one transaction: the user's scope when the items are one
// user's (Place), the system scope otherwise. The broker calls are
// detached from ctx's cancellation (they keep PlaceTimeout), so a client
// that goes away mid-request does not turn its orders into unknown ones;
// recording gets a generous deadline of its own, and giving up leaves the
// trades pending for reconciliation, which is safe but slow.
//
// With handOff, and while Run's applier runs, the outcomes are queued for
// the applier instead (see queueOutcomes) and each item's trade is the
// row as written with the outcome's status, error and broker order id.
func (s *Service) sendBatch(ctx context.Context, items []*batchItem, handOff bool) {
	byAcct := make(map[int64][]*batchItem)
	var accts []int64
	for _, it := range items {
		if !it.written {
			continue
		}
		if byAcct[it.acct.ID] == nil {
			accts = append(accts, it.acct.ID)
		}
		byAcct[it.acct.ID] = append(byAcct[it.acct.ID], it)
		s.beginFlight(it.trade.ID)
	}
	if len(accts) == 0 {
		return
	}
	handed := false
	defer func() {
		if handed {
			return // the applier ends the flights once it has recorded them
		}
		for _, it := range items {
			if it.written {
				s.endFlight(it.trade.ID)
			}
		}
	}()
	detached := context.WithoutCancel(ctx)
	changes := make(map[*batchItem]change, len(items))
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		sem = make(chan struct{}, s.opts.SendConcurrency)
	)
	for _, id := range accts {
		group := byAcct[id]
		sem <- struct{}{}
		wg.Go(func() { // owned by sendBatch, which waits below
			defer func() { <-sem }()
			cs := s.placeGroup(detached, group)
			mu.Lock()
			for k, it := range group {
				changes[it] = cs[k]
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	var list []idChange
	var recorded []*batchItem
	for _, it := range items {
		if it.written {
			list = append(list, idChange{userID: it.trade.UserID, id: it.trade.ID, c: changes[it]})
			recorded = append(recorded, it)
		}
	}
	if handOff && s.queueOutcomes(list) {
		handed = true
		for k, it := range recorded {
			it.trade = list[k].c.preview(it.trade)
		}
	} else if !s.record(detached, list, recorded) {
		return
	}
	var opened int64 // the account nudged last (a cheap skip of repeats)
	for _, it := range recorded {
		if t := it.trade; t.Status == StatusOpen && t.AccountID != opened {
			s.nudge(accountRef{UserID: t.UserID, AccountID: t.AccountID})
			opened = t.AccountID
		}
	}
}

// record writes the outcomes in list (of the items recorded, in order) in
// one transaction and sets each item's trade to its row, or its err when
// the write fails (the rows stay pending; reconciliation resolves them).
// It reports whether the write succeeded.
func (s *Service) record(ctx context.Context, list []idChange, recorded []*batchItem) bool {
	scope := store.Tenant(list[0].userID)
	for _, c := range list {
		if c.userID != list[0].userID {
			scope = store.System()
			break
		}
	}
	wctx, cancel := context.WithTimeout(ctx, recordTimeout)
	defer cancel()
	var rows []row
	err := s.st.Update(wctx, scope, func(tx *sqlx.Tx) error {
		var err error
		rows, err = s.applyMany(tx, list)
		return err
	})
	if err != nil {
		s.log.Error("could not record the outcomes of a batch of orders", "orders", len(list), "error", err)
		for _, it := range recorded {
			it.err = fmt.Errorf("trading: record outcome of trade %d: %w", it.trade.ID, err)
		}
		return false
	}
	for k, it := range recorded {
		it.trade = rows[k].trade()
	}
	return true
}

// placeGroup sends one account's orders in one PlaceOrders call and
// returns the change each outcome asks for, in order.
func (s *Service) placeGroup(ctx context.Context, group []*batchItem) []change {
	reqs := make([]broker.OrderRequest, len(group))
	for k, it := range group {
		t := it.trade
		reqs[k] = broker.OrderRequest{
			ClientOrderID: t.ClientOrderID, Symbol: t.Symbol, Side: t.Direction,
			Amount: t.Amount, Expiry: t.Expiration,
		}
	}
	cctx, cancel := context.WithTimeout(ctx, s.opts.PlaceTimeout)
	res, callErr := broker.PlaceOrders(cctx, group[0].b, reqs)
	cancel()
	if callErr == nil && len(res) != len(reqs) {
		callErr = fmt.Errorf("broker answered %d results for %d orders", len(res), len(reqs))
	}
	now := s.now()
	out := make([]change, len(group))
	for k, it := range group {
		var o broker.Order
		err := callErr
		if err == nil {
			o, err = res[k].Order, res[k].Err
		}
		out[k] = s.outcomeChange(it.trade, o, err, now)
	}
	return out
}

// lockUsers locks the users' rows (PostgreSQL; SQLite has one writer) and
// returns their limits, DefaultLimits for a user without a row. Users that
// do not exist are missing from the map.
//
// The lock is FOR NO KEY UPDATE: it excludes every other holder of it
// (the inserts and SetLimits of the same user) and every update or delete
// of the row, but not the foreign-key checks of rows that reference the
// user (FOR KEY SHARE). The event log's insert makes such a check after
// it took the user's event counter, which this transaction takes last:
// with FOR UPDATE, a transaction logging a trade change of the user would
// wait for this one while this one waited for its counter, a deadlock.
func (s *Service) lockUsers(ctx context.Context, tx *sqlx.Tx, users []int64) (map[int64]Limits, error) {
	q := `SELECT u.id AS user_id, l.user_id IS NOT NULL AS has_limits, l.max_stake, l.max_open_trades,
			l.max_trades_per_day, l.max_daily_loss, l.cooldown_losses, l.cooldown_ms
		FROM users u LEFT JOIN user_limits l ON l.user_id = u.id
		WHERE u.id IN (?) ORDER BY u.id`
	if s.postgres {
		q += ` FOR NO KEY UPDATE OF u`
	}
	type limitsUserRow struct {
		UserID    int64 `db:"user_id"`
		HasLimits bool  `db:"has_limits"`
		limitsNullRow
	}
	rows, err := selectIn[limitsUserRow](tx, q, users)
	if err != nil {
		return nil, fmt.Errorf("trading: lock users: %w", err)
	}
	out := make(map[int64]Limits, len(rows))
	for _, r := range rows {
		if r.HasLimits {
			out[r.UserID] = r.limits()
		} else {
			out[r.UserID] = DefaultLimits()
		}
	}
	return out, nil
}
