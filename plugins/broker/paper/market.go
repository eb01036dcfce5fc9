package paper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/stc-trading/stc/sdk/broker"
)

// settleInterval is how often (wall time) the settlement loop looks for
// due orders; at scale 1 orders settle within this delay of expiry.
const settleInterval = 100 * time.Millisecond

// markInterval is how often (wall time) the clock high-water mark is saved
// while running; Close saves it too.
const markInterval = 10 * time.Second

// Market is one process-wide paper market. It is safe for concurrent use.
type Market struct {
	cfg         Config
	clock       *clock
	instruments []*instrument
	bySymbol    map[string]*instrument
	cache       *dayCache
	book        book
	dirLock     io.Closer

	accMu    sync.Mutex
	accounts map[string]*account // by username

	ctx    context.Context // ends on Close; parent of every session
	cancel context.CancelFunc

	mu     sync.Mutex // guards closed and wg.Add against Close's Wait
	closed bool
	wg     sync.WaitGroup
	// opMu is held (shared) by calls that write account logs, so Close
	// waits for them before it releases DataDir.
	opMu sync.RWMutex

	closeOnce sync.Once
	closeErr  error
}

// New opens the market on cfg.DataDir: it locks the directory, replays the
// account logs, settles orders that expired while no process was running
// and starts the settlement loop. Close releases everything.
func New(cfg Config) (*Market, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(accountsDir(cfg.DataDir), 0o700); err != nil {
		return nil, fmt.Errorf("paper: create data dir: %w", err)
	}
	lock, err := lockDir(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	m, err := open(cfg, lock)
	if err != nil {
		return nil, errors.Join(err, lock.Close())
	}
	return m, nil
}

func open(cfg Config, lock io.Closer) (*Market, error) {
	accounts, err := loadAccounts(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	notBefore, err := loadClockMark(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	for _, a := range accounts {
		for _, o := range a.orders {
			if o.OpenedAt.After(notBefore) {
				notBefore = o.OpenedAt
			}
		}
	}
	m := &Market{
		cfg:         cfg,
		clock:       newClock(cfg.Now, cfg.TimeScale, notBefore),
		instruments: buildInstruments(cfg.Seed),
		bySymbol:    make(map[string]*instrument),
		cache:       newDayCache(),
		dirLock:     lock,
		accounts:    accounts,
	}
	for _, in := range m.instruments {
		m.bySymbol[in.symbol] = in
	}
	for _, a := range accounts {
		for _, o := range a.orders {
			if !o.State.Final() {
				m.book.add(due{at: o.ExpiresAt.Unix(), acct: a, id: o.ClientOrderID})
			}
		}
	}
	m.settleDue()
	m.ctx, m.cancel = context.WithCancel(context.Background())
	if err := m.spawn(nil, m.loop); err != nil {
		return nil, err
	}
	return m, nil
}

// loop settles due orders and saves the clock mark until Close.
func (m *Market) loop() {
	settle := time.NewTicker(settleInterval)
	defer settle.Stop()
	mark := time.NewTicker(markInterval)
	defer mark.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-settle.C:
			m.settleDue()
		case <-mark.C:
			_ = saveClockMark(m.cfg.DataDir, m.clock.Now()) // best effort; Close saves it again
		}
	}
}

// errShutDown is returned by calls after Close.
func errShutDown() error { return broker.NewError(broker.ErrUnavailable, "paper market is shut down") }

// enter admits a call that writes account logs; the returned func ends it.
// It fails after Close.
func (m *Market) enter() (func(), error) {
	m.opMu.RLock()
	if m.ctx.Err() != nil {
		m.opMu.RUnlock()
		return nil, errShutDown()
	}
	return m.opMu.RUnlock, nil
}

// spawn runs f on a goroutine owned by the Market (and by a session when
// sess is not nil): Close waits for it. It fails after Close.
func (m *Market) spawn(sess *sync.WaitGroup, f func()) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errShutDown()
	}
	m.wg.Add(1)
	if sess != nil {
		sess.Add(1)
	}
	go func() {
		defer m.wg.Done()
		if sess != nil {
			defer sess.Done()
		}
		f()
	}()
	return nil
}

// Close stops the settlement loop and every stream, waits for their
// goroutines, saves the clock mark and unlocks DataDir. Orders still open
// settle when a Market is next opened on DataDir. Idempotent.
func (m *Market) Close() error {
	m.closeOnce.Do(func() {
		m.mu.Lock()
		m.closed = true
		m.cancel()
		m.mu.Unlock()
		m.opMu.Lock() // no writer in flight from here on
		defer m.opMu.Unlock()
		m.wg.Wait()
		m.closeErr = errors.Join(saveClockMark(m.cfg.DataDir, m.clock.Now()), m.dirLock.Close())
	})
	return m.closeErr
}

// Now returns the market time (see clock.go for its definition).
func (m *Market) Now() time.Time { return m.clock.Now() }

// OrderCount returns how many distinct orders the market accepted for the
// account username, for tests and operations. An unknown account is an
// error wrapping os.ErrNotExist.
func (m *Market) OrderCount(username string) (int, error) {
	a, ok := m.account(username)
	if !ok {
		return 0, fmt.Errorf("paper: account %q: %w", username, os.ErrNotExist)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.orders), nil
}

// lookup returns the instrument of symbol.
func (m *Market) lookup(symbol string) (*instrument, error) {
	in, ok := m.bySymbol[symbol]
	if !ok {
		return nil, broker.NewError(broker.ErrUnknownInstrument, "%q", symbol)
	}
	return in, nil
}
