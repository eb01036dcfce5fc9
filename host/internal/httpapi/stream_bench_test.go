package httpapi_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/auth"
	"github.com/stc-trading/stc/host/internal/events"
	"github.com/stc-trading/stc/host/internal/httpapi"
	"github.com/stc-trading/stc/host/internal/metrics"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
	"github.com/stc-trading/stc/host/internal/trading"
	"github.com/stc-trading/stc/host/internal/users"
	"github.com/stc-trading/stc/sdk/market"
)

// streamBenchConfig is the load of BenchmarkStreamConnections; each field
// has an environment variable (STC_BENCH_STREAM_*).
type streamBenchConfig struct {
	users   int           // STC_BENCH_STREAM_USERS, default 1,000
	perUser int           // STC_BENCH_STREAM_PER_USER, streams per user, default 5 (0: the publishing alone)
	rate    int           // STC_BENCH_STREAM_RATE, trade events per second, default 1,000
	publish time.Duration // STC_BENCH_STREAM_SECONDS, default 20 s
	idle    time.Duration // STC_BENCH_STREAM_IDLE_SECONDS, the idle phase before publishing, default 30 s (one safety poll per stream)
}

func streamBenchConfigFromEnv(b *testing.B) streamBenchConfig {
	b.Helper()
	num := func(name string, def, least int) int {
		v := os.Getenv(name)
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		require.NoError(b, err, name)
		require.GreaterOrEqual(b, n, least, name)
		return n
	}
	return streamBenchConfig{
		users: num("STC_BENCH_STREAM_USERS", 1000, 1), perUser: num("STC_BENCH_STREAM_PER_USER", 5, 0),
		rate:    num("STC_BENCH_STREAM_RATE", 1000, 1),
		publish: time.Duration(num("STC_BENCH_STREAM_SECONDS", 20, 1)) * time.Second,
		idle:    time.Duration(num("STC_BENCH_STREAM_IDLE_SECONDS", 30, 1)) * time.Second,
	}
}

// BenchmarkStreamConnections is the acceptance benchmark of GET
// /api/v2/stream: 5,000 concurrent streams (1,000 users × 5) on a real
// HTTP listener over PostgreSQL, with 1,000 trade events a second
// published for 20 s, each in its own transaction through store.Update
// and events.Log.Add, spread at random over the users.
//
// The host (store, users service, event log, httpapi.New with the
// default limits and stream options, an http.Server with the timeouts of
// host/internal/app) runs in this process; the clients run in a
// subprocess (this test binary again, TestStreamBenchClientProcess), so
// this process's memory is the host's alone and the clients' CPU is not
// charged to it. The clients read every stream with sseclient over real
// TCP connections and record when each frame arrived (wall clock, which
// both processes share); this process records each event's commit time
// (a hook that runs right after the commit, before the log wakes the
// streams) and joins the two.
//
// Metrics: p50/p99/max-ms from commit to a client's receipt over every
// delivery (each event reaches all five streams of its user); lost (events
// a stream did not receive, must be 0), gaps (ids that did not follow
// the last one), streams-ended (streams that ended before the end of the
// run), open-failed; heap+stack-KB/conn and rss-KB/conn, the host's
// growth from before the streams opened to after an idle phase with all
// of them open, divided by their number (runtime.MemStats HeapInuse +
// StackInuse after two GCs; VmRSS after debug.FreeOSMemory);
// goroutines/conn; idle-log-reads/s (the streams' reads of the log in the
// idle phase, 30 s: one safety poll per stream) and log-reads/event while
// publishing; events/s published and the publishing transactions'
// commit-p99-ms (the wait for one of the store's 16 connections
// included); load1, the load average when the run started. No number is
// asserted: docs/BENCHMARKS.md has the goals and the results.
//
// Run it with -benchtime 1x (each iteration is the whole scenario). The
// STC_BENCH_STREAM_* variables (streamBenchConfig) change the load;
// STC_BENCH_STREAM_HEAP_PROFILE=file writes a heap profile of the host
// with the idle streams open.
func BenchmarkStreamConnections(b *testing.B) {
	cfg := streamBenchConfigFromEnv(b)
	raiseFileLimit(b, uint64(cfg.users*cfg.perUser)+4096)
	var total streamBenchOutcome
	for range b.N {
		total.merge(runStreamBench(b, cfg))
	}
	total.report(b)
}

// raiseFileLimit lifts the soft open-file limit to at least want (or the
// hard limit, if that is lower): each stream is a socket here and, in the
// client process, which inherits the limit, another.
func raiseFileLimit(b *testing.B, want uint64) {
	b.Helper()
	var lim syscall.Rlimit
	require.NoError(b, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim))
	if lim.Cur >= want {
		return
	}
	lim.Cur = min(want, lim.Max)
	require.NoError(b, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim))
	if lim.Cur < want {
		b.Logf("open-file limit %d is below the %d this run wants; raise the hard limit (ulimit -Hn)", lim.Cur, want)
	}
}

// streamBenchHost is the host half: the API on a real listener.
type streamBenchHost struct {
	st     *store.Store
	events *events.Log
	base   string
	tokens []string // a session token per user
	userID []int64
	reads  *countingLog
}

// countingLog counts the streams' reads of the log.
type countingLog struct {
	httpapi.EventLog
	n atomic.Int64
}

func (l *countingLog) After(ctx context.Context, userID, after int64, limit int) ([]events.Event, error) {
	l.n.Add(1)
	return l.EventLog.After(ctx, userID, after, limit)
}

func startStreamBenchHost(b *testing.B, cfg streamBenchConfig) *streamBenchHost {
	b.Helper()
	st := storetest.OpenPostgres(b)
	log := hclog.New(&hclog.LoggerOptions{Name: "host", Level: hclog.Warn, Output: b.Output()})
	hasher, err := auth.NewHasher(auth.OWASPMinimum(), 0)
	require.NoError(b, err)
	us := users.NewService(st, hasher, auth.NewThrottle(auth.DefaultThrottleConfig()), users.Options{}, log.Named("users"))
	ev := events.New(st, httpapi.RenderEvent, log.Named("events"), events.Options{})
	h := &streamBenchHost{st: st, events: ev, reads: &countingLog{EventLog: ev}}
	h.createUsers(b, hasher, cfg.users)

	api := httpapi.New(httpapi.Deps{
		Markets: noMarkets{}, Plugins: noPlugins{}, Users: us, Metrics: metrics.New(), Log: log.Named("http"), Events: h.reads,
		// Each user's streams come from an address of their own, through
		// X-Forwarded-For, so the per-address limit is the one a host
		// behind a proxy applies (its default, like every other limit).
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
	})
	// The timeouts of the host's API server (host/internal/app/server.go).
	srv := &http.Server{Handler: api, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second}
	srv.RegisterOnShutdown(api.CloseStreams)
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	require.NoError(b, err)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		require.NoError(b, srv.Shutdown(ctx))
		require.ErrorIs(b, <-served, http.ErrServerClosed)
	})
	h.base = "http://" + ln.Addr().String()
	return h
}

// createUsers inserts the users and a session token each straight into
// the store: registering through the users service would spend an
// argon2 hash per user, minutes for a thousand, and measure nothing the
// stream does.
func (h *streamBenchHost) createUsers(b *testing.B, hasher *auth.Hasher, n int) {
	b.Helper()
	hash, err := hasher.Hash("bench-password-1")
	require.NoError(b, err)
	now := time.Now().UnixMilli()
	ctx := context.Background()
	h.tokens, h.userID = make([]string, n), make([]int64, n)
	err = h.st.Update(ctx, store.System(), func(tx *sqlx.Tx) error {
		for i := range n {
			if err := tx.GetContext(ctx, &h.userID[i], tx.Rebind(`INSERT INTO users (email, password_hash, role, created_at, updated_at)
				VALUES (?, ?, 'user', ?, ?) RETURNING id`), fmt.Sprintf("stream-bench-%d@example.com", i), hash, now, now); err != nil {
				return err
			}
			token, tokenHash, err := auth.NewToken(auth.PrefixSession)
			if err != nil {
				return err
			}
			h.tokens[i] = token
			if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO auth_tokens (user_id, kind, token_hash, prefix, scopes, created_at, expires_at)
				VALUES (?, 'session', ?, ?, '', ?, ?)`), h.userID[i], tokenHash, token[:len(auth.PrefixSession)+4], now,
				now+int64(24*time.Hour/time.Millisecond)); err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(b, err)
}

// streamBenchOutcome is what one or more runs measured.
type streamBenchOutcome struct {
	latencies                                 []time.Duration // commit to receipt, every delivery
	commits                                   []time.Duration // publishing transactions
	lost, gaps, resets, ended, openFailed     int
	memPerConn, rssPerConn, goroutinesPerConn float64 // the largest of the runs
	published                                 int
	reads                                     int64   // the streams' log reads while publishing
	idleReads                                 float64 // log reads a second with every stream idle (the largest of the runs)
	publishRate                               float64 // the lowest of the runs
	load1                                     float64 // the highest of the runs
}

func (o *streamBenchOutcome) merge(r streamBenchOutcome) {
	o.latencies = append(o.latencies, r.latencies...)
	o.commits = append(o.commits, r.commits...)
	o.lost, o.gaps, o.resets, o.ended, o.openFailed = o.lost+r.lost, o.gaps+r.gaps, o.resets+r.resets, o.ended+r.ended, o.openFailed+r.openFailed
	o.memPerConn, o.rssPerConn = max(o.memPerConn, r.memPerConn), max(o.rssPerConn, r.rssPerConn)
	o.goroutinesPerConn = max(o.goroutinesPerConn, r.goroutinesPerConn)
	o.published += r.published
	o.reads += r.reads
	o.idleReads = max(o.idleReads, r.idleReads)
	if o.publishRate == 0 || r.publishRate < o.publishRate {
		o.publishRate = r.publishRate
	}
	o.load1 = max(o.load1, r.load1)
}

func (o *streamBenchOutcome) report(b *testing.B) {
	b.Helper()
	if len(o.latencies) > 0 {
		slices.Sort(o.latencies)
		b.ReportMetric(ms(quantile(o.latencies, 50)), "p50-ms")
		b.ReportMetric(ms(quantile(o.latencies, 99)), "p99-ms")
		b.ReportMetric(ms(o.latencies[len(o.latencies)-1]), "max-ms")
	}
	if len(o.commits) > 0 {
		slices.Sort(o.commits)
		b.ReportMetric(ms(quantile(o.commits, 99)), "commit-p99-ms")
	}
	b.ReportMetric(float64(len(o.latencies)), "deliveries")
	b.ReportMetric(float64(o.lost), "lost")
	b.ReportMetric(float64(o.gaps), "gaps")
	b.ReportMetric(float64(o.resets), "resets")
	b.ReportMetric(float64(o.ended), "streams-ended")
	b.ReportMetric(float64(o.openFailed), "open-failed")
	b.ReportMetric(o.memPerConn/1024, "heap+stack-KB/conn")
	b.ReportMetric(o.rssPerConn/1024, "rss-KB/conn")
	b.ReportMetric(o.goroutinesPerConn, "goroutines/conn")
	b.ReportMetric(o.publishRate, "events/s")
	b.ReportMetric(float64(o.reads)/float64(max(o.published, 1)), "log-reads/event")
	b.ReportMetric(o.idleReads, "idle-log-reads/s")
	b.ReportMetric(o.load1, "load1")
}

func quantile(sorted []time.Duration, q int) time.Duration {
	return sorted[max((len(sorted)*q+99)/100-1, 0)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// hostMem is a reading of the process's memory.
type hostMem struct{ heap, stack, rss uint64 }

func (m hostMem) heapStack() uint64 { return m.heap + m.stack }

// hostMemory reads the heap and stacks in use after two GCs and the
// resident set after returning freed memory to the system.
func hostMemory(b *testing.B) hostMem {
	b.Helper()
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	debug.FreeOSMemory()
	status, err := os.ReadFile("/proc/self/status")
	require.NoError(b, err)
	out := hostMem{heap: ms.HeapInuse, stack: ms.StackInuse}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			require.NoError(b, err)
			out.rss = kb * 1024
		}
	}
	return out
}

func writeHeapProfile(b *testing.B, path string) {
	b.Helper()
	f, err := os.Create(path)
	require.NoError(b, err)
	defer f.Close()
	require.NoError(b, pprof.WriteHeapProfile(f))
}

func loadAverage() float64 {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f, _ := strconv.ParseFloat(strings.Fields(string(raw))[0], 64)
	return f
}

// runStreamBench runs the scenario once: host, clients, idle phase,
// publishing phase, join.
func runStreamBench(b *testing.B, cfg streamBenchConfig) streamBenchOutcome {
	b.StopTimer()
	out := streamBenchOutcome{load1: loadAverage()}
	b.Logf("load average at start: %.2f; %d users × %d streams, %d events/s for %s after %s idle",
		out.load1, cfg.users, cfg.perUser, cfg.rate, cfg.publish, cfg.idle)
	h := startStreamBenchHost(b, cfg)
	base := hostMemory(b)
	baseG := runtime.NumGoroutine()

	cl := startStreamBenchClient(b, h, cfg)
	opened := cl.waitOpen(b)
	out.openFailed = cfg.users*cfg.perUser - opened
	b.Logf("%d streams open (%d failed)", opened, out.openFailed)
	idleReads := h.reads.n.Load()
	time.Sleep(cfg.idle)
	out.idleReads = float64(h.reads.n.Load()-idleReads) / cfg.idle.Seconds()
	idle := hostMemory(b)
	if path := os.Getenv("STC_BENCH_STREAM_HEAP_PROFILE"); path != "" {
		writeHeapProfile(b, path) // what the idle streams hold, by allocation site
	}
	if opened > 0 {
		conns := float64(opened)
		out.memPerConn = (float64(idle.heapStack()) - float64(base.heapStack())) / conns
		out.rssPerConn = (float64(idle.rss) - float64(base.rss)) / conns
		out.goroutinesPerConn = float64(runtime.NumGoroutine()-baseG) / conns
	}
	b.Logf("host with %d idle streams: heap %d → %d MiB, stacks %d → %d MiB, RSS %d → %d MiB", opened,
		base.heap>>20, idle.heap>>20, base.stack>>20, idle.stack>>20, base.rss>>20, idle.rss>>20)

	b.StartTimer()
	readsBefore := h.reads.n.Load()
	pub := h.publish(b, cfg)
	b.StopTimer()
	out.published, out.publishRate, out.commits = len(pub.user), pub.rate, pub.commitTook
	expected := make([]int, cfg.users)
	for _, u := range pub.user {
		expected[u]++
	}
	rep := cl.finish(b, expected)
	out.reads = h.reads.n.Load() - readsBefore
	out.join(b, rep, pub, expected)
	return out
}

// published is what the publishing phase did: event n (its trade's id is
// n+1) went to user index user[n] and committed at commitAt[n].
type published struct {
	user       []int32
	commitAt   []int64 // Unix nanoseconds
	commitTook []time.Duration
	rate       float64
}

// commitClock is a transaction hook attached before the event log's, so
// its AfterCommit runs right after the commit and before the log wakes
// the streams: the moment the latency is measured from.
type commitClock struct{ at *int64 }

func (commitClock) BeforeCommit(context.Context, *sqlx.Tx) error { return nil }
func (c commitClock) AfterCommit()                               { *c.at = time.Now().UnixNano() }

type commitClockKey struct{}

// publish writes cfg.rate trade events a second for cfg.publish, each in
// a transaction of its own for a user drawn at random, from enough
// goroutines that a slow commit does not hold the schedule back (the
// store's pool, 16 connections as in the host, is what bounds them).
func (h *streamBenchHost) publish(b *testing.B, cfg streamBenchConfig) published {
	b.Helper()
	total := int(cfg.publish.Seconds() * float64(cfg.rate))
	p := published{user: make([]int32, total), commitAt: make([]int64, total), commitTook: make([]time.Duration, total)}
	rnd := rand.New(rand.NewPCG(1, 2)) //nolint:gosec // a reproducible spread, not a secret
	for n := range p.user {
		p.user[n] = int32(rnd.IntN(len(h.userID))) //nolint:gosec // fewer users than int32 holds
	}
	jobs := make(chan int, total)
	errs := make(chan error, total)
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for n := range jobs {
				if err := h.publishOne(n, &p); err != nil {
					errs <- err
				}
			}
		})
	}
	start := time.Now()
	for sent := 0; sent < total; {
		due := min(int(time.Since(start).Seconds()*float64(cfg.rate))+1, total)
		for ; sent < due; sent++ {
			jobs <- sent
		}
		time.Sleep(time.Millisecond)
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(b, err)
	}
	last := slices.Max(p.commitAt)
	p.rate = float64(total) / time.Duration(last-start.UnixNano()).Seconds()
	return p
}

func (h *streamBenchHost) publishOne(n int, p *published) error {
	userID := h.userID[p.user[n]]
	now := time.Now().UTC()
	// A trade as the REST API shows an open one; its id names the event.
	tr := trading.Trade{ID: int64(n) + 1, UserID: userID, AccountID: userID, Broker: "paper", Symbol: "EURUSD-OTC",
		Direction: market.Call, Amount: decimal.NewFromInt(1), Expiration: time.Minute, Status: trading.StatusOpen,
		ClientOrderID: fmt.Sprintf("bench-%d", n), BrokerOrderID: fmt.Sprintf("paper-%d", n),
		OpenPrice: decimal.RequireFromString("1.08412"), Payout: decimal.NewFromInt(85),
		OpenedAt: now, ExpiresAt: now.Add(time.Minute), CreatedAt: now}
	start := time.Now()
	err := h.st.Update(context.Background(), store.Tenant(userID), func(tx *sqlx.Tx) error {
		h.st.Attach(tx, commitClockKey{}, func() store.TxHook { return commitClock{at: &p.commitAt[n]} })
		return h.events.Add(tx, userID, tr)
	})
	p.commitTook[n] = time.Since(start)
	if err != nil {
		return fmt.Errorf("publish event %d: %w", n, err)
	}
	return nil
}

// join checks every stream's deliveries against what was published and
// collects the latencies.
func (o *streamBenchOutcome) join(b *testing.B, rep streamBenchReport, pub published, expected []int) {
	b.Helper()
	for _, c := range rep.Conns {
		if c.OpenErr != "" {
			continue // counted as open-failed
		}
		o.gaps += c.Gaps
		o.resets += c.Resets
		if c.Ended != "" {
			o.ended++
			if o.ended <= 3 {
				b.Logf("a stream of user %d ended early: %s", c.User, c.Ended)
			}
		}
		seen := make(map[int64]bool, len(c.Trades))
		for i, id := range c.Trades {
			n := id - 1
			if n < 0 || n >= int64(len(pub.user)) || int(pub.user[n]) != c.User || seen[id] {
				b.Errorf("user %d's stream received trade %d, which is not one of theirs or came twice", c.User, id)
				continue
			}
			seen[id] = true
			o.latencies = append(o.latencies, time.Duration(c.RecvAt[i]-pub.commitAt[n]))
		}
		o.lost += expected[c.User] - len(seen)
	}
}
