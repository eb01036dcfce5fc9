package httpapi_test

import (
	"bufio"
	"context"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/sseclient"
)

// streamBenchReport is the client process's record of every stream it
// opened, for BenchmarkStreamConnections to check and join.
type streamBenchReport struct{ Conns []streamBenchConn }

// streamBenchConn is one stream as its client saw it.
type streamBenchConn struct {
	User int // index into the token list
	// OpenErr says why the stream did not open ("" when it did).
	OpenErr string
	// Ended says why the stream ended before the client closed it.
	Ended string
	// Gaps counts event ids that did not follow the previous one; Resets
	// counts reset events.
	Gaps, Resets int
	// Trades are the trade ids of the trade events in arrival order,
	// RecvAt when each was read (Unix nanoseconds).
	Trades []int64
	RecvAt []int64
}

// How long the client waits for the last events once it knows how many
// to expect; a stream short of them then counts its missing ones as lost.
const streamClientDrain = time.Minute

// TestStreamBenchClientProcess is the client half of
// BenchmarkStreamConnections, run by it as a subprocess (this test
// binary again); in any other run it skips at once. It opens every
// user's streams, says "OPEN <n>" on stdout, reads every stream until it
// is told on stdin how many events each user's streams should carry
// ("EXPECT <n0> <n1> …"), then writes its report and says "DONE".
func TestStreamBenchClientProcess(t *testing.T) {
	base := os.Getenv(streamClientEnv)
	if base == "" {
		t.Skip("the client half of BenchmarkStreamConnections; it runs only as that benchmark's subprocess")
	}
	raw, err := os.ReadFile(os.Getenv(streamClientTokensEnv))
	require.NoError(t, err)
	tokens := strings.Fields(string(raw))
	perUser, err := strconv.Atoi(os.Getenv(streamClientPerUser))
	require.NoError(t, err)

	// One connection per stream, as browsers on different machines would
	// have; the transport never reuses one while its response is open.
	transport := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: -1}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	conns := make([]*benchStream, len(tokens)*perUser)
	var opened, running sync.WaitGroup
	opening := make(chan struct{}, 64) // opens in flight: the listen backlog is finite
	for i := range conns {
		s := &benchStream{streamBenchConn: streamBenchConn{User: i / perUser}}
		conns[i] = s
		opened.Add(1)
		running.Go(func() {
			opening <- struct{}{}
			s.run(ctx, client, base, tokens[s.User], func() { <-opening; opened.Done() })
		})
	}
	opened.Wait()
	ok := 0
	for _, s := range conns {
		if s.OpenErr == "" {
			ok++
		} else if ok == 0 {
			t.Logf("a stream did not open: %s", s.OpenErr)
		}
	}
	fmt.Printf("OPEN %d\n", ok) //nolint:forbidigo // the protocol with the benchmark process

	expected := readExpected(t, len(tokens))
	deadline := time.Now().Add(streamClientDrain)
	for time.Now().Before(deadline) && !allReceived(conns, expected) {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	running.Wait()

	rep := streamBenchReport{Conns: make([]streamBenchConn, len(conns))}
	for i, s := range conns {
		rep.Conns[i] = s.streamBenchConn
	}
	f, err := os.Create(os.Getenv(streamClientOutEnv))
	require.NoError(t, err)
	require.NoError(t, gob.NewEncoder(f).Encode(rep))
	require.NoError(t, f.Close())
	fmt.Println("DONE") //nolint:forbidigo // the protocol with the benchmark process
}

func readExpected(t *testing.T, users int) []int {
	t.Helper()
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 0, 64<<10), 64<<20)
	for in.Scan() {
		rest, ok := strings.CutPrefix(in.Text(), "EXPECT ")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		require.Len(t, fields, users)
		out := make([]int, users)
		for i, f := range fields {
			n, err := strconv.Atoi(f)
			require.NoError(t, err)
			out[i] = n
		}
		return out
	}
	t.Fatalf("stdin ended before EXPECT: %v", in.Err())
	return nil
}

func allReceived(conns []*benchStream, expected []int) bool {
	for _, s := range conns {
		if !s.done.Load() && s.received.Load() < int64(expected[s.User]) {
			return false
		}
	}
	return true
}

// benchStream is one stream; its goroutine owns streamBenchConn until
// it returns.
type benchStream struct {
	streamBenchConn
	received atomic.Int64
	done     atomic.Bool // the stream is over (failed to open or ended)
}

// run opens the stream, calls open once it is open (or failed to), and
// reads it until ctx ends.
func (s *benchStream) run(ctx context.Context, client *http.Client, base, token string, open func()) {
	defer s.done.Store(true)
	var once sync.Once
	defer once.Do(open)
	fail := func(format string, args ...any) { s.OpenErr = fmt.Sprintf(format, args...) }
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v2/stream", nil)
	if err != nil {
		fail("%v", err)
		return
	}
	req.Header.Set("Authorization", "Bearer "+token)
	// Each user's address (the host trusts the local proxy it plays).
	req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.%d.%d.%d", s.User>>16&255, s.User>>8&255, s.User&255))
	resp, err := client.Do(req)
	if err != nil {
		fail("%v", err)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		fail("%d %s", resp.StatusCode, body)
		return
	}
	r := sseclient.New(resp.Body)
	first, err := r.Next()
	if err != nil || !first.HasID {
		fail("first frame: %+v %v", first, err)
		return
	}
	last, err := strconv.ParseInt(first.ID, 10, 64)
	if err != nil {
		fail("first id %q: %v", first.ID, err)
		return
	}
	once.Do(open)
	for {
		f, err := r.NextEvent()
		if err != nil {
			if ctx.Err() == nil {
				s.Ended = err.Error()
			}
			return
		}
		at := time.Now().UnixNano()
		switch f.Event {
		case "trade":
			id, err := strconv.ParseInt(f.ID, 10, 64)
			if err != nil || id != last+1 {
				s.Gaps++
			}
			last = id
			var body struct {
				Trade struct {
					ID int64 `json:"id"`
				} `json:"trade"`
			}
			if err := json.Unmarshal([]byte(f.Data), &body); err != nil {
				s.Ended = fmt.Sprintf("a trade event's data: %v", err)
				return
			}
			s.Trades = append(s.Trades, body.Trade.ID)
			s.RecvAt = append(s.RecvAt, at)
			s.received.Add(1)
		case "reset":
			s.Resets++
			if id, err := strconv.ParseInt(f.ID, 10, 64); err == nil {
				last = id
			}
		}
	}
}

// streamBenchClient is the client subprocess.
type streamBenchClient struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  *bufio.Scanner
	out    string
	stderr *lockedBuffer
}

// The client subprocess's settings.
const (
	streamClientEnv       = "STC_STREAM_BENCH_CLIENT" // the host's base URL
	streamClientTokensEnv = "STC_STREAM_BENCH_TOKENS" // a file, one token per line, user by user
	streamClientPerUser   = "STC_STREAM_BENCH_PER_USER"
	streamClientOutEnv    = "STC_STREAM_BENCH_OUT" // where the report is written (gob)
)

func startStreamBenchClient(b *testing.B, h *streamBenchHost, cfg streamBenchConfig) *streamBenchClient {
	b.Helper()
	dir := b.TempDir()
	tokens := dir + "/tokens"
	require.NoError(b, os.WriteFile(tokens, []byte(strings.Join(h.tokens, "\n")+"\n"), 0o600))
	exe, err := os.Executable()
	require.NoError(b, err)
	c := &streamBenchClient{out: dir + "/report.gob", stderr: &lockedBuffer{}}
	c.cmd = exec.Command(exe, "-test.run=^TestStreamBenchClientProcess$", "-test.bench=^$", "-test.count=1", "-test.timeout=30m")
	c.cmd.Env = append(os.Environ(), streamClientEnv+"="+h.base, streamClientTokensEnv+"="+tokens,
		streamClientPerUser+"="+strconv.Itoa(cfg.perUser), streamClientOutEnv+"="+c.out)
	c.cmd.Stderr = c.stderr
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		b.Fatal(err)
	}
	stdout, err := c.cmd.StdoutPipe()
	require.NoError(b, err)
	c.lines = bufio.NewScanner(stdout)
	require.NoError(b, c.cmd.Start())
	b.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			_ = c.cmd.Process.Kill()
			_ = c.cmd.Wait()
		}
	})
	return c
}

// line returns the client's next protocol line (lines of the test
// framework's own output are skipped).
func (c *streamBenchClient) line(b *testing.B, prefix string) string {
	b.Helper()
	for c.lines.Scan() {
		if rest, ok := strings.CutPrefix(c.lines.Text(), prefix); ok {
			return rest
		}
	}
	b.Fatalf("the client process ended before %q: %v\n%s", prefix, c.lines.Err(), c.stderr.String())
	return ""
}

func (c *streamBenchClient) waitOpen(b *testing.B) int {
	b.Helper()
	n, err := strconv.Atoi(strings.TrimSpace(c.line(b, "OPEN ")))
	require.NoError(b, err)
	return n
}

// finish tells the client how many events each user's streams should
// have received, waits for its report and for it to exit.
func (c *streamBenchClient) finish(b *testing.B, expected []int) streamBenchReport {
	b.Helper()
	parts := make([]string, len(expected))
	for i, n := range expected {
		parts[i] = strconv.Itoa(n)
	}
	_, err := io.WriteString(c.stdin, "EXPECT "+strings.Join(parts, " ")+"\n")
	require.NoError(b, err)
	c.line(b, "DONE")
	require.NoError(b, c.stdin.Close())
	if err := c.cmd.Wait(); err != nil {
		b.Fatalf("client process: %v\n%s", err, c.stderr.String())
	}
	f, err := os.Open(c.out)
	require.NoError(b, err)
	defer f.Close()
	var rep streamBenchReport
	require.NoError(b, gob.NewDecoder(f).Decode(&rep))
	return rep
}
