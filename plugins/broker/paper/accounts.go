package paper

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
)

// Password hashing: PBKDF2-HMAC-SHA256 from the standard library with a
// random 16-byte salt. The iteration count is stored per account so it can
// be raised later without invalidating existing accounts. It is modest
// because these are practice accounts holding play money.
const (
	kdfIterations = 100_000
	kdfKeyLen     = 32
	saltLen       = 16
)

// initialBalance is the practice balance of a new account.
func initialBalance() decimal.Decimal { return decimal.NewFromInt(10_000).Round(2) }

// account is one paper account, shared by all its sessions.
type account struct {
	username   string
	ref        string
	file       string
	salt, hash []byte
	iterations int

	mu      sync.Mutex
	balance decimal.Decimal
	orders  map[string]*broker.Order // by client order id
	subs    map[*orderSub]struct{}
}

func (a *account) balanceNow() decimal.Decimal {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.balance
}

// replay rebuilds an account from its log records.
func replay(file string, recs []record) (*account, error) {
	if len(recs) == 0 || recs[0].Type != recOpen || recs[0].Open == nil {
		return nil, fmt.Errorf("paper: account log %s does not start with an open record", file)
	}
	o := recs[0].Open
	a := &account{
		username:   o.Username,
		ref:        o.Ref,
		file:       file,
		salt:       o.Salt,
		hash:       o.Hash,
		iterations: o.Iterations,
		balance:    o.Balance,
		orders:     make(map[string]*broker.Order),
		subs:       make(map[*orderSub]struct{}),
	}
	for i, r := range recs[1:] {
		switch {
		case r.Type == recOrder && r.Order != nil:
			ord, err := r.Order.order()
			if err != nil {
				return nil, fmt.Errorf("paper: account log %s record %d: %w", file, i+2, err)
			}
			if _, dup := a.orders[ord.ClientOrderID]; dup {
				return nil, fmt.Errorf("paper: account log %s record %d: duplicate order %q", file, i+2, ord.ClientOrderID)
			}
			a.orders[ord.ClientOrderID] = &ord
			a.balance = a.balance.Sub(ord.Amount)
		case r.Type == recSettle && r.Settle != nil:
			ord, ok := a.orders[r.Settle.ClientOrderID]
			if !ok || ord.State.Final() {
				return nil, fmt.Errorf("paper: account log %s record %d: settlement of unknown or settled order %q", file, i+2, r.Settle.ClientOrderID)
			}
			if err := r.Settle.apply(ord); err != nil {
				return nil, fmt.Errorf("paper: account log %s record %d: %w", file, i+2, err)
			}
			a.balance = a.balance.Add(ord.Amount).Add(ord.Profit)
		default:
			return nil, fmt.Errorf("paper: account log %s record %d: unknown record type %q", file, i+2, r.Type)
		}
	}
	return a, nil
}

func newOrderRecord(o broker.Order) *orderRecord {
	return &orderRecord{
		ClientOrderID: o.ClientOrderID,
		BrokerOrderID: o.BrokerOrderID,
		Symbol:        o.Symbol,
		Side:          o.Side.String(),
		Amount:        o.Amount,
		PayoutPercent: o.PayoutPercent,
		OpenPrice:     o.OpenPrice,
		ExpirySeconds: int64(o.Expiry / time.Second),
		OpenedAt:      o.OpenedAt,
		ExpiresAt:     o.ExpiresAt,
	}
}

func (r *orderRecord) order() (broker.Order, error) {
	side, err := market.ParseSide(r.Side)
	if err != nil {
		return broker.Order{}, fmt.Errorf("order %q: %w", r.ClientOrderID, err)
	}
	return broker.Order{
		ClientOrderID: r.ClientOrderID,
		BrokerOrderID: r.BrokerOrderID,
		Symbol:        r.Symbol,
		Side:          side,
		Amount:        r.Amount,
		State:         broker.Open,
		OpenPrice:     r.OpenPrice,
		PayoutPercent: r.PayoutPercent,
		Expiry:        time.Duration(r.ExpirySeconds) * time.Second,
		OpenedAt:      r.OpenedAt.UTC(),
		ExpiresAt:     r.ExpiresAt.UTC(),
	}, nil
}

func parseFinalState(s string) (broker.OrderState, error) {
	for _, st := range []broker.OrderState{broker.Won, broker.Lost, broker.Draw} {
		if st.String() == s {
			return st, nil
		}
	}
	return 0, fmt.Errorf("invalid settled state %q", s)
}

func (r *settleRecord) apply(o *broker.Order) error {
	st, err := parseFinalState(r.State)
	if err != nil {
		return err
	}
	o.State = st
	o.ClosePrice = r.ClosePrice
	o.Profit = r.Profit
	o.ClosedAt = r.ClosedAt.UTC()
	return nil
}

// loadAccounts replays every account log under dataDir.
func loadAccounts(dataDir string) (map[string]*account, error) {
	files, err := listLogs(dataDir)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*account, len(files))
	for _, f := range files {
		recs, err := readLog(f)
		if err != nil {
			return nil, err
		}
		a, err := replay(f, recs)
		if err != nil {
			return nil, err
		}
		if accountFile(dataDir, a.username) != f {
			return nil, fmt.Errorf("paper: account log %s holds account %q of another file name", f, a.username)
		}
		out[a.username] = a
	}
	return out, nil
}

func hashPassword(password string, salt []byte, iterations int) ([]byte, error) {
	k, err := pbkdf2.Key(sha256.New, password, salt, iterations, kdfKeyLen)
	if err != nil {
		return nil, fmt.Errorf("paper: hash password: %w", err)
	}
	return k, nil
}

// validUsername enforces 3–64 characters without control characters, so
// names stay printable in logs and UIs.
func validUsername(u string) error {
	if n := utf8.RuneCountInString(u); n < 3 || n > 64 || !utf8.ValidString(u) {
		return broker.NewError(broker.ErrAuthFailed, "username must be 3 to 64 characters")
	}
	for _, r := range u {
		if unicode.IsControl(r) {
			return broker.NewError(broker.ErrAuthFailed, "username must not contain control characters")
		}
	}
	return nil
}

// checkCode applies the second-factor rule after the password is known to
// be right, as real brokers do.
func (m *Market) checkCode(code string) error {
	if !m.cfg.Require2FA {
		return nil
	}
	if code == "" {
		return broker.NewError(broker.ErrSecondFactorRequired, "enter the second-factor code in the code field")
	}
	if subtle.ConstantTimeCompare([]byte(code), []byte(m.cfg.SecondFactorCode)) != 1 {
		return broker.NewError(broker.ErrAuthFailed, "wrong second-factor code")
	}
	return nil
}

// login authenticates username, creating the account (and its log) on
// first use. Hashing runs outside the accounts lock so slow logins do not
// serialise the market.
func (m *Market) login(ctx context.Context, username, password, code string) (*account, error) {
	if err := validUsername(username); err != nil {
		return nil, err
	}
	if password == "" {
		return nil, broker.NewError(broker.ErrAuthFailed, "password is required")
	}
	leave, err := m.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	m.accMu.Lock()
	a := m.accounts[username]
	m.accMu.Unlock()
	if a != nil {
		return a, m.verify(a, password, code)
	}

	if err := m.checkCode(code); err != nil {
		return nil, err
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("paper: salt: %w", err)
	}
	hash, err := hashPassword(password, salt, kdfIterations)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("paper: open: %w", err)
	}

	sum := sha256.Sum256([]byte(username))
	a = &account{
		username:   username,
		ref:        "paper-" + hex.EncodeToString(sum[:6]),
		file:       accountFile(m.cfg.DataDir, username),
		salt:       salt,
		hash:       hash,
		iterations: kdfIterations,
		balance:    initialBalance(),
		orders:     make(map[string]*broker.Order),
		subs:       make(map[*orderSub]struct{}),
	}
	first := record{Type: recOpen, Open: &openRecord{
		Username: username, Ref: a.ref, Salt: salt, Hash: hash, Iterations: a.iterations,
		Currency: currency, Balance: a.balance, CreatedAt: m.clock.Now(),
	}}

	m.accMu.Lock()
	existing := m.accounts[username]
	if existing == nil {
		if err = createLog(a.file, first); err == nil {
			m.accounts[username] = a
		}
	}
	m.accMu.Unlock()
	if existing != nil { // created by a concurrent first login
		return existing, m.verify(existing, password, code)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: create account: %w", broker.ErrUnavailable, err)
	}
	return a, nil
}

// verify checks password (constant time) and then the second factor.
func (m *Market) verify(a *account, password, code string) error {
	got, err := hashPassword(password, a.salt, a.iterations)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(got, a.hash) != 1 {
		return broker.NewError(broker.ErrAuthFailed, "wrong username or password")
	}
	return m.checkCode(code)
}

// account returns the loaded account of username, if any.
func (m *Market) account(username string) (*account, bool) {
	m.accMu.Lock()
	defer m.accMu.Unlock()
	a, ok := m.accounts[username]
	return a, ok
}
