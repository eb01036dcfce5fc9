package plugin_test

import (
	"context"
	"testing"

	goplugin "github.com/hashicorp/go-plugin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/plugin"
	"github.com/stc-trading/stc/sdk/schema"
	"github.com/stc-trading/stc/sdk/strategy"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

var demoSettings = []plugin.Setting{
	{Name: "time_scale", Type: schema.Float, Default: "1", Min: schema.Bound(0.001), Max: schema.Bound(86400), Description: "market speed"},
	{Name: "2fa_code", Type: schema.String, Default: "000000", Sensitive: true},
	{Name: "token", Type: schema.String, Required: true, Sensitive: true},
	{Name: "strict", Type: schema.Bool},
}

func TestSettingEnv(t *testing.T) {
	assert.Equal(t, "STC_PAPER_TIME_SCALE", plugin.SettingEnv("paper", "time_scale"))
	assert.Equal(t, "STC_IQOPTION_WS_URL", plugin.SettingEnv("iqoption", "ws_url"))
	assert.Equal(t, "STC_MT5_BRIDGE_2FA_CODE", plugin.SettingEnv("mt5-bridge", "2fa_code"), "a - in the plugin's name is not valid in a variable")
}

func TestLoadSettings(t *testing.T) {
	v, err := plugin.LoadSettings("demo", demoSettings, env(nil))
	require.NoError(t, err, "nothing set: every default applies, and a required setting is the host's to enforce")
	assert.InDelta(t, 1, v.Float("time_scale"), 0)
	assert.Equal(t, "000000", v.String("2fa_code"))
	assert.Empty(t, v.String("token"))
	assert.False(t, v.Has("strict"), "optional, no default: absent")

	v, err = plugin.LoadSettings("demo", demoSettings, env(map[string]string{
		"STC_DEMO_TIME_SCALE": " 60 ", "STC_DEMO_TOKEN": "t0k", "STC_DEMO_STRICT": "true", "STC_DEMO_2FA_CODE": "",
		"STC_DEMO_UNDECLARED": "ignored",
	}))
	require.NoError(t, err)
	assert.InDelta(t, 60, v.Float("time_scale"), 0)
	assert.Equal(t, "t0k", v.String("token"))
	assert.True(t, v.Bool("strict"))
	assert.Equal(t, "000000", v.String("2fa_code"), "an empty variable is unset")
	assert.Equal(t, map[string]string{"time_scale": "60", "2fa_code": "000000", "token": "t0k", "strict": "true"}, v.Map())

	_, err = plugin.LoadSettings("demo", demoSettings, env(map[string]string{
		"STC_DEMO_TIME_SCALE": "-1", "STC_DEMO_STRICT": "maybe", "STC_DEMO_2FA_CODE": "",
	}))
	require.Error(t, err)
	assert.ErrorIs(t, err, schema.ErrInvalid)
	assert.Contains(t, err.Error(), `STC_DEMO_TIME_SCALE="-1": must be at least 0.001`)
	assert.Contains(t, err.Error(), `STC_DEMO_STRICT="maybe": "maybe" is not true or false`)

	_, err = plugin.LoadSettings("demo", []plugin.Setting{{Name: "n", Type: schema.Int, Sensitive: true}}, env(map[string]string{"STC_DEMO_N": "hunter2"}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "STC_DEMO_N=<secret>")
	assert.NotContains(t, err.Error(), "hunter2", "a secret is never echoed")
	var se *plugin.SettingError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "n", se.Setting.Name)
}

func TestCheckSettings(t *testing.T) {
	require.NoError(t, plugin.CheckSettings(demoSettings))
	require.NoError(t, plugin.CheckSettings(nil))
	err := plugin.CheckSettings([]plugin.Setting{
		{Name: "Time_Scale", Type: schema.Float},
		{Name: "ws-url", Type: schema.String},
		{Name: "", Type: schema.String},
		{Name: "dup", Type: schema.String},
		{Name: "dup", Type: schema.Int},
		{Name: "untyped"},
		{Name: "both", Type: schema.String, Required: true, Default: "x"},
		{Name: "bad_default", Type: schema.Int, Default: "ten"},
		{Name: "out_of_bounds", Type: schema.Int, Default: "5", Max: schema.Bound(3)},
	})
	require.Error(t, err)
	for _, want := range []string{`"Time_Scale"`, `"ws-url"`, `""`, `"dup" is declared twice`, `"untyped" has the invalid type`,
		`"both" is required and has a default`, `"bad_default": its default is invalid`, `"out_of_bounds": its default is invalid`} {
		assert.Contains(t, err.Error(), want)
	}
	_, err = plugin.LoadSettings("demo", []plugin.Setting{{Name: "BAD", Type: schema.String}}, env(nil))
	assert.ErrorContains(t, err, "plugin demo declares invalid settings")
}

// TestSettingsInGetInfo: what a plugin declares with WithSettings reaches
// the host's GetInfo answer intact, for both kinds, and a plugin declaring
// invalid settings is refused when it starts serving.
func TestSettingsInGetInfo(t *testing.T) {
	ctx := context.Background()
	client, _ := goplugin.TestPluginGRPCConn(t, false, map[string]goplugin.Plugin{
		"broker": &plugin.BrokerPlugin{Factory: func() broker.Broker { return &tiny{} }, Settings: demoSettings},
	})
	t.Cleanup(func() { _ = client.Close() })
	raw, err := client.Dispense("broker")
	require.NoError(t, err)
	bc, ok := raw.(*plugin.BrokerClient)
	require.True(t, ok)
	info, err := bc.Info(ctx)
	require.NoError(t, err)
	assert.Equal(t, demoSettings, info.Settings)
	assert.Equal(t, uint32(plugin.ProtocolMinor), info.ProtocolMinor)
	assert.GreaterOrEqual(t, info.ProtocolMinor, uint32(3), "settings are protocol 1.3")

	sclient, _ := goplugin.TestPluginGRPCConn(t, false, map[string]goplugin.Plugin{
		"strategy": &plugin.StrategyPlugin{Factory: func() strategy.Strategy { return fragile{} }, Settings: demoSettings[:1]},
	})
	t.Cleanup(func() { _ = sclient.Close() })
	raw, err = sclient.Dispense("strategy")
	require.NoError(t, err)
	sc, ok := raw.(*plugin.StrategyClient)
	require.True(t, ok)
	info, err = sc.Info(ctx)
	require.NoError(t, err)
	assert.Equal(t, demoSettings[:1], info.Settings)

	bad := []plugin.Setting{{Name: "Bad Name", Type: schema.String}}
	err = (&plugin.BrokerPlugin{Factory: func() broker.Broker { return &tiny{} }, Settings: bad}).GRPCServer(nil, nil)
	assert.ErrorContains(t, err, "invalid settings")
	err = (&plugin.StrategyPlugin{Factory: func() strategy.Strategy { return fragile{} }, Settings: bad}).GRPCServer(nil, nil)
	assert.ErrorContains(t, err, "invalid settings")
}
