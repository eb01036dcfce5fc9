//go:build linux

package pluginmgr

import (
	"os/exec"
	"syscall"
)

// setProcAttr makes the kernel SIGKILL the plugin when the host dies, so a
// SIGKILLed or OOM-killed host leaves no plugin behind (go-plugin #10,
// #210). Pdeathsig fires when the forking OS thread exits; Go never ends a
// thread that is not locked, so launches must not run under
// runtime.LockOSThread. The SDK's parent watchdog is the portable fallback.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
