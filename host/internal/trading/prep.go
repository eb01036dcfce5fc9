package trading

import (
	"context"
	"errors"
	"fmt"

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

// check returns the session and account req trades on, or why it cannot
// be placed.
func (p *prep) check(ctx context.Context, req PlaceRequest) (broker.Broker, accounts.Account, error) {
	sk := sessionKey{userID: req.UserID, accountID: req.AccountID, broker: req.Broker}
	sa, ok := p.sessions[sk]
	if !ok {
		sa.b, sa.acct, sa.err = p.s.session(ctx, req)
		p.sessions[sk] = sa
	}
	if sa.err != nil {
		return nil, accounts.Account{}, sa.err
	}
	pk := policyKey{userID: req.UserID, broker: sa.acct.Broker, mode: sa.acct.Mode}
	perr, ok := p.policy[pk]
	if !ok {
		perr = p.s.checkPolicy(ctx, req.UserID, sa.acct)
		p.policy[pk] = perr
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
