package sseclient_test

import (
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/sseclient"
)

func TestReaderParsesFrames(t *testing.T) {
	r := sseclient.New(strings.NewReader("retry: 3000\nid: 4\n\n: heartbeat\n\nid: 5\nevent: trade\ndata: {\"a\":1}\ndata: x\n\nevent: candle\ndata:{}\n\n"))
	f, err := r.Next()
	require.NoError(t, err)
	assert.Equal(t, sseclient.Frame{ID: "4", HasID: true, Retry: 3000}, f)
	f, err = r.Next()
	require.NoError(t, err)
	assert.Equal(t, []string{"heartbeat"}, f.Comments)
	f, err = r.NextEvent()
	require.NoError(t, err)
	assert.Equal(t, "5", f.ID)
	assert.Equal(t, "trade", f.Event)
	assert.Equal(t, "{\"a\":1}\nx", f.Data)
	f, err = r.NextEvent()
	require.NoError(t, err)
	assert.False(t, f.HasID)
	assert.Equal(t, "{}", f.Data)
	_, err = r.Next()
	assert.ErrorIs(t, err, io.EOF)
}
