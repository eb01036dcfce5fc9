package convert

import (
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/sdk/broker"
	brokerv1 "github.com/stc-trading/stc/sdk/internal/pb/stc/broker/v1"
	"github.com/stc-trading/stc/sdk/market"
)

func TestOrderResultsSurviveTheWire(t *testing.T) {
	o := broker.Order{ClientOrderID: "c", BrokerOrderID: "b", Symbol: "X", Side: market.Put, Amount: decimal.NewFromInt(3), State: broker.Open, Expiry: time.Minute, Profit: decimal.NewFromInt(0)}
	back := OrderResultFromPB(OrderResultToPB(broker.OrderResult{Order: o}))
	require.NoError(t, back.Err)
	assert.Equal(t, o, back.Order)

	back = OrderResultFromPB(OrderResultToPB(broker.OrderResult{Err: broker.RateLimited(2*time.Second, "later")}))
	assert.ErrorIs(t, back.Err, broker.ErrRateLimited)
	assert.Equal(t, "broker: rate limited: later", back.Err.Error())
	d, ok := broker.RetryAfter(back.Err)
	assert.True(t, ok && d == 2*time.Second)

	back = OrderResultFromPB(OrderResultToPB(broker.OrderResult{Err: errors.New("socket hiccup")}))
	require.Error(t, back.Err, "an unclassified error stays an error")
	assert.Equal(t, "socket hiccup", back.Err.Error())
	assert.NotErrorIs(t, back.Err, broker.ErrUnavailable)

	back = OrderResultFromPB(&brokerv1.PlaceOrderResult{})
	assert.Error(t, back.Err, "neither order nor error")
}
