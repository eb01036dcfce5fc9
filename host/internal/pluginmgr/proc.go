package pluginmgr

import (
	"context"
	"fmt"
	"os/exec"
	"sync/atomic"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health/grpc_health_v1"

	"github.com/stc-trading/stc/host/internal/catalog"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/plugin"
)

// killGrace bounds go-plugin's graceful Kill. Kill sends a Shutdown RPC
// without a deadline, so a frozen plugin (SIGSTOP, swapped out) would
// block it forever; after killGrace the process is SIGKILLed.
const killGrace = 5 * time.Second

// proc is one running plugin process.
type proc struct {
	client  *goplugin.Client
	cmd     *exec.Cmd
	pid     int
	exited  context.Context // cancelled by go-plugin when the process ends
	conn    *grpc.ClientConn
	info    plugin.Info
	meta    broker.Metadata // brokers only
	started time.Time

	strategy *plugin.StrategyClient // set for strategies
	broker   *plugin.BrokerClient   // set for brokers

	timeouts atomic.Int32 // consecutive timed-out calls
	restart  chan string  // cap 1: a reason to replace this process
}

// startProc launches e, completes the handshake and fingerprints the
// process. Start itself is bounded by StartTimeout, not by ctx: go-plugin
// holds its lock for the whole handshake, so nothing can interrupt it.
func startProc(ctx context.Context, s launchSpec, infoTimeout time.Duration) (*proc, error) {
	cfg := clientConfig(s)
	client := goplugin.NewClient(cfg)
	if _, err := client.Start(); err != nil {
		client.Kill() // waits for go-plugin's goroutines of the failed start
		if s.Logger != nil {
			s.Logger.Debug("go-plugin start error", "error", err)
		}
		return nil, startError(s.Entry, s.StartTimeout, err)
	}
	p := &proc{client: client, cmd: cfg.Cmd, pid: cfg.Cmd.Process.Pid, started: time.Now(), restart: make(chan string, 1)}
	if err := p.connect(ctx, s.Entry, infoTimeout); err != nil {
		p.stop(true)
		return nil, err
	}
	return p, nil
}

func (p *proc) connect(ctx context.Context, e catalog.Entry, infoTimeout time.Duration) error {
	rpc, err := p.client.Client()
	if err != nil {
		return fmt.Errorf("connect to plugin %s: %w", e.File, err)
	}
	gc, ok := rpc.(*goplugin.GRPCClient)
	if !ok {
		return fmt.Errorf("plugin %s: not a gRPC plugin", e.File)
	}
	p.conn = gc.Conn
	raw, err := rpc.Dispense(plugin.DispenseName(e.Kind))
	if err != nil {
		return fmt.Errorf("plugin %s: dispense: %w", e.File, err)
	}
	d, ok := raw.(dispensed)
	if !ok {
		return fmt.Errorf("plugin %s: unexpected client type %T", e.File, raw)
	}
	p.exited = d.exited
	ictx, cancel := context.WithTimeout(ctx, infoTimeout)
	defer cancel()
	switch c := d.client.(type) {
	case *plugin.StrategyClient:
		p.strategy = c
		p.info, err = c.Info(ictx)
	case *plugin.BrokerClient:
		p.broker = c
		p.info, err = c.Info(ictx)
		p.meta = c.Session("").Metadata()
	default:
		return fmt.Errorf("plugin %s: unexpected client type %T", e.File, d.client)
	}
	if err != nil {
		return fmt.Errorf("plugin %s: GetInfo: %w", e.File, err)
	}
	// Checked at every launch, not only at registration: the checksum pins
	// the bytes, this pins what the bytes claim to be.
	return catalog.CheckInfo(e, p.info)
}

// gone reports whether the process has exited.
func (p *proc) gone() bool { return p.exited != nil && p.exited.Err() != nil }

// waitGone waits up to d for the process to be reported gone.
func (p *proc) waitGone(d time.Duration) bool {
	if p.exited == nil {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.exited.Done():
		return true
	case <-t.C:
		return false
	}
}

// requestRestart asks the supervisor to replace the process; extra
// requests while one is pending are dropped.
func (p *proc) requestRestart(reason string) {
	select {
	case p.restart <- reason:
	default:
	}
}

// ping checks go-plugin's gRPC health service with a deadline; go-plugin's
// own Ping has none.
func (p *proc) ping(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(p.exited, timeout)
	defer cancel()
	resp, err := grpc_health_v1.NewHealthClient(p.conn).Check(ctx, &grpc_health_v1.HealthCheckRequest{Service: goplugin.GRPCServiceName})
	if err != nil {
		return err
	}
	if resp.GetStatus() != grpc_health_v1.HealthCheckResponse_SERVING {
		return fmt.Errorf("health status %s", resp.GetStatus())
	}
	return nil
}

// stop ends the process and waits for it and go-plugin's goroutines.
// force skips the graceful Shutdown, for processes that stopped answering.
func (p *proc) stop(force bool) {
	if force {
		p.forceKill()
	}
	done := make(chan struct{})
	go func() { // owned by stop, which waits for it below
		defer close(done)
		p.client.Kill()
	}()
	t := time.NewTimer(killGrace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		p.forceKill()
		<-done
	}
}

// forceKill SIGKILLs the process. It goes through os.Process, which is
// safe against go-plugin's concurrent Wait; never kill by a stored pid,
// which may have been reused (go-plugin #320).
func (p *proc) forceKill() {
	_ = p.cmd.Process.Kill() // os.ErrProcessDone when it has already ended
}

// exitStatus describes how the process ended; valid after stop.
func (p *proc) exitStatus() string {
	if st := p.cmd.ProcessState; st != nil {
		return st.String()
	}
	return "unknown exit status"
}
