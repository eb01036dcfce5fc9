//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package paper

import "io"

type noLock struct{}

func (noLock) Close() error { return nil }

// lockDir is a no-op where flock is unavailable: one Market per DataDir is
// then the operator's responsibility.
func lockDir(string) (io.Closer, error) { return noLock{}, nil }
