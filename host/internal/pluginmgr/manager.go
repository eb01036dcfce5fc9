// Package pluginmgr runs STC's plugin processes: it launches verified
// binaries with go-plugin, multiplexes instances over one process per
// plugin, supervises the processes (exit detection, health pings, call
// timeouts, restart with backoff, crash-loop breaker), re-creates every
// instance and session after a restart, and hands out typed handles whose
// calls always reach the current process.
//
// go-plugin never restarts a plugin process (hashicorp/go-plugin issue
// #31), yet a host that many traders share must survive any plugin
// crashing: this package is that supervisor (docs/ARCHITECTURE.md §7).
package pluginmgr

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/hashicorp/go-hclog"

	"github.com/stc-trading/stc/host/internal/catalog"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/plugin"
)

// Manager owns every plugin process of the host. It is safe for
// concurrent use. Close it to stop the processes.
type Manager struct {
	log       hclog.Logger
	opts      Options
	entries   map[string]catalog.Entry
	socketDir string // private per-manager directory, removed by Close

	mu     sync.Mutex
	slots  map[slotKey]*slot
	closed bool
}

type slotKey struct {
	plugin  string // entry key
	session string // "" for the shared process
}

// New returns a Manager for the trusted entries. No process starts until a
// handle is asked for.
func New(entries []catalog.Entry, log hclog.Logger, opts Options) (*Manager, error) {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	m := &Manager{log: log, opts: opts.withDefaults(), entries: make(map[string]catalog.Entry, len(entries)), slots: make(map[slotKey]*slot)}
	for _, e := range entries {
		if _, dup := m.entries[e.Key()]; dup {
			return nil, fmt.Errorf("duplicate plugin %s", e.Key())
		}
		if len(e.SHA256) == 0 || e.Path == "" {
			return nil, fmt.Errorf("plugin %s: entry without path or checksum", e.Key())
		}
		m.entries[e.Key()] = e
	}
	if m.opts.SocketDir != "" {
		// One private directory per manager, so two hosts sharing SocketDir
		// never touch each other's sockets and Close can remove ours.
		abs, err := filepath.Abs(m.opts.SocketDir)
		if err != nil {
			return nil, fmt.Errorf("plugin socket directory: %w", err)
		}
		// A Unix socket path holds at most 107 bytes on Linux; go-plugin
		// adds "/stc-plugins-<10>/plugin<10>" (~40 bytes). Past that the
		// plugin dies before its handshake with an error only its stderr
		// shows, so refuse the setting up front.
		if len(abs) > maxSocketDirLen {
			return nil, fmt.Errorf("plugin socket directory %q is %d bytes long; Unix socket paths must stay under 108 bytes, so use a directory of at most %d bytes", abs, len(abs), maxSocketDirLen)
		}
		if err := os.MkdirAll(abs, 0o700); err != nil {
			return nil, fmt.Errorf("plugin socket directory: %w", err)
		}
		dir, err := os.MkdirTemp(abs, "stc-plugins-")
		if err != nil {
			return nil, fmt.Errorf("plugin socket directory: %w", err)
		}
		m.socketDir = dir
	}
	return m, nil
}

// maxSocketDirLen leaves room under the 107-byte Unix socket path limit
// for the per-manager directory and go-plugin's socket file name.
const maxSocketDirLen = 64

func (m *Manager) spec(e catalog.Entry, log hclog.Logger) launchSpec {
	return launchSpec{Entry: e, Env: m.opts.Env(e), SocketDir: m.socketDir, StartTimeout: m.opts.StartTimeout, Logger: log}
}

func (m *Manager) entry(k plugin.Kind, name string) (catalog.Entry, error) {
	e, ok := m.entries[catalog.Key(k, name)]
	if !ok {
		return catalog.Entry{}, fmt.Errorf("%w %s", ErrUnknownPlugin, catalog.Key(k, name))
	}
	return e, nil
}

// slot returns the slot of (e, session), creating it and starting its
// supervisor when create is set; nil when it does not exist.
func (m *Manager) slot(e catalog.Entry, session string, create bool) (*slot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, fmt.Errorf("%w: %w", ErrPluginUnavailable, ErrClosed)
	}
	k := slotKey{e.Key(), session}
	if s := m.slots[k]; s != nil || !create {
		return s, nil
	}
	s := newSlot(m, e, session)
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	m.slots[k] = s
	go s.run(ctx) // owned by the slot: stopped by cancel, awaited on s.done
	return s, nil
}

// dropSlot stops a per-session process whose last session closed.
func (m *Manager) dropSlot(s *slot) {
	m.mu.Lock()
	k := slotKey{s.entry.Key(), s.session}
	if m.slots[k] == s {
		delete(m.slots, k)
	}
	m.mu.Unlock()
	s.cancel()
	<-s.done
}

// ready starts the shared process of e if needed and waits for it.
func (m *Manager) ready(ctx context.Context, e catalog.Entry) (*slot, error) {
	s, err := m.slot(e, "", true)
	if err != nil {
		return nil, err
	}
	ctx, cancel := withDefaultTimeout(ctx, m.opts.StartTimeout+m.opts.CallTimeout)
	defer cancel()
	if _, err := s.acquire(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Strategy returns a handle on strategy name, starting its process if
// needed. It fails when the plugin cannot start (ErrChecksumMismatch,
// ErrPluginStdout, ErrStartTimeout, ErrPluginUnavailable).
func (m *Manager) Strategy(ctx context.Context, name string) (*StrategyHandle, error) {
	e, err := m.entry(plugin.KindStrategy, name)
	if err != nil {
		return nil, err
	}
	s, err := m.ready(ctx, e)
	if err != nil {
		return nil, err
	}
	return &StrategyHandle{s: s}, nil
}

// Broker returns a handle on broker adapter name, starting its shared
// process if needed. That process answers Info and the anonymous
// market-data session; a per-session adapter gets one more process per
// opened session.
func (m *Manager) Broker(ctx context.Context, name string) (*BrokerHandle, error) {
	e, err := m.entry(plugin.KindBroker, name)
	if err != nil {
		return nil, err
	}
	s, err := m.ready(ctx, e)
	if err != nil {
		return nil, err
	}
	return &BrokerHandle{m: m, shared: s}, nil
}

// MarketData returns broker name's anonymous session: prices, candles,
// instruments and market hours without a user's account, shared by every
// user (the candle service's marketdata.Sessions).
func (m *Manager) MarketData(ctx context.Context, name string) (broker.Broker, error) {
	h, err := m.Broker(ctx, name)
	if err != nil {
		return nil, err
	}
	return h.Session(""), nil
}

// Fingerprint launches e once, asks GetInfo and stops the process. It
// checks the checksum, the handshake and that the binary's kind and name
// match its file name; catalog.Register uses it at registration.
func (m *Manager) Fingerprint(ctx context.Context, e catalog.Entry) (plugin.Info, error) {
	p, err := startProc(ctx, m.spec(e, m.log.With("plugin", e.Key(), "fingerprint", true)), m.opts.CallTimeout)
	if err != nil {
		return plugin.Info{}, err
	}
	p.stop(false)
	return p.info, nil
}

// Status describes every supervised process, sorted by plugin and session.
func (m *Manager) Status() []PluginStatus {
	m.mu.Lock()
	slots := make([]*slot, 0, len(m.slots))
	for _, s := range m.slots {
		slots = append(slots, s)
	}
	m.mu.Unlock()
	out := make([]PluginStatus, 0, len(slots))
	for _, s := range slots {
		out = append(out, s.status())
	}
	sort.Slice(out, func(i, j int) bool {
		ki, kj := catalog.Key(out[i].Kind, out[i].Name), catalog.Key(out[j].Kind, out[j].Name)
		if ki != kj {
			return ki < kj
		}
		return out[i].Session < out[j].Session
	})
	return out
}

// Reset closes the crash-loop breaker of every Failed process of plugin
// (kind, name), which then starts again. It is the operator's action
// after fixing the cause.
func (m *Manager) Reset(kind plugin.Kind, name string) error {
	e, err := m.entry(kind, name)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, s := range m.slots {
		if k.plugin == e.Key() {
			s.requestReset()
		}
	}
	return nil
}

// Close stops every plugin process: it destroys instances and closes
// sessions best-effort (bounded by ctx, or CloseTimeout when ctx has no
// deadline), then stops each process and waits for it. Close always waits
// for the processes, even when ctx ends first: go-plugin's Kill is bounded
// and no goroutine or process may outlive the manager. Calls after Close
// fail with ErrClosed.
func (m *Manager) Close(ctx context.Context) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	slots := make([]*slot, 0, len(m.slots))
	for _, s := range m.slots {
		slots = append(slots, s)
	}
	m.slots = map[slotKey]*slot{}
	m.mu.Unlock()

	ctx, cancel := withDefaultTimeout(ctx, m.opts.CloseTimeout)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(slots))
	for i, s := range slots {
		wg.Go(func() { // owned by Close, which waits below
			errs[i] = s.shutdown(ctx)
		})
	}
	wg.Wait()
	if m.socketDir != "" {
		errs = append(errs, os.RemoveAll(m.socketDir))
	}
	return errors.Join(errs...)
}
