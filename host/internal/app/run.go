package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/stc-trading/stc/host/internal/accounts"
)

// Run runs the host until ctx ends or the API listener fails, then stops
// everything in the order of the package doc and returns once every
// goroutine it started has ended and every resource New took is
// released. It returns nil after a clean shutdown. Run may be called
// once.
func (a *App) Run(ctx context.Context) error {
	first := false
	a.runOnce.Do(func() { first = true })
	if !first {
		return errors.New("app: Run called twice")
	}
	// The background jobs have a context of their own, ended only once the
	// listeners have drained (step 2 after step 1), not when ctx ends.
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var jobs errgroup.Group
	a.startJobs(workCtx, &jobs)

	// The listeners stop when ctx ends, or all of them when the API
	// listener fails.
	front, frontCtx := errgroup.WithContext(ctx)
	a.api.serve(frontCtx, front)
	if a.metrics != nil {
		a.metrics.serve(frontCtx, front)
		a.log.Info("metrics are served on a listener of their own", "url", "http://"+shownAddr(a.cfg.MetricsAddr, a.metrics)+"/metrics", "token", a.cfg.MetricsToken != "")
	}
	addr := shownAddr(a.cfg.HTTPAddr, a.api)
	a.log.Info("STC is up", "url", "http://"+addr, "store", a.db.Dialect(), "plugins", len(a.entries), "data_dir", a.cfg.DataDir)
	fmt.Fprintf(a.banner, "\n  STC is listening on http://%s  (open it in a browser; API: %s)\n\n", addr, tryPath(a.cfg.Track))

	<-frontCtx.Done()
	if ctx.Err() != nil {
		a.log.Info("shutting down")
	}
	err := front.Wait() // 1. the listeners have drained
	stopWork()
	_ = jobs.Wait() // 2. the jobs have stopped; each logs its own failure
	return errors.Join(err, a.Close())
}

// startJobs starts the background jobs in g, each until ctx ends.
func (a *App) startJobs(ctx context.Context, g *errgroup.Group) {
	log := a.log
	g.Go(func() error { a.syms.Run(ctx); return nil })

	// Re-open every connected account's broker session (the host
	// restarted); plugin restarts are covered by the supervisor itself.
	// The accounts of running bots go first, and the bots start as soon
	// as those are back, so however many accounts other users have, the
	// bots wait only for their own.
	botAccountsReady := make(chan struct{})
	g.Go(func() error {
		resumed, failed, err := a.accounts.ResumeAll(ctx, accounts.ResumeOptions{
			First: a.botAccounts, FirstDone: func() { close(botAccountsReady) },
		})
		if err != nil {
			log.Error("resuming broker sessions", "error", err)
		}
		if resumed+failed > 0 {
			log.Info("resumed broker sessions", "resumed", resumed, "failed", failed)
		}
		return nil
	})
	g.Go(func() error { a.trader.Run(ctx); return nil })
	// Balances are the brokers', never stored: this job turns their
	// changes into account events for the users watching a stream here.
	g.Go(func() error { return a.accounts.WatchBalances(ctx, a.events.WatchedUsers, 0) })
	g.Go(func() error { a.recordFailedReopens(ctx); return nil })
	g.Go(func() error {
		housekeep(ctx, housekeepingInterval, log.Named("housekeeping"),
			pruneJob{"idempotency keys", a.trader.PruneIdempotencyKeys},
			pruneJob{"events", a.events.Prune},
			pruneJob{"billing events", func(ctx context.Context) (int64, error) {
				return a.billing.PruneEvents(ctx, time.Now().Add(-a.cfg.RetainBillingEvents))
			}},
			pruneJob{"ended sessions and API keys", func(ctx context.Context) (int64, error) {
				return a.users.PruneTokens(ctx, time.Now().Add(-a.cfg.RetainEndedTokens))
			}})
		return nil
	})
	g.Go(func() error {
		// Bots resume once their accounts have: a bot whose account is
		// still reconnecting would otherwise pause itself for nothing.
		select {
		case <-botAccountsReady:
		case <-ctx.Done():
			return nil
		}
		if err := a.bots.Run(ctx); err != nil && ctx.Err() == nil {
			log.Error("bot runner stopped", "error", err)
		}
		return nil
	})
}

// recordFailedReopens records the sessions a restarted broker plugin
// could not re-open (onPluginEvent) until ctx ends.
func (a *App) recordFailedReopens(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-a.reopenFailed:
			if _, err := a.accounts.ReopenFailed(ctx, ev.Instance, ev.Err); err != nil && ctx.Err() == nil {
				a.log.Error("could not record a failed session re-open", "session", ev.Instance, "error", err)
			}
		}
	}
}
