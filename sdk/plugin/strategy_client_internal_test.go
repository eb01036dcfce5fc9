package plugin

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	pluginv1 "github.com/stc-trading/stc/sdk/internal/pb/stc/plugin/v1"
	strategyv1 "github.com/stc-trading/stc/sdk/internal/pb/stc/strategy/v1"
	"github.com/stc-trading/stc/sdk/market"
)

// infoStub answers GetInfo with a protocol minor.
type infoStub struct {
	pluginv1.InfoServiceClient
	minor uint32
	calls int
}

func (s *infoStub) GetInfo(context.Context, *pluginv1.GetInfoRequest, ...grpc.CallOption) (*pluginv1.GetInfoResponse, error) {
	s.calls++
	return &pluginv1.GetInfoResponse{Name: "stub", ProtocolMinor: s.minor}, nil
}

// batchStub records the BatchOnCandle request it is sent.
type batchStub struct {
	strategyv1.StrategyServiceClient
	got *strategyv1.BatchOnCandleRequest
}

func (s *batchStub) BatchOnCandle(_ context.Context, req *strategyv1.BatchOnCandleRequest, _ ...grpc.CallOption) (*strategyv1.BatchOnCandleResponse, error) {
	s.got = req
	out := &strategyv1.BatchOnCandleResponse{}
	for _, r := range req.GetRequests() {
		out.Results = append(out.Results, &strategyv1.BatchOnCandleResult{InstanceId: r.GetInstanceId()})
	}
	return out, nil
}

// Windows cut from one series cross the wire once, as the series and each
// window's length, but only to a plugin of protocol minor 2 or later (an
// older one would read empty windows); other batches carry whole windows.
func TestBatchSendsASharedSeriesOnlyToPluginsThatKnowIt(t *testing.T) {
	series := make(market.Series, 10)
	for i := range series {
		series[i] = market.Candle{Time: int64(i) * 60, Open: 1, High: 2, Low: 0.5, Close: 1 + float64(i)/10}
	}
	cut := []BatchItem{{InstanceID: "a", Window: series[2:]}, {InstanceID: "b", Window: series[7:]}, {InstanceID: "c", Window: series}}
	copied := append(market.Series(nil), series[7:]...)
	mixed := []BatchItem{{InstanceID: "a", Window: series[2:]}, {InstanceID: "b", Window: copied}}

	for _, c := range []struct {
		name   string
		minor  uint32
		items  []BatchItem
		shared bool
	}{
		{"minor 2, one series", 2, cut, true},
		{"minor 1, one series", 1, cut, false},
		{"minor 2, a window from another array", 2, mixed, false},
		{"minor 2, a single item", 2, cut[:1], false},
	} {
		t.Run(c.name, func(t *testing.T) {
			info, svc := &infoStub{minor: c.minor}, &batchStub{}
			cl := &StrategyClient{info: info, svc: svc}
			cl.minor.Store(-1)
			for range 2 {
				_, err := cl.BatchOnCandle(context.Background(), c.items)
				require.NoError(t, err)
				reqs := svc.got.GetRequests()
				require.Len(t, reqs, len(c.items))
				if c.shared {
					assert.Len(t, svc.got.GetSeries().GetTimestamps(), len(series), "the longest window, once")
				} else {
					assert.Empty(t, svc.got.GetSeries().GetTimestamps())
				}
				for i, r := range reqs {
					if c.shared {
						assert.EqualValues(t, len(c.items[i].Window), r.GetWindowLength())
						assert.Empty(t, r.GetWindow().GetTimestamps())
					} else {
						assert.Len(t, r.GetWindow().GetTimestamps(), len(c.items[i].Window))
					}
				}
			}
			assert.LessOrEqual(t, info.calls, 1, "the protocol minor is asked once")
		})
	}
}
