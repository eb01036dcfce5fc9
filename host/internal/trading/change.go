package trading

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/stc-trading/stc/sdk/broker"
)

// priceDigits is the scale of the price and money columns.
const priceDigits = 8

// maxMoney is the first amount a NUMERIC(20,8) column cannot hold.
func maxMoney() decimal.Decimal { return decimal.New(1, 12) }

// change is one conditional state transition of a trade row: it applies
// only while the row is in one of from, which is what makes every
// transition happen at most once however many workers see the same
// result.
type change struct {
	to   Status
	from []Status
	sets []string
	args []any
}

func (c *change) set(col string, v any) {
	c.sets = append(c.sets, col+" = ?")
	c.args = append(c.args, v)
}

// apply runs the transition on trade id and reports whether it applied.
// With ret, an applied transition also returns the row as it is
// afterwards, from the same statement (UPDATE … RETURNING); without, the
// row is not read at all.
func (c change) apply(tx *sqlx.Tx, id int64, ret bool) (row, bool, error) {
	if len(c.from) == 0 {
		return row{}, false, nil
	}
	q, args := c.update(id)
	if ret {
		var r row
		err := tx.Get(&r, tx.Rebind(q+` RETURNING `+columns), args...)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return row{}, false, nil
		case err != nil:
			return row{}, false, fmt.Errorf("trading: update trade %d to %s: %w", id, c.to, err)
		}
		return r, true, nil
	}
	res, err := tx.Exec(tx.Rebind(q), args...)
	if err != nil {
		return row{}, false, fmt.Errorf("trading: update trade %d to %s: %w", id, c.to, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return row{}, false, fmt.Errorf("trading: update trade %d: %w", id, err)
	}
	return row{}, n == 1, nil
}

// applyRow runs the transition on trade id of userID and returns the row
// as it is afterwards, whether the transition applied or not (applied
// says which): one statement (UPDATE … RETURNING) when it applies, a read
// when it does not.
func (c change) applyRow(tx *sqlx.Tx, userID, id int64) (r row, applied bool, err error) {
	if len(c.from) == 0 {
		r, err = getRow(tx, userID, id)
		return r, false, err
	}
	q, args := c.update(id)
	err = tx.Get(&r, tx.Rebind(q+` AND user_id = ? RETURNING `+columns), append(args, userID)...)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		r, err = getRow(tx, userID, id)
		return r, false, err
	case err != nil:
		return row{}, false, fmt.Errorf("trading: update trade %d to %s: %w", id, c.to, err)
	}
	return r, true, nil
}

// update is the transition's UPDATE statement on trade id, before Rebind.
func (c change) update(id int64) (string, []any) {
	q := `UPDATE trades SET status = ?`
	args := []any{string(c.to)}
	if len(c.sets) > 0 {
		q += ", " + strings.Join(c.sets, ", ")
		args = append(args, c.args...)
	}
	q += ` WHERE id = ? AND status IN (?` + strings.Repeat(", ?", len(c.from)-1) + `)`
	args = append(args, id)
	for _, f := range c.from {
		args = append(args, string(f))
	}
	return q, args
}

// preview is t as c would leave it, as far as a caller that does not wait
// for the write needs to know: the status, the error and the broker's
// order id.
func (c change) preview(t Trade) Trade {
	t.Status = c.to
	for i, set := range c.sets {
		v, ok := c.args[i].(string)
		switch {
		case !ok:
		case set == "error = ?":
			t.Error = v
		case set == "broker_order_id = ?":
			t.BrokerOrderID = v
		}
	}
	return t
}

// price converts a broker float price to the columns' scale.
func price(f float64) decimal.Decimal { return decimal.NewFromFloat(f).Round(priceDigits) }

// orderChange is the transition a broker's view of order o asks for, on
// trade t (as it was when the order was placed or last read), at host time
// now.
func orderChange(o broker.Order, t Trade, now time.Time, grace time.Duration) change {
	switch o.State {
	case broker.Won, broker.Lost, broker.Draw:
		return finalChange(o, now)
	case broker.Rejected:
		reason := o.RejectReason
		if reason == "" {
			reason = "rejected by the broker"
		}
		return rejectedChange(reason, now)
	}
	// Pending or open at the broker: the trade is open.
	c := change{to: StatusOpen, from: []Status{StatusPending, StatusUnknown}}
	c.set("updated_at", now.UnixMilli())
	c.set("error", "")
	setOrderFields(&c, o)
	// The poller's due time is on the host clock: the trade's creation
	// plus the order's duration, whatever the broker's clock says.
	dur := t.Expiration
	if !o.OpenedAt.IsZero() && o.ExpiresAt.After(o.OpenedAt) {
		dur = o.ExpiresAt.Sub(o.OpenedAt)
	}
	due := t.CreatedAt.Add(dur)
	c.set("due_at", due.UnixMilli())
	c.set("next_check_at", due.Add(grace).UnixMilli())
	return c
}

// setOrderFields records what the broker says about an accepted order.
func setOrderFields(c *change, o broker.Order) {
	if o.BrokerOrderID != "" {
		c.set("broker_order_id", truncate(o.BrokerOrderID, 128))
	}
	if o.OpenPrice != 0 {
		c.set("open_price", price(o.OpenPrice))
	}
	if o.PayoutPercent != 0 {
		c.set("payout", price(o.PayoutPercent))
	}
	if !o.OpenedAt.IsZero() {
		c.set("opened_at", o.OpenedAt.UnixMilli())
	}
	if !o.ExpiresAt.IsZero() {
		c.set("expires_at", o.ExpiresAt.UnixMilli())
	}
}

// finalChange settles a trade with the broker's result. It applies from
// every non-final state and from unresolved: a late result from the
// broker is better evidence than the host's giving up.
func finalChange(o broker.Order, now time.Time) change {
	to := StatusDraw
	switch o.State {
	case broker.Won:
		to = StatusWon
	case broker.Lost:
		to = StatusLost
	}
	c := change{to: to, from: []Status{StatusPending, StatusOpen, StatusUnknown, StatusUnresolved}}
	c.set("updated_at", now.UnixMilli())
	c.set("error", "")
	setOrderFields(&c, o)
	c.set("profit", o.Profit)
	if o.ClosePrice != 0 {
		c.set("close_price", price(o.ClosePrice))
	}
	closed := o.ClosedAt
	if closed.IsZero() {
		closed = now
	}
	c.set("closed_at", closed.UnixMilli())
	c.set("settled_at", now.UnixMilli())
	c.set("next_check_at", nil)
	return c
}

// rejectedChange records that the order never became a trade.
func rejectedChange(reason string, now time.Time) change {
	c := change{to: StatusRejected, from: []Status{StatusPending, StatusUnknown}}
	c.set("error", truncate(reason, maxErrorText))
	c.set("updated_at", now.UnixMilli())
	c.set("settled_at", now.UnixMilli())
	c.set("next_check_at", nil)
	return c
}

// unknownChange records a PlaceOrder call whose outcome is unknown; the
// sweep asks the broker right away.
func unknownChange(reason string, now time.Time) change {
	c := change{to: StatusUnknown, from: []Status{StatusPending}}
	c.set("error", truncate(reason, maxErrorText))
	c.set("updated_at", now.UnixMilli())
	c.set("next_check_at", now.UnixMilli())
	return c
}

// unresolvedChange gives up on asking the broker.
func unresolvedChange(reason string, now time.Time) change {
	c := change{to: StatusUnresolved, from: []Status{StatusPending, StatusOpen, StatusUnknown}}
	c.set("error", truncate(reason, maxErrorText))
	c.set("updated_at", now.UnixMilli())
	c.set("settled_at", now.UnixMilli())
	c.set("next_check_at", nil)
	return c
}

// recheckChange keeps the trade's status and schedules the next look.
func recheckChange(st Status, next time.Time, reason string) change {
	c := change{to: st, from: []Status{st}}
	c.set("next_check_at", next.UnixMilli())
	if reason != "" {
		c.set("error", truncate(reason, maxErrorText))
	}
	return c
}
