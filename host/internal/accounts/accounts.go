// Package accounts is the account manager: it connects a user's own broker
// account through the broker plugin, keeps the credentials sealed at rest,
// and owns the account's plugin session for as long as it is connected.
//
// Every account is one session "acct-<id>" inside the broker plugin's
// (multiplexed) process. Sessions are opened through
// pluginmgr.BrokerHandle.OpenSession with a ReopenFunc that reads and
// decrypts the sealed credentials from the database on each call, so the
// plugin manager re-opens them after a plugin restart without this package
// keeping any secret in memory; ResumeAll does the same after a host
// restart.
//
// Credentials are sealed with AES-256-GCM (secrets.Keyring) and bound to the
// user and the account through the AAD, so a row copied to another account
// does not decrypt. They are never returned, never logged and never placed in
// a plugin's environment: they travel to the plugin only inside the Open
// call. The one-time second-factor "code" is passed to the broker but never
// stored.
//
// Every account state change is also recorded, in the transaction that
// makes it, in the user's event log (SetEvents) as the account object the
// API returns; WatchBalances adds an event when a watched account's live
// balance changes.
//
// Every query is scoped to the acting user (store.Tenant); only ResumeAll,
// RotateKeys and the balance watcher's listing, which act for no single
// user, use store.System.
package accounts

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/shopspring/decimal"

	"github.com/stc-trading/stc/host/internal/keylock"
	"github.com/stc-trading/stc/host/internal/pluginmgr"
	"github.com/stc-trading/stc/host/internal/secrets"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/sdk/broker"
)

// Status is where a broker account is in its life.
type Status string

// Account statuses. Connected, Disconnected, SecondFactorRequired and Error
// are what users see; Connecting only shows while a Connect is in flight
// (or after a host crash interrupted one, until ResumeAll settles it).
const (
	// StatusConnected: the session is open (List and Get confirm it live).
	StatusConnected Status = "connected"
	// StatusDisconnected: the user disconnected; the credentials are erased.
	StatusDisconnected Status = "disconnected"
	// StatusSecondFactorRequired: the broker asked for a second-factor code;
	// Connect again with credentials["code"].
	StatusSecondFactorRequired Status = "second_factor_required"
	// StatusError: the account should be connected but its session is not
	// usable; StatusReason says why. ResumeAll retries it at host start.
	StatusError Status = "error"
	// StatusConnecting: a Connect is logging in.
	StatusConnecting Status = "connecting"
)

// Account is a broker account as users see it. It never holds credentials.
type Account struct {
	ID     int64
	UserID int64
	Broker string
	Mode   broker.Mode
	// Login is the non-secret name the user logs in with (username, email),
	// shown so users can tell their accounts apart.
	Login  string
	Status Status
	// StatusReason is a short machine-readable reason for StatusError and
	// StatusSecondFactorRequired: "awaiting_code" (a new account's first
	// code), "second_factor_required" (the broker asked again at resume),
	// or a broker error reason such as "auth_failed", "unavailable",
	// "session_not_found", "plugin_unavailable", "timeout",
	// "credentials_unreadable". It never carries broker messages, which
	// could echo what the user typed.
	StatusReason string
	// Balance and Currency are the live balance; BalanceKnown says whether
	// the broker answered (a zero balance is a real value).
	Balance      decimal.Decimal
	Currency     string
	BalanceKnown bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// Removed is only ever set on an event: the account no longer exists,
	// because the connect that created it failed before it ever connected
	// (its row is deleted; Status is StatusDisconnected and StatusReason
	// the failure's). Clients drop it from their list.
	Removed bool
}

// ConnectRequest connects a broker account.
type ConnectRequest struct {
	// Broker is the broker plugin's name, e.g. "paper".
	Broker string
	// Mode is broker.Practice or broker.Real. The zero value (not given)
	// means practice: real money needs an explicit request and an
	// entitlement.
	Mode broker.Mode
	// Credentials are what the broker's metadata asks for (e.g. username,
	// password, and "code" when repeating after second_factor_required).
	Credentials map[string]string
}

// Policy is the entitlement service, asked before every connect.
type Policy interface {
	// CheckConnect returns nil when the user's plan allows an account at
	// brokerName in mode, and an error wrapping ErrNotEntitled otherwise.
	CheckConnect(ctx context.Context, userID int64, brokerName string, mode broker.Mode) error
	// AccountLimit returns how many broker accounts the user's plan
	// allows at once (every account that is not disconnected counts);
	// 0 means no limit.
	AccountLimit(ctx context.Context, userID int64) (int, error)
}

// Brokers hands out broker plugin handles; *pluginmgr.Manager satisfies it.
type Brokers interface {
	// Broker returns the handle of broker plugin name, starting it if
	// needed; an error wrapping pluginmgr.ErrUnknownPlugin when the catalog
	// has no such broker.
	Broker(ctx context.Context, name string) (*pluginmgr.BrokerHandle, error)
}

var _ Brokers = (*pluginmgr.Manager)(nil)

// Errors of the manager. Broker errors (broker.ErrAuthFailed,
// broker.ErrSecondFactorRequired, broker.ErrRateLimited,
// broker.ErrUnavailable, ...) and plugin manager errors pass through
// wrapped, so errors.Is works on them too.
var (
	// ErrNotFound: the account does not exist or belongs to another user
	// (the two are indistinguishable on purpose).
	ErrNotFound = errors.New("accounts: account not found")
	// ErrNotEntitled: the user's plan does not allow this broker or mode.
	ErrNotEntitled = errors.New("accounts: not entitled")
	// ErrInvalidRequest: the request is malformed (bad mode, credentials
	// too many, too long, with control characters, or not what the broker
	// asks for).
	ErrInvalidRequest = errors.New("accounts: invalid request")
	// ErrUnknownBroker: no broker plugin of that name is installed.
	ErrUnknownBroker = errors.New("accounts: unknown broker")
	// ErrAccountLimit: the user has as many accounts as the plan allows;
	// the error is a *LimitError.
	ErrAccountLimit = errors.New("accounts: account limit reached")
	// ErrBusy: the account cannot be changed now (for example, it has
	// trades the broker has still to resolve); the caller may retry later.
	ErrBusy = errors.New("accounts: account busy")
)

// SecondFactorError is returned by Connect when the broker wants a
// second-factor code. The account row is kept with
// StatusSecondFactorRequired; repeating Connect with the same broker, mode
// and login plus credentials["code"] continues on the same account and
// session. It wraps broker.ErrSecondFactorRequired.
type SecondFactorError struct {
	// AccountID is the account waiting for the code.
	AccountID int64
	// Err is the broker's error.
	Err error
}

// Error implements error.
func (e *SecondFactorError) Error() string {
	return fmt.Sprintf("accounts: account %d: %v", e.AccountID, e.Err)
}

// Unwrap returns the broker's error, which wraps
// broker.ErrSecondFactorRequired.
func (e *SecondFactorError) Unwrap() error { return e.Err }

// LimitError refuses a connect that would take the user over the plan's
// account limit. errors.Is(err, ErrAccountLimit) holds.
type LimitError struct {
	// Max is the plan's limit.
	Max int
}

// Error implements error.
func (e *LimitError) Error() string {
	return fmt.Sprintf("accounts: your plan allows %d connected broker accounts; disconnect one or upgrade", e.Max)
}

// Is makes errors.Is(err, ErrAccountLimit) true.
func (e *LimitError) Is(target error) bool { return target == ErrAccountLimit }

// credentialsPurpose binds sealed credentials to their use in the AAD.
const credentialsPurpose = "broker-credentials"

// Timeouts and bounds of the manager.
const (
	// liveTimeout bounds the live balance check of one account in List and
	// Get, so one slow broker cannot stall the whole list.
	liveTimeout = 3 * time.Second
	// liveConcurrency bounds parallel balance checks in List.
	liveConcurrency = 8
	// resumeConcurrency bounds parallel logins in ResumeAll by default;
	// they are network calls to brokers that may rate-limit.
	resumeConcurrency = 8
)

// Manager connects, lists and disconnects users' broker accounts and owns
// their plugin sessions. It is safe for concurrent use and starts no
// goroutine that outlives a call.
type Manager struct {
	st      *store.Store
	keys    *secrets.Keyring
	brokers Brokers
	policy  Policy
	log     hclog.Logger
	// users serialises one user's Connect and Disconnect calls, so two
	// requests cannot race on finding or creating the same account row.
	users keylock.Map
	// dependents are what SetDependents gave; nil until then.
	dependents atomic.Pointer[Dependents]
	// events is what SetEvents gave; nil records nothing.
	events atomic.Pointer[EventLog]
	// balances is the last balance this host's events carried per account.
	balances balanceMemory
	// watch is the balance watcher's state (WatchBalances, BalanceChanged).
	watch balanceWatch
}

// NewManager returns a Manager. log may be nil.
func NewManager(st *store.Store, keys *secrets.Keyring, brokers Brokers, policy Policy, log hclog.Logger) *Manager {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &Manager{
		st: st, keys: keys, brokers: brokers, policy: policy,
		log: log.Named("accounts"),
	}
}

// SessionID returns the plugin session id of account id ("acct-<id>").
func SessionID(accountID int64) string { return sessionPrefix + strconv.FormatInt(accountID, 10) }

const sessionPrefix = "acct-"

// accountOfSession is SessionID's inverse; ok is false for a session id
// that is not an account's.
func accountOfSession(sessionID string) (id int64, ok bool) {
	num, ok := strings.CutPrefix(sessionID, sessionPrefix)
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(num, 10, 64)
	return id, err == nil && id > 0
}

// aad returns the AAD binding an account's sealed credentials.
func aad(userID, accountID int64) secrets.AAD {
	return secrets.AAD{UserID: userID, AccountID: accountID, Purpose: credentialsPurpose}
}

// handle returns the broker's plugin handle, mapping an unknown plugin to
// ErrUnknownBroker.
func (m *Manager) handle(ctx context.Context, name string) (*pluginmgr.BrokerHandle, error) {
	h, err := m.brokers.Broker(ctx, name)
	if errors.Is(err, pluginmgr.ErrUnknownPlugin) {
		return nil, fmt.Errorf("%w %q", ErrUnknownBroker, name)
	}
	if err != nil {
		return nil, fmt.Errorf("accounts: broker %s: %w", name, err)
	}
	return h, nil
}

// reason returns the short machine-readable reason stored and shown for a
// failed session, never the error text (a broker could echo credentials).
func reason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, secrets.ErrDecrypt), errors.Is(err, secrets.ErrUnknownKey), errors.Is(err, secrets.ErrMalformed):
		return "credentials_unreadable"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, pluginmgr.ErrPluginUnavailable), errors.Is(err, pluginmgr.ErrPluginExited):
		return "plugin_unavailable"
	case errors.Is(err, ErrUnknownBroker):
		return "unknown_broker"
	}
	if r := broker.Reason(err); r != "" {
		return strings.ToLower(r)
	}
	return "error"
}
