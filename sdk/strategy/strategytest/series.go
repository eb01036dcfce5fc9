package strategytest

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"

	"github.com/stc-trading/stc/sdk/market"
)

// Sine returns n hourly candles whose closes follow two superposed sine
// waves around 100, so oscillators swing through their extremes. Every
// candle is valid.
func Sine(n int) market.Series {
	out := make(market.Series, n)
	start := int64(1_700_000_000) / 3600 * 3600
	prev := 100.0
	for i := range out {
		x := float64(i)
		c := 100 + 8*math.Sin(x/9) + 2*math.Sin(x/2.3)
		out[i] = market.Candle{
			Time:   start + int64(i)*3600,
			Open:   prev,
			High:   math.Max(prev, c) + 0.25,
			Low:    math.Min(prev, c) - 0.25,
			Close:  c,
			Volume: 1000 + 100*math.Cos(x),
		}
		prev = c
	}
	return out
}

// LoadCSV reads a "time,open,high,low,close,volume" file (time in Unix
// seconds, header line required), as in the project's reference data.
func LoadCSV(path string) (market.Series, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", path, err)
	}
	if len(header) < 5 || header[0] != "time" {
		return nil, fmt.Errorf("%s: header %v, want time,open,high,low,close[,volume]", path, header)
	}
	var out market.Series
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		var c market.Candle
		if c.Time, err = strconv.ParseInt(rec[0], 10, 64); err != nil {
			return nil, fmt.Errorf("%s:%d: time: %w", path, line, err)
		}
		vals := []*float64{&c.Open, &c.High, &c.Low, &c.Close, &c.Volume}
		for i, p := range vals {
			if i+1 >= len(rec) {
				break
			}
			if *p, err = strconv.ParseFloat(rec[i+1], 64); err != nil {
				return nil, fmt.Errorf("%s:%d: column %d: %w", path, line, i+2, err)
			}
		}
		out = append(out, c)
	}
}
