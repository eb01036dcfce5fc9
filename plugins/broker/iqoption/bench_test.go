package iqoption_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/stc-trading/stc/plugins/broker/iqoption"
	"github.com/stc-trading/stc/plugins/broker/iqoption/iqfake"
	"github.com/stc-trading/stc/sdk/broker"
)

// benchSessions is how many user sessions one plugin process holds.
const benchSessions = 1000

// BenchmarkPluginSessions1000 runs the real plugin binary with 1,000
// concurrent user sessions (1,000 users, 1,000 WebSockets) against the
// fake on a real-time clock, and reports the plugin's resident memory per
// session and the PlaceOrder round trip (host → plugin → fake → back)
// spread over the sessions. Run with -benchtime=Nx: setup dominates.
func BenchmarkPluginSessions1000(b *testing.B) { benchPlugin(b, benchSessions) }

// BenchmarkPluginSessions1 is the same with one session: the gRPC hop
// without the load of 999 other sockets.
func BenchmarkPluginSessions1(b *testing.B) { benchPlugin(b, 1) }

func benchPlugin(b *testing.B, n int) {
	fk := benchFake(b)
	bc, pid := launch(b, fk.Env())
	ctx := context.Background()
	idle := rssKB(b, pid)
	sessions := make([]broker.Broker, n)
	errs := make([]error, n)
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	for i := range sessions {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			s := bc.Session(fmt.Sprintf("bench-%d", i))
			_, errs[i] = s.Open(ctx, broker.OpenRequest{Mode: broker.Practice, Credentials: map[string]string{"identifier": benchUser(i), "password": "pw"}})
			sessions[i] = s
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	time.Sleep(2 * time.Second) // let the post-login allocations settle and a few timeSyncs arrive
	loaded := rssKB(b, pid)
	sockets := fk.Connections()
	lat := placeOrders(b, sessions)
	report(b, lat)
	b.ReportMetric(float64(loaded-idle)/float64(n), "RSS-KB/session")
	b.ReportMetric(float64(loaded)/1024, "RSS-MB")
	b.ReportMetric(float64(sockets), "sockets")
}

// BenchmarkInProcessOrder is the same order through the adapter without
// the plugin process (one session): the adapter's own cost.
func BenchmarkInProcessOrder(b *testing.B) { benchInProcess(b, "") }

// BenchmarkInProcessOrderJournaled adds the order journal (one fsync per
// order, before it is sent) on the test's temp dir.
func BenchmarkInProcessOrderJournaled(b *testing.B) { benchInProcess(b, b.TempDir()) }

func benchInProcess(b *testing.B, dataDir string) {
	fk := benchFake(b)
	s := adapter(b, fk, func(c *iqoption.Config) { c.DataDir = dataDir }).Factory()()
	if _, err := s.Open(context.Background(), broker.OpenRequest{Mode: broker.Practice, Credentials: map[string]string{"identifier": benchUser(0), "password": "pw"}}); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = s.Close(context.Background()) }()
	report(b, placeOrders(b, []broker.Broker{s}))
}

// BenchmarkRawWebSocketOrder is the floor: a bare client on one socket
// sending the same open-option frame and waiting for its answer.
func BenchmarkRawWebSocketOrder(b *testing.B) {
	fk := benchFake(b)
	ctx := context.Background()
	ssid := rawLogin(b, fk, benchUser(0))
	ws, _, err := websocket.Dial(ctx, fk.WSURL(), nil) //nolint:bodyclose // the library owns the handshake body
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = ws.CloseNow() }()
	ws.SetReadLimit(32 << 20)
	send := func(id, name string, msg any) {
		raw, _ := json.Marshal(map[string]any{"name": name, "request_id": id, "msg": msg})
		if err := ws.Write(ctx, websocket.MessageText, raw); err != nil {
			b.Fatal(err)
		}
	}
	await := func(id, name string) json.RawMessage {
		for {
			_, data, err := ws.Read(ctx)
			if err != nil {
				b.Fatal(err)
			}
			var f struct {
				Name      string          `json:"name"`
				RequestID string          `json:"request_id"`
				Msg       json.RawMessage `json:"msg"`
			}
			if json.Unmarshal(data, &f) == nil && f.RequestID == id && f.Name == name {
				return f.Msg
			}
		}
	}
	send("a", "authenticate", map[string]any{"ssid": ssid, "protocol": 3})
	await("a", "authenticated")
	send("o", "setOptions", map[string]any{"sendResults": true})
	await("o", "result")
	send("p", "sendMessage", map[string]any{"name": "core.get-profile", "version": "1.0", "body": map[string]any{}})
	var prof struct {
		Result struct {
			BalanceID int64 `json:"balance_id"`
		} `json:"result"`
	}
	_ = json.Unmarshal(await("p", "profile"), &prof)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now := fk.Now().Unix()
		exp := now - now%60 + 60
		if exp-30 <= now {
			exp += 60
		}
		id := "b" + strconv.Itoa(i)
		t0 := time.Now()
		send(id, "sendMessage", map[string]any{"name": "binary-options.open-option", "version": "2.0", "body": map[string]any{
			"active_id": 76, "direction": "call", "expired": exp, "option_type_id": 3, "price": 1, "user_balance_id": prof.Result.BalanceID, "profit_percent": 92,
		}})
		await(id, "option")
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	report(b, lat)
}

func benchUser(i int) string { return fmt.Sprintf("bench%04d@example.com", i) }

// benchFake runs a real-time fake (timeSync once a second) with the bench
// users, each with enough play money for every order of a run.
func benchFake(b *testing.B) *iqfake.Server {
	b.Helper()
	fk, err := iqfake.Start(iqfake.Config{Scale: 1, TickEvery: time.Second, Seed: 9})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = fk.Close() })
	for i := 0; i < benchSessions; i++ {
		fk.AddUser(iqfake.User{Identifier: benchUser(i), Password: "pw", Practice: 1e6})
	}
	return fk
}

// placeOrders places b.N one-minute orders one at a time, round-robin
// over sessions, and returns each round trip.
func placeOrders(b *testing.B, sessions []broker.Broker) []time.Duration {
	b.Helper()
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := sessions[i%len(sessions)].PlaceOrder(ctx, order(fmt.Sprintf("bench-%d", i), "EURUSD-OTC", time.Minute, "1")); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	return lat
}

func report(b *testing.B, lat []time.Duration) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

func rawLogin(b *testing.B, fk *iqfake.Server, user string) string {
	b.Helper()
	resp, err := http.Post(fk.AuthURL(), "application/json", strings.NewReader(`{"identifier":"`+user+`","password":"pw"}`)) //nolint:noctx // benchmark setup
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var a struct {
		SSID string `json:"ssid"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		b.Fatal(err)
	}
	return a.SSID
}

func rssKB(b *testing.B, pid int) int {
	b.Helper()
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		b.Skipf("no /proc: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.Fields(rest)[0])
			return n
		}
	}
	b.Fatal("VmRSS not found")
	return 0
}
