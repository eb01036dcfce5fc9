package main

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/stc-trading/stc/host/internal/accounts"
	"github.com/stc-trading/stc/host/internal/auth"
	"github.com/stc-trading/stc/host/internal/billing"
	"github.com/stc-trading/stc/host/internal/billing/webhook"
	"github.com/stc-trading/stc/host/internal/bots"
	"github.com/stc-trading/stc/host/internal/config"
	"github.com/stc-trading/stc/host/internal/pluginmgr"
	"github.com/stc-trading/stc/host/internal/secrets"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/trading"
	"github.com/stc-trading/stc/host/internal/users"
	"github.com/stc-trading/stc/sdk/broker"
)

// loadKeyring returns the broker-credential keyring: STC_ENCRYPTION_KEY,
// or in development mode a key generated into the data directory. There
// is no built-in key, so production refuses to start without one.
func loadKeyring(cfg config.Config, log hclog.Logger) (*secrets.Keyring, error) {
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

// newHasher is the production password hasher: RFC 9106's second option,
// at most one argon2 computation per CPU at once (each holds 64 MiB).
func newHasher() (*auth.Hasher, error) {
	return auth.NewHasher(auth.DefaultParams(), runtime.NumCPU())
}

// tenancy is the multi-tenant half of the host: who the users are, what
// they may do, and their broker accounts.
type tenancy struct {
	users    *users.Service
	billing  *billing.Service
	accounts *accounts.Manager
}

func newTenancy(cfg config.Config, db *store.Store, m *pluginmgr.Manager, log hclog.Logger) (*tenancy, error) {
	keys, err := loadKeyring(cfg, log)
	if err != nil {
		return nil, err
	}
	hasher, err := newHasher()
	if err != nil {
		return nil, err
	}
	if cfg.BillingWebhookSecret == "" {
		log.Warn("STC_BILLING_WEBHOOK_SECRET is not set: the billing webhook answers 503 until it is")
	}
	bill := billing.NewService(db, &webhook.Verifier{Secret: []byte(cfg.BillingWebhookSecret)}, time.Now, log.Named("billing"))
	return &tenancy{
		users:    users.NewService(db, hasher, auth.NewThrottle(auth.DefaultThrottleConfig()), users.Options{}, log.Named("users")),
		billing:  bill,
		accounts: accounts.NewManager(db, keys, m, entitlementPolicy{bill}, log.Named("accounts")),
	}, nil
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

// accountsAPI is the account manager as the API uses it: an account with
// trades the broker has still to resolve cannot be disconnected (they
// would have no session to settle through), and disconnecting one pauses
// its bots at once instead of at their next signal.
type accountsAPI struct {
	*accounts.Manager
	bots    *bots.Service
	trading *trading.Service
}

// checkNoActiveTrades refuses to disconnect an account with trades in
// flight.
func (a accountsAPI) checkNoActiveTrades(ctx context.Context, userID, accountID int64) error {
	n, err := a.trading.ActiveOnAccount(ctx, userID, accountID)
	if err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("%w: %d trade(s) on this account are still open; stop its bots and disconnect once they have settled", accounts.ErrBusy, n)
	}
	return nil
}

func (a accountsAPI) Disconnect(ctx context.Context, userID, accountID int64) error {
	// Another user's account has no trades of userID, and the manager
	// answers ErrNotFound for it below.
	if err := a.checkNoActiveTrades(ctx, userID, accountID); err != nil {
		return err
	}
	if err := a.Manager.Disconnect(ctx, userID, accountID); err != nil {
		return err
	}
	a.trading.ForgetUser(userID)
	if _, err := a.bots.PauseAccount(ctx, userID, accountID); err != nil {
		return fmt.Errorf("account disconnected, but pausing its bots failed: %w", err)
	}
	return nil
}

func (a accountsAPI) DisconnectBroker(ctx context.Context, userID int64, brokerName string) (int, error) {
	list, err := a.List(ctx, userID)
	if err != nil {
		return 0, err
	}
	for _, acct := range list {
		if acct.Broker == brokerName {
			if err := a.checkNoActiveTrades(ctx, userID, acct.ID); err != nil {
				return 0, err
			}
		}
	}
	n, err := a.Manager.DisconnectBroker(ctx, userID, brokerName)
	a.trading.ForgetUser(userID)
	if err != nil {
		return n, err
	}
	for _, acct := range list {
		if acct.Broker == brokerName {
			if _, err := a.bots.PauseAccount(ctx, userID, acct.ID); err != nil {
				return n, fmt.Errorf("accounts disconnected, but pausing their bots failed: %w", err)
			}
		}
	}
	return n, nil
}
