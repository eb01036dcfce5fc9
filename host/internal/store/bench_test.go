package store_test

// Ingest benchmarks. They never run in `go test` (no -bench); reproduce the
// numbers for docs/BENCHMARKS.md with:
//
//	go test -run '^$' -bench 'Ingest' -benchtime 3x -timeout 60m ./host/internal/store/
//
// BenchmarkIngestPostgres times, in every iteration and into the same
// freshly truncated seed table, a `psql \copy` of the 1,000,000 rows from
// CSV (the anchor) and then the variant under test, and reports x_psql:
// the variant's throughput divided by psql's, summed over the iterations.
// Comparing within one run cancels most of a busy machine's drift. rows/s
// counts input rows (a 10 % duplicate run writes 900,000 of them), and
// client_cpu_s/op is this process's CPU during the variant.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
	"github.com/stc-trading/stc/sdk/market"
)

const (
	benchSymbols = 50
	benchPerKey  = 20000
	benchBroker  = "iqoption"
)

// benchData is the reference workload: 50 symbols × 20,000 1m candles with
// 8-decimal prices.
func benchData() []store.KeyedCandles {
	out := make([]store.KeyedCandles, benchSymbols)
	for s := range out {
		c := make(market.Series, benchPerKey)
		p := int64(100000000 + s*1000000)
		for i := range c {
			next := p + int64((i*7919)%2001-1000)
			hi, lo := max(p, next)+3000, min(p, next)-3000
			c[i] = market.Candle{Time: t0 + int64(i)*60, Open: dec8(p), High: dec8(hi), Low: dec8(lo), Close: dec8(next), Volume: float64(i % 1000)}
			p = next
		}
		out[s] = store.KeyedCandles{Broker: benchBroker, Symbol: fmt.Sprintf("SYM%02d-OTC", s), Timeframe: market.M1, Candles: c}
	}
	return out
}

func benchRows(data []store.KeyedCandles) int {
	n := 0
	for _, kc := range data {
		n += len(kc.Candles)
	}
	return n
}

// writeCopyFile writes data as psql \copy input, comma-separated for
// FORMAT csv or tab-separated for COPY's text format.
func writeCopyFile(b *testing.B, data []store.KeyedCandles, sep byte) string {
	path := filepath.Join(b.TempDir(), "candles.txt")
	buf := make([]byte, 0, 100*benchRows(data))
	for _, kc := range data {
		for _, c := range kc.Candles {
			buf = append(buf, kc.Symbol...)
			buf = append(buf, sep)
			buf = append(buf, "1m"...)
			buf = append(buf, sep)
			buf = strconv.AppendInt(buf, c.Time, 10)
			for _, v := range [...]float64{c.Open, c.High, c.Low, c.Close} {
				buf = append(buf, sep)
				buf = strconv.AppendFloat(buf, v, 'f', 8, 64)
			}
			buf = append(buf, sep)
			buf = strconv.AppendFloat(buf, c.Volume, 'f', 4, 64)
			buf = append(buf, sep)
			buf = append(buf, benchBroker+"\n"...)
		}
	}
	if err := os.WriteFile(path, buf, 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}

// pgBench is the shared state of one PostgreSQL benchmark.
type pgBench struct {
	s      *store.Store
	schema string
	csv    string
	data   []store.KeyedCandles
	rows   int
}

func newPGBench(b *testing.B, opts ...store.Option) *pgBench {
	if _, err := exec.LookPath("psql"); err != nil {
		b.Skip("psql not installed: the anchor cannot be measured")
	}
	s := storetest.OpenPostgres(b, opts...)
	var schema string
	if err := s.DB().Get(&schema, "SELECT current_schema()"); err != nil {
		b.Fatal(err)
	}
	data := benchData()
	return &pgBench{s: s, schema: schema, csv: writeCopyFile(b, data, ','), data: data, rows: benchRows(data)}
}

// reset empties the table and flushes dirty pages so every measurement
// starts from the same state.
func (p *pgBench) reset(b *testing.B) {
	if _, err := p.s.DB().Exec("TRUNCATE candles"); err != nil {
		b.Fatal(err)
	}
	_, _ = p.s.DB().Exec("CHECKPOINT") // needs superuser; best effort
}

// psqlCopy times a psql \copy of path into the table; the anchor is the
// CSV file with format "csv".
func (p *pgBench) psqlCopy(b *testing.B, path, format string) time.Duration {
	cmd := exec.Command("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", storetest.PostgresURL(), "-c",
		`\copy candles (symbol, timeframe, timestamp, open, high, low, close, volume, broker) FROM '`+path+`' WITH (FORMAT `+format+`)`)
	cmd.Env = append(os.Environ(), "PGOPTIONS=-c search_path="+p.schema)
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("psql: %v: %s", err, out)
	}
	return time.Since(start)
}

// run measures the anchor and then variant (after prepare, untimed) in each
// iteration, and reports both rates and their ratio.
func (p *pgBench) run(b *testing.B, prepare func(), variant func() int) {
	var anchor, took, cpu time.Duration
	rows := 0
	for range b.N {
		b.StopTimer()
		p.reset(b)
		anchor += p.psqlCopy(b, p.csv, "csv")
		p.reset(b)
		if prepare != nil {
			prepare()
		}
		b.StartTimer()
		start, cpu0 := time.Now(), processCPU()
		rows += variant()
		took += time.Since(start)
		cpu += processCPU() - cpu0
	}
	b.StopTimer()
	total := float64(p.rows * b.N)
	b.ReportMetric(total/anchor.Seconds(), "psql_rows/s")
	b.ReportMetric(total/took.Seconds(), "rows/s")
	b.ReportMetric(anchor.Seconds()/took.Seconds(), "x_psql")
	// The Go client's own CPU: on a 2-core machine it competes with the
	// server for the same cores.
	b.ReportMetric(cpu.Seconds()/float64(b.N), "client_cpu_s/op")
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		b.Logf("rows written %d, load average %s", rows/b.N, load)
	}
}

// processCPU is the user+system CPU this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (p *pgBench) insertAll(b *testing.B) int {
	res, err := p.s.InsertBatch(context.Background(), p.data)
	if err != nil {
		b.Fatal(err)
	}
	return res.Inserted
}

// everyTenth returns every tenth candle of each key: the rows a 10 %
// duplicate run stores beforehand.
func everyTenth(data []store.KeyedCandles) []store.KeyedCandles {
	out := make([]store.KeyedCandles, len(data))
	for i, kc := range data {
		var c market.Series
		for j := 0; j < len(kc.Candles); j += 10 {
			c = append(c, kc.Candles[j])
		}
		out[i] = kc
		out[i].Candles = c
	}
	return out
}

func BenchmarkIngestPostgres(b *testing.B) {
	// The store's path: live case, every key's range empty.
	b.Run("store", func(b *testing.B) {
		p := newPGBench(b)
		p.run(b, nil, func() int { return p.insertAll(b) })
	})
	// 10 % of the rows already stored, spread over every key: every key
	// overlaps and takes the probe-and-filter path.
	b.Run("store_10pct_dups", func(b *testing.B) {
		p := newPGBench(b)
		pre := everyTenth(p.data)
		p.run(b, func() {
			if _, err := p.s.InsertBatch(context.Background(), pre); err != nil {
				b.Fatal(err)
			}
		}, func() int { return p.insertAll(b) })
	})
	// The portable COPY (sql.Stmt.Exec per row).
	b.Run("store_stmt_copy", func(b *testing.B) {
		p := newPGBench(b, store.WithStmtCopy())
		p.run(b, nil, func() int { return p.insertAll(b) })
	})
	// psql \copy of the same rows in COPY's text format (what the store
	// sends): shows how much of the anchor is CSV parsing.
	b.Run("psql_text", func(b *testing.B) {
		p := newPGBench(b)
		tsv := writeCopyFile(b, p.data, '\t')
		p.run(b, nil, func() int {
			p.psqlCopy(b, tsv, "text")
			return p.rows
		})
	})
	// The designs the store did not take, measured for comparison.
	for _, final := range []string{stageAntiJoin, stageOnConflict} {
		b.Run(final, func(b *testing.B) {
			p := newPGBench(b)
			p.run(b, nil, func() int { return stageInsert(b, p, final) })
		})
	}
}

// SQLite ingest of the same 1,000,000 rows into a new store file.
func BenchmarkIngestSQLite(b *testing.B) {
	data := benchData()
	rows := benchRows(data)
	for _, dups := range []bool{false, true} {
		name := "fresh"
		if dups {
			name = "10pct_dups"
		}
		b.Run(name, func(b *testing.B) {
			var took time.Duration
			for range b.N {
				b.StopTimer()
				s := storetest.OpenSQLite(b)
				if dups {
					if _, err := s.InsertBatch(context.Background(), everyTenth(data)); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				start := time.Now()
				if _, err := s.InsertBatch(context.Background(), data); err != nil {
					b.Fatal(err)
				}
				took += time.Since(start)
			}
			b.ReportMetric(float64(rows*b.N)/took.Seconds(), "rows/s")
		})
	}
}
