// Package logsafe keeps client-controlled text from forging or disguising
// log lines. The host's text log is one event per line; hclog writes a
// value holding a newline as an indented block and writes messages as
// they are, so a request path like "/bots/1\n2026-… [ERROR] stc: …" would
// otherwise print a line that looks like the host's own. Wrap escapes, in
// every message and argument value, the characters that can end a line or
// change how it reads: control characters (C0, DEL, C1), Unicode format
// characters (bidirectional overrides, zero-width characters), the line
// and paragraph separators and invalid UTF-8.
package logsafe

import (
	"fmt"
	"io"
	"log"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/go-hclog"
)

// Wrap returns l with every message and argument escaped before l formats
// it. Loggers derived from the result (Named, With) escape too; wrapping
// twice is harmless.
func Wrap(l hclog.Logger) hclog.Logger {
	if _, ok := l.(*logger); ok {
		return l
	}
	return &logger{Logger: l}
}

type logger struct{ hclog.Logger }

func (l *logger) Log(level hclog.Level, msg string, args ...any) {
	l.Logger.Log(level, Escape(msg), escapeArgs(args)...)
}

func (l *logger) Trace(msg string, args ...any) { l.Logger.Trace(Escape(msg), escapeArgs(args)...) }
func (l *logger) Debug(msg string, args ...any) { l.Logger.Debug(Escape(msg), escapeArgs(args)...) }
func (l *logger) Info(msg string, args ...any)  { l.Logger.Info(Escape(msg), escapeArgs(args)...) }
func (l *logger) Warn(msg string, args ...any)  { l.Logger.Warn(Escape(msg), escapeArgs(args)...) }
func (l *logger) Error(msg string, args ...any) { l.Logger.Error(Escape(msg), escapeArgs(args)...) }

func (l *logger) With(args ...any) hclog.Logger {
	return &logger{Logger: l.Logger.With(escapeArgs(args)...)}
}

func (l *logger) Named(name string) hclog.Logger { return &logger{Logger: l.Logger.Named(name)} }

func (l *logger) ResetNamed(name string) hclog.Logger {
	return &logger{Logger: l.Logger.ResetNamed(name)}
}

// StandardWriter escapes each line a standard library logger writes: the
// adapter would log a line with embedded newlines as one message.
func (l *logger) StandardWriter(opts *hclog.StandardLoggerOptions) io.Writer {
	if opts == nil {
		opts = &hclog.StandardLoggerOptions{}
	}
	return lineWriter{l.Logger.StandardWriter(opts)}
}

func (l *logger) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(l.StandardWriter(opts), "", 0)
}

type lineWriter struct{ w io.Writer }

// Write escapes p, one log.Logger output line, keeping its final newline.
func (w lineWriter) Write(p []byte) (int, error) {
	s := string(p)
	body := strings.TrimSuffix(s, "\n")
	if _, err := io.WriteString(w.w, Escape(body)+s[len(body):]); err != nil {
		return 0, err
	}
	return len(p), nil
}

// escapeArgs returns args with every value that would print an unsafe
// character replaced by its escaped text; args itself when none does.
func escapeArgs(args []any) []any {
	var out []any
	for i, a := range args {
		s, ok := unsafeText(a)
		if !ok {
			continue
		}
		if out == nil {
			out = append([]any(nil), args...)
		}
		out[i] = Escape(s)
	}
	if out == nil {
		return args
	}
	return out
}

// unsafeText returns the text a prints as and true when that text needs
// escaping. Numbers, booleans, durations and times print safely and are
// not formatted twice; hclog's captured stack traces are multi-line on
// purpose and come from the host, never from a client.
func unsafeText(a any) (string, bool) {
	var s string
	switch v := a.(type) {
	case nil, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, uintptr,
		float32, float64, time.Duration, time.Time, hclog.CapturedStacktrace, hclog.Hex, hclog.Octal, hclog.Binary:
		return "", false
	case string:
		s = v
	case error:
		s = v.Error()
	case fmt.Stringer:
		s = v.String()
	case hclog.Format:
		if len(v) == 0 {
			return "", false
		}
		f, _ := v[0].(string)
		s = fmt.Sprintf(f, v[1:]...)
	default:
		s = fmt.Sprintf("%v", v)
	}
	if unsafeIndex(s) < 0 {
		return "", false
	}
	return s, true
}

// Escape returns s with unsafe characters written as Go escapes (\n, \r,
// \t, \x00 for an invalid byte, \u202e); s itself when it has none.
func Escape(s string) string {
	i := unsafeIndex(s)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case unsafeRune(r) && r > 0xffff:
			fmt.Fprintf(&b, `\U%08x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// unsafeIndex is the byte index of the first unsafe character of s, or -1.
func unsafeIndex(s string) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return i
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || unsafeRune(r) {
			return i
		}
		i += size
	}
	return -1
}

func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
}
