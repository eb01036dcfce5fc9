package app

import (
	"context"
	"time"

	"github.com/hashicorp/go-hclog"
)

// housekeepingInterval is how often the housekeeping runs; what it keeps
// and how long is configured (config.Config.Retain*, docs/CONFIG.md).
const housekeepingInterval = time.Hour

// pruneJob deletes one kind of expired data and says how much.
type pruneJob struct {
	name  string
	prune func(ctx context.Context) (int64, error)
}

// housekeep runs every job once at start and then every interval until
// ctx ends. A failing job is logged and tried again next time.
func housekeep(ctx context.Context, interval time.Duration, log hclog.Logger, jobs ...pruneJob) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		for _, j := range jobs {
			n, err := j.prune(ctx)
			switch {
			case err != nil && ctx.Err() == nil:
				log.Warn("housekeeping failed; trying again later", "job", j.name, "error", err)
			case n > 0:
				log.Info("housekeeping", "job", j.name, "deleted", n)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
