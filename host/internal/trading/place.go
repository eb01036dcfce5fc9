package trading

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
	"unicode"

	"github.com/jmoiron/sqlx"

	"github.com/stc-trading/stc/host/internal/accounts"
	"github.com/stc-trading/stc/host/internal/apperr"
	"github.com/stc-trading/stc/host/internal/pluginmgr"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
)

// Bounds of a trade: the one rule, which the HTTP API applies too.
const (
	// MaxSymbolLen bounds a trade's symbol (the trades column): any
	// symbol a broker lists, wider than the market-data columns.
	MaxSymbolLen = 64
	// MinExpiration and MaxExpiration bound a trade's expiration.
	MinExpiration = 30 * time.Second
	MaxExpiration = 24 * time.Hour
	// StakeDecimals is how many decimals a stake has at the brokers STC
	// knows (cents). The HTTP API refuses a manual trade with more and bots
	// round their stakes to it; Place itself leaves the verdict on more
	// decimals (up to the columns' 8) to the broker, which rejects the order.
	StakeDecimals = 2
	// MaxIdempotencyKeyLen bounds an Idempotency-Key.
	MaxIdempotencyKeyLen = 255
)

// Other bounds of a PlaceRequest.
const (
	maxBrokerLen   = 20
	maxHashLen     = 64
	insertAttempts = 3
	// recordTimeout bounds writing a PlaceOrder outcome.
	recordTimeout = 30 * time.Second
)

// Place places one trade on the user's account and returns its record.
//
// A broker's refusal is not an error: the trade is returned with
// StatusRejected and the reason in Error, and so is an order whose fate is
// unknown (StatusUnknown, resolved later by reconciliation). Errors are
// refusals before any order was sent: ErrInvalidRequest, ErrRiskLimit (a
// *RiskError), ErrIdempotencyConflict, ErrAccountNotFound,
// ErrAccountNotConnected, ErrNotEntitled, or a store failure. The one
// error after the order was sent is a failure to record its outcome: then
// the trade is returned as written (pending) with the error, and
// reconciliation resolves it.
//
// The broker call is detached from ctx's cancellation (it keeps its own
// PlaceTimeout), so a client that goes away mid-request does not turn its
// order into an unknown one.
func (s *Service) Place(ctx context.Context, req PlaceRequest) (Trade, error) {
	if err := validatePlace(req); err != nil {
		return Trade{}, err
	}
	// A repeated request returns its trade even if the account has since
	// been disconnected or a limit would now refuse it.
	if req.IdempotencyKey != "" {
		t, ok, err := s.replay(ctx, req)
		if err != nil || ok {
			return t, err
		}
	}
	b, acct, err := newPrep(s).check(ctx, req)
	if err != nil {
		return Trade{}, err
	}
	s.placing.Add(1)
	defer s.placing.Add(-1)
	t, fresh, err := s.insert(ctx, req, acct)
	if err != nil || !fresh {
		return t, err
	}
	it := &batchItem{b: b, acct: acct, trade: t, written: true}
	s.sendBatch(ctx, []*batchItem{it}, false)
	return it.trade, it.err
}

// validatePlace checks what needs no database or broker.
func validatePlace(req PlaceRequest) error {
	switch {
	case req.UserID <= 0:
		return fieldErr("user_id", "must be positive")
	case req.AccountID < 0:
		return fieldErr("account_id", "must not be negative")
	case req.BotID < 0:
		return fieldErr("bot_id", "must not be negative")
	case req.AccountID == 0 && req.Broker == "":
		return apperr.Invalid(ErrInvalidRequest, "broker", "broker (or account_id) is required")
	case len(req.Broker) > maxBrokerLen || !printable(req.Broker):
		return fieldErr("broker", "must be at most %d printable characters", maxBrokerLen)
	case !ValidSymbol(req.Symbol):
		return fieldErr("symbol", "must be 1 to %d printable characters", MaxSymbolLen)
	case req.Direction != market.Call && req.Direction != market.Put:
		return fieldErr("direction", "must be CALL or PUT")
	case !req.Amount.IsPositive():
		return fieldErr("amount", "must be a positive number")
	case req.Amount.Exponent() < -priceDigits:
		return fieldErr("amount", "has more than %d decimal places", priceDigits)
	case req.Amount.GreaterThanOrEqual(maxMoney()):
		return fieldErr("amount", "must be below %s", maxMoney())
	case req.Expiration < MinExpiration || req.Expiration > MaxExpiration || req.Expiration%time.Millisecond != 0:
		return fieldErr("expiration", "must be from %d to %d seconds", int64(MinExpiration/time.Second), int64(MaxExpiration/time.Second))
	case len(req.IdempotencyKey) > MaxIdempotencyKeyLen || !printable(req.IdempotencyKey):
		return fieldErr("idempotency_key", "must be at most %d printable characters", MaxIdempotencyKeyLen)
	case req.IdempotencyKey != "" && (len(req.RequestHash) == 0 || len(req.RequestHash) > maxHashLen):
		return fieldErr("idempotency_key", "needs a request hash of 1 to %d bytes", maxHashLen)
	}
	if err := req.BotLimits.validate(); err != nil {
		return fmt.Errorf("bot limits: %w", err)
	}
	return nil
}

// printable reports whether s has no control characters.
// ValidSymbol reports whether s is a symbol a trade may be placed (and so
// listed) on: 1 to MaxSymbolLen printable characters.
func ValidSymbol(s string) bool {
	return s != "" && len(s) <= MaxSymbolLen && printable(s)
}

func printable(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return false
		}
	}
	return true
}

// replay returns the trade an Idempotency-Key already created, if any.
func (s *Service) replay(ctx context.Context, req PlaceRequest) (Trade, bool, error) {
	var (
		t  Trade
		ok bool
	)
	err := s.st.View(ctx, store.Tenant(req.UserID), func(tx *sqlx.Tx) error {
		var err error
		t, ok, err = findByKey(tx, req, s.keyCutoff())
		return err
	})
	return t, ok, err
}

// findByKey returns the trade of req's Idempotency-Key, or
// ErrIdempotencyConflict when the key was used with another request. A key
// claimed before cutoff (Unix ms) is forgotten, whether or not it has
// been pruned yet.
func findByKey(tx *sqlx.Tx, req PlaceRequest, cutoff int64) (Trade, bool, error) {
	var k struct {
		Hash    []byte `db:"request_hash"`
		TradeID int64  `db:"trade_id"`
	}
	err := tx.Get(&k, tx.Rebind(`SELECT request_hash, trade_id FROM idempotency_keys
		WHERE user_id = ? AND key = ? AND created_at >= ?`),
		req.UserID, req.IdempotencyKey, cutoff)
	if errors.Is(err, sql.ErrNoRows) {
		return Trade{}, false, nil
	}
	if err != nil {
		return Trade{}, false, fmt.Errorf("trading: read idempotency key: %w", err)
	}
	if !bytes.Equal(k.Hash, req.RequestHash) {
		return Trade{}, false, ErrIdempotencyConflict
	}
	r, err := getRow(tx, req.UserID, k.TradeID)
	if err != nil {
		return Trade{}, false, err
	}
	return r.trade(), true, nil
}

// session finds the account to trade on and its broker session.
func (s *Service) session(ctx context.Context, req PlaceRequest) (broker.Broker, accounts.Account, error) {
	id := req.AccountID
	if id == 0 {
		list, err := s.accts.List(ctx, req.UserID)
		if err != nil {
			return nil, accounts.Account{}, fmt.Errorf("trading: list accounts: %w", err)
		}
		var found []int64
		for _, a := range list {
			if a.Broker == req.Broker && a.Status == accounts.StatusConnected {
				found = append(found, a.ID)
			}
		}
		switch len(found) {
		case 0:
			return nil, accounts.Account{}, apperr.Refuse(ErrAccountNotConnected, "you have no connected %s account", req.Broker)
		case 1:
			id = found[0]
		default:
			return nil, accounts.Account{}, apperr.Refuse(ErrAccountNotConnected, "you have %d connected %s accounts; choose one with account_id", len(found), req.Broker)
		}
	}
	b, acct, err := s.accts.Session(ctx, req.UserID, id)
	switch {
	case errors.Is(err, accounts.ErrNotFound):
		return nil, accounts.Account{}, fmt.Errorf("%w: account %d", ErrAccountNotFound, id)
	case errors.Is(err, broker.ErrSessionNotFound):
		return nil, accounts.Account{}, apperr.Refuse(fmt.Errorf("%w: account %d: %w", ErrAccountNotConnected, id, err), "account %d is not connected", id)
	case err != nil:
		return nil, accounts.Account{}, fmt.Errorf("trading: account %d: %w", id, err)
	}
	if req.Broker != "" && acct.Broker != req.Broker {
		return nil, accounts.Account{}, apperr.Invalid(ErrInvalidRequest, "broker", "account %d is at %s, not %s", id, acct.Broker, req.Broker)
	}
	return b, acct, nil
}

// checkInstrument checks the symbol, stake bounds and expiry against the
// broker's instrument list when it is known.
func (s *Service) checkInstrument(ctx context.Context, b broker.Broker, brokerName string, req PlaceRequest) error {
	in, known, found := s.lookup(ctx, b, brokerName, req.Symbol)
	if !known {
		return nil
	}
	if !found {
		return apperr.Invalid(ErrInvalidRequest, "symbol", "%s has no instrument %q", brokerName, req.Symbol)
	}
	if in.MinStake.IsPositive() && req.Amount.LessThan(in.MinStake) ||
		in.MaxStake.IsPositive() && req.Amount.GreaterThan(in.MaxStake) {
		return fieldErr("amount", "must be between %s and %s", in.MinStake, in.MaxStake)
	}
	if len(in.Expiries) > 0 {
		for _, e := range in.Expiries {
			if e == req.Expiration {
				return nil
			}
		}
		return apperr.Invalid(ErrInvalidRequest, "expiration", "%s does not offer expiration %s on %s", brokerName, req.Expiration, req.Symbol)
	}
	return nil
}

// insert runs the risk checks and writes the pending trade (and claims the
// Idempotency-Key) in one transaction. fresh is false when the key had
// already created a trade, which is returned instead.
func (s *Service) insert(ctx context.Context, req PlaceRequest, acct accounts.Account) (t Trade, fresh bool, err error) {
	unlock, err := s.waitUser(ctx, req.UserID)
	if err != nil {
		return Trade{}, false, err
	}
	defer unlock()
	for attempt := 1; ; attempt++ {
		t, fresh, err = s.insertOnce(ctx, req, acct)
		// A unique violation means another writer claimed the key between
		// our read and insert (not possible under the user lock, but the
		// database has the last word): read again.
		if !errors.Is(err, store.ErrConflict) || attempt == insertAttempts {
			return t, fresh, err
		}
	}
}

func (s *Service) insertOnce(ctx context.Context, req PlaceRequest, acct accounts.Account) (Trade, bool, error) {
	var (
		t     Trade
		fresh bool
	)
	now := s.now()
	err := s.st.Update(ctx, store.Tenant(req.UserID), func(tx *sqlx.Tx) error {
		userLimits, err := s.lockUser(ctx, tx, req.UserID)
		if err != nil {
			return err
		}
		if req.IdempotencyKey != "" {
			old, ok, err := findByKey(tx, req, s.keyCutoff())
			if err != nil || ok {
				t = old
				return err
			}
		}
		if err := s.checkRisk(tx, req, userLimits, now); err != nil {
			return err
		}
		// RETURNING the whole row saves reading it back.
		var r row
		err = tx.Get(&r, tx.Rebind(`INSERT INTO trades (user_id, bot_id, account_id, broker, symbol, direction,
				amount, expiration_ms, status, client_order_id, created_at, updated_at, next_check_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING `+columns),
			req.UserID, nullBot(req.BotID), acct.ID, acct.Broker, req.Symbol, req.Direction.String(),
			req.Amount, req.Expiration.Milliseconds(), string(StatusPending), newClientOrderID(),
			now.UnixMilli(), now.UnixMilli(),
			// Not before the call's deadline: until then only Place
			// itself may decide what became of the order.
			s.quietAfter(now).UnixMilli())
		if err != nil {
			return fmt.Errorf("trading: insert trade: %w", err)
		}
		if req.IdempotencyKey != "" {
			// An expired claim of the same key, not pruned yet, gives way.
			if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM idempotency_keys WHERE user_id = ? AND key = ? AND created_at < ?`),
				req.UserID, req.IdempotencyKey, s.keyCutoff()); err != nil {
				return fmt.Errorf("trading: free expired idempotency key: %w", err)
			}
			if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO idempotency_keys (user_id, key, request_hash, trade_id, created_at)
				VALUES (?, ?, ?, ?, ?)`), req.UserID, req.IdempotencyKey, req.RequestHash, r.ID, now.UnixMilli()); err != nil {
				return fmt.Errorf("trading: claim idempotency key: %w", err)
			}
		}
		t, fresh = r.trade(), true
		return s.recordTrade(tx, r)
	})
	if err != nil {
		return Trade{}, false, err
	}
	return t, fresh, nil
}

// lockUser serialises one user's trade inserts on PostgreSQL, so that
// concurrent Places see each other's trades in their risk checks and
// Idempotency-Key lookups, and returns the user's limits (see lockUsers).
func (s *Service) lockUser(ctx context.Context, tx *sqlx.Tx, userID int64) (Limits, error) {
	m, err := s.lockUsers(ctx, tx, []int64{userID})
	if err != nil {
		return Limits{}, err
	}
	l, ok := m[userID]
	if !ok {
		return Limits{}, fmt.Errorf("%w: user %d", ErrNotFound, userID)
	}
	return l, nil
}

// outcomeChange is the change a PlaceOrder answer for trade t asks for:
// the order o, or the call's error.
func (s *Service) outcomeChange(t Trade, o broker.Order, callErr error, now time.Time) change {
	switch {
	case callErr == nil:
		return orderChange(o, t, now, s.opts.SettleGrace)
	case classify(callErr) == StatusRejected:
		s.log.Info("order rejected", "trade_id", t.ID, "user_id", t.UserID, "bot_id", t.BotID, "client_order_id", t.ClientOrderID, "error", callErr)
		return rejectedChange(callErr.Error(), now)
	default:
		s.log.Warn("order outcome unknown; it will be resolved with GetOrder, never sent again",
			"trade_id", t.ID, "user_id", t.UserID, "bot_id", t.BotID, "account_id", t.AccountID, "client_order_id", t.ClientOrderID, "error", callErr)
		return unknownChange(callErr.Error(), now)
	}
}

// classify maps a failed PlaceOrder call to StatusRejected (the order
// certainly did not become a trade) or StatusUnknown (it may have).
func classify(err error) Status {
	switch {
	case errors.Is(err, pluginmgr.ErrPluginExited):
		// The process died under the call: it may have placed the order.
		return StatusUnknown
	case errors.Is(err, pluginmgr.ErrPluginUnavailable), errors.Is(err, pluginmgr.ErrUnknownPlugin):
		// The call never left the host.
		return StatusRejected
	}
	for _, definite := range []error{
		broker.ErrMarketClosed, broker.ErrInsufficientFunds, broker.ErrInvalidOrder,
		broker.ErrUnknownInstrument, broker.ErrUnsupported, broker.ErrRateLimited,
		// The adapter answered that the session is not logged in: nothing
		// was placed.
		broker.ErrAuthFailed, broker.ErrSessionNotFound,
	} {
		if errors.Is(err, definite) {
			return StatusRejected
		}
	}
	return StatusUnknown
}
