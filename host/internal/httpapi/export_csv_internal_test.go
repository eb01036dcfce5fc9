package httpapi

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestFormulaSafe: every lead character a spreadsheet may run as a
// formula is defused; anything else is left as it is.
func TestFormulaSafe(t *testing.T) {
	for in, want := range map[string]string{
		"=1+1": "'=1+1", "+1": "'+1", "-1": "'-1", "@SUM(A1)": "'@SUM(A1)", "\tx": "'\tx", "\rx": "'\rx",
		"": "", "EURUSD-OTC": "EURUSD-OTC", " =x": " =x", "'=x": "'=x", "1-1": "1-1",
	} {
		assert.Equal(t, want, formulaSafe(in), "%q", in)
	}
}
