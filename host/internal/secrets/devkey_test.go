package secrets

import (
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoadOrCreateDevKeyPersistsAndReuses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // also checks the dir is created
	spec, created, err := LoadOrCreateDevKey(dir)
	require.NoError(t, err)
	assert.True(t, created)
	kr := mustKeyring(t, spec)
	assert.Equal(t, "dev", kr.ActiveKeyID())

	info, err := os.Stat(filepath.Join(dir, DevKeyFile))
	require.NoError(t, err)
	if runtime.GOOS != "windows" {
		assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	}

	s, err := kr.Seal([]byte("hunter2"), testAAD())
	require.NoError(t, err)

	spec2, created, err := LoadOrCreateDevKey(dir)
	require.NoError(t, err)
	assert.False(t, created)
	assert.Equal(t, spec, spec2)
	pt, err := mustKeyring(t, spec2).Open(s, testAAD())
	require.NoError(t, err, "values sealed before a restart must still open")
	assert.Equal(t, "hunter2", string(pt))

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary files left behind")
}

func TestLoadOrCreateDevKeyConcurrent(t *testing.T) {
	dir := t.TempDir()
	const n = 8
	specs := make([]string, n)
	createdCount := 0
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			spec, created, err := LoadOrCreateDevKey(dir)
			assert.NoError(t, err)
			mu.Lock()
			defer mu.Unlock()
			specs[i] = spec
			if created {
				createdCount++
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 1, createdCount)
	for _, s := range specs {
		assert.Equal(t, specs[0], s)
	}
}

func TestLoadOrCreateDevKeyRejectsBadFiles(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("permission bits are not meaningful on windows")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, DevKeyFile)

	require.NoError(t, os.WriteFile(path, []byte(newSpec(t, "dev")), 0o600))
	require.NoError(t, os.Chmod(path, 0o644))
	_, _, err := LoadOrCreateDevKey(dir)
	assert.ErrorContains(t, err, "too open")

	require.NoError(t, os.WriteFile(path, []byte("dev:CANARYnotakey"), 0o600))
	require.NoError(t, os.Chmod(path, 0o600))
	_, _, err = LoadOrCreateDevKey(dir)
	assert.ErrorIs(t, err, ErrInvalidKeyring)
	assert.NotContains(t, err.Error(), "CANARY")
}
