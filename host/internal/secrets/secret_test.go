package secrets

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const canary = "CANARY-7f3a-secret-value"

// credHolder mimics a struct carrying a credential that might be logged whole.
type credHolder struct {
	Login    string
	Password Secret
}

func TestSecretReveal(t *testing.T) {
	assert.Equal(t, canary, NewSecret(canary).Reveal())
	assert.True(t, Secret{}.IsZero())
	assert.False(t, NewSecret(canary).IsZero())
}

func TestSecretUnmarshalJSON(t *testing.T) {
	var body struct{ Password Secret }
	require.NoError(t, json.Unmarshal([]byte(`{"Password":"`+canary+`"}`), &body))
	assert.Equal(t, canary, body.Password.Reveal())

	err := json.Unmarshal([]byte(`{"Password":12345}`), &body)
	assert.ErrorIs(t, err, ErrMalformed)
}

func TestSecretNeverPrintsViaFmt(t *testing.T) {
	s := NewSecret(canary)
	h := credHolder{Login: "alice", Password: s}
	for _, verb := range []string{"%v", "%+v", "%s", "%q", "%#v", "%x", "%X", "%d", "%10s", "%T %v"} {
		for _, arg := range []any{s, &s, h, &h, []Secret{s}, map[string]Secret{"pw": s}} {
			out := fmt.Sprintf(verb, arg)
			assert.NotContains(t, out, canary, "verb %s on %T", verb, arg)
		}
	}
	assert.Contains(t, fmt.Sprint(s), "[redacted]")
	assert.NotContains(t, fmt.Sprint(s, h), canary)
	assert.NotContains(t, fmt.Errorf("login failed for %v", h).Error(), canary)
}

func TestSecretNeverPrintsViaJSON(t *testing.T) {
	s := NewSecret(canary)
	for _, v := range []any{s, credHolder{Password: s}, map[Secret]Secret{s: s}, []Secret{s}} {
		out, err := json.Marshal(v)
		require.NoError(t, err)
		assert.NotContains(t, string(out), canary)
		assert.Contains(t, string(out), "[redacted]")
	}
}

func TestSecretNeverPrintsViaHclog(t *testing.T) {
	for _, jsonFormat := range []bool{true, false} {
		var buf bytes.Buffer
		log := hclog.New(&hclog.LoggerOptions{Output: &buf, JSONFormat: jsonFormat, Level: hclog.Trace})
		s := NewSecret(canary)
		log.Info("connect", "password", s, "creds", credHolder{Login: "alice", Password: s}, "ptr", &s)
		log.With("password", s).Warn("retry", "list", []Secret{s})
		log.Named("broker").Error("failed", "map", map[string]Secret{"pw": s}, "keys", map[Secret]int{s: 1})
		log.Info("fmt", "f", hclog.Fmt("%s %v %q", s, s, s), "q", hclog.Quote(s.String()))
		out := buf.String()
		require.NotEmpty(t, out)
		assert.NotContains(t, out, canary, "json=%v: %s", jsonFormat, out)
		assert.Contains(t, out, "[redacted]")
	}
}

func TestSecretNeverPrintsViaSlog(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("connect", "password", NewSecret(canary), "creds", credHolder{Password: NewSecret(canary)})
	assert.NotContains(t, buf.String(), canary)
}
