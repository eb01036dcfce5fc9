package billing_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/stc-trading/stc/host/internal/billing"
	"github.com/stc-trading/stc/host/internal/billing/webhook"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
)

// webhookSentinels are the only errors HandleWebhook may return for bad
// input; anything else would reach the client as a 5xx and make the
// provider retry.
func webhookSentinels() []error {
	return []error{
		webhook.ErrMissingSignature, webhook.ErrMalformedHeader, webhook.ErrTimestampOutOfTolerance,
		webhook.ErrBadSignature, webhook.ErrMalformedEvent,
	}
}

// FuzzHandleWebhook feeds arbitrary headers and bodies to HandleWebhook on
// both stores. With sign set, the body is signed properly so the fuzzer
// reaches event parsing and the database; the result must then be success
// or ErrMalformedEvent, never a database error or a panic.
func FuzzHandleWebhook(f *testing.F) {
	now := func() time.Time { return start() }
	stores := []*store.Store{storetest.OpenSQLite(f), storetest.OpenPostgres(f)}
	services := make([]*billing.Service, 0, len(stores))
	for _, st := range stores {
		v := &webhook.Verifier{Secret: secret(), Now: now}
		services = append(services, billing.NewService(st, v, now, hclog.NewNullLogger()))
	}

	checkout := eventBody{ID: "evt_f1", Type: "checkout.completed", UserID: 1, PlanID: "pro", SubID: "sub_f"}.bytes()
	f.Add(webhook.Sign(secret(), start(), checkout), checkout, false)
	f.Add("", checkout, true)
	f.Add("", eventBody{ID: "evt_f2", Type: "invoice.paid", SubID: "sub_f", PeriodEnd: start().Add(days(30))}.bytes(), true)
	f.Add("", eventBody{ID: "evt_f3", Type: "invoice.payment_failed", SubID: "sub_f"}.bytes(), true)
	f.Add("", eventBody{ID: "evt_f4", Type: "subscription.deleted", SubID: "sub_f"}.bytes(), true)
	f.Add("", []byte(`{"id":"evt_f5","type":"`+strings.Repeat("x", 100)+`"}`), true)
	f.Add("", []byte(`{"id":"evt_f6","type":"a\u0000b"}`), true)
	f.Add("", []byte(`{"id":"evt_f7","type":"checkout.completed","data":{"user_id":9223372036854775807,"plan_id":"pro","subscription_id":"s"}}`), true)
	f.Add("", []byte(`{"id":"evt_f8","type":"checkout.completed","data":{"user_id":1,"plan_id":"`+strings.Repeat("p", 255)+`","subscription_id":"s"}}`), true)
	f.Add("", []byte(`{"id":"evt_f9","type":"invoice.paid","data":{"subscription_id":"`+strings.Repeat("s", 255)+`","period_end":253402300799}}`), true)
	f.Add("", []byte(`null`), true)
	f.Add("", []byte{0xff, 0xfe, 0x00}, true)
	f.Add("t=1760000000,v1="+strings.Repeat("0", 64), []byte(`{}`), false)
	f.Add("t=99999999999999999999,v1=zz", []byte(`{}`), false)
	f.Add(",,=,t=,v1=", []byte(nil), false)
	f.Add(webhook.Sign(secret(), start().Add(-time.Hour), checkout), checkout, false)

	f.Fuzz(func(t *testing.T, header string, body []byte, sign bool) {
		if sign {
			header = webhook.Sign(secret(), start(), body)
		}
		for i, svc := range services {
			res, err := svc.HandleWebhook(context.Background(), header, body)
			if err == nil {
				if res.EventID == "" || res.Outcome == "" {
					t.Fatalf("store %d: success without event id or outcome: %+v", i, res)
				}
				continue
			}
			if sign && !errors.Is(err, webhook.ErrMalformedEvent) {
				t.Fatalf("store %d: a properly signed body failed with %v", i, err)
			}
			documented := false
			for _, s := range webhookSentinels() {
				documented = documented || errors.Is(err, s)
			}
			if !documented {
				t.Fatalf("store %d: undocumented error %v", i, err)
			}
			if res != (billing.WebhookResult{}) {
				t.Fatalf("store %d: error with a result: %+v", i, res)
			}
		}
	})
}
