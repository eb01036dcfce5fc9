package catalog

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/sdk/plugin"
)

func writeExec(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(content), 0o755))
}

func problemFor(res Result, file string) error {
	for _, p := range res.Problems {
		if p.File == file {
			return p
		}
	}
	return nil
}

func TestDiscover(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	writeExec(t, filepath.Join(dir, "stc-strategy-rsi"), "rsi")
	writeExec(t, filepath.Join(dir, "stc-broker-paper"), "paper")
	writeExec(t, filepath.Join(dir, "stc-strategy-rsi-v2"), "rsi v2")
	require.NoError(t, os.Symlink("stc-strategy-rsi-v2", filepath.Join(dir, "stc-strategy-latest")))
	writeExec(t, filepath.Join(outside, "evil"), "evil")
	require.NoError(t, os.Symlink(filepath.Join(outside, "evil"), filepath.Join(dir, "stc-strategy-evil")))
	writeExec(t, filepath.Join(dir, "stc-strategy-unlisted"), "unlisted")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "stc-strategy-noexec"), []byte("x"), 0o644))
	writeExec(t, filepath.Join(dir, "stc-strategy-Bad.Name"), "bad")
	writeExec(t, filepath.Join(dir, "README"), "not a plugin")
	require.NoError(t, WriteManifest(dir))
	// Make the manifest describe the intended state: drop "unlisted", add a
	// line for a binary that is gone.
	data, err := os.ReadFile(filepath.Join(dir, ManifestName))
	require.NoError(t, err)
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if !strings.HasSuffix(l, "stc-strategy-unlisted") {
			lines = append(lines, l)
		}
	}
	lines = append(lines, fmt.Sprintf("%x  stc-strategy-gone", sha256.Sum256([]byte("gone"))))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ManifestName), []byte(strings.Join(lines, "\n")+"\n"), 0o644))

	res, err := Discover(dir)
	require.NoError(t, err)

	var keys []string
	for _, e := range res.Entries {
		keys = append(keys, e.Key())
		assert.True(t, filepath.IsAbs(e.Path), e.Path)
		assert.True(t, strings.HasPrefix(e.Path, res.Dir+string(filepath.Separator)), e.Path)
		want, err := FileSHA256(e.Path)
		require.NoError(t, err)
		assert.Equal(t, want, e.SHA256, e.File)
	}
	assert.Equal(t, []string{"broker/paper", "strategy/latest", "strategy/rsi", "strategy/rsi-v2"}, keys)
	for _, e := range res.Entries {
		if e.Name == "latest" {
			assert.Equal(t, filepath.Join(res.Dir, "stc-strategy-rsi-v2"), e.Path, "symlinks inside the directory are resolved")
		}
	}

	assert.ErrorIs(t, problemFor(res, "stc-strategy-evil"), ErrOutsideDir)
	assert.ErrorIs(t, problemFor(res, "stc-strategy-unlisted"), ErrNotInManifest)
	assert.ErrorIs(t, problemFor(res, "stc-strategy-noexec"), ErrNotExecutable)
	assert.ErrorIs(t, problemFor(res, "stc-strategy-Bad.Name"), ErrBadName)
	assert.ErrorIs(t, problemFor(res, "stc-strategy-gone"), ErrMissingBinary)
	assert.NoError(t, problemFor(res, "README"), "non-plugin files are ignored")
}

func TestDiscoverWithoutManifestTrustsNothing(t *testing.T) {
	dir := t.TempDir()
	writeExec(t, filepath.Join(dir, "stc-strategy-rsi"), "rsi")
	res, err := Discover(dir)
	require.NoError(t, err)
	assert.Empty(t, res.Entries)
	assert.ErrorIs(t, problemFor(res, ManifestName), ErrNoManifest)
	assert.ErrorIs(t, problemFor(res, "stc-strategy-rsi"), ErrNotInManifest)
}

func TestDiscoverMissingDir(t *testing.T) {
	_, err := Discover(filepath.Join(t.TempDir(), "nope"))
	require.Error(t, err)
}

func TestParseManifest(t *testing.T) {
	a := fmt.Sprintf("%x", sha256.Sum256([]byte("a")))
	b := fmt.Sprintf("%x", sha256.Sum256([]byte("b")))
	text := strings.Join([]string{
		"# comment",
		a + "  stc-strategy-a",
		b + " *stc-broker-b",
		a + "  ./stc-strategy-dot",
		"",
		"nothex  stc-strategy-x",
		a + "  ../stc-strategy-escape",
		a + "  sub/stc-strategy-sub",
		`\` + a + `  stc-strategy-esc\\aped`,
		a + "  stc-strategy-dup",
		b + "  stc-strategy-dup",
		a + "  stc-strategy-same",
		a + "  stc-strategy-same",
		a + " stc-strategy-onespace",
	}, "\r\n")
	sums, problems := ParseManifest(text)
	assert.Len(t, sums, 4)
	assert.Contains(t, sums, "stc-strategy-a")
	assert.Contains(t, sums, "stc-broker-b")
	assert.Contains(t, sums, "stc-strategy-dot")
	assert.Contains(t, sums, "stc-strategy-same")
	assert.NotContains(t, sums, "stc-strategy-dup", "conflicting lines must not make a binary trusted")
	var bad, outside int
	for _, p := range problems {
		switch {
		case errors.Is(p, ErrBadManifest):
			bad++
		case errors.Is(p, ErrOutsideDir):
			outside++
		}
	}
	assert.Equal(t, 4, bad, "%v", problems)
	assert.Equal(t, 2, outside, "%v", problems)
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	writeExec(t, filepath.Join(dir, "stc-strategy-rsi"), "rsi")
	p, err := Resolve(dir, "stc-strategy-rsi")
	require.NoError(t, err)
	assert.True(t, filepath.IsAbs(p))
	for _, bad := range []string{"../stc-strategy-rsi", "/bin/sh", "sub/x", "..", ""} {
		_, err := Resolve(dir, bad)
		assert.ErrorIs(t, err, ErrOutsideDir, bad)
	}
}

func TestParseFileName(t *testing.T) {
	k, n, ok, err := ParseFileName("stc-broker-mt5-bridge")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, plugin.KindBroker, k)
	assert.Equal(t, "mt5-bridge", n)
	_, _, ok, _ = ParseFileName("stc-host")
	assert.False(t, ok)
	_, _, ok, err = ParseFileName("stc-strategy-")
	assert.True(t, ok)
	assert.ErrorIs(t, err, ErrBadName)
}

type fakeFingerprinter struct {
	info plugin.Info
	err  error
}

func (f fakeFingerprinter) Fingerprint(context.Context, Entry) (plugin.Info, error) {
	return f.info, f.err
}

func TestRegister(t *testing.T) {
	e := Entry{Kind: plugin.KindStrategy, Name: "rsi", File: "stc-strategy-rsi"}
	ok := plugin.Info{Kind: plugin.KindStrategy, Name: "rsi", Version: "1.0.0", Multiplexing: true}
	p, err := Register(context.Background(), fakeFingerprinter{info: ok}, e)
	require.NoError(t, err)
	assert.Equal(t, "1.0.0", p.Info.Version)
	assert.Equal(t, e, p.Entry)

	for name, info := range map[string]plugin.Info{
		"kind":    {Kind: plugin.KindBroker, Name: "rsi", Version: "1"},
		"name":    {Kind: plugin.KindStrategy, Name: "macd", Version: "1"},
		"version": {Kind: plugin.KindStrategy, Name: "rsi"},
	} {
		_, err := Register(context.Background(), fakeFingerprinter{info: info}, e)
		assert.ErrorIs(t, err, ErrFingerprintMismatch, name)
	}
	boom := errors.New("boom")
	_, err = Register(context.Background(), fakeFingerprinter{err: boom}, e)
	assert.ErrorIs(t, err, boom)
}
