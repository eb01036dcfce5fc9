package paper

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Persistence: one append-only JSON-lines log per account under
// DataDir/accounts, named by a hash of the username (usernames may hold
// any character). The first record opens the account; each accepted order
// and each settlement appends one record and fsyncs before the caller is
// answered (a batch of orders appends all its records with one fsync). Appends are O(1) whatever the history length, and the balance
// is rebuilt by replay: initial − Σ stakes + Σ (stake + profit). A crash
// mid-append leaves at most a torn last line, which load truncates.

// Record types.
const (
	recOpen   = "open"
	recOrder  = "order"
	recSettle = "settle"
)

type record struct {
	Type   string        `json:"type"`
	Open   *openRecord   `json:"open,omitempty"`
	Order  *orderRecord  `json:"order,omitempty"`
	Settle *settleRecord `json:"settle,omitempty"`
}

type openRecord struct {
	Username   string          `json:"username"`
	Ref        string          `json:"ref"`
	Salt       []byte          `json:"salt"`
	Hash       []byte          `json:"hash"`
	Iterations int             `json:"iterations"`
	Currency   string          `json:"currency"`
	Balance    decimal.Decimal `json:"balance"`
	CreatedAt  time.Time       `json:"created_at"`
}

// orderRecord stores enums as text so a renumbering in the SDK cannot
// change stored orders.
type orderRecord struct {
	ClientOrderID string          `json:"client_order_id"`
	BrokerOrderID string          `json:"broker_order_id"`
	Symbol        string          `json:"symbol"`
	Side          string          `json:"side"`
	Amount        decimal.Decimal `json:"amount"`
	PayoutPercent float64         `json:"payout_percent"`
	OpenPrice     float64         `json:"open_price"`
	ExpirySeconds int64           `json:"expiry_seconds"`
	OpenedAt      time.Time       `json:"opened_at"`
	ExpiresAt     time.Time       `json:"expires_at"`
}

type settleRecord struct {
	ClientOrderID string          `json:"client_order_id"`
	State         string          `json:"state"`
	ClosePrice    float64         `json:"close_price"`
	Profit        decimal.Decimal `json:"profit"`
	ClosedAt      time.Time       `json:"closed_at"`
}

func accountsDir(dataDir string) string { return filepath.Join(dataDir, "accounts") }

func accountFile(dataDir, username string) string {
	sum := sha256.Sum256([]byte(username))
	return filepath.Join(accountsDir(dataDir), hex.EncodeToString(sum[:16])+".log")
}

func encodeRecord(r record) ([]byte, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("paper: encode %s record: %w", r.Type, err)
	}
	return append(b, '\n'), nil
}

// createLog writes a new account log holding first, atomically, so a crash
// never leaves a half-created account.
func createLog(path string, first record) error {
	b, err := encodeRecord(first)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, b)
}

// appendRecords appends rs to the log at path in one write and one fsync,
// so a batch of orders costs one disk flush. A failed append is undone
// (best effort: the log is cut back to its length before the write): its
// records were never acknowledged, and a complete line left behind would
// be replayed as accepted, or make a retried append a duplicate that
// replay rejects; a torn one would glue onto the next append.
func appendRecords(path string, rs []record) error {
	var buf []byte
	for _, r := range rs {
		b, err := encodeRecord(r)
		if err != nil {
			return err
		}
		buf = append(buf, b...)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("paper: open account log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return fmt.Errorf("paper: stat account log: %w", err)
	}
	undo := func() {
		if f.Truncate(st.Size()) == nil {
			_ = f.Sync()
		}
		_ = f.Close()
	}
	if _, err := f.Write(buf); err != nil {
		undo()
		return fmt.Errorf("paper: append to account log: %w", err)
	}
	if err := f.Sync(); err != nil {
		undo()
		return fmt.Errorf("paper: sync account log: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("paper: close account log: %w", err)
	}
	return nil
}

// readLog parses the log at path. A last line without its newline is a
// torn append from a crash (never acknowledged, since appends fsync before
// answering): it is truncated away so later appends start on a clean line.
// A complete line that does not parse is corruption and an error.
func readLog(path string) ([]record, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("paper: read account log: %w", err)
	}
	var recs []record
	off := 0
	for off < len(data) {
		nl := bytes.IndexByte(data[off:], '\n')
		complete := nl >= 0
		end := len(data)
		if complete {
			end = off + nl
		}
		if !complete { // torn tail: the append never finished, nor was it acknowledged
			if err := os.Truncate(path, int64(off)); err != nil {
				return nil, fmt.Errorf("paper: truncate torn account log %s: %w", path, err)
			}
			break
		}
		var r record
		if err := json.Unmarshal(data[off:end], &r); err != nil {
			return nil, fmt.Errorf("paper: corrupt account log %s at byte %d: %w", path, off, err)
		}
		recs = append(recs, r)
		off = end + 1
	}
	return recs, nil
}

// listLogs returns the account log paths under dataDir.
func listLogs(dataDir string) ([]string, error) {
	entries, err := os.ReadDir(accountsDir(dataDir))
	if err != nil {
		return nil, fmt.Errorf("paper: list accounts: %w", err)
	}
	var out []string
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".log") {
			out = append(out, filepath.Join(accountsDir(dataDir), e.Name()))
		}
	}
	return out, nil
}

// writeFileAtomic replaces path with data: temp file in the same
// directory, fsync, rename, fsync of the directory, so readers see the old
// or the new content and never a mix, even after a power cut.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("paper: create temp file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		_ = f.Close()
		return fmt.Errorf("paper: write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("paper: sync %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("paper: close %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("paper: rename into %s: %w", path, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("paper: open dir %s: %w", dir, err)
	}
	defer func() { _ = d.Close() }()
	// Some platforms cannot fsync a directory; the rename is still atomic.
	if err := d.Sync(); err != nil && !errors.Is(err, fs.ErrInvalid) && !errors.Is(err, errors.ErrUnsupported) {
		return fmt.Errorf("paper: sync dir %s: %w", dir, err)
	}
	return nil
}
