//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package paper

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// lockDir takes an exclusive advisory lock on dir, so two Markets (for
// example an old plugin process that has not exited yet and its
// replacement) never append to the same account logs. Closing the
// returned file releases it.
func lockDir(dir string) (io.Closer, error) {
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("paper: open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("paper: data dir %s is in use by another paper market: %w", dir, err)
	}
	return f, nil
}
