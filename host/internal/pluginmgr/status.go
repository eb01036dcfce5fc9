package pluginmgr

import (
	"fmt"
	"time"

	"github.com/stc-trading/stc/sdk/plugin"
)

// State is where a plugin process is in its life:
//
//	Starting ──handshake, GetInfo, re-create instances──▶ Running
//	Running ──exit / N call timeouts / failed pings──▶ Backoff ──▶ Starting
//	Backoff ──too many restarts, or a start error a restart cannot fix──▶ Failed
//	Failed ──Manager.Reset or FailedCooldown──▶ Starting
//	any ──Close──▶ Stopped
type State int

// Process states.
const (
	StateStarting State = iota + 1
	StateRunning
	StateBackoff
	StateFailed
	StateStopped
)

// String returns the lower-case state name.
func (s State) String() string {
	switch s {
	case StateStarting:
		return "starting"
	case StateRunning:
		return "running"
	case StateBackoff:
		return "backoff"
	case StateFailed:
		return "failed"
	case StateStopped:
		return "stopped"
	}
	return fmt.Sprintf("invalid(%d)", int(s))
}

// PluginStatus describes one supervised process.
type PluginStatus struct {
	Kind    plugin.Kind
	Name    string
	Session string // set for a per-session broker's process
	Version string // from GetInfo; empty until the first start
	PID     int    // current or last process; 0 before the first start
	State   State
	// Restarts counts relaunches since the manager started.
	Restarts int
	// LastError is why the process last ended or failed to start; Err is
	// the same error, for errors.Is (it names paths and processes, so
	// what reaches an API client is a fixed text chosen from it).
	LastError string
	Err       error
	// Instances counts strategy instances or broker sessions the manager
	// re-creates after a restart.
	Instances int
}

// EventType says what happened.
type EventType int

// Event types. Exported as metrics by the host (e.g. plugin restarts).
const (
	// EventStarted: a process reached Running for the first time.
	EventStarted EventType = iota + 1
	// EventExited: a running process ended (crash, kill, or restarted for
	// being unresponsive). Err says why.
	EventExited
	// EventRestarted: a replacement process reached Running, with every
	// instance it could re-create.
	EventRestarted
	// EventInstanceRecreateFailed: one instance or session could not be
	// re-created after a restart; Instance names it and Err says why. The
	// plugin still runs; calls for that instance fail until it is created
	// again.
	EventInstanceRecreateFailed
	// EventFailed: the crash-loop breaker opened, or the plugin cannot
	// start at all; calls fail with ErrPluginUnavailable.
	EventFailed
)

// String returns the event name.
func (t EventType) String() string {
	switch t {
	case EventStarted:
		return "started"
	case EventExited:
		return "exited"
	case EventRestarted:
		return "restarted"
	case EventInstanceRecreateFailed:
		return "instance_recreate_failed"
	case EventFailed:
		return "failed"
	}
	return fmt.Sprintf("invalid(%d)", int(t))
}

// Event is a lifecycle event of one plugin process.
type Event struct {
	Type     EventType
	Time     time.Time
	Kind     plugin.Kind
	Name     string
	Session  string // per-session broker process only
	PID      int
	Instance string // EventInstanceRecreateFailed only
	Restarts int
	Err      error
}
