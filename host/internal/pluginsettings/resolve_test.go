package pluginsettings

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/catalog"
	"github.com/stc-trading/stc/sdk/plugin"
	"github.com/stc-trading/stc/sdk/schema"
)

func broker(name string, settings ...plugin.Setting) Declared {
	return Declared{Entry: catalog.Entry{Kind: plugin.KindBroker, Name: name},
		Info: plugin.Info{Kind: plugin.KindBroker, Name: name, Version: "1.0.0", Settings: settings}}
}

func strategy(name string, settings ...plugin.Setting) Declared {
	d := broker(name, settings...)
	d.Entry.Kind, d.Info.Kind = plugin.KindStrategy, plugin.KindStrategy
	return d
}

// demo declares one setting of each kind that matters.
var demo = broker("demo",
	plugin.Setting{Name: "time_scale", Type: schema.Float, Default: "1", Min: schema.Bound(0.001), Max: schema.Bound(86400)},
	plugin.Setting{Name: "ws_url", Type: schema.String},
	plugin.Setting{Name: "token", Type: schema.String, Required: true, Sensitive: true},
	plugin.Setting{Name: "2fa_code", Type: schema.String, Default: "000000", Sensitive: true},
)

const root = "/srv/stc"

func messages(errs []error) string {
	parts := make([]string, len(errs))
	for i, e := range errs {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// TestEnvIsExactlyWhatIsDeclared: a plugin's environment is the log level,
// its data directory and the declared settings the operator set; an
// undeclared variable of its prefix (the canary), the host's secrets and
// the defaults are not in it.
func TestEnvIsExactlyWhatIsDeclared(t *testing.T) {
	r := Resolve([]Declared{demo, strategy("rsi")}, Sources{
		Environ: []string{
			"STC_DEMO_TIME_SCALE=60", "STC_DEMO_TOKEN=s3cret", "STC_DEMO_CANARY=tweet",
			"STC_ENCRYPTION_KEY=k1:abc", "STC_DATABASE_URL=postgres://x", "PATH=/usr/bin", "HOME=/root",
		},
		File: map[string]string{"STC_DEMO_WS_URL": "ws://127.0.0.1:9/ws"},
	}, root, "debug")
	require.NoError(t, r.Err())
	assert.Equal(t, map[string]string{
		"STC_PLUGIN_LOG_LEVEL": "debug", "STC_PLUGIN_DATA_DIR": filepath.Join(root, "demo"),
		"STC_DEMO_TIME_SCALE": "60", "STC_DEMO_TOKEN": "s3cret", "STC_DEMO_WS_URL": "ws://127.0.0.1:9/ws",
	}, r.Env(demo.Entry), "2fa_code keeps its default inside the plugin: defaults are not passed")
	assert.Equal(t, map[string]string{"STC_PLUGIN_LOG_LEVEL": "debug", "STC_PLUGIN_DATA_DIR": filepath.Join(root, "strategy-rsi")},
		r.Env(catalog.Entry{Kind: plugin.KindStrategy, Name: "rsi"}))
	assert.Equal(t, map[string]string{"STC_PLUGIN_LOG_LEVEL": "debug", "STC_PLUGIN_DATA_DIR": filepath.Join(root, "other")},
		r.Env(catalog.Entry{Kind: plugin.KindBroker, Name: "other"}), "a plugin the resolution does not know gets no setting")
	require.Len(t, r.Warnings, 1)
	assert.Contains(t, r.Warnings[0], "STC_DEMO_CANARY is set but broker/demo declares no such setting, so it is not passed (its settings: time_scale, ws_url, token, 2fa_code)")
}

func TestSourcesAndDisplay(t *testing.T) {
	r := Resolve([]Declared{demo}, Sources{
		Environ: []string{"STC_DEMO_TIME_SCALE= 30 ", "STC_DEMO_WS_URL=", "STC_DEMO_TOKEN=env-token"},
		File:    map[string]string{"STC_DEMO_TIME_SCALE": "60", "STC_DEMO_WS_URL": "ws://file/ws", "STC_DEMO_TOKEN": "file-token"},
	}, root, "info")
	require.NoError(t, r.Err())
	got := map[string]Value{}
	for _, v := range r.Plugins[0].Values {
		got[v.Setting.Name] = v
	}
	assert.Equal(t, Value{Setting: demo.Info.Settings[0], Var: "STC_DEMO_TIME_SCALE", Value: "30", Source: FromEnvironment}, got["time_scale"],
		"the environment wins over the file, trimmed as the SDK reads it")
	assert.Equal(t, FromFile, got["ws_url"].Source, "a blank variable is unset, so the file's value applies")
	assert.Equal(t, "ws://file/ws", got["ws_url"].Display())
	assert.Equal(t, FromDefault, got["2fa_code"].Source)
	assert.Equal(t, "******", got["2fa_code"].Display(), "a secret is masked, even its default")
	assert.Equal(t, "******", got["token"].Display())

	r = Resolve([]Declared{broker("quiet", plugin.Setting{Name: "url", Type: schema.String}, plugin.Setting{Name: "key", Type: schema.String, Required: true})}, Sources{}, root, "info")
	assert.Equal(t, "(unset)", r.Plugins[0].Values[0].Display())
	assert.Equal(t, "(missing)", r.Plugins[0].Values[1].Display())
}

// TestErrorsStopTheHost: every problem that makes `stc serve` refuse to
// start, each reported with the variable and the plugin.
func TestErrorsStopTheHost(t *testing.T) {
	r := Resolve([]Declared{
		demo,
		broker("billing", plugin.Setting{Name: "webhook_secret", Type: schema.String}),
		broker("plugin", plugin.Setting{Name: "log_level", Type: schema.String}),
		broker("sloppy", plugin.Setting{Name: "Bad-Name", Type: schema.String}),
		broker("run"),
		broker("strategy-rsi"), strategy("rsi"),
	}, Sources{
		Environ: []string{"STC_DEMO_TIME_SCALE=-1", "STC_BILLING_WEBHOOK_SECRET=whsec", "STC_PLUGIN_LOG_LEVEL=trace"},
		File:    map[string]string{"STC_DEMO_TIMESCALE": "60", "STC_HTTP_ADRR": "x", "STC_DEMO_2FA_CODE": "12345x"},
	}, root, "info")
	all := messages(r.Errors)
	for _, want := range []string{
		`broker/demo: STC_DEMO_TIME_SCALE="-1": must be at least 0.001`,
		`broker/demo: STC_DEMO_TOKEN: required; set it in the environment or the configuration file`,
		`broker/billing declares the setting "webhook_secret", whose variable STC_BILLING_WEBHOOK_SECRET is the host's own; it is never passed`,
		`broker/plugin declares the setting "log_level", whose variable STC_PLUGIN_LOG_LEVEL is the host's own`,
		`broker/sloppy declares invalid settings, so none is passed: setting "Bad-Name"`,
		`broker/run: its data directory /srv/stc/run is the host's own`,
		`broker/strategy-rsi and strategy/rsi would share the data directory /srv/stc/strategy-rsi`,
		`configuration file sets STC_DEMO_TIMESCALE, but broker/demo declares no such setting (its settings: time_scale, ws_url, token, 2fa_code)`,
		`configuration file sets STC_HTTP_ADRR, which is neither a host setting (docs/CONFIG.md) nor a setting of an installed plugin`,
	} {
		assert.Contains(t, all, want)
	}
	assert.Len(t, r.Errors, 9, all)
	assert.NotContains(t, r.Env(catalog.Entry{Kind: plugin.KindBroker, Name: "billing"}), "STC_BILLING_WEBHOOK_SECRET", "a host secret never reaches a plugin")
	assert.Equal(t, "info", r.Env(catalog.Entry{Kind: plugin.KindBroker, Name: "plugin"})["STC_PLUGIN_LOG_LEVEL"])
	var se *plugin.SettingError
	require.ErrorAs(t, r.Err(), &se)
	assert.ErrorIs(t, r.Err(), schema.ErrInvalid)
}

// TestSecretsStayOutOfMessages: an invalid secret is reported without its
// value.
func TestSecretsStayOutOfMessages(t *testing.T) {
	r := Resolve([]Declared{broker("vault", plugin.Setting{Name: "pin", Type: schema.Int, Sensitive: true})},
		Sources{Environ: []string{"STC_VAULT_PIN=hunter2"}}, root, "info")
	require.Error(t, r.Err())
	assert.Contains(t, r.Err().Error(), "STC_VAULT_PIN=<secret>: the value is not an integer")
	assert.NotContains(t, r.Err().Error(), "hunter2")
}

func TestWarnings(t *testing.T) {
	r := Resolve([]Declared{
		broker("rate", plugin.Setting{Name: "per_second", Type: schema.Int}),
		broker("mt5", plugin.Setting{Name: "token", Type: schema.String}),
		broker("mt5-bridge", plugin.Setting{Name: "url", Type: schema.String}),
		broker("twin", plugin.Setting{Name: "url", Type: schema.String}),
		strategy("twin", plugin.Setting{Name: "url", Type: schema.String}),
		{Entry: catalog.Entry{Kind: plugin.KindBroker, Name: "broken"}, Err: errors.New("exit status 1")},
	}, Sources{
		Environ: []string{
			"STC_RATE_LIMIT_IP=100",    // the host's, though it starts like rate's
			"STC_MT5_BRIDGE_URLL=x",    // a typo of mt5-bridge's, not of mt5's
			"STC_TWIN_URL=http://twin", // both twins declare it
			"STC_BROKEN_ANYTHING=1",    // cannot be checked: not warned
			"STC_NOBODY_X=1",           // no installed plugin: not ours to judge
			"STC_MT5_EMPTY=",           // blank: unset
		},
		File: map[string]string{"STC_BROKEN_URL": "x"},
	}, root, "info")
	require.NoError(t, r.Err())
	all := strings.Join(r.Warnings, "\n")
	assert.Contains(t, all, "STC_MT5_BRIDGE_URLL is set but broker/mt5-bridge declares no such setting")
	assert.Contains(t, all, "STC_TWIN_URL is a setting of broker/twin and strategy/twin alike: each of them receives it")
	assert.Contains(t, all, "broker/broken could not be fingerprinted, so it gets none of its settings: exit status 1")
	assert.Contains(t, all, "configuration file sets STC_BROKEN_URL, which broker/broken may declare; it could not be fingerprinted to check")
	assert.Len(t, r.Warnings, 4, all)
	assert.Equal(t, "http://twin", r.Env(catalog.Entry{Kind: plugin.KindStrategy, Name: "twin"})["STC_TWIN_URL"])
	assert.Equal(t, "http://twin", r.Env(catalog.Entry{Kind: plugin.KindBroker, Name: "twin"})["STC_TWIN_URL"])
	assert.Len(t, r.Env(catalog.Entry{Kind: plugin.KindBroker, Name: "broken"}), 2, "log level and data directory only")
}

type fakeFingerprinter map[string]plugin.Info

func (f fakeFingerprinter) Fingerprint(_ context.Context, e catalog.Entry) (plugin.Info, error) {
	info, ok := f[e.Key()]
	if !ok {
		return plugin.Info{}, errors.New("plugin exited before the handshake")
	}
	return info, nil
}

func TestFingerprint(t *testing.T) {
	entries := []catalog.Entry{
		{Kind: plugin.KindBroker, Name: "demo", File: "stc-broker-demo"},
		{Kind: plugin.KindBroker, Name: "liar", File: "stc-broker-liar"},
		{Kind: plugin.KindStrategy, Name: "dead", File: "stc-strategy-dead"},
	}
	for i := range 6 { // more than run at once
		entries = append(entries, catalog.Entry{Kind: plugin.KindStrategy, Name: "s" + string(rune('a'+i))})
	}
	fp := fakeFingerprinter{"broker/demo": demo.Info, "broker/liar": {Kind: plugin.KindBroker, Name: "paper", Version: "1"}}
	for _, e := range entries[3:] {
		fp[e.Key()] = plugin.Info{Kind: e.Kind, Name: e.Name, Version: "1"}
	}
	got := Fingerprint(context.Background(), fp, entries)
	require.Len(t, got, len(entries))
	for i, d := range got {
		assert.Equal(t, entries[i], d.Entry, "entry order")
	}
	require.NoError(t, got[0].Err)
	assert.Equal(t, demo.Info.Settings, got[0].Info.Settings)
	assert.ErrorIs(t, got[1].Err, catalog.ErrFingerprintMismatch, "a binary answering to another name is refused")
	assert.ErrorContains(t, got[2].Err, "before the handshake")
	for _, d := range got[3:] {
		assert.NoError(t, d.Err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, d := range Fingerprint(ctx, fp, entries) {
		assert.Error(t, d.Err, "a cancelled start fingerprints nothing")
	}
}
