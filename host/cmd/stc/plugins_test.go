package main

import (
	"bytes"
	"errors"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/catalog"
	"github.com/stc-trading/stc/host/internal/pluginsettings"
	"github.com/stc-trading/stc/sdk/plugin"
	"github.com/stc-trading/stc/sdk/schema"
)

// TestPrintPlugins: `stc plugins` lists every plugin's settings with the
// current value and where it comes from, secrets masked.
func TestPrintPlugins(t *testing.T) {
	demo := catalog.Entry{Kind: plugin.KindBroker, Name: "demo"}
	res := pluginsettings.Resolve([]pluginsettings.Declared{
		{Entry: demo, Info: plugin.Info{Kind: plugin.KindBroker, Name: "demo", Version: "2.1.0", ProtocolMinor: 3, Settings: []plugin.Setting{
			{Name: "ws_url", Type: schema.String, Description: "the server"},
			{Name: "token", Type: schema.String, Required: true, Sensitive: true, Description: "API token"},
			{Name: "speed", Type: schema.Float, Default: "1"},
			{Name: "region", Type: schema.String, Description: "where"},
		}}},
		{Entry: catalog.Entry{Kind: plugin.KindStrategy, Name: "gone"}, Err: errors.New("exit status 1")},
	}, pluginsettings.Sources{
		Environ: []string{"STC_DEMO_TOKEN=tok-1234567", "STC_DEMO_TYPO=1"},
		File:    map[string]string{"STC_DEMO_WS_URL": "wss://demo.example/ws"},
	}, "/srv/stc", "info")
	var out bytes.Buffer
	require.NoError(t, printPlugins(&out, res, []catalog.Problem{{File: "stc-broker-stray", Err: catalog.ErrNotInManifest}}))
	// Columns are aligned with spaces; compare with single spaces.
	text := regexp.MustCompile(` {2,}`).ReplaceAllString(out.String(), " ")
	for _, want := range []string{
		"broker demo 2.1.0 1.3 false ok",
		"strategy gone - - - error: exit status 1",
		"stc-broker-stray - - - not trusted",
		"broker/demo STC_PLUGIN_DATA_DIR /srv/stc/demo host the plugin's own data directory",
		"broker/demo STC_DEMO_WS_URL wss://demo.example/ws config file the server",
		"broker/demo STC_DEMO_TOKEN ****** environment (required) API token",
		"broker/demo STC_DEMO_SPEED 1 default",
		"broker/demo STC_DEMO_REGION (unset) unset where",
		"strategy/gone STC_PLUGIN_DATA_DIR /srv/stc/strategy-gone host",
		"warning: STC_DEMO_TYPO is set but broker/demo declares no such setting",
	} {
		assert.Contains(t, text, want)
	}
	assert.NotContains(t, text, "tok-1234567", "a secret is never printed")
}
