package indicator

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// refTolerance is the agreement required with TA-Lib: absolute for RSI,
// relative to max|MACD| for MACD. The implementation actually reproduces
// TA-Lib bit for bit on this data; the tolerance only leaves room for
// platforms whose libm or FP contraction differ.
const refTolerance = 1e-9

func TestRSIMatchesTALib(t *testing.T) {
	for _, sym := range refSymbols {
		t.Run(sym, func(t *testing.T) {
			c := loadCandles(t, sym)
			ref, first := loadRef(t, c, sym+"_1h_rsi14.csv", 1)
			require.Equal(t, 14, first, "reference must start at the lookback")

			got := RSI(c.closes, 14)
			require.Len(t, got, len(c.closes))
			require.Equal(t, 14, firstDefined(got))
			requireAllNaN(t, got[:14])
			for i := 14; i < len(got); i++ {
				require.False(t, math.IsNaN(ref[0][i]), "reference has no row for candle %d", i)
				require.InDelta(t, ref[0][i], got[i], refTolerance, "%s index %d", sym, i)
			}
		})
	}
}

func TestMACDMatchesTALib(t *testing.T) {
	for _, sym := range refSymbols {
		t.Run(sym, func(t *testing.T) {
			c := loadCandles(t, sym)
			ref, first := loadRef(t, c, sym+"_1h_macd.csv", 3)
			require.Equal(t, 33, first, "reference must start at the lookback")

			macd, sig, hist := MACD(c.closes, 12, 26, 9)
			tol := refTolerance * maxAbs(ref[0])
			for j, got := range [][]float64{macd, sig, hist} {
				require.Len(t, got, len(c.closes))
				require.Equal(t, 33, firstDefined(got), "output %d", j)
				requireAllNaN(t, got[:33])
				for i := 33; i < len(got); i++ {
					require.False(t, math.IsNaN(ref[j][i]), "reference has no row for candle %d", i)
					require.InDelta(t, ref[j][i], got[i], tol, "%s output %d index %d", sym, j, i)
				}
			}
		})
	}
}

// Streams must replay the batch arithmetic exactly, so bitwise equality is
// required, not a tolerance.
func TestStreamsMatchBatchOnReferenceData(t *testing.T) {
	for _, sym := range refSymbols {
		closes := loadCandles(t, sym).closes
		t.Run(sym, func(t *testing.T) {
			for _, period := range []int{1, 2, 9, 14, 50, 200} {
				requireSameFloats(t, SMA(closes, period), feed(NewSMA(period), closes), "SMA(%d)", period)
				requireSameFloats(t, EMA(closes, period), feed(NewEMA(period), closes), "EMA(%d)", period)
				requireSameFloats(t, RSI(closes, period), feed(NewRSI(period), closes), "RSI(%d)", period)
			}
			for _, p := range [][3]int{{12, 26, 9}, {26, 12, 9}, {5, 35, 5}, {3, 10, 16}, {1, 1, 1}, {8, 8, 1}} {
				wm, ws, wh := MACD(closes, p[0], p[1], p[2])
				gm, gs, gh := feedMACD(NewMACD(p[0], p[1], p[2]), closes)
				requireSameFloats(t, wm, gm, "MACD%v line", p)
				requireSameFloats(t, ws, gs, "MACD%v signal", p)
				requireSameFloats(t, wh, gh, "MACD%v hist", p)
			}
		})
	}
}

// updater is the single-output stream interface shared by SMA, EMA and RSI.
type updater interface {
	Update(float64) float64
	Value() float64
	Ready() bool
	Lookback() int
	Reset()
}

var (
	_ updater = (*SMAStream)(nil)
	_ updater = (*EMAStream)(nil)
	_ updater = (*RSIStream)(nil)
)

func feed(s updater, values []float64) []float64 {
	out := make([]float64, len(values))
	for i, v := range values {
		out[i] = s.Update(v)
	}
	return out
}

func feedMACD(s *MACDStream, closes []float64) (macd, sig, hist []float64) {
	n := len(closes)
	macd, sig, hist = make([]float64, n), make([]float64, n), make([]float64, n)
	for i, v := range closes {
		macd[i], sig[i], hist[i] = s.Update(v)
	}
	return macd, sig, hist
}
