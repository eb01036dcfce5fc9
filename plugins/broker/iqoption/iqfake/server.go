// Package iqfake is a protocol-faithful fake IQ Option server for tests:
// the HTTP login (with the SMS second factor and the login limit) and the
// JSON-over-WebSocket API described in docs/brokers/IQOPTION.md (§16 lists
// what the fake emulates), with a deterministic clock and price path,
// settlement pushes and fault injection. Message shapes follow the
// recorded messages of §14; where no recording exists (the exact text or
// status of a "no money" refusal, §9.4) the fake says so in a comment.
//
// The clock is either manual (Config.Scale 0: only Advance moves it, and
// every Advance runs the settlement, candle and timeSync steps before it
// returns) or scaled (Scale > 0: fake seconds per wall second, stepped by
// a ticker). Prices are a pure function of (seed, active, second).
package iqfake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"
)

// Config configures a Server.
type Config struct {
	// Start is the clock's initial time; zero means Wednesday
	// 2026-03-04 12:00:00 UTC.
	Start time.Time
	// Scale is fake seconds per wall second; zero is a manual clock.
	Scale float64
	// TickEvery is the wall period of the scaled clock's steps; default 50 ms.
	TickEvery time.Duration
	// Seed selects the price paths.
	Seed uint64
	// Actives replaces the default catalogue (DefaultActives).
	Actives []Active
}

// User is an account of the fake.
type User struct {
	Identifier string
	Password   string
	// TwoFactorCode, when set, makes the login ask for an SMS code.
	TwoFactorCode string
	// UserID is the profile's user_id; zero assigns one.
	UserID int64
	// Practice and Real are the opening balances; Practice zero means 10000.
	Practice, Real float64
}

// Faults switch failure modes on and off; see Server.SetFaults.
type Faults struct {
	// LoginLimitTTL > 0 answers every login with HTTP 429 and this ttl.
	LoginLimitTTL int
	// NoTimeSync stops the timeSync pushes.
	NoTimeSync bool
	// PurchaseOver refuses every option with "Time for purchasing options
	// is over, please try again later."
	PurchaseOver bool
	// DropBeforeAnswer closes the socket right after the next option is
	// opened and before its answer is sent (one-shot).
	DropBeforeAnswer bool
	// DropBeforeOpen closes the socket when the next open-option arrives,
	// before anything is opened (one-shot): the client cannot know.
	DropBeforeOpen bool
	// SwallowAnswer opens the next option and pushes its position but never
	// answers the request (one-shot): the client times out on a live socket.
	SwallowAnswer bool
	// RejectByRisks answers the next option with an id and then an
	// option-rejected push, reason rejected_by_risks (one-shot).
	RejectByRisks bool
	// ForceResult, when set ("win", "loose" or "equal"), decides every
	// settlement instead of the price path.
	ForceResult string
	// RejectAuth answers authenticate with false and closes the socket.
	RejectAuth bool
	// RefuseWS answers WebSocket upgrades with HTTP 503 (server away).
	RefuseWS bool
}

// Server is a running fake.
type Server struct {
	cfg Config
	ln  net.Listener
	srv *http.Server

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	nowMS     int64
	faults    Faults
	users     map[string]*user // by identifier
	byID      map[int64]*user
	ssids     map[string]*user
	tokens    map[string]*twoFA
	actives   map[int64]*Active
	order     []int64 // active ids in catalogue order
	conns     map[*wsConn]struct{}
	counter   uint64
	optionSeq int64
	stats     Stats
}

// Stats counts what the fake saw, for assertions.
type Stats struct {
	Logins, Authentications, Options, Heartbeats int
	SMSSent                                      int
	// CandleRequests counts get-candles; MaxCandleCount is the largest
	// count asked for.
	CandleRequests, MaxCandleCount int
	// Subscribes counts subscribeMessage frames.
	Subscribes int
}

// Position is a read-only view of an option, for assertions.
type Position struct {
	OptionID     int64
	ActiveID     int64
	OptionTypeID int
	Direction    string
	Expired      int64
	Invest       float64
	BalanceID    int64
	Status       string
	CloseReason  string
}

// Positions lists every option of a user, open and closed, oldest first.
func (s *Server) Positions(userID int64) []Position {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.byID[userID]
	if u == nil {
		return nil
	}
	var out []Position
	for _, list := range [][]*position{u.closed, u.open} {
		for _, p := range list {
			out = append(out, Position{OptionID: p.optionID, ActiveID: p.active.ID, OptionTypeID: p.typeID, Direction: p.dir,
				Expired: p.exp, Invest: p.invest, BalanceID: p.balanceID, Status: p.status, CloseReason: p.closeReason})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].OptionID < out[j].OptionID })
	return out
}

// Balances returns a user's practice and real amounts.
func (s *Server) Balances(userID int64) (practice, real float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.byID[userID]
	if u == nil {
		return 0, 0
	}
	return u.balances[u.practiceID], u.balances[u.realID]
}

type user struct {
	User
	practiceID, realID int64
	balances           map[int64]float64 // by balance id
	open               []*position
	closed             []*position
}

type twoFA struct {
	u     *user
	stage string // "login" (send a code), "sms" (verify the code), "ok" (log in)
}

// Start runs a fake on 127.0.0.1 with a random port.
func Start(cfg Config) (*Server, error) {
	if cfg.Start.IsZero() {
		cfg.Start = time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	}
	if cfg.TickEvery <= 0 {
		cfg.TickEvery = 50 * time.Millisecond
	}
	if cfg.Actives == nil {
		cfg.Actives = DefaultActives()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("iqfake: listen: %w", err)
	}
	s := &Server{
		cfg: cfg, ln: ln, nowMS: cfg.Start.UnixMilli(),
		users: map[string]*user{}, byID: map[int64]*user{}, ssids: map[string]*user{}, tokens: map[string]*twoFA{},
		actives: map[int64]*Active{}, conns: map[*wsConn]struct{}{}, optionSeq: 14147912586,
	}
	for i := range cfg.Actives {
		a := cfg.Actives[i]
		s.actives[a.ID] = &a
		s.order = append(s.order, a.ID)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v2/login", s.handleLogin)
	mux.HandleFunc("POST /api/v2/verify/2fa", s.handleVerify)
	mux.HandleFunc("GET /echo/websocket", s.handleWS)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			panic(fmt.Sprintf("iqfake: serve: %v", err))
		}
	}()
	if cfg.Scale > 0 {
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.runClock() }()
	}
	return s, nil
}

// Close stops the server and every connection.
func (s *Server) Close() error {
	s.cancel()
	s.mu.Lock()
	for c := range s.conns {
		c.kill()
	}
	s.mu.Unlock()
	err := s.srv.Close()
	s.wg.Wait()
	if err != nil {
		return fmt.Errorf("iqfake: close: %w", err)
	}
	return nil
}

// AuthURL is the login endpoint.
func (s *Server) AuthURL() string { return "http://" + s.ln.Addr().String() + "/api/v2/login" }

// WSURL is the WebSocket endpoint.
func (s *Server) WSURL() string { return "ws://" + s.ln.Addr().String() + "/echo/websocket" }

// Env is the plugin environment pointing the adapter at this fake.
func (s *Server) Env() map[string]string {
	return map[string]string{"STC_IQOPTION_AUTH_URL": s.AuthURL(), "STC_IQOPTION_WS_URL": s.WSURL()}
}

// Now is the fake clock.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.UnixMilli(s.nowMS).UTC()
}

// Advance moves a manual clock forward by d and runs every due step
// (settlements, candle pushes, timeSync) before returning.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	to := s.nowMS + d.Milliseconds()
	s.mu.Unlock()
	s.stepTo(to)
}

func (s *Server) runClock() {
	wallStart := time.Now()
	t := time.NewTicker(s.cfg.TickEvery)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			elapsed := float64(time.Since(wallStart).Milliseconds()) * s.cfg.Scale
			s.stepTo(s.cfg.Start.UnixMilli() + int64(elapsed))
		}
	}
}

// AddUser registers an account and returns its user id.
func (s *Server) AddUser(u User) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.UserID == 0 {
		u.UserID = 72572501 + int64(len(s.users))
	}
	if u.Practice == 0 {
		u.Practice = 10000
	}
	x := &user{User: u, balances: map[int64]float64{}}
	x.practiceID = 356288299 + u.UserID%1000*10
	x.realID = x.practiceID + 1
	x.balances[x.practiceID] = u.Practice
	x.balances[x.realID] = u.Real
	s.users[u.Identifier] = x
	s.byID[u.UserID] = x
	return u.UserID
}

// SetFaults replaces the fault switches.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
}

// UpdateFaults edits the fault switches under the server's lock.
func (s *Server) UpdateFaults(edit func(*Faults)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	edit(&s.faults)
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// SetSuspended suspends or resumes an active.
func (s *Server) SetSuspended(activeID int64, suspended bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.actives[activeID]; a != nil {
		a.Suspended = suspended
	}
}

// SetCommission changes an active's turbo commission and pushes
// commission-changed to subscribers.
func (s *Server) SetCommission(activeID int64, commission float64) {
	s.mu.Lock()
	a := s.actives[activeID]
	if a == nil {
		s.mu.Unlock()
		return
	}
	a.TurboCommission = commission
	msg := fmt.Sprintf(`{"name":"commission-changed","microserviceName":"binary-options","msg":{"instrument_type":"turbo-option","active_id":%d,"commission":{"value":%s}}}`,
		activeID, strconv.FormatFloat(commission, 'f', -1, 64))
	var targets []*wsConn
	for c := range s.conns {
		if c.subscribedLocked("commission-changed", nil) {
			targets = append(targets, c)
		}
	}
	s.mu.Unlock()
	for _, c := range targets {
		c.enqueue([]byte(msg))
	}
}

// Inject sends a raw frame to every authenticated connection of a user,
// to test message shapes the fake would not produce by itself.
func (s *Server) Inject(userID int64, raw []byte) {
	s.mu.Lock()
	var targets []*wsConn
	for c := range s.conns {
		if c.u != nil && c.u.UserID == userID {
			targets = append(targets, c)
		}
	}
	s.mu.Unlock()
	for _, c := range targets {
		c.enqueue(raw)
	}
}

// DropConnections closes every WebSocket (a network blip).
func (s *Server) DropConnections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.kill()
	}
}

// Connections is the number of open WebSockets.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// tokenLocked returns a deterministic 32-hex token.
func (s *Server) tokenLocked(kind string) string {
	s.counter++
	h := sha256.Sum256([]byte(fmt.Sprintf("%d/%s/%d", s.cfg.Seed, kind, s.counter)))
	return hex.EncodeToString(h[:16])
}
