package billing_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/billing"
	"github.com/stc-trading/stc/host/internal/billing/webhook"
	"github.com/stc-trading/stc/host/internal/store"
)

// startUnix is the tests' "now": a fixed instant so period ends are exact.
const startUnix = 1_760_000_000

func start() time.Time { return time.Unix(startUnix, 0).UTC() }

func secret() []byte { return []byte("whsec_billing_test") }

// clock is a settable clock shared by the service and its verifier, so a
// test can move past a period end and still sign fresh deliveries.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *clock) Add(d time.Duration) { c.Set(c.Now().Add(d)) }

// env is one service on one store with its clock.
type env struct {
	t     *testing.T
	st    *store.Store
	svc   *billing.Service
	clock *clock
	seq   atomic.Int64 // unique event and email suffixes
}

func newEnv(t *testing.T, st *store.Store) *env {
	t.Helper()
	c := &clock{t: start()}
	v := &webhook.Verifier{Secret: secret(), Now: c.Now}
	log := hclog.New(&hclog.LoggerOptions{Name: "billing", Level: hclog.Warn, Output: t.Output()})
	return &env{t: t, st: st, svc: billing.NewService(st, v, c.Now, log), clock: c}
}

// addUser creates a user and returns its id.
func (e *env) addUser() int64 {
	e.t.Helper()
	var id int64
	err := e.st.Update(context.Background(), store.System(), func(tx *sqlx.Tx) error {
		return tx.Get(&id, tx.Rebind(`INSERT INTO users (email, password_hash, created_at, updated_at)
			VALUES (?, 'x', 1, 1) RETURNING id`), fmt.Sprintf("u%d@example.com", e.seq.Add(1)))
	})
	require.NoError(e.t, err)
	return id
}

// eventBody is a webhook body; zero fields are left out.
type eventBody struct {
	ID, Type, PlanID, SubID string
	UserID                  int64
	PeriodEnd               time.Time
}

func (b eventBody) bytes() []byte {
	data := ""
	add := func(s string) {
		if data != "" {
			data += ","
		}
		data += s
	}
	if b.UserID != 0 {
		add(fmt.Sprintf(`"user_id":%d`, b.UserID))
	}
	if b.PlanID != "" {
		add(fmt.Sprintf(`"plan_id":%q`, b.PlanID))
	}
	if b.SubID != "" {
		add(fmt.Sprintf(`"subscription_id":%q`, b.SubID))
	}
	if !b.PeriodEnd.IsZero() {
		add(fmt.Sprintf(`"period_end":%d`, b.PeriodEnd.Unix()))
	}
	return fmt.Appendf(nil, `{"id":%q,"type":%q,"created":%d,"data":{%s}}`, b.ID, b.Type, startUnix, data)
}

// eventID returns a fresh event id.
func (e *env) eventID() string { return fmt.Sprintf("evt_%d", e.seq.Add(1)) }

// send signs b at the current time and delivers it.
func (e *env) send(b eventBody) (billing.WebhookResult, error) {
	body := b.bytes()
	return e.svc.HandleWebhook(context.Background(), webhook.Sign(secret(), e.clock.Now(), body), body)
}

// mustSend delivers b (with a fresh id when it has none) and requires
// success.
func (e *env) mustSend(b eventBody) billing.WebhookResult {
	e.t.Helper()
	if b.ID == "" {
		b.ID = e.eventID()
	}
	res, err := e.send(b)
	require.NoError(e.t, err)
	return res
}

// checkout subscribes user to plan through a checkout.completed webhook.
func (e *env) checkout(user int64, plan, sub string, end time.Time) billing.WebhookResult {
	e.t.Helper()
	return e.mustSend(eventBody{Type: "checkout.completed", UserID: user, PlanID: plan, SubID: sub, PeriodEnd: end})
}

// sub returns the user's subscription, requiring that one exists.
func (e *env) sub(user int64) billing.Subscription {
	e.t.Helper()
	s, ok, err := e.svc.Subscription(context.Background(), user)
	require.NoError(e.t, err)
	require.True(e.t, ok, "user %d has a subscription", user)
	return s
}

func (e *env) ent(user int64) billing.Entitlements {
	e.t.Helper()
	ent, err := e.svc.Entitlements(context.Background(), user)
	require.NoError(e.t, err)
	return ent
}

// eventRecord is a billing_events row.
type eventRecord struct {
	Type    string `db:"type"`
	UserID  *int64 `db:"user_id"`
	Outcome string `db:"outcome"`
}

// events returns the recorded rows for id (0 or 1 of them).
func (e *env) events(id string) []eventRecord {
	e.t.Helper()
	var rows []eventRecord
	require.NoError(e.t, e.st.View(context.Background(), store.System(), func(tx *sqlx.Tx) error {
		return tx.Select(&rows, tx.Rebind(`SELECT type, user_id, outcome FROM billing_events WHERE event_id = ?`), id)
	}))
	return rows
}

func (e *env) countEvents() int {
	e.t.Helper()
	var n int
	require.NoError(e.t, e.st.View(context.Background(), store.System(), func(tx *sqlx.Tx) error {
		return tx.Get(&n, `SELECT count(*) FROM billing_events`)
	}))
	return n
}

func days(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }
