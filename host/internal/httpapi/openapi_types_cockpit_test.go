package httpapi

import (
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3gen"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOpenAPICockpitSchemasMatchGoTypes is TestOpenAPISchemasMatchGoTypes
// for the broker selector, analytics and operator answers.
func TestOpenAPICockpitSchemasMatchGoTypes(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(openAPISpec)
	require.NoError(t, err)
	for name, val := range map[string]any{
		"Broker":           brokerJSON{},
		"BrokerCredential": credentialJSON{},
		"BrokerAccess":     brokerAccessJSON{},
		"BrokerPlan":       brokerPlanJSON{},
		"EquityPoint":      equityPointJSON{},
		"DayTally":         dayJSON{},
		"HourTally":        hourJSON{},
		"SymbolTally":      symbolTallyJSON{},
		"AdminUser":        adminUserJSON{},
		"AdminPlugin":      adminPluginJSON{},
		"PluginSetting":    pluginSettingJSON{},
	} {
		t.Run(name, func(t *testing.T) {
			ref := doc.Components.Schemas[name]
			require.NotNil(t, ref, "openapi.json has no schema %s", name)
			gen, err := openapi3gen.NewSchemaRefForValue(val, nil, openapi3gen.SchemaCustomizer(customizeGenerated))
			require.NoError(t, err)
			assert.Empty(t, schemaDiff(name, gen.Value, ref.Value), "openapi.json and %T disagree", val)
		})
	}
}
