package bots

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jmoiron/sqlx"

	"github.com/stc-trading/stc/host/internal/accounts"
	"github.com/stc-trading/stc/host/internal/apperr"
	"github.com/stc-trading/stc/host/internal/billing"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/sdk/broker"
)

// List bounds, as in the API conventions.
const (
	defaultListLimit = 50
	maxListLimit     = 500
)

// lockStripes is the number of mutexes bots and users are hashed onto.
const lockStripes = 64

// Service manages and runs bots. It is safe for concurrent use. Its
// goroutines run inside Run and stop before Run returns.
type Service struct {
	st   *store.Store
	deps Deps
	opts Options
	log  hclog.Logger
	run  *runner

	// botLocks serialise Start, Stop, Update, Delete and the runner's
	// pause of one bot; userLocks serialise one user's Create and Start so
	// two requests cannot both pass the plan's bot limit.
	botLocks  [lockStripes]sync.Mutex
	userLocks [lockStripes]sync.Mutex
}

// NewService returns a service over st. log may be nil. Call Run to run
// the bots.
func NewService(st *store.Store, deps Deps, opts Options, log hclog.Logger) *Service {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	s := &Service{st: st, deps: deps, opts: opts.withDefaults(), log: log.Named("bots")}
	if s.opts.OrderWorkers <= 0 {
		s.opts.OrderWorkers = 64
		if _, ok := deps.Trader.(BatchTrader); ok {
			s.opts.OrderWorkers = 8
		}
	}
	s.run = newRunner(s)
	return s
}

func (s *Service) lockBot(id int64) func() {
	m := &s.botLocks[uint64(id)%lockStripes]
	m.Lock()
	return m.Unlock
}

func (s *Service) lockUser(id int64) func() {
	m := &s.userLocks[uint64(id)%lockStripes]
	m.Lock()
	return m.Unlock
}

func (s *Service) nowMillis() int64 { return s.opts.Now().UnixMilli() }

// notFound maps the store's not-found to ErrNotFound.
func notFound(err error, id int64) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: id %d", ErrNotFound, id)
	}
	return err
}

// Create validates spec and stores a stopped bot for userID.
func (s *Service) Create(ctx context.Context, userID int64, spec Spec) (Bot, error) {
	b, _, err := s.CreateIdempotent(ctx, userID, spec, "", nil)
	return b, err
}

// CreateIdempotent is Create guarded by an idempotency key: when userID
// already created a bot with key and the same request hash, that bot is
// returned (replayed true) and nothing is created; with another hash the
// answer is ErrIdempotencyConflict. An empty key is a plain Create.
func (s *Service) CreateIdempotent(ctx context.Context, userID int64, spec Spec, key string, hash []byte) (b Bot, replayed bool, err error) {
	if key != "" {
		// A retry is answered without validating anew.
		if b, ok, err := s.byKey(ctx, userID, key, hash); ok || err != nil {
			return b, ok, err
		}
	}
	spec = spec.normalize()
	if err := spec.validate(); err != nil {
		return Bot{}, false, err
	}
	ent, err := s.deps.Entitlements.Entitlements(ctx, userID)
	if err != nil {
		return Bot{}, false, fmt.Errorf("bots: entitlements: %w", err)
	}
	brokerName, err := s.check(ctx, userID, spec, ent)
	if err != nil {
		return Bot{}, false, err
	}
	defer s.lockUser(userID)()
	err = s.st.Update(ctx, store.Tenant(userID), func(tx *sqlx.Tx) error {
		if key != "" {
			existing, ok, err := botByKey(tx, userID, key, hash)
			if ok || err != nil {
				b, replayed = existing, ok
				return err
			}
		}
		n, err := countBots(tx, userID)
		if err != nil {
			return err
		}
		if n >= ent.MaxBots {
			return apperr.Refuse(ErrNotEntitled, "the %s plan allows %d bots", ent.PlanID, ent.MaxBots)
		}
		id, err := insertBot(tx, userID, spec, brokerName, s.nowMillis())
		if err != nil {
			return err
		}
		if key != "" {
			if _, err := tx.Exec(tx.Rebind("UPDATE bots SET idempotency_key = ?, request_hash = ? WHERE id = ? AND user_id = ?"),
				key, hash, id, userID); err != nil {
				return err
			}
		}
		if b, err = getBot(tx, userID, id); err != nil {
			return err
		}
		return s.record(tx, b)
	})
	if key != "" && errors.Is(err, store.ErrConflict) {
		// Another host created it first with this key.
		return s.byKey(ctx, userID, key, hash)
	}
	if err != nil {
		return Bot{}, false, err
	}
	return b, replayed, nil
}

// byKey looks up userID's bot created with key.
func (s *Service) byKey(ctx context.Context, userID int64, key string, hash []byte) (b Bot, ok bool, err error) {
	err = s.st.View(ctx, store.Tenant(userID), func(tx *sqlx.Tx) error {
		b, ok, err = botByKey(tx, userID, key, hash)
		return err
	})
	return b, ok, err
}

// botByKey returns the bot userID created with key; ok is false when
// there is none, and a different hash is ErrIdempotencyConflict.
func botByKey(tx *sqlx.Tx, userID int64, key string, hash []byte) (Bot, bool, error) {
	var row struct {
		ID   int64  `db:"id"`
		Hash []byte `db:"request_hash"`
	}
	err := tx.Get(&row, tx.Rebind("SELECT id, request_hash FROM bots WHERE user_id = ? AND idempotency_key = ?"), userID, key)
	if errors.Is(store.MapError(err), store.ErrNotFound) {
		return Bot{}, false, nil
	}
	if err != nil {
		return Bot{}, false, err
	}
	if !bytes.Equal(row.Hash, hash) {
		return Bot{}, false, ErrIdempotencyConflict
	}
	b, err := getBot(tx, userID, row.ID)
	return b, err == nil, err
}

// check validates what needs other services: the plan allows the strategy
// and the account's broker, the account is the user's, the strategy accepts
// the parameters, the broker lists the symbol. It returns the account's
// broker.
func (s *Service) check(ctx context.Context, userID int64, spec Spec, ent billing.Entitlements) (string, error) {
	if !ent.AllowsStrategy(spec.Strategy) {
		return "", apperr.Refuse(ErrNotEntitled, "the %s plan does not include the %s strategy", ent.PlanID, spec.Strategy)
	}
	acct, err := s.deps.Accounts.Get(ctx, userID, spec.AccountID)
	if errors.Is(err, accounts.ErrNotFound) {
		// Another user's account is "not found", as every other object
		// of another user is (the API answers 404).
		return "", fmt.Errorf("bots: account_id %d: %w", spec.AccountID, err)
	}
	if err != nil {
		return "", fmt.Errorf("bots: account %d: %w", spec.AccountID, err)
	}
	if !ent.AllowsBroker(acct.Broker) {
		return "", apperr.Refuse(ErrNotEntitled, "the %s plan does not include the %s broker", ent.PlanID, acct.Broker)
	}
	if err := s.probe(ctx, spec); err != nil {
		return "", err
	}
	if err := s.checkSymbol(ctx, acct.Broker, spec.Symbol); err != nil {
		return "", err
	}
	return acct.Broker, nil
}

// checkSymbol checks the symbol against the broker's instruments. A broker
// that cannot list them right now does not block the create: the symbol is
// checked again by the broker on every order.
func (s *Service) checkSymbol(ctx context.Context, brokerName, symbol string) error {
	list, err := s.deps.Market.Instruments(ctx, brokerName)
	if err != nil {
		s.log.Warn("cannot list instruments to check a bot's symbol", "broker", brokerName, "error", err)
		return nil
	}
	for _, in := range list {
		if in.Symbol == symbol {
			return nil
		}
	}
	return invalid("symbol", "must be one the %s broker lists; it has no %q", brokerName, symbol)
}

// Get returns one of userID's bots.
func (s *Service) Get(ctx context.Context, userID, id int64) (Bot, error) {
	var b Bot
	err := s.st.View(ctx, store.Tenant(userID), func(tx *sqlx.Tx) (err error) {
		b, err = getBot(tx, userID, id)
		return err
	})
	if err != nil {
		return Bot{}, notFound(err, id)
	}
	return b, nil
}

// List returns userID's bots with ids above cursor, oldest first, at most
// limit (default 50, at most 500), and the cursor of the next page (0 when
// this is the last).
func (s *Service) List(ctx context.Context, userID int64, limit int, cursor int64) ([]Bot, int64, error) {
	if limit <= 0 {
		limit = defaultListLimit
	}
	limit = min(limit, maxListLimit)
	var bs []Bot
	err := s.st.View(ctx, store.Tenant(userID), func(tx *sqlx.Tx) (err error) {
		bs, err = listBots(tx, userID, limit+1, max(cursor, 0))
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	var next int64
	if len(bs) > limit {
		bs = bs[:limit]
		next = bs[limit-1].ID
	}
	return bs, next, nil
}

// Update replaces a bot's spec. The bot must not be running (ErrConflict):
// stop it first. The plan's bot count is not re-checked, the rest is.
func (s *Service) Update(ctx context.Context, userID, id int64, spec Spec) (Bot, error) {
	spec = spec.normalize()
	if err := spec.validate(); err != nil {
		return Bot{}, err
	}
	defer s.lockBot(id)()
	cur, err := s.Get(ctx, userID, id)
	if err != nil {
		return Bot{}, err
	}
	if cur.Status == StatusRunning {
		return Bot{}, apperr.Refuse(ErrConflict, "bot %d is running; stop it first", id)
	}
	ent, err := s.deps.Entitlements.Entitlements(ctx, userID)
	if err != nil {
		return Bot{}, fmt.Errorf("bots: entitlements: %w", err)
	}
	brokerName, err := s.check(ctx, userID, spec, ent)
	if err != nil {
		return Bot{}, err
	}
	var b Bot
	err = s.st.Update(ctx, store.Tenant(userID), func(tx *sqlx.Tx) (err error) {
		if b, err = updateSpec(tx, userID, id, spec, brokerName, s.nowMillis()); err != nil {
			return err
		}
		return s.record(tx, b)
	})
	if err != nil {
		return Bot{}, notFound(err, id)
	}
	return b, nil
}

// Delete stops and deletes a bot. Its trades keep their bot_id. Its last
// event is the bot as it was, with StatusDeleted.
func (s *Service) Delete(ctx context.Context, userID, id int64) error {
	defer s.lockBot(id)()
	if _, err := s.Get(ctx, userID, id); err != nil {
		return err
	}
	s.run.deactivate(ctx, id)
	err := s.st.Update(ctx, store.Tenant(userID), func(tx *sqlx.Tx) error {
		b, err := deleteBot(tx, userID, id)
		if err != nil {
			return err
		}
		b.Status, b.StatusReason = StatusDeleted, ""
		b.UpdatedAt = time.UnixMilli(s.nowMillis()).UTC()
		return s.record(tx, b)
	})
	return notFound(err, id)
}

// Start marks a bot running and, while Run runs, starts it. It needs a
// plan that allows one more running bot, the strategy and the broker
// (ErrNotEntitled), and a connected account (ErrAccountNotConnected).
// Starting a running bot returns it as it is.
func (s *Service) Start(ctx context.Context, userID, id int64) (Bot, error) {
	defer s.lockBot(id)()
	b, err := s.Get(ctx, userID, id)
	if err != nil {
		return Bot{}, err
	}
	if b.Status == StatusRunning {
		return b, nil
	}
	acct, err := s.deps.Accounts.Get(ctx, userID, b.AccountID)
	if err != nil {
		if errors.Is(err, accounts.ErrNotFound) {
			return Bot{}, apperr.Refuse(ErrAccountNotConnected, "account %d no longer exists", b.AccountID)
		}
		return Bot{}, fmt.Errorf("bots: account %d: %w", b.AccountID, err)
	}
	if acct.Status != accounts.StatusConnected {
		return Bot{}, apperr.Refuse(ErrAccountNotConnected, "account %d is %s", b.AccountID, acct.Status)
	}
	defer s.lockUser(userID)()
	ent, err := s.deps.Entitlements.Entitlements(ctx, userID)
	if err != nil {
		return Bot{}, fmt.Errorf("bots: entitlements: %w", err)
	}
	var running int
	if err := s.st.View(ctx, store.Tenant(userID), func(tx *sqlx.Tx) (err error) {
		running, err = countRunning(tx, userID, id)
		return err
	}); err != nil {
		return Bot{}, err
	}
	if err := allowed(b, acct.Mode, ent, running); err != nil {
		return Bot{}, err
	}
	if err := s.setStatus(ctx, b, StatusRunning, ""); err != nil {
		return Bot{}, err
	}
	b.Status, b.StatusReason = StatusRunning, ""
	if err := s.run.activate(ctx, b, acct.Mode); err != nil && !errors.Is(err, errNotRunning) {
		st, reason := statusFor(err)
		s.log.Warn("bot could not start", "bot_id", id, "error", err)
		if serr := s.setStatus(ctx, b, st, reason); serr != nil {
			return Bot{}, errors.Join(err, serr)
		}
		return Bot{}, fmt.Errorf("bots: start bot %d: %w", id, err)
	}
	return s.Get(ctx, userID, id)
}

// Stop stops a bot; stopping a stopped bot succeeds.
func (s *Service) Stop(ctx context.Context, userID, id int64) (Bot, error) {
	defer s.lockBot(id)()
	b, err := s.Get(ctx, userID, id)
	if err != nil {
		return Bot{}, err
	}
	s.run.deactivate(ctx, id)
	if b.Status != StatusStopped {
		if err := s.setStatus(ctx, b, StatusStopped, ""); err != nil {
			return Bot{}, err
		}
	}
	return s.Get(ctx, userID, id)
}

// allowed checks a plan against a bot that is to run beside running
// others of the same user.
func allowed(b Bot, mode broker.Mode, ent billing.Entitlements, running int) error {
	switch {
	case running >= ent.MaxBots:
		return apperr.Refuse(ErrNotEntitled, "the %s plan allows %d running bots", ent.PlanID, ent.MaxBots)
	case !ent.AllowsStrategy(b.Strategy):
		return apperr.Refuse(ErrNotEntitled, "the %s plan does not include the %s strategy", ent.PlanID, b.Strategy)
	case !ent.AllowsBroker(b.Broker):
		return apperr.Refuse(ErrNotEntitled, "the %s plan does not include the %s broker", ent.PlanID, b.Broker)
	case mode == broker.Real && !ent.LiveTrading:
		return apperr.Refuse(ErrNotEntitled, "the %s plan allows practice accounts only", ent.PlanID)
	}
	return nil
}
