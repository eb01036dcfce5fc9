package convert

import (
	"fmt"
	"time"

	"github.com/stc-trading/stc/sdk/broker"
	brokerv1 "github.com/stc-trading/stc/sdk/internal/pb/stc/broker/v1"
	"github.com/stc-trading/stc/sdk/market"
)

// ModeToPB converts an account mode; invalid values become UNSPECIFIED.
func ModeToPB(m broker.Mode) brokerv1.Mode {
	switch m {
	case broker.Practice:
		return brokerv1.Mode_MODE_PRACTICE
	case broker.Real:
		return brokerv1.Mode_MODE_REAL
	}
	return brokerv1.Mode_MODE_UNSPECIFIED
}

// ModeFromPB converts an account mode; UNSPECIFIED gives the zero mode.
func ModeFromPB(m brokerv1.Mode) broker.Mode {
	switch m {
	case brokerv1.Mode_MODE_PRACTICE:
		return broker.Practice
	case brokerv1.Mode_MODE_REAL:
		return broker.Real
	}
	return 0
}

// SideToPB converts a trade direction.
func SideToPB(s market.Side) brokerv1.Side {
	switch s {
	case market.Call:
		return brokerv1.Side_SIDE_CALL
	case market.Put:
		return brokerv1.Side_SIDE_PUT
	}
	return brokerv1.Side_SIDE_UNSPECIFIED
}

// SideFromPB converts a trade direction; UNSPECIFIED gives the zero side.
func SideFromPB(s brokerv1.Side) market.Side {
	switch s {
	case brokerv1.Side_SIDE_CALL:
		return market.Call
	case brokerv1.Side_SIDE_PUT:
		return market.Put
	}
	return 0
}

// OrderStateToPB converts an order state.
func OrderStateToPB(s broker.OrderState) brokerv1.OrderState {
	if s < broker.Pending || s > broker.Rejected {
		return brokerv1.OrderState_ORDER_STATE_UNSPECIFIED
	}
	// Both enums number Pending = 1 … Rejected = 6.
	return brokerv1.OrderState(s)
}

// OrderStateFromPB converts an order state.
func OrderStateFromPB(s brokerv1.OrderState) broker.OrderState {
	if s < brokerv1.OrderState_ORDER_STATE_PENDING || s > brokerv1.OrderState_ORDER_STATE_REJECTED {
		return 0
	}
	return broker.OrderState(s)
}

// InstrumentToPB converts an instrument.
func InstrumentToPB(in broker.Instrument) *brokerv1.Instrument {
	exp := make([]int64, len(in.Expiries))
	for i, d := range in.Expiries {
		exp[i] = int64(d / time.Second)
	}
	return &brokerv1.Instrument{
		Symbol:          in.Symbol,
		Name:            in.Name,
		Market:          in.Market,
		PayoutPercent:   in.PayoutPercent,
		Open:            in.Open,
		MinStake:        DecimalToPB(in.MinStake),
		MaxStake:        DecimalToPB(in.MaxStake),
		ExpiriesSeconds: exp,
	}
}

// InstrumentFromPB converts an instrument.
func InstrumentFromPB(in *brokerv1.Instrument) (broker.Instrument, error) {
	minStake, err := DecimalFromPB(in.GetMinStake())
	if err != nil {
		return broker.Instrument{}, fmt.Errorf("instrument %s min stake: %w", in.GetSymbol(), err)
	}
	maxStake, err := DecimalFromPB(in.GetMaxStake())
	if err != nil {
		return broker.Instrument{}, fmt.Errorf("instrument %s max stake: %w", in.GetSymbol(), err)
	}
	exp := make([]time.Duration, len(in.GetExpiriesSeconds()))
	for i, s := range in.GetExpiriesSeconds() {
		exp[i] = time.Duration(s) * time.Second
	}
	return broker.Instrument{
		Symbol:        in.GetSymbol(),
		Name:          in.GetName(),
		Market:        in.GetMarket(),
		PayoutPercent: in.GetPayoutPercent(),
		Open:          in.GetOpen(),
		MinStake:      minStake,
		MaxStake:      maxStake,
		Expiries:      exp,
	}, nil
}

func msToTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func timeToMS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// OrderToPB converts an order.
func OrderToPB(o broker.Order) *brokerv1.Order {
	return &brokerv1.Order{
		ClientOrderId: o.ClientOrderID,
		BrokerOrderId: o.BrokerOrderID,
		Symbol:        o.Symbol,
		Side:          SideToPB(o.Side),
		Amount:        DecimalToPB(o.Amount),
		State:         OrderStateToPB(o.State),
		OpenPrice:     o.OpenPrice,
		ClosePrice:    o.ClosePrice,
		PayoutPercent: o.PayoutPercent,
		Profit:        DecimalToPB(o.Profit),
		OpenedAtMs:    timeToMS(o.OpenedAt),
		ExpiresAtMs:   timeToMS(o.ExpiresAt),
		ClosedAtMs:    timeToMS(o.ClosedAt),
		RejectReason:  o.RejectReason,
		ExpirySeconds: int64(o.Expiry / time.Second),
	}
}

// OrderFromPB converts an order.
func OrderFromPB(o *brokerv1.Order) (broker.Order, error) {
	amount, err := DecimalFromPB(o.GetAmount())
	if err != nil {
		return broker.Order{}, fmt.Errorf("order %s amount: %w", o.GetClientOrderId(), err)
	}
	profit, err := DecimalFromPB(o.GetProfit())
	if err != nil {
		return broker.Order{}, fmt.Errorf("order %s profit: %w", o.GetClientOrderId(), err)
	}
	return broker.Order{
		ClientOrderID: o.GetClientOrderId(),
		BrokerOrderID: o.GetBrokerOrderId(),
		Symbol:        o.GetSymbol(),
		Side:          SideFromPB(o.GetSide()),
		Amount:        amount,
		State:         OrderStateFromPB(o.GetState()),
		OpenPrice:     o.GetOpenPrice(),
		ClosePrice:    o.GetClosePrice(),
		PayoutPercent: o.GetPayoutPercent(),
		Profit:        profit,
		Expiry:        time.Duration(o.GetExpirySeconds()) * time.Second,
		OpenedAt:      msToTime(o.GetOpenedAtMs()),
		ExpiresAt:     msToTime(o.GetExpiresAtMs()),
		ClosedAt:      msToTime(o.GetClosedAtMs()),
		RejectReason:  o.GetRejectReason(),
	}, nil
}
