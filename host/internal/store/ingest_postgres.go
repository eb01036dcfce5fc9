package store

// PostgreSQL candle ingest.
//
// Measured side by side (docs/BENCHMARKS.md, "Candle ingest into
// PostgreSQL"; the staging designs are benchmark baselines in
// bench_stage_test.go), plain COPY into the table runs at the physical
// limit (= psql \copy) and every server-side duplicate filter well below
// it: COPY into a stage plus an INSERT … SELECT … WHERE NOT EXISTS
// anti-join reaches 0.69–0.81 of it, ON CONFLICT 0.45–0.48. Both pay for
// writing every row twice. So this path never stages:
//
//  1. Take a transaction-scoped advisory lock per key (broker, symbol,
//     timeframe), in one global order, so writers of the same key queue
//     instead of racing; the lock ids are salted with the schema.
//  2. One query asks, per key, whether any stored candle lies inside the
//     batch's [first, last] time range. For the live writer (candles newer
//     than anything stored) and for backfills into empty gaps the answer is
//     no, and nothing more is read.
//  3. Only for keys whose range overlaps stored history, read the stored
//     times (one index range scan when the batch is dense in its range, an
//     index probe per batch row when it is sparse, see storedTimes) and
//     drop those candles in Go.
//  4. COPY what is left straight into candles, keys in the unique index's
//     order (see prepare). Because of the locks and steps 2–3 no row can
//     violate the unique key, so the COPY cannot abort.
//
// Under READ COMMITTED each statement sees what was committed before it
// started, and the lock is taken in an earlier statement than the checks,
// so a writer that held the lock has committed (and is visible) by the time
// the checks run. A writer outside this package (psql, an old binary) does
// not take the locks; if it wins a race the COPY fails with 23505 and the
// whole transaction is retried, and the retry's check sees its rows.
//
// A cancelled context interrupts the transaction wherever it waits (see
// cancelBackendOnDone), and a failed COPY statement is always closed before
// the rollback (the lib/pq pitfall that otherwise hangs Rollback forever).
//
// synchronous_commit is off for ingest transactions only: candles are
// re-fetchable market data and gap backfill repairs the last few hundred
// milliseconds a server crash could lose, while every other table keeps
// full durability.

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/stc-trading/stc/sdk/market"
)

const (
	copyCandlesSQL = "COPY candles (symbol, timeframe, timestamp, open, high, low, close, volume, broker) FROM STDIN"
	// maxIngestAttempts bounds retries of a transaction that lost a race;
	// each retry sees the winner's rows, so a second attempt normally
	// succeeds.
	maxIngestAttempts = 4
	// probeChunk caps the number of times sent in one existence probe so
	// the array parameter stays a few hundred kilobytes.
	probeChunk = 10000
	// copyChunk is how many bytes of COPY lines are handed to the driver
	// at once; lib/pq sends a CopyData message per ~64 KiB.
	copyChunk = 60 << 10
)

// errNoRawCopy means the driver does not expose lib/pq's CopyData and the
// portable sql.Stmt COPY path must be used.
var errNoRawCopy = errors.New("store: driver has no raw COPY")

// copyDataer is the method lib/pq's COPY statement has for sending
// pre-formatted lines. It is not part of database/sql, hence the assertion
// and the fallback.
type copyDataer interface {
	CopyData(ctx context.Context, line string) (driver.Result, error)
}

// ingestPostgres writes prepared batches and returns rows inserted and
// duplicates of stored rows found.
func (s *Store) ingestPostgres(ctx context.Context, keys []keyBatch) (inserted, dups int, err error) {
	// Lock in ascending id order so two writers sharing keys cannot
	// deadlock on each other. (The rows themselves go in index order, see
	// prepare.)
	lockIDs := make([]int64, len(keys))
	for i, kb := range keys {
		lockIDs[i] = lockID(s.lockSpace, "candles", kb.key.broker, kb.key.symbol, kb.key.tf)
	}
	slices.Sort(lockIDs)
	for attempt := 1; ; attempt++ {
		inserted, dups, err = s.ingestPostgresOnce(ctx, keys, lockIDs)
		if err == nil {
			return inserted, dups, nil
		}
		err = mapError(err)
		retry := errors.Is(err, errRetry) || errors.Is(err, ErrConflict)
		if !retry || attempt >= maxIngestAttempts || ctx.Err() != nil {
			return 0, 0, err
		}
		s.log.Debug("retrying candle ingest after a lost race", "attempt", attempt, "error", err)
	}
}

// ingestPostgresOnce is one attempt of the transaction described at the top
// of this file.
func (s *Store) ingestPostgresOnce(ctx context.Context, keys []keyBatch, lockIDs []int64) (inserted, dups int, err error) {
	conn, err := s.db.Connx(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("connection: %w", err)
	}
	defer func() { _ = conn.Close() }()
	tx, err := conn.BeginTxx(ctx, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("begin: %w", err)
	}
	// After Commit this is a no-op returning ErrTxDone.
	defer func() { _ = tx.Rollback() }()
	var (
		pid     int
		setting string
	)
	const setupSQL = "SELECT pg_backend_pid(), set_config('synchronous_commit', 'off', true)"
	if err := tx.QueryRowContext(ctx, setupSQL).Scan(&pid, &setting); err != nil {
		return 0, 0, fmt.Errorf("set up ingest: %w", err)
	}
	defer s.cancelBackendOnDone(ctx, pid)()
	// unnest yields the already sorted ids in array order, so the locks
	// are taken in that order.
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) AS k", pq.Array(lockIDs)); err != nil {
		return 0, 0, fmt.Errorf("lock keys: %w", err)
	}
	fresh, dups, err := filterStored(ctx, tx, keys)
	if err != nil {
		return 0, 0, err
	}
	n := 0
	for _, kb := range fresh {
		n += len(kb.candles)
	}
	if n > 0 {
		if err := s.copyCandles(ctx, conn, tx, fresh); err != nil {
			return 0, 0, fmt.Errorf("copy: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, fmt.Errorf("commit: %w", err)
	}
	return n, dups, nil
}

// cancelBackendOnDone makes ctx's cancellation interrupt whatever the
// backend pid is running, and returns the function that stops watching.
//
// lib/pq watches the context while a statement is sent, but not while a
// COPY's end waits for the server's verdict; a COPY stuck on a row lock
// held by another transaction would otherwise ignore shutdown. The
// returned stop waits for a cancel already on its way, so it can never
// reach the connection's next user; a cancel that arrives while the
// backend is idle is ignored by PostgreSQL.
func (s *Store) cancelBackendOnDone(ctx context.Context, pid int) (stop func()) {
	sent := make(chan struct{})
	unregister := context.AfterFunc(ctx, func() {
		defer close(sent)
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		// The owner pool: pg_cancel_backend needs the backend's session
		// role, which the application role is not a member of.
		if _, err := s.owner.ExecContext(cctx, "SELECT pg_cancel_backend($1)", pid); err != nil {
			s.log.Warn("could not cancel an ingest statement", "pid", pid, "error", err)
		}
	})
	return func() {
		if !unregister() {
			<-sent
		}
	}
}

// filterStored drops candles whose time is already stored for their key.
// It returns the keys with what is left and how many it dropped.
func filterStored(ctx context.Context, tx *sqlx.Tx, keys []keyBatch) ([]keyBatch, int, error) {
	var (
		brokers, symbols, tfs = make([]string, len(keys)), make([]string, len(keys)), make([]string, len(keys))
		los, his              = make([]int64, len(keys)), make([]int64, len(keys))
	)
	for i, kb := range keys {
		brokers[i], symbols[i], tfs[i] = kb.key.broker, kb.key.symbol, kb.key.tf
		los[i], his[i] = kb.candles[0].Time, kb.candles[len(kb.candles)-1].Time
	}
	const overlapSQL = `SELECT k.i FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[])
		WITH ORDINALITY AS k(broker, symbol, timeframe, lo, hi, i)
		WHERE EXISTS (SELECT 1 FROM candles c WHERE c.symbol = k.symbol AND c.timeframe = k.timeframe
			AND c.timestamp BETWEEN k.lo AND k.hi AND c.broker = k.broker)`
	overlapping, err := overlappingKeys(ctx, tx, overlapSQL, brokers, symbols, tfs, los, his)
	if err != nil {
		return nil, 0, fmt.Errorf("overlap check: %w", err)
	}
	if len(overlapping) == 0 {
		return keys, 0, nil
	}
	out := slices.Clone(keys)
	dups := 0
	for _, i := range overlapping {
		stored, err := storedTimes(ctx, tx, keys[i])
		if err != nil {
			return nil, 0, err
		}
		out[i].candles = dropTimes(keys[i].candles, stored)
		dups += len(keys[i].candles) - len(out[i].candles)
	}
	return out, dups, nil
}

// denseFactor decides how storedTimes reads: a batch whose times fill at
// least 1/denseFactor of the slots between its first and last candle is
// checked with one index range scan (it returns at most denseFactor rows
// per batch row, read sequentially); a sparse one, whose range may span
// much stored history, with an index probe per batch row.
const denseFactor = 4

// storedTimes returns, ascending, the times in kb's range that are already
// stored (a superset of the batch's stored times is fine: dropTimes only
// drops exact matches).
func storedTimes(ctx context.Context, tx *sqlx.Tx, kb keyBatch) ([]int64, error) {
	first, last := kb.candles[0].Time, kb.candles[len(kb.candles)-1].Time
	if (last-first)/kb.width+1 <= denseFactor*int64(len(kb.candles)) {
		const q = `SELECT timestamp FROM candles WHERE symbol = $1 AND timeframe = $2 AND broker = $3
			AND timestamp BETWEEN $4 AND $5 ORDER BY timestamp`
		var out []int64
		if err := tx.SelectContext(ctx, &out, q, kb.key.symbol, kb.key.tf, kb.key.broker, first, last); err != nil {
			return nil, fmt.Errorf("read stored candles: %w", err)
		}
		return out, nil
	}
	const q = `SELECT timestamp FROM candles WHERE symbol = $1 AND timeframe = $2 AND broker = $3
		AND timestamp = ANY($4::bigint[]) ORDER BY timestamp`
	var out []int64
	times := make([]int64, 0, min(len(kb.candles), probeChunk))
	for start := 0; start < len(kb.candles); start += probeChunk {
		times = times[:0]
		for _, c := range kb.candles[start:min(start+probeChunk, len(kb.candles))] {
			times = append(times, c.Time)
		}
		var got []int64
		if err := tx.SelectContext(ctx, &got, q, kb.key.symbol, kb.key.tf, kb.key.broker, pq.Array(times)); err != nil {
			return nil, fmt.Errorf("probe stored candles: %w", err)
		}
		out = append(out, got...)
	}
	return out, nil
}

// dropTimes returns the candles of c (ascending, unique) whose time is not
// in stored (ascending), by merging the two sorted lists.
func dropTimes(c market.Series, stored []int64) market.Series {
	if len(stored) == 0 {
		return c
	}
	out := make(market.Series, 0, len(c)-min(len(c), len(stored)))
	j := 0
	for _, x := range c {
		for j < len(stored) && stored[j] < x.Time {
			j++
		}
		if j < len(stored) && stored[j] == x.Time {
			continue
		}
		out = append(out, x)
	}
	return out
}

// copyCandles streams keys' candles into the candles table with COPY,
// preferring lib/pq's raw CopyData (rows formatted here, one driver call
// per ~60 KiB) over sql.Stmt.Exec per row (nine interface conversions and a
// database/sql round of checks per row).
func (s *Store) copyCandles(ctx context.Context, conn *sqlx.Conn, tx *sqlx.Tx, keys []keyBatch) error {
	if !s.cfg.forceStmtCopy {
		err := copyRaw(ctx, conn, keys)
		if !errors.Is(err, errNoRawCopy) {
			return err
		}
		s.log.Debug("raw COPY unavailable, using sql.Stmt COPY")
	}
	return copyStmt(ctx, tx, keys)
}

// copyRaw runs the COPY on the driver connection underneath conn, which
// holds the open transaction tx (database/sql lets Raw run between a Tx's
// statements on the same Conn; the COPY joins that transaction).
func copyRaw(ctx context.Context, conn *sqlx.Conn, keys []keyBatch) error {
	return conn.Raw(func(dc any) error {
		pc, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return errNoRawCopy
		}
		st, err := pc.PrepareContext(ctx, copyCandlesSQL)
		if err != nil {
			return err
		}
		// lib/pq pitfall: a COPY left open makes the later Rollback block
		// forever. Closing here, before Raw returns, ends it first.
		defer func() { _ = st.Close() }()
		cd, ok := st.(copyDataer)
		if !ok {
			return errNoRawCopy // the deferred Close ends the empty COPY
		}
		buf := make([]byte, 0, copyChunk+512)
		for _, kb := range keys {
			prefix := copyText(kb.key.symbol) + "\t" + kb.key.tf + "\t"
			suffix := "\t" + copyText(kb.key.broker)
			for _, c := range kb.candles {
				if len(buf) > 0 {
					buf = append(buf, '\n') // CopyData ends each call's text with one
				}
				buf = appendCopyLine(buf, prefix, c, suffix)
				if len(buf) >= copyChunk {
					if _, err := cd.CopyData(ctx, string(buf)); err != nil {
						return err
					}
					buf = buf[:0]
				}
			}
		}
		if len(buf) > 0 {
			if _, err := cd.CopyData(ctx, string(buf)); err != nil {
				return err
			}
		}
		// Close sends CopyDone and waits for the server's verdict on the
		// whole COPY (e.g. a unique violation).
		return st.Close()
	})
}

// copyStmt is the portable COPY through database/sql.
func copyStmt(ctx context.Context, tx *sqlx.Tx, keys []keyBatch) error {
	st, err := tx.PrepareContext(ctx, copyCandlesSQL)
	if err != nil {
		return err
	}
	// Must run before the caller's deferred Rollback: see copyRaw.
	defer func() { _ = st.Close() }()
	for _, kb := range keys {
		for _, c := range kb.candles {
			if _, err := st.ExecContext(ctx, kb.key.symbol, kb.key.tf, c.Time,
				decimalText(c.Open, priceScale, priceDigits), decimalText(c.High, priceScale, priceDigits),
				decimalText(c.Low, priceScale, priceDigits), decimalText(c.Close, priceScale, priceDigits),
				decimalText(c.Volume, volumeScale, volumeDigits), kb.key.broker); err != nil {
				return err
			}
		}
	}
	// An Exec without arguments flushes the stream and reports the
	// server's verdict.
	_, err = st.ExecContext(ctx)
	return err
}

// appendCopyLine appends one COPY text line (without the newline), values
// rounded to the columns' scales.
func appendCopyLine(b []byte, prefix string, c market.Candle, suffix string) []byte {
	b = append(b, prefix...)
	b = strconv.AppendInt(b, c.Time, 10)
	b = append(b, '\t')
	b = appendDecimal(b, c.Open, priceScale, priceDigits)
	b = append(b, '\t')
	b = appendDecimal(b, c.High, priceScale, priceDigits)
	b = append(b, '\t')
	b = appendDecimal(b, c.Low, priceScale, priceDigits)
	b = append(b, '\t')
	b = appendDecimal(b, c.Close, priceScale, priceDigits)
	b = append(b, '\t')
	b = appendDecimal(b, c.Volume, volumeScale, volumeDigits)
	return append(b, suffix...)
}

// copyText escapes v for COPY's text format. Keys never hold control
// characters (newKey refuses them), so only the backslash needs escaping.
func copyText(v string) string { return strings.ReplaceAll(v, `\`, `\\`) }

// overlappingKeys runs the overlap query and returns the 0-based indexes
// of the keys whose range already has stored candles.
func overlappingKeys(ctx context.Context, tx *sqlx.Tx, q string, brokers, symbols, tfs []string, los, his []int64) ([]int, error) {
	rows, err := tx.QueryContext(ctx, q, pq.Array(brokers), pq.Array(symbols), pq.Array(tfs), pq.Array(los), pq.Array(his))
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []int
	for rows.Next() {
		var i int
		if err := rows.Scan(&i); err != nil {
			return nil, err
		}
		out = append(out, i-1) // ORDINALITY counts from 1
	}
	return out, rows.Err()
}
