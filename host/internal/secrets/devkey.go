package secrets

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

const (
	// DevKeyFile is the file name of the development key inside the data dir.
	DevKeyFile = "dev-encryption.key"
	// devKeyID is the key id of generated development keys.
	devKeyID = "dev"
)

// LoadOrCreateDevKey returns a keyring spec for the development mode of
// `make run` only: it reads <dataDir>/dev-encryption.key, or creates it with a
// random key (mode 0600) on first use, so credentials stored in a development
// database stay readable across restarts. created reports a new key; callers
// must log a loud warning either way. Production must configure
// STC_ENCRYPTION_KEY and never call this.
func LoadOrCreateDevKey(dataDir string) (spec string, created bool, err error) {
	path := filepath.Join(dataDir, DevKeyFile)
	spec, err = readDevKey(path)
	if err == nil {
		return spec, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", false, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", false, fmt.Errorf("secrets: dev key: create data dir: %w", err)
	}
	spec, err = GenerateKeySpec(devKeyID)
	if err != nil {
		return "", false, fmt.Errorf("secrets: dev key: %w", err)
	}
	won, err := createExclusive(dataDir, path, spec+"\n")
	if err != nil {
		return "", false, err
	}
	if !won {
		// Another process created the key first; use theirs so both agree.
		spec, err = readDevKey(path)
		if err != nil {
			return "", false, err
		}
		return spec, false, nil
	}
	return spec, true, nil
}

// readDevKey reads and validates an existing dev key file. A not-exist error
// is returned wrapped so the caller can tell it apart.
func readDevKey(path string) (string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("secrets: dev key: %w", err)
	}
	// A key readable by other users is no secret; refuse it rather than use it.
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("secrets: dev key %s: permissions %v are too open, want 0600", path, info.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("secrets: dev key: %w", err)
	}
	spec := strings.TrimSpace(string(data))
	if _, err := ParseKeyring(spec); err != nil {
		return "", fmt.Errorf("secrets: dev key %s: %w", path, err)
	}
	return spec, nil
}

// createExclusive writes content to a temporary file and hard-links it into
// place, so the key file appears atomically and complete, and never replaces
// an existing one. It reports false when path already existed.
func createExclusive(dir, path, content string) (bool, error) {
	tmp, err := os.CreateTemp(dir, ".dev-encryption.key-*") // CreateTemp uses mode 0600.
	if err != nil {
		return false, fmt.Errorf("secrets: dev key: %w", err)
	}
	tmpName := tmp.Name()
	defer func() { _ = os.Remove(tmpName) }()
	if _, err := tmp.WriteString(content); err != nil {
		_ = tmp.Close()
		return false, fmt.Errorf("secrets: dev key: write: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return false, fmt.Errorf("secrets: dev key: sync: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return false, fmt.Errorf("secrets: dev key: close: %w", err)
	}
	if err := os.Chmod(tmpName, 0o600); err != nil {
		return false, fmt.Errorf("secrets: dev key: chmod: %w", err)
	}
	if err := os.Link(tmpName, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		return false, fmt.Errorf("secrets: dev key: install: %w", err)
	}
	return true, nil
}
