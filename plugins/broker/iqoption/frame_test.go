package iqoption

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodeEveryRealShape(t *testing.T) {
	for name, raw := range realShapes {
		t.Run(name, func(t *testing.T) {
			f, err := decodeFrame([]byte(raw))
			require.NoError(t, err)
			assert.True(t, f.Name != "" || f.RequestID != "")
		})
	}
}

func TestDecodeFrameFields(t *testing.T) {
	f, err := decodeFrame([]byte(realShapes["option suspended"]))
	require.NoError(t, err)
	assert.Equal(t, "option", f.Name)
	assert.Equal(t, flexString("buy"), f.RequestID)
	assert.Equal(t, flexInt(4119), f.Status)

	f, err = decodeFrame([]byte(realShapes["result mock"]))
	require.NoError(t, err)
	assert.True(t, f.isResult(), "a nameless frame with msg.success is a result frame")

	f, err = decodeFrame([]byte(`{"name":"x","request_id":42,"status":"2000"}`))
	require.NoError(t, err)
	assert.Equal(t, flexString("42"), f.RequestID, "numeric request ids are accepted")
	assert.Equal(t, flexInt(2000), f.Status)

	for _, bad := range []string{``, `[]`, `"x"`, `{}`, `{"msg":1}`, `{"name":`} {
		_, err := decodeFrame([]byte(bad))
		assert.ErrorIs(t, err, errBadFrame, "%q", bad)
	}
}

// candle-generated's at is nanoseconds (~1.5e18): it must survive exactly,
// which a float64 detour would not.
func TestCandleAtIsExactInt64(t *testing.T) {
	f, err := decodeFrame([]byte(realShapes["candle-generated"]))
	require.NoError(t, err)
	var d candleDTO
	require.NoError(t, json.Unmarshal(f.Msg, &d))
	assert.Equal(t, int64(1534758724313867200), int64(d.At))
	assert.NotEqual(t, int64(float64(1534758724313867201)), int64(1534758724313867201), "the test value is beyond float64 precision")
	var e candleDTO
	require.NoError(t, json.Unmarshal([]byte(`{"at":1534758724313867201}`), &e))
	assert.Equal(t, int64(1534758724313867201), int64(e.At))
	assert.Equal(t, "C", d.Phase)
	assert.Equal(t, int64(1534758720), d.candle().Time)
}

func TestPositionShapes(t *testing.T) {
	f, err := decodeFrame([]byte(realShapes["position extra fields"]))
	require.NoError(t, err)
	var p positionMsg
	require.NoError(t, json.Unmarshal(f.Msg, &p), "ids as numbers or strings, unknown fields anywhere")
	assert.Equal(t, int64(14147912587), p.optionID())
	assert.Equal(t, flexString("12345"), p.ID)
	assert.Equal(t, flexInt(3), p.Version)
	assert.Equal(t, "10.5", p.Invest.String())

	f, err = decodeFrame([]byte(realShapes["position-changed"]))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(f.Msg, &p))
	assert.Equal(t, "1740", p.CloseProfit.Sub(p.Invest.Decimal).String(), "profit = close_profit − invest")
}

// A handler that panics costs the frame, not the process.
func TestDispatchRecoversPanics(t *testing.T) {
	c := &wsClient{log: hclog.NewNullLogger(), pending: map[string]*pending{}, routes: map[string]pushHandler{
		",boom": func(frame) { panic("bad frame") },
	}}
	assert.NotPanics(t, func() {
		c.safely("dispatch", func() { c.dispatch(context.Background(), nil, []byte(`{"name":"boom"}`)) })
	})
}
