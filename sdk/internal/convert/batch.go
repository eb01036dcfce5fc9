package convert

import (
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"

	"github.com/stc-trading/stc/sdk/broker"
	brokerv1 "github.com/stc-trading/stc/sdk/internal/pb/stc/broker/v1"
)

// MaxBatchOrders caps the orders of one PlaceOrders call. It keeps one
// answer far below the gRPC message limit and one call's work bounded; the
// SDK client splits larger batches into calls of at most this many.
const MaxBatchOrders = 1000

// OrderRequestToPB converts an order request of session sessionID. Zero
// stop loss and take profit stay unset, meaning none.
func OrderRequestToPB(sessionID string, req broker.OrderRequest) *brokerv1.PlaceOrderRequest {
	msg := &brokerv1.PlaceOrderRequest{
		SessionId: sessionID, ClientOrderId: req.ClientOrderID, Symbol: req.Symbol, Side: SideToPB(req.Side),
		Amount: DecimalToPB(req.Amount), ExpirySeconds: int64(req.Expiry.Seconds()),
	}
	if !req.StopLoss.IsZero() {
		msg.StopLoss = DecimalToPB(req.StopLoss)
	}
	if !req.TakeProfit.IsZero() {
		msg.TakeProfit = DecimalToPB(req.TakeProfit)
	}
	return msg
}

// OrderResultToPB converts one result of a batch. The error travels as a
// single PlaceOrder's would in its status: stable reason, retry hint and
// message.
func OrderResultToPB(r broker.OrderResult) *brokerv1.PlaceOrderResult {
	if r.Err != nil {
		return &brokerv1.PlaceOrderResult{Result: &brokerv1.PlaceOrderResult_Error{
			Error: &brokerv1.OrderError{Detail: detailOf(r.Err), Message: r.Err.Error()},
		}}
	}
	return &brokerv1.PlaceOrderResult{Result: &brokerv1.PlaceOrderResult_Order{Order: OrderToPB(r.Order)}}
}

// OrderResultFromPB converts one result of a batch. An error with a known
// reason matches its SDK sentinel with errors.Is; one without keeps the
// plugin's message and matches nothing, like an unclassified PlaceOrder
// failure. A result with neither order nor error is an error of its own.
func OrderResultFromPB(r *brokerv1.PlaceOrderResult) broker.OrderResult {
	if e := r.GetError(); e != nil {
		if err := errorFromDetail(e.GetDetail(), codes.Unknown, e.GetMessage()); err != nil {
			return broker.OrderResult{Err: err}
		}
		msg := e.GetMessage()
		if msg == "" {
			msg = "order failed without a message"
		}
		return broker.OrderResult{Err: &remoteError{msg: msg, code: codes.Unknown}}
	}
	if r.GetOrder() == nil {
		return broker.OrderResult{Err: errors.New("plugin answered an order with neither an order nor an error")}
	}
	o, err := OrderFromPB(r.GetOrder())
	if err != nil {
		return broker.OrderResult{Err: fmt.Errorf("plugin answered an unreadable order: %w", err)}
	}
	return broker.OrderResult{Order: o}
}
