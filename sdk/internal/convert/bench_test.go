package convert_test

import (
	"strconv"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/stc-trading/stc/sdk/internal/convert"
	strategyv1 "github.com/stc-trading/stc/sdk/internal/pb/stc/strategy/v1"
	"github.com/stc-trading/stc/sdk/market"
	"github.com/stc-trading/stc/sdk/strategy"
)

// BenchmarkOnCandleCodec is everything an OnCandle call spends on its
// messages in both processes, without transport: the host converts and
// marshals the request, the plugin unmarshals and converts it back, and
// the same for the signal. It attributes the live benchmarks in
// plugins/strategy/rsi (docs/BENCHMARKS.md).
func BenchmarkOnCandleCodec(b *testing.B) {
	for _, n := range []int{1, 200} {
		b.Run("window="+strconv.Itoa(n), func(b *testing.B) {
			window := make(market.Series, n)
			for i := range window {
				window[i] = market.Candle{Time: int64(i) * 60, Open: 1.08, High: 1.09, Low: 1.07, Close: 1.085, Volume: 100}
			}
			var dst market.Series
			sig := strategy.Signal{Action: strategy.ActionCall, Reason: "rsi 28.1 < 30"}
			b.ReportAllocs()
			for b.Loop() {
				wire, err := proto.Marshal(&strategyv1.OnCandleRequest{InstanceId: "bench", Window: convert.SeriesToPB(window)})
				if err != nil {
					b.Fatal(err)
				}
				var req strategyv1.OnCandleRequest
				if err := proto.Unmarshal(wire, &req); err != nil {
					b.Fatal(err)
				}
				if dst, err = convert.SeriesFromPB(dst[:0], req.GetWindow()); err != nil || len(dst) != n {
					b.Fatal(err, len(dst))
				}
				out, err := proto.Marshal(&strategyv1.OnCandleResponse{Signal: convert.SignalToPB(sig)})
				if err != nil {
					b.Fatal(err)
				}
				var resp strategyv1.OnCandleResponse
				if err := proto.Unmarshal(out, &resp); err != nil {
					b.Fatal(err)
				}
				if convert.SignalFromPB(resp.GetSignal()) != sig {
					b.Fatal("signal changed on the way")
				}
			}
		})
	}
}
