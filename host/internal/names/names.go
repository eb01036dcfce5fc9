// Package names holds the one rule STC applies to every identifier and
// name a person chooses or types: emails, bot names, API-key names, the
// login a broker account is shown by, strategy parameter names, symbols.
//
// A name is shown back to people (lists, logs, other users' screens), so it
// must look like what it is. The rule therefore refuses, besides invalid
// UTF-8 and control characters, every character that changes how the text
// around it is displayed or is not displayed at all:
//
//   - bidirectional controls (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F,
//     U+061C), with which "rtl\u202egnp.exe" displays as "rtlexe.png";
//   - zero-width and other format characters (Unicode category Cf: U+200B,
//     U+200C, U+200D, U+2060, U+FEFF, U+00AD, tag characters, ...), which
//     make two different names look identical;
//   - the other default-ignorable code points (Hangul fillers U+115F,
//     U+1160, U+3164, U+FFA0, the combining grapheme joiner U+034F,
//     variation selectors), and U+2800 BRAILLE PATTERN BLANK, which render
//     as nothing or as a blank;
//   - every space but the ASCII space (U+00A0, U+2000–U+200A, U+3000, line
//     and paragraph separators), private-use and unassigned code points,
//     and U+FFFD, which is what a decoder leaves of invalid bytes.
//
// It is unicode.IsPrint (the rule API-key names always had) plus the
// invisible characters IsPrint lets through, so emoji that need a joiner or
// a variation selector are refused too: a name may be plain, never
// ambiguous. Length limits and trimming stay with each caller, since they
// depend on the column.
package names

import (
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// ErrInvalidUTF8 reports a name that is not valid UTF-8.
var ErrInvalidUTF8 = errors.New("names: not valid UTF-8")

// ErrDisallowed reports a name holding a character the rule refuses; the
// error names the code point (U+XXXX) but never repeats the text.
var ErrDisallowed = errors.New("names: control, invisible or direction-changing character")

// Check returns nil when every character of s may appear in a name, and
// otherwise an error wrapping ErrInvalidUTF8 or ErrDisallowed that names the
// first offending code point.
func Check(s string) error {
	if !utf8.ValidString(s) {
		return ErrInvalidUTF8
	}
	for _, r := range s {
		if !Allowed(r) {
			return fmt.Errorf("%w: %U", ErrDisallowed, r)
		}
	}
	return nil
}

// Valid reports whether Check(s) is nil.
func Valid(s string) bool { return Check(s) == nil }

// Allowed reports whether r may appear in a name: a visible character
// (letter, mark, number, punctuation, symbol) or the ASCII space, and not
// Invisible.
func Allowed(r rune) bool {
	if r == ' ' {
		return true
	}
	return r != utf8.RuneError && unicode.IsPrint(r) && !Invisible(r)
}

// Invisible reports whether r is displayed as nothing or as a blank
// although it is not a space: category Cf (bidi controls, zero-width
// characters, soft hyphen, ...), the other default-ignorable code points,
// variation selectors, and the blank-looking fillers. Control characters
// and spaces are not Invisible (unicode.IsControl and unicode.IsSpace say
// what they are). Passwords use it to tell a visible character from
// padding.
func Invisible(r rune) bool {
	return unicode.Is(unicode.Cf, r) ||
		unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) ||
		unicode.Is(unicode.Variation_Selector, r) ||
		r == '\u2800' // BRAILLE PATTERN BLANK: a symbol that draws nothing
}
