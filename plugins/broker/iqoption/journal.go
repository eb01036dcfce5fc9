package iqoption

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
)

// journalEntry is one line of an account's order journal.
type journalEntry struct {
	K          string  `json:"k"` // place, bound, final, forget
	ID         string  `json:"id"`
	Symbol     string  `json:"symbol,omitempty"`
	Side       int     `json:"side,omitempty"`
	Amount     string  `json:"amount,omitempty"`
	ExpiryS    int64   `json:"expiry_s,omitempty"`
	Active     int64   `json:"active,omitempty"`
	Type       int     `json:"type,omitempty"`
	Exp        int64   `json:"exp,omitempty"`
	Dir        string  `json:"dir,omitempty"`
	Payout     float64 `json:"payout,omitempty"`
	OpenedMS   int64   `json:"opened_ms,omitempty"`
	Option     int64   `json:"option,omitempty"`
	OpenPrice  float64 `json:"open_price,omitempty"`
	State      int     `json:"state,omitempty"`
	Profit     string  `json:"profit,omitempty"`
	ClosePrice float64 `json:"close_price,omitempty"`
	ClosedMS   int64   `json:"closed_ms,omitempty"`
	Reason     string  `json:"reason,omitempty"`
}

// journal is the append-only JSON-lines file of one account's orders
// (user and mode). It makes PlaceOrder idempotent across plugin restarts:
// the "place" line is fsynced before the order is sent, so a restarted
// process knows every order it may have sent and reconciles it instead of
// ever sending it again. Later lines (bound, final) are not fsynced: the
// broker's position history can rebuild them.
type journal struct {
	path string
	mu   sync.Mutex
}

// journals hands out one journal per file, shared by the sessions of one
// Adapter.
type journals struct {
	mu sync.Mutex
	m  map[string]*journal
}

// journalFor returns the journal of an account, or nil without a DataDir.
func (a *Adapter) journalFor(userID int64, mode broker.Mode) *journal {
	if a.cfg.DataDir == "" {
		return nil
	}
	path := filepath.Join(a.cfg.DataDir, fmt.Sprintf("orders-%d-%s.jsonl", userID, mode))
	a.journals.mu.Lock()
	defer a.journals.mu.Unlock()
	j := a.journals.m[path]
	if j == nil {
		j = &journal{path: path}
		a.journals.m[path] = j
	}
	return j
}

// append writes one entry, fsynced when durable is set. A nil journal
// accepts everything.
func (j *journal) append(e journalEntry, durable bool) error {
	if j == nil {
		return nil
	}
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("iqoption: journal: %w", err)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(j.path), 0o700); err != nil {
		return fmt.Errorf("iqoption: journal: %w", err)
	}
	f, err := os.OpenFile(j.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("iqoption: journal: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil && durable {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("iqoption: journal %s: %w", j.path, err)
	}
	return nil
}

// load folds the journal into orders. A torn last line (a crash while
// appending) is skipped.
func (j *journal) load() (map[string]*orderRec, error) {
	out := map[string]*orderRec{}
	if j == nil {
		return out, nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	f, err := os.Open(j.path)
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("iqoption: journal: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	lines := 0
	for sc.Scan() {
		lines++
		var e journalEntry
		if json.Unmarshal(sc.Bytes(), &e) != nil || e.ID == "" {
			continue
		}
		foldEntry(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("iqoption: journal %s: %w", j.path, err)
	}
	if lines > compactAfter {
		if err := j.compactLocked(out, time.Now().Add(-keepFinal)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

const (
	// compactAfter is the line count above which load rewrites the journal.
	compactAfter = 4096
	// keepFinal is how long final orders stay in a compacted journal.
	keepFinal = 7 * 24 * time.Hour
)

// compactLocked rewrites the journal with the live orders and the final
// ones closed after cutoff (dropping the rest from m too), atomically.
func (j *journal) compactLocked(m map[string]*orderRec, cutoff time.Time) error {
	tmp := j.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("iqoption: journal compaction: %w", err)
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for id, rec := range m {
		if rec.o.State.Final() && rec.o.ClosedAt.Before(cutoff) {
			delete(m, id)
			continue
		}
		err = errors.Join(err, enc.Encode(placeEntry(rec)))
		if rec.optionID != 0 {
			err = errors.Join(err, enc.Encode(journalEntry{K: "bound", ID: id, Option: rec.optionID, OpenPrice: rec.o.OpenPrice}))
		}
		if rec.o.State.Final() {
			err = errors.Join(err, enc.Encode(finalEntry(rec.o)))
		}
	}
	err = errors.Join(err, w.Flush(), f.Sync(), f.Close())
	if err == nil {
		err = os.Rename(tmp, j.path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("iqoption: journal compaction: %w", err)
	}
	return nil
}

func foldEntry(m map[string]*orderRec, e journalEntry) {
	rec := m[e.ID]
	switch e.K {
	case "place":
		amount, _ := decimal.NewFromString(e.Amount)
		done := make(chan struct{})
		close(done)
		m[e.ID] = &orderRec{
			activeID: e.Active, typeID: e.Type, exp: e.Exp, direction: e.Dir, unknown: true, done: done,
			o: broker.Order{
				ClientOrderID: e.ID, Symbol: e.Symbol, Side: market.Side(e.Side), Amount: amount, State: broker.Pending,
				PayoutPercent: e.Payout, Expiry: time.Duration(e.ExpiryS) * time.Second,
				OpenedAt: time.UnixMilli(e.OpenedMS).UTC(), ExpiresAt: time.Unix(e.Exp, 0).UTC(),
			},
		}
	case "bound":
		if rec == nil {
			return
		}
		rec.optionID, rec.unknown = e.Option, false
		rec.o.BrokerOrderID = strconv.FormatInt(e.Option, 10)
		if !rec.o.State.Final() {
			rec.o.State = broker.Open
		}
		if e.OpenPrice != 0 {
			rec.o.OpenPrice = e.OpenPrice
		}
	case "final":
		if rec == nil {
			return
		}
		rec.unknown = false
		rec.o.State = broker.OrderState(e.State)
		rec.o.Profit, _ = decimal.NewFromString(e.Profit)
		rec.o.ClosePrice, rec.o.RejectReason = e.ClosePrice, e.Reason
		rec.o.ClosedAt = time.UnixMilli(e.ClosedMS).UTC()
	case "forget":
		delete(m, e.ID)
	}
}

// placeEntry is the durable line written before an order is sent.
func placeEntry(rec *orderRec) journalEntry {
	return journalEntry{
		K: "place", ID: rec.o.ClientOrderID, Symbol: rec.o.Symbol, Side: int(rec.o.Side), Amount: rec.o.Amount.String(),
		ExpiryS: int64(rec.o.Expiry / time.Second), Active: rec.activeID, Type: rec.typeID, Exp: rec.exp, Dir: rec.direction,
		Payout: rec.o.PayoutPercent, OpenedMS: rec.o.OpenedAt.UnixMilli(),
	}
}

// finalEntry records a final order.
func finalEntry(o broker.Order) journalEntry {
	return journalEntry{
		K: "final", ID: o.ClientOrderID, State: int(o.State), Profit: o.Profit.String(), ClosePrice: o.ClosePrice,
		ClosedMS: o.ClosedAt.UnixMilli(), Reason: o.RejectReason,
	}
}
