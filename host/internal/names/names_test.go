package names_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/stc-trading/stc/host/internal/names"
)

func TestCheckRefusesInvisibleAndDirectionCharacters(t *testing.T) {
	t.Parallel()
	refused := map[string]rune{
		"right-to-left override":     '\u202e',
		"left-to-right embedding":    '\u202a',
		"pop directional formatting": '\u202c',
		"right-to-left isolate":      '\u2067',
		"pop directional isolate":    '\u2069',
		"left-to-right mark":         '\u200e',
		"right-to-left mark":         '\u200f',
		"arabic letter mark":         '\u061c',
		"zero width space":           '\u200b',
		"zero width non-joiner":      '\u200c',
		"zero width joiner":          '\u200d',
		"word joiner":                '\u2060',
		"byte order mark":            '\ufeff',
		"soft hyphen":                '\u00ad',
		"tag letter":                 '\U000E0041',
		"hangul filler":              '\u3164',
		"hangul choseong filler":     '\u115f',
		"halfwidth hangul filler":    '\uffa0',
		"combining grapheme joiner":  '\u034f',
		"variation selector 16":      '\ufe0f',
		"braille blank":              '\u2800',
		"no-break space":             '\u00a0',
		"ideographic space":          '\u3000',
		"line separator":             '\u2028',
		"paragraph separator":        '\u2029',
		"newline":                    '\n',
		"tab":                        '\t',
		"nul":                        0,
		"delete":                     '\u007f',
		"c1 control":                 '\u0085',
		"private use":                '\ue000',
		"replacement character":      '\ufffd',
	}
	for name, r := range refused {
		s := "bot" + string(r) + "name"
		err := names.Check(s)
		assert.ErrorIs(t, err, names.ErrDisallowed, "%s (%U)", name, r)
		assert.Contains(t, fmt.Sprint(err), fmt.Sprintf("%U", r), "the error names the code point")
		assert.False(t, names.Allowed(r), "%s", name)
	}
	assert.ErrorIs(t, names.Check("bad\xffbyte"), names.ErrInvalidUTF8)
}

func TestCheckAcceptsVisibleTextInAnyScript(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"", "EURUSD scalper", "ci-deploy_2", "Ünïcödé", "日本語のボット", "бот №1", "عربي", "עברית",
		"emoji 🚀", "a.b+c@example.com", "(x) [y] {z} 50%", "e\u0301", // a combining mark is visible
	} {
		assert.NoError(t, names.Check(s), "%q", s)
	}
}

func TestInvisibleIsNarrowerThanRefused(t *testing.T) {
	t.Parallel()
	// Passwords lean on Invisible: spaces and controls are told apart by
	// unicode.IsSpace and IsControl, never by Invisible.
	for _, r := range []rune{' ', '\u00a0', '\t', '\n', 'a', '€'} {
		assert.False(t, names.Invisible(r), "%U", r)
	}
	for _, r := range []rune{'\u200b', '\u202e', '\u2066', '\ufeff', '\u3164', '\ufe0f', '\u2800'} {
		assert.True(t, names.Invisible(r), "%U", r)
	}
}
