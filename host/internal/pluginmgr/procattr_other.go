//go:build !linux

package pluginmgr

import "os/exec"

// setProcAttr does nothing off Linux: there is no Pdeathsig, and the SDK's
// parent watchdog ends orphaned plugins instead.
func setProcAttr(*exec.Cmd) {}
