package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxEventBytes bounds the body ParseEvent accepts. The HTTP handler should
// cap the request body too (http.MaxBytesReader); this is a second line so
// the parser is safe on its own, including under fuzzing.
const MaxEventBytes = 1 << 20

// MaxIDLength bounds event, plan and subscription identifiers. Ids are stored
// as idempotency keys, so an unbounded id would be a storage amplification
// vector.
const MaxIDLength = 255

// MaxTypeLength bounds an event type, including unknown ones: the billing
// service records every verified event's type (billing_events.type is
// VARCHAR(100)), and a type the column cannot hold would turn a harmless
// unknown event into a database error the provider retries for days.
const MaxTypeLength = 100

// EventType is the provider-neutral kind of a billing event.
type EventType string

// The event types the billing service acts on.
const (
	// EventCheckoutCompleted starts a subscription after a successful checkout.
	EventCheckoutCompleted EventType = "checkout.completed"
	// EventInvoicePaid extends a subscription's period.
	EventInvoicePaid EventType = "invoice.paid"
	// EventInvoicePaymentFailed moves a subscription to past_due.
	EventInvoicePaymentFailed EventType = "invoice.payment_failed"
	// EventSubscriptionDeleted cancels a subscription.
	EventSubscriptionDeleted EventType = "subscription.deleted"
)

// Known reports whether t is one of the event types the service handles.
func (t EventType) Known() bool {
	switch t {
	case EventCheckoutCompleted, EventInvoicePaid, EventInvoicePaymentFailed, EventSubscriptionDeleted:
		return true
	}
	return false
}

// Sentinel errors returned (wrapped) by ParseEvent.
var (
	// ErrMalformedEvent means the body is not a valid event envelope. The
	// handler should answer 400: the delivery is broken and retrying it will
	// not help, but a 4xx makes the problem visible in the provider dashboard.
	ErrMalformedEvent = errors.New("webhook: malformed event")
	// ErrUnknownEventType means the envelope is valid but its type is not one
	// the service handles. The handler should answer 200 and ignore the event:
	// providers retry every non-2xx delivery for days, and subscribing to an
	// extra event type in the provider dashboard must not create a retry storm.
	ErrUnknownEventType = errors.New("webhook: unknown event type")
)

// Event is a verified-and-decoded billing event. Zero times mean the field
// was absent.
type Event struct {
	// ID is the provider's unique event id, used as the idempotency key.
	ID string
	// Type is the kind of event.
	Type EventType
	// Created is when the provider created the event.
	Created time.Time
	// UserID is the STC user the event concerns.
	UserID int64
	// PlanID is the STC plan purchased or renewed.
	PlanID string
	// SubscriptionID is the provider's subscription id.
	SubscriptionID string
	// PeriodEnd is the end of the paid period.
	PeriodEnd time.Time
}

// envelope mirrors the JSON wire format. Unknown fields are allowed at every
// level because providers add fields without notice; the known fields keep
// their JSON types strictly (a string user_id is an error, not a zero).
type envelope struct {
	ID      string    `json:"id"`
	Type    EventType `json:"type"`
	Created int64     `json:"created"`
	Data    struct {
		UserID         int64  `json:"user_id"`
		PlanID         string `json:"plan_id"`
		SubscriptionID string `json:"subscription_id"`
		PeriodEnd      int64  `json:"period_end"`
	} `json:"data"`
}

// ParseEvent decodes a webhook body. Call it only after Verify succeeded on
// the same raw bytes.
//
// For an unknown type it returns the Event (ID and Type filled, so the
// handler can log and record it) together with an error wrapping
// ErrUnknownEventType. Any other error wraps ErrMalformedEvent.
func ParseEvent(body []byte) (Event, error) {
	if len(body) > MaxEventBytes {
		return Event{}, fmt.Errorf("%w: body larger than %d bytes", ErrMalformedEvent, MaxEventBytes)
	}
	// encoding/json turns invalid UTF-8 into U+FFFD, so two distinct ids
	// would collapse into one and the second event would be taken for a
	// redelivery of the first. RFC 8259 bodies are UTF-8; refuse others.
	if !utf8.Valid(body) {
		return Event{}, fmt.Errorf("%w: body is not valid UTF-8", ErrMalformedEvent)
	}
	var env envelope
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&env); err != nil {
		return Event{}, fmt.Errorf("%w: %w", ErrMalformedEvent, err)
	}
	// Trailing data means the body is not a single JSON document; refusing it
	// avoids two parsers disagreeing about what was signed.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Event{}, fmt.Errorf("%w: trailing data after JSON object", ErrMalformedEvent)
	}

	if err := checkID("id", env.ID, true); err != nil {
		return Event{}, err
	}
	if env.Type == "" {
		return Event{}, fmt.Errorf("%w: missing type", ErrMalformedEvent)
	}
	created, err := unixField("created", env.Created)
	if err != nil {
		return Event{}, err
	}
	ev := Event{ID: env.ID, Type: env.Type, Created: created}
	if !env.Type.Known() {
		// The same rules as ids (no control characters: types are logged
		// and stored, and PostgreSQL refuses NUL in text), with the
		// column's tighter bound.
		if len(env.Type) > MaxTypeLength {
			return Event{}, fmt.Errorf("%w: type longer than %d bytes", ErrMalformedEvent, MaxTypeLength)
		}
		if err := checkID("type", string(env.Type), true); err != nil {
			return Event{}, err
		}
		return ev, fmt.Errorf("%w: %q", ErrUnknownEventType, string(env.Type))
	}

	d := env.Data
	if d.UserID < 0 {
		return Event{}, fmt.Errorf("%w: negative user_id", ErrMalformedEvent)
	}
	if err := checkID("data.plan_id", d.PlanID, false); err != nil {
		return Event{}, err
	}
	if err := checkID("data.subscription_id", d.SubscriptionID, false); err != nil {
		return Event{}, err
	}
	if ev.PeriodEnd, err = unixField("data.period_end", d.PeriodEnd); err != nil {
		return Event{}, err
	}
	ev.UserID = d.UserID
	ev.PlanID = d.PlanID
	ev.SubscriptionID = d.SubscriptionID

	// Every known type changes a subscription, so it must name one; a
	// checkout additionally has to say who bought which plan, otherwise the
	// handler could not grant anything.
	if ev.SubscriptionID == "" {
		return Event{}, fmt.Errorf("%w: %s requires data.subscription_id", ErrMalformedEvent, ev.Type)
	}
	if ev.Type == EventCheckoutCompleted && (ev.UserID == 0 || ev.PlanID == "") {
		return Event{}, fmt.Errorf("%w: %s requires data.user_id and data.plan_id", ErrMalformedEvent, ev.Type)
	}
	return ev, nil
}

// checkID validates an identifier: bounded length, valid UTF-8 and no control
// characters, because ids end up in logs and database keys.
func checkID(field, id string, required bool) error {
	switch {
	case id == "" && required:
		return fmt.Errorf("%w: missing %s", ErrMalformedEvent, field)
	case len(id) > MaxIDLength:
		return fmt.Errorf("%w: %s longer than %d bytes", ErrMalformedEvent, field, MaxIDLength)
	case !utf8.ValidString(id):
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrMalformedEvent, field)
	case strings.ContainsRune(id, utf8.RuneError):
		// What a lone surrogate escape ("\ud800") decodes to: as above,
		// distinct ids would collapse into one.
		return fmt.Errorf("%w: %s contains U+FFFD or an invalid \\u escape", ErrMalformedEvent, field)
	}
	for _, r := range id {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: %s contains control characters", ErrMalformedEvent, field)
		}
	}
	return nil
}

// unixField converts a unix-seconds field; 0 means absent and maps to the zero
// time rather than 1970, and out-of-range values are refused so time
// arithmetic downstream cannot overflow.
func unixField(field string, secs int64) (time.Time, error) {
	if secs == 0 {
		return time.Time{}, nil
	}
	if secs < 0 || secs > maxUnixSeconds {
		return time.Time{}, fmt.Errorf("%w: %s out of range", ErrMalformedEvent, field)
	}
	return time.Unix(secs, 0).UTC(), nil
}
