package webhook

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseEvent(t *testing.T) {
	checkout := `{"id":"evt_1","type":"checkout.completed","created":1760000000,` +
		`"data":{"user_id":7,"plan_id":"pro","subscription_id":"sub_1","period_end":1762592000}}`
	tests := []struct {
		name    string
		body    string
		want    Event
		wantErr error
	}{
		{
			name: "checkout completed",
			body: checkout,
			want: Event{
				ID: "evt_1", Type: EventCheckoutCompleted, Created: time.Unix(1760000000, 0).UTC(),
				UserID: 7, PlanID: "pro", SubscriptionID: "sub_1", PeriodEnd: time.Unix(1762592000, 0).UTC(),
			},
		},
		{
			name: "invoice paid, unknown fields tolerated",
			body: `{"id":"evt_2","type":"invoice.paid","livemode":true,"created":1760000000,` +
				`"data":{"subscription_id":"sub_1","period_end":1762592000,"amount":900}}`,
			want: Event{
				ID: "evt_2", Type: EventInvoicePaid, Created: time.Unix(1760000000, 0).UTC(),
				SubscriptionID: "sub_1", PeriodEnd: time.Unix(1762592000, 0).UTC(),
			},
		},
		{
			name: "payment failed, absent times are zero",
			body: `{"id":"evt_3","type":"invoice.payment_failed","data":{"subscription_id":"sub_1"}}`,
			want: Event{ID: "evt_3", Type: EventInvoicePaymentFailed, SubscriptionID: "sub_1"},
		},
		{
			name: "subscription deleted, trailing whitespace ok",
			body: `{"id":"evt_4","type":"subscription.deleted","data":{"subscription_id":"sub_1"}}` + "\n ",
			want: Event{ID: "evt_4", Type: EventSubscriptionDeleted, SubscriptionID: "sub_1"},
		},
		{
			name:    "unknown type returns id and type",
			body:    `{"id":"evt_5","type":"customer.created","data":{"anything":[1,2]}}`,
			want:    Event{ID: "evt_5", Type: "customer.created"},
			wantErr: ErrUnknownEventType,
		},
		{name: "empty body", body: ``, wantErr: ErrMalformedEvent},
		{name: "null", body: `null`, wantErr: ErrMalformedEvent},
		{name: "array", body: `[]`, wantErr: ErrMalformedEvent},
		{name: "truncated", body: checkout[:40], wantErr: ErrMalformedEvent},
		{name: "trailing object", body: checkout + `{}`, wantErr: ErrMalformedEvent},
		{name: "missing id", body: `{"type":"invoice.paid","data":{"subscription_id":"s"}}`, wantErr: ErrMalformedEvent},
		{name: "empty id", body: `{"id":"","type":"invoice.paid","data":{"subscription_id":"s"}}`, wantErr: ErrMalformedEvent},
		{name: "id 256 chars", body: fmt.Sprintf(`{"id":"%s","type":"invoice.paid","data":{"subscription_id":"s"}}`, strings.Repeat("a", 256)), wantErr: ErrMalformedEvent},
		{name: "id with control char", body: `{"id":"evt\n1","type":"invoice.paid","data":{"subscription_id":"s"}}`, wantErr: ErrMalformedEvent},
		{name: "numeric id", body: `{"id":1,"type":"invoice.paid","data":{"subscription_id":"s"}}`, wantErr: ErrMalformedEvent},
		{name: "missing type", body: `{"id":"evt_1","data":{"subscription_id":"s"}}`, wantErr: ErrMalformedEvent},
		{name: "string user_id", body: `{"id":"e","type":"checkout.completed","data":{"user_id":"7","plan_id":"p","subscription_id":"s"}}`, wantErr: ErrMalformedEvent},
		{name: "fractional user_id", body: `{"id":"e","type":"checkout.completed","data":{"user_id":7.5,"plan_id":"p","subscription_id":"s"}}`, wantErr: ErrMalformedEvent},
		{name: "negative user_id", body: `{"id":"e","type":"checkout.completed","data":{"user_id":-7,"plan_id":"p","subscription_id":"s"}}`, wantErr: ErrMalformedEvent},
		{name: "user_id overflow", body: `{"id":"e","type":"checkout.completed","data":{"user_id":99999999999999999999,"plan_id":"p","subscription_id":"s"}}`, wantErr: ErrMalformedEvent},
		{name: "checkout without user", body: `{"id":"e","type":"checkout.completed","data":{"plan_id":"p","subscription_id":"s"}}`, wantErr: ErrMalformedEvent},
		{name: "checkout without plan", body: `{"id":"e","type":"checkout.completed","data":{"user_id":7,"subscription_id":"s"}}`, wantErr: ErrMalformedEvent},
		{name: "invoice without subscription", body: `{"id":"e","type":"invoice.paid","data":{}}`, wantErr: ErrMalformedEvent},
		{name: "data not object", body: `{"id":"e","type":"invoice.paid","data":"x"}`, wantErr: ErrMalformedEvent},
		{name: "negative created", body: `{"id":"e","type":"invoice.paid","created":-1,"data":{"subscription_id":"s"}}`, wantErr: ErrMalformedEvent},
		{name: "huge period_end", body: `{"id":"e","type":"invoice.paid","data":{"subscription_id":"s","period_end":9223372036854775807}}`, wantErr: ErrMalformedEvent},
		{name: "long plan id", body: fmt.Sprintf(`{"id":"e","type":"checkout.completed","data":{"user_id":1,"plan_id":"%s","subscription_id":"s"}}`, strings.Repeat("p", 256)), wantErr: ErrMalformedEvent},
		{name: "unknown type 101 bytes", body: fmt.Sprintf(`{"id":"e","type":"%s"}`, strings.Repeat("t", MaxTypeLength+1)), wantErr: ErrMalformedEvent},
		{name: "unknown type with NUL", body: `{"id":"e","type":"a\u0000b"}`, wantErr: ErrMalformedEvent},
		{name: "unknown type with newline", body: `{"id":"e","type":"a\nb"}`, wantErr: ErrMalformedEvent},
		{name: "id with invalid UTF-8", body: "{\"id\":\"evt_\xff\",\"type\":\"invoice.paid\",\"data\":{\"subscription_id\":\"s\"}}", wantErr: ErrMalformedEvent},
		{name: "id with a lone surrogate escape", body: `{"id":"evt_\ud800","type":"invoice.paid","data":{"subscription_id":"s"}}`, wantErr: ErrMalformedEvent},
		{name: "invalid UTF-8 elsewhere", body: "{\"id\":\"evt_1\",\"type\":\"invoice.paid\",\"note\":\"\xc3\",\"data\":{\"subscription_id\":\"s\"}}", wantErr: ErrMalformedEvent},
		{name: "oversized body", body: `{"id":"e","pad":"` + strings.Repeat("x", MaxEventBytes) + `"}`, wantErr: ErrMalformedEvent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseEvent([]byte(tc.body))
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

// Ids that differ only in invalid UTF-8 used to decode to the same
// "evt_\ufffd", so the second event passed for a redelivery of the first
// and was dropped. Both are refused now; a valid non-ASCII id still works.
func TestParseEventIDsNeverCollapse(t *testing.T) {
	for _, id := range []string{"evt_\xff", "evt_\xfe", `evt_\udc00`} {
		_, err := ParseEvent([]byte(`{"id":"` + id + `","type":"invoice.paid","data":{"subscription_id":"s"}}`))
		require.ErrorIs(t, err, ErrMalformedEvent, "%q", id)
	}
	ev, err := ParseEvent([]byte(`{"id":"evt_é","type":"invoice.paid","data":{"subscription_id":"s"}}`))
	require.NoError(t, err)
	assert.Equal(t, "evt_é", ev.ID)
}

func TestParseEventIDAt255Accepted(t *testing.T) {
	id := strings.Repeat("a", MaxIDLength)
	ev, err := ParseEvent(fmt.Appendf(nil, `{"id":"%s","type":"invoice.paid","data":{"subscription_id":"s"}}`, id))
	require.NoError(t, err)
	assert.Equal(t, id, ev.ID)
}

func TestParseEventUnknownTypeAt100Accepted(t *testing.T) {
	typ := strings.Repeat("t", MaxTypeLength)
	ev, err := ParseEvent(fmt.Appendf(nil, `{"id":"e","type":"%s"}`, typ))
	require.ErrorIs(t, err, ErrUnknownEventType)
	assert.Equal(t, EventType(typ), ev.Type)
}

func TestEventTypeKnown(t *testing.T) {
	for _, typ := range []EventType{EventCheckoutCompleted, EventInvoicePaid, EventInvoicePaymentFailed, EventSubscriptionDeleted} {
		assert.True(t, typ.Known(), typ)
	}
	assert.False(t, EventType("invoice.created").Known())
	assert.False(t, EventType("").Known())
}

// FuzzParseEvent checks that arbitrary bodies never panic and that every
// accepted event satisfies the documented invariants.
func FuzzParseEvent(f *testing.F) {
	f.Add([]byte(`{"id":"evt_1","type":"checkout.completed","created":1760000000,"data":{"user_id":7,"plan_id":"pro","subscription_id":"sub_1","period_end":1762592000}}`))
	f.Add([]byte(`{"id":"evt_2","type":"invoice.paid","data":{"subscription_id":"s"}}`))
	f.Add([]byte(`{"id":"evt_3","type":"other.thing"}`))
	f.Add([]byte(`{"id":"e","type":"invoice.paid","created":-1}`))
	f.Add([]byte(`{"id":"e","type":"invoice.paid","data":{"user_id":1e400}}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"id":"\u0000"}`))
	f.Add([]byte{0xff, 0xfe})
	f.Add([]byte(``))

	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := ParseEvent(body)
		switch {
		case err == nil:
			if ev.ID == "" || len(ev.ID) > MaxIDLength || !ev.Type.Known() || ev.SubscriptionID == "" || ev.UserID < 0 {
				t.Fatalf("accepted event violates invariants: %+v", ev)
			}
		case errors.Is(err, ErrUnknownEventType):
			if ev.ID == "" || ev.Type.Known() || len(ev.Type) > MaxTypeLength {
				t.Fatalf("unknown-type event without id or with known type: %+v", ev)
			}
		case errors.Is(err, ErrMalformedEvent):
			if ev != (Event{}) {
				t.Fatalf("malformed event returned data: %+v", ev)
			}
		default:
			t.Fatalf("undocumented error: %v", err)
		}
	})
}
