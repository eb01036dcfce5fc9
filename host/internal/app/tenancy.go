package app

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	"github.com/hashicorp/go-hclog"

	"github.com/stc-trading/stc/host/internal/accounts"
	"github.com/stc-trading/stc/host/internal/auth"
	"github.com/stc-trading/stc/host/internal/billing"
	"github.com/stc-trading/stc/host/internal/bots"
	"github.com/stc-trading/stc/host/internal/config"
	"github.com/stc-trading/stc/host/internal/secrets"
	"github.com/stc-trading/stc/host/internal/trading"
	"github.com/stc-trading/stc/sdk/broker"
)

// LoadKeyring returns the broker-credential keyring: STC_ENCRYPTION_KEY
// (cfg.EncryptionKey), or in development mode a key generated into the
// data directory. There is no built-in key, so production refuses to
// start without one.
func LoadKeyring(cfg config.Config, log hclog.Logger) (*secrets.Keyring, error) {
	spec := cfg.EncryptionKey
	if spec == "" {
		if !cfg.Dev {
			return nil, errors.New("STC_ENCRYPTION_KEY is not set: broker credentials cannot be stored without it. " +
				"Generate one with `stc keys generate` and keep it in your secret store, or run with -dev (STC_DEV=true) for a local development key")
		}
		var created bool
		var err error
		spec, created, err = secrets.LoadOrCreateDevKey(cfg.DataDir)
		if err != nil {
			return nil, fmt.Errorf("development key: %w", err)
		}
		log.Warn("DEVELOPMENT MODE: broker credentials are encrypted with a key stored next to the data "+
			"(anyone who can read the data directory can decrypt them). Never use this mode with real money; set STC_ENCRYPTION_KEY in production.",
			"key_file", secrets.DevKeyFile, "created", created)
	}
	k, err := secrets.ParseKeyring(spec)
	if err != nil {
		return nil, fmt.Errorf("STC_ENCRYPTION_KEY: %w", err)
	}
	return k, nil
}

// NewHasher is the production password hasher: RFC 9106's second option,
// at most one argon2 computation per CPU at once (each holds 64 MiB).
func NewHasher() (*auth.Hasher, error) {
	return auth.NewHasher(auth.DefaultParams(), runtime.NumCPU())
}

// entitlementPolicy asks the billing service whether a user's plan allows
// connecting an account or placing a trade on a broker.
type entitlementPolicy struct{ billing *billing.Service }

// check asks the plan whether userID may use brokerName in mode; a
// refusal wraps the consumer's sentinel so each maps it to its own answer.
func (p entitlementPolicy) check(ctx context.Context, userID int64, brokerName string, mode broker.Mode, sentinel error) error {
	ent, err := p.billing.Entitlements(ctx, userID)
	if err != nil {
		return err
	}
	if err := ent.CheckBroker(brokerName, mode == broker.Real); err != nil {
		return fmt.Errorf("%w: %w", sentinel, err)
	}
	return nil
}

// CheckTrade asks the plan about a trade: a lapsed plan stops real-money
// trading and trading on brokers the plan no longer includes.
func (p entitlementPolicy) CheckTrade(ctx context.Context, userID int64, brokerName string, mode broker.Mode) error {
	return p.check(ctx, userID, brokerName, mode, trading.ErrNotEntitled)
}

// CheckConnect asks the plan about connecting an account.
func (p entitlementPolicy) CheckConnect(ctx context.Context, userID int64, brokerName string, mode broker.Mode) error {
	return p.check(ctx, userID, brokerName, mode, accounts.ErrNotEntitled)
}

// AccountLimit is the plan's limit of broker accounts.
func (p entitlementPolicy) AccountLimit(ctx context.Context, userID int64) (int, error) {
	ent, err := p.billing.Entitlements(ctx, userID)
	if err != nil {
		return 0, err
	}
	return ent.MaxAccounts, nil
}

var (
	_ accounts.Policy     = entitlementPolicy{}
	_ trading.Policy      = entitlementPolicy{}
	_ accounts.OpenTrades = (*trading.Service)(nil)
)

// accountDependents are what a disconnect concerns: no account with trades
// in flight is disconnected (they would have nothing to settle through),
// and one that is disconnected drops out of the trader's remembered
// checks and pauses its bots at once, rather than at their next signal.
func accountDependents(trader *trading.Service, botSvc *bots.Service) accounts.Dependents {
	return accounts.Dependents{
		OpenTrades: trader,
		OnDisconnect: []accounts.DisconnectHook{
			func(_ context.Context, userID, _ int64) error {
				trader.ForgetUser(userID)
				return nil
			},
			func(ctx context.Context, userID, accountID int64) error {
				if _, err := botSvc.PauseAccount(ctx, userID, accountID); err != nil {
					return fmt.Errorf("pausing its bots: %w", err)
				}
				return nil
			},
		},
	}
}

// planChanged applies a change of plan (a webhook event, an admin grant)
// at once: the cached entitlements are dropped and the bots the new plan
// does not allow are paused, instead of trading on until the caches
// expire. It is billing.Service.OnChange's listener.
func planChanged(trader *trading.Service, botSvc *bots.Service, log hclog.Logger) func(ctx context.Context, userID int64) {
	return func(ctx context.Context, userID int64) {
		trader.ForgetUser(userID)
		if n, err := botSvc.EntitlementsChanged(ctx, userID); err != nil {
			log.Error("applying a plan change to the user's bots", "user_id", userID, "error", err)
		} else if n > 0 {
			log.Info("paused bots the new plan does not allow", "user_id", userID, "bots", n)
		}
	}
}
