package plugin_test

import (
	"context"
	"testing"

	goplugin "github.com/hashicorp/go-plugin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/plugin"
	"github.com/stc-trading/stc/sdk/strategy"
)

// named is tiny with a display name.
type named struct{ tiny }

func (b *named) Metadata() broker.Metadata {
	m := b.tiny.Metadata()
	m.DisplayName = "Tiny Broker"
	return m
}

// namedStrategy is fragile with a display name.
type namedStrategy struct{ fragile }

func (namedStrategy) Metadata() strategy.Metadata {
	return strategy.Metadata{Name: "fragile", Version: "1.0.0", DisplayName: "Fragile Strategy"}
}

// TestDisplayNameInGetInfo: the display name a plugin declares (protocol
// 1.4) reaches the host's GetInfo answer, for both kinds; a plugin that
// declares none answers an empty one.
func TestDisplayNameInGetInfo(t *testing.T) {
	ctx := context.Background()
	for name, p := range map[string]goplugin.Plugin{
		"Tiny Broker":      &plugin.BrokerPlugin{Factory: func() broker.Broker { return &named{} }},
		"":                 &plugin.BrokerPlugin{Factory: func() broker.Broker { return &tiny{} }},
		"Fragile Strategy": &plugin.StrategyPlugin{Factory: func() strategy.Strategy { return namedStrategy{} }},
	} {
		client, _ := goplugin.TestPluginGRPCConn(t, false, map[string]goplugin.Plugin{"p": p})
		raw, err := client.Dispense("p")
		require.NoError(t, err)
		var info plugin.Info
		switch c := raw.(type) {
		case *plugin.BrokerClient:
			info, err = c.Info(ctx)
		case *plugin.StrategyClient:
			info, err = c.Info(ctx)
		default:
			t.Fatalf("unexpected client %T", raw)
		}
		require.NoError(t, err)
		assert.Equal(t, name, info.DisplayName)
		assert.GreaterOrEqual(t, info.ProtocolMinor, uint32(4), "display names are protocol 1.4")
		require.NoError(t, client.Close())
	}
}
