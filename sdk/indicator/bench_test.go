package indicator

import "testing"

// Streaming benchmarks: one op is one candle. The stream keeps running
// across passes over the data, which is what a live feed does.
func BenchmarkRSIStream(b *testing.B) {
	closes := loadCandles(b, "btcusdt").closes
	s := NewRSI(14)
	var sink float64
	i := 0
	for b.Loop() {
		sink += s.Update(closes[i])
		if i++; i == len(closes) {
			i = 0
		}
	}
	_ = sink
}

func BenchmarkMACDStream(b *testing.B) {
	closes := loadCandles(b, "btcusdt").closes
	s := NewMACD(12, 26, 9)
	var sink float64
	i := 0
	for b.Loop() {
		_, _, h := s.Update(closes[i])
		sink += h
		if i++; i == len(closes) {
			i = 0
		}
	}
	_ = sink
}

// BenchmarkRSIBatch: one op is RSI(14) over 500 closes, including the
// output allocation; ns/candle is reported for comparison with the streams.
func BenchmarkRSIBatch(b *testing.B) {
	closes := loadCandles(b, "btcusdt").closes[:500]
	b.ReportAllocs()
	for b.Loop() {
		_ = RSI(closes, 14)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(closes)), "ns/candle")
}
