// Package convert translates between the SDK's Go types and the generated
// protobuf types. It is the only package that knows both, so a protocol
// change touches this package and sdk/plugin, nothing else.
package convert

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	commonv1 "github.com/stc-trading/stc/sdk/internal/pb/stc/common/v1"
	strategyv1 "github.com/stc-trading/stc/sdk/internal/pb/stc/strategy/v1"
	"github.com/stc-trading/stc/sdk/market"
	"github.com/stc-trading/stc/sdk/schema"
	"github.com/stc-trading/stc/sdk/strategy"
)

// TimeframeToPB converts a timeframe; invalid values become UNSPECIFIED.
func TimeframeToPB(tf market.Timeframe) commonv1.Timeframe {
	if !tf.Valid() {
		return commonv1.Timeframe_TIMEFRAME_UNSPECIFIED
	}
	// The enums share their order: M1 = 1 … D1 = 7 on both sides.
	return commonv1.Timeframe(tf)
}

// TimeframeFromPB converts a timeframe; UNSPECIFIED or unknown values give
// an error wrapping market.ErrInvalidTimeframe.
func TimeframeFromPB(tf commonv1.Timeframe) (market.Timeframe, error) {
	out := market.Timeframe(tf)
	if !out.Valid() {
		return 0, fmt.Errorf("%w: wire value %d", market.ErrInvalidTimeframe, int32(tf))
	}
	return out, nil
}

// CandleToPB converts one candle.
func CandleToPB(c market.Candle) *commonv1.Candle {
	return &commonv1.Candle{Timestamp: c.Time, Open: c.Open, High: c.High, Low: c.Low, Close: c.Close, Volume: c.Volume}
}

// CandleFromPB converts one candle; nil gives the zero candle.
func CandleFromPB(c *commonv1.Candle) market.Candle {
	if c == nil {
		return market.Candle{}
	}
	return market.Candle{Time: c.GetTimestamp(), Open: c.GetOpen(), High: c.GetHigh(), Low: c.GetLow(), Close: c.GetClose(), Volume: c.GetVolume()}
}

// SeriesToPB converts a series to columnar form.
func SeriesToPB(s market.Series) *commonv1.CandleSeries {
	n := len(s)
	out := &commonv1.CandleSeries{
		Timestamps: make([]int64, n),
		Open:       make([]float64, n),
		High:       make([]float64, n),
		Low:        make([]float64, n),
		Close:      make([]float64, n),
		Volume:     make([]float64, n),
	}
	for i, c := range s {
		out.Timestamps[i] = c.Time
		out.Open[i] = c.Open
		out.High[i] = c.High
		out.Low[i] = c.Low
		out.Close[i] = c.Close
		out.Volume[i] = c.Volume
	}
	return out
}

// SeriesFromPB converts a columnar series, appending to dst (which may be
// nil) so that hot paths can reuse a buffer. Columns of unequal length are
// an error: a peer that sends them is broken.
func SeriesFromPB(dst market.Series, s *commonv1.CandleSeries) (market.Series, error) {
	n := len(s.GetTimestamps())
	if len(s.GetOpen()) != n || len(s.GetHigh()) != n || len(s.GetLow()) != n || len(s.GetClose()) != n {
		return dst, fmt.Errorf("convert: candle series columns have unequal lengths")
	}
	vol := s.GetVolume()
	if len(vol) != 0 && len(vol) != n {
		return dst, fmt.Errorf("convert: candle series volume column has %d values for %d candles", len(vol), n)
	}
	for i := 0; i < n; i++ {
		c := market.Candle{Time: s.Timestamps[i], Open: s.Open[i], High: s.High[i], Low: s.Low[i], Close: s.Close[i]}
		if len(vol) != 0 {
			c.Volume = vol[i]
		}
		dst = append(dst, c)
	}
	return dst, nil
}

// DecimalToPB converts money; the zero decimal becomes "0".
func DecimalToPB(d decimal.Decimal) *commonv1.Decimal {
	return &commonv1.Decimal{Value: d.String()}
}

// DecimalFromPB parses money; nil or empty means zero.
func DecimalFromPB(d *commonv1.Decimal) (decimal.Decimal, error) {
	if d.GetValue() == "" {
		return decimal.Zero, nil
	}
	out, err := decimal.NewFromString(d.GetValue())
	if err != nil {
		return decimal.Zero, fmt.Errorf("convert: bad decimal %q: %w", d.GetValue(), err)
	}
	return out, nil
}

// FieldsToPB converts a schema.
func FieldsToPB(fs []schema.Field) []*commonv1.FieldSpec {
	out := make([]*commonv1.FieldSpec, len(fs))
	for i, f := range fs {
		spec := &commonv1.FieldSpec{
			Name:         f.Name,
			Type:         commonv1.FieldType(f.Type),
			Required:     f.Required,
			DefaultValue: f.Default,
			Description:  f.Description,
			Sensitive:    f.Sensitive,
			Options:      f.Options,
		}
		if f.Min != nil {
			spec.HasMin, spec.Min = true, *f.Min
		}
		if f.Max != nil {
			spec.HasMax, spec.Max = true, *f.Max
		}
		out[i] = spec
	}
	return out
}

// FieldsFromPB converts a schema.
func FieldsFromPB(fs []*commonv1.FieldSpec) []schema.Field {
	out := make([]schema.Field, len(fs))
	for i, f := range fs {
		field := schema.Field{
			Name:        f.GetName(),
			Type:        schema.Type(f.GetType()),
			Required:    f.GetRequired(),
			Default:     f.GetDefaultValue(),
			Description: f.GetDescription(),
			Sensitive:   f.GetSensitive(),
			Options:     f.GetOptions(),
		}
		if f.GetHasMin() {
			field.Min = schema.Bound(f.GetMin())
		}
		if f.GetHasMax() {
			field.Max = schema.Bound(f.GetMax())
		}
		out[i] = field
	}
	return out
}

// ActionToPB converts a strategy action.
func ActionToPB(a strategy.Action) strategyv1.Action {
	switch a {
	case strategy.ActionHold:
		return strategyv1.Action_ACTION_HOLD
	case strategy.ActionCall:
		return strategyv1.Action_ACTION_CALL
	case strategy.ActionPut:
		return strategyv1.Action_ACTION_PUT
	}
	return strategyv1.Action_ACTION_UNSPECIFIED
}

// ActionFromPB converts a strategy action; UNSPECIFIED gives an invalid
// (zero) action.
func ActionFromPB(a strategyv1.Action) strategy.Action {
	switch a {
	case strategyv1.Action_ACTION_HOLD:
		return strategy.ActionHold
	case strategyv1.Action_ACTION_CALL:
		return strategy.ActionCall
	case strategyv1.Action_ACTION_PUT:
		return strategy.ActionPut
	}
	return 0
}

// SignalToPB converts a signal.
func SignalToPB(s strategy.Signal) *strategyv1.Signal {
	return &strategyv1.Signal{Action: ActionToPB(s.Action), Reason: s.Reason, ExpirySeconds: int64(s.Expiry / time.Second)}
}

// SignalFromPB converts a signal.
func SignalFromPB(s *strategyv1.Signal) strategy.Signal {
	return strategy.Signal{Action: ActionFromPB(s.GetAction()), Reason: s.GetReason(), Expiry: time.Duration(s.GetExpirySeconds()) * time.Second}
}
