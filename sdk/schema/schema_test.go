package schema_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/sdk/schema"
)

func fields() []schema.Field {
	return []schema.Field{
		{Name: "period", Type: schema.Int, Default: "14", Min: schema.Bound(2), Max: schema.Bound(500)},
		{Name: "level", Type: schema.Float, Default: "30.5"},
		{Name: "rule", Type: schema.String, Default: "crossover", Options: []string{"crossover", "zero"}},
		{Name: "fast", Type: schema.Bool, Default: "false"},
		{Name: "hold", Type: schema.Duration, Default: "90s"},
		{Name: "password", Type: schema.String, Required: true, Sensitive: true},
	}
}

func TestResolveAppliesDefaultsAndTypes(t *testing.T) {
	v, err := schema.Resolve(fields(), map[string]string{"password": "x", "period": "21"})
	require.NoError(t, err)
	assert.Equal(t, 21, v.Int("period"))
	assert.InDelta(t, 30.5, v.Float("level"), 0)
	assert.Equal(t, "crossover", v.String("rule"))
	assert.False(t, v.Bool("fast"))
	assert.Equal(t, 90*time.Second, v.Duration("hold"))
	assert.Equal(t, map[string]string{"period": "21", "level": "30.5", "rule": "crossover", "fast": "false", "hold": "90s", "password": "x"}, v.Map())
}

func TestResolveReportsEveryProblem(t *testing.T) {
	tests := map[string]struct {
		raw  map[string]string
		want string
	}{
		"unknown":       {map[string]string{"password": "x", "bogus": "1"}, "bogus: unknown field"},
		"required":      {map[string]string{}, "password: required"},
		"not int":       {map[string]string{"password": "x", "period": "1.5"}, `period: "1.5" is not an integer`},
		"below min":     {map[string]string{"password": "x", "period": "1"}, "period: must be at least 2"},
		"above max":     {map[string]string{"password": "x", "period": "501"}, "period: must be at most 500"},
		"not float":     {map[string]string{"password": "x", "level": "NaN"}, `level: "NaN" is not a finite number`},
		"not option":    {map[string]string{"password": "x", "rule": "other"}, "rule: must be one of crossover, zero"},
		"not bool":      {map[string]string{"password": "x", "fast": "yes"}, `fast: "yes" is not true or false`},
		"bad duration":  {map[string]string{"password": "x", "hold": "soon"}, `hold: "soon" is not a duration such as 90s or 5m`},
		"two problems":  {map[string]string{"period": "x"}, `password: required; period: "x" is not an integer`},
		"sorted output": {map[string]string{"zzz": "1", "aaa": "1", "password": "x"}, "aaa: unknown field; zzz: unknown field"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := schema.Resolve(fields(), tc.raw)
			require.Error(t, err)
			assert.True(t, errors.Is(err, schema.ErrInvalid))
			assert.Equal(t, "invalid configuration: "+tc.want, err.Error())
		})
	}
}

func TestAccessorsPanicOnProgrammingErrors(t *testing.T) {
	v, err := schema.Resolve(fields(), map[string]string{"password": "x"})
	require.NoError(t, err)
	assert.Panics(t, func() { v.Int("undeclared") })
	assert.Panics(t, func() { v.Float("period") }, "reading an int field as float is a bug")
}
