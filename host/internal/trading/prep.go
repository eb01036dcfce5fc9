package trading

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/stc-trading/stc/host/internal/accounts"
	"github.com/stc-trading/stc/sdk/broker"
)

// prep runs the checks before a trade row is written: the account and its
// session, the plan's entitlement and the instrument's conditions. It
// remembers sessions and entitlement answers, so a batch asks once per
// account and per user, not once per order.
type prep struct {
	s        *Service
	sessions map[sessionKey]sessionAnswer
	policy   map[policyKey]error
	// shared, for batches, keeps successful answers across batches for
	// Options.BatchCheckTTL.
	shared *checkCache
}

// checkCache keeps the successful session and entitlement answers of
// recent batches. A candle close's signals arrive as several batches that
// all name the same accounts and users; asking again for each costs two
// transactions per account and batch. Disconnecting an account forgets its
// user's answers (ForgetUser); otherwise an account gone meanwhile is at
// worst sent an order its closed session refuses (a rejected trade), and
// the bot runner caches entitlements for longer anyway.
type checkCache struct {
	mu       sync.Mutex
	sessions map[sessionKey]cachedSession
	policy   map[policyKey]time.Time
}

type cachedSession struct {
	sessionAnswer
	at time.Time
}

type sessionKey struct {
	userID, accountID int64
	broker            string
}

type sessionAnswer struct {
	b    broker.Broker
	acct accounts.Account
	err  error
}

type policyKey struct {
	userID int64
	broker string
	mode   broker.Mode
}

func newPrep(s *Service) *prep {
	return &prep{s: s, sessions: make(map[sessionKey]sessionAnswer), policy: make(map[policyKey]error)}
}

// newBatchPrep is newPrep with the service's cache of recent answers.
func newBatchPrep(s *Service) *prep {
	p := newPrep(s)
	p.shared = &s.checks
	return p
}

func (p *prep) cachedSession(k sessionKey) (sessionAnswer, bool) {
	if p.shared == nil {
		return sessionAnswer{}, false
	}
	c := p.shared
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.sessions[k]
	if !ok || p.s.opts.Now().Sub(e.at) >= p.s.opts.BatchCheckTTL {
		return sessionAnswer{}, false
	}
	return e.sessionAnswer, true
}

func (p *prep) cachedPolicy(k policyKey) bool {
	if p.shared == nil {
		return false
	}
	c := p.shared
	c.mu.Lock()
	defer c.mu.Unlock()
	at, ok := c.policy[k]
	return ok && p.s.opts.Now().Sub(at) < p.s.opts.BatchCheckTTL
}

// remember keeps successful answers (a failure is asked again next time,
// so a reconnected account trades at once).
func (p *prep) remember(sk sessionKey, sa sessionAnswer, pk policyKey) {
	if p.shared == nil {
		return
	}
	c := p.shared
	now := p.s.opts.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sessions == nil {
		c.sessions, c.policy = make(map[sessionKey]cachedSession), make(map[policyKey]time.Time)
	}
	// Drop stale entries now and then, so the maps do not grow with every
	// account ever seen.
	if len(c.sessions) > 4096 {
		for k, e := range c.sessions {
			if now.Sub(e.at) >= p.s.opts.BatchCheckTTL {
				delete(c.sessions, k)
			}
		}
		for k, at := range c.policy {
			if now.Sub(at) >= p.s.opts.BatchCheckTTL {
				delete(c.policy, k)
			}
		}
	}
	c.sessions[sk] = cachedSession{sessionAnswer: sa, at: now}
	c.policy[pk] = now
}

// ForgetUser drops the answers PlaceBatch remembers for userID's accounts
// and entitlements (Options.BatchCheckTTL), so that the next batch asks
// afresh. Call it when the user's accounts change, such as on disconnect:
// the orders of a batch that was already past its checks still go to the
// account's closed session, which refuses them (rejected trades).
func (s *Service) ForgetUser(userID int64) {
	c := &s.checks
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.sessions {
		if k.userID == userID {
			delete(c.sessions, k)
		}
	}
	for k := range c.policy {
		if k.userID == userID {
			delete(c.policy, k)
		}
	}
}

// check returns the session and account req trades on, or why it cannot
// be placed.
func (p *prep) check(ctx context.Context, req PlaceRequest) (broker.Broker, accounts.Account, error) {
	sk := sessionKey{userID: req.UserID, accountID: req.AccountID, broker: req.Broker}
	sa, ok := p.sessions[sk]
	if !ok {
		if sa, ok = p.cachedSession(sk); !ok {
			sa.b, sa.acct, sa.err = p.s.session(ctx, req)
		}
		p.sessions[sk] = sa
	}
	if sa.err != nil {
		return nil, accounts.Account{}, sa.err
	}
	pk := policyKey{userID: req.UserID, broker: sa.acct.Broker, mode: sa.acct.Mode}
	perr, ok := p.policy[pk]
	if !ok {
		if !p.cachedPolicy(pk) {
			perr = p.s.checkPolicy(ctx, req.UserID, sa.acct)
		}
		p.policy[pk] = perr
		if perr == nil {
			p.remember(sk, sa, pk)
		}
	}
	if perr != nil {
		return nil, accounts.Account{}, perr
	}
	if err := p.s.checkInstrument(ctx, sa.b, sa.acct.Broker, req); err != nil {
		return nil, accounts.Account{}, err
	}
	return sa.b, sa.acct, nil
}

// checkPolicy asks the entitlement policy whether userID may trade on
// acct.
func (s *Service) checkPolicy(ctx context.Context, userID int64, acct accounts.Account) error {
	err := s.policy.CheckTrade(ctx, userID, acct.Broker, acct.Mode)
	switch {
	case err == nil, errors.Is(err, ErrNotEntitled):
		return err
	case errors.Is(err, accounts.ErrNotEntitled):
		return fmt.Errorf("%w: %w", ErrNotEntitled, err)
	default:
		return fmt.Errorf("trading: check entitlement: %w", err)
	}
}
