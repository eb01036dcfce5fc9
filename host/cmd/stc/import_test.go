package main

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
	"github.com/stc-trading/stc/sdk/market"
)

func TestImportCSV(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		csv := "time,open,high,low,close,volume\n" +
			"3600,1.1,1.2,1.0,1.15,10\n" +
			"7200,1.15,1.3,1.1,1.2,11\n" +
			"7200,1.15,1.3,1.1,1.2,11\n" + // duplicate row
			"10800,1.2,1.1,1.3,1.2,5\n" + // high < low: rejected
			"11000,1.2,1.3,1.1,1.25,5\n" // not aligned to 1h: rejected
		res, err := importCSV(ctx, s, strings.NewReader(csv), "test", "EURUSD", market.H1)
		require.NoError(t, err)
		assert.Equal(t, store.InsertResult{Inserted: 2, Duplicates: 1, Rejected: 2}, res)
		again, err := importCSV(ctx, s, strings.NewReader(csv), "test", "EURUSD", market.H1)
		require.NoError(t, err)
		assert.Equal(t, 0, again.Inserted, "importing twice stores nothing new")
		got, err := s.Candles(ctx, "test", "EURUSD", market.H1, 0, 0, 10, store.OrderAuto)
		require.NoError(t, err)
		assert.Equal(t, market.Series{
			{Time: 3600, Open: 1.1, High: 1.2, Low: 1.0, Close: 1.15, Volume: 10},
			{Time: 7200, Open: 1.15, High: 1.3, Low: 1.1, Close: 1.2, Volume: 11},
		}, got)

		_, err = importCSV(ctx, s, strings.NewReader("3600,abc,1,1,1,1\n"), "test", "EURUSD", market.H1)
		assert.ErrorContains(t, err, `line 1: column 2 "abc" is not a number`)
	})
}
