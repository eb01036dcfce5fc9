package trading

import (
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/stc-trading/stc/sdk/market"
)

// row is one trades row. Money columns are NUMERIC on PostgreSQL and TEXT
// on SQLite; decimal scans both exactly.
type row struct {
	ID            int64               `db:"id"`
	UserID        int64               `db:"user_id"`
	BotID         sql.NullInt64       `db:"bot_id"`
	AccountID     int64               `db:"account_id"`
	Broker        string              `db:"broker"`
	Symbol        string              `db:"symbol"`
	Direction     string              `db:"direction"`
	Amount        decimal.Decimal     `db:"amount"`
	ExpirationMS  int64               `db:"expiration_ms"`
	Status        string              `db:"status"`
	ClientOrderID string              `db:"client_order_id"`
	BrokerOrderID string              `db:"broker_order_id"`
	OpenPrice     decimal.NullDecimal `db:"open_price"`
	ClosePrice    decimal.NullDecimal `db:"close_price"`
	Payout        decimal.NullDecimal `db:"payout"`
	Profit        decimal.NullDecimal `db:"profit"`
	Error         string              `db:"error"`
	OpenedAt      sql.NullInt64       `db:"opened_at"`
	ExpiresAt     sql.NullInt64       `db:"expires_at"`
	ClosedAt      sql.NullInt64       `db:"closed_at"`
	CreatedAt     int64               `db:"created_at"`
	DueAt         sql.NullInt64       `db:"due_at"`
}

// columns are the columns row scans, in a SELECT list.
const columns = `id, user_id, bot_id, account_id, broker, symbol, direction, amount, expiration_ms,
	status, client_order_id, broker_order_id, open_price, close_price, payout, profit, error,
	opened_at, expires_at, closed_at, created_at, due_at`

// activeStatuses are the states the broker still has to resolve, as a SQL
// list.
const activeStatuses = `('pending', 'open', 'unknown')`

func millisTime(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMilli(v.Int64).UTC()
}

// nullBot stores bot id 0 (manual) as NULL.
func nullBot(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: id != 0} }

// norm drops the trailing zeros PostgreSQL's NUMERIC(20,8) adds (10 reads
// back as 10.00000000), so both stores return the same value, and zero as
// the zero Decimal.
func norm(d decimal.Decimal) decimal.Decimal {
	if d.IsZero() {
		return decimal.Decimal{}
	}
	n, err := decimal.NewFromString(d.String())
	if err != nil {
		return d // unreachable: String's output parses
	}
	return n
}

// trade converts r to a Trade.
func (r row) trade() Trade {
	side, err := market.ParseSide(r.Direction)
	if err != nil {
		side = 0 // the CHECK constraint makes this unreachable
	}
	st := Status(r.Status)
	return Trade{
		ID: r.ID, UserID: r.UserID, BotID: r.BotID.Int64, AccountID: r.AccountID,
		Broker: r.Broker, Symbol: r.Symbol, Direction: side, Amount: norm(r.Amount),
		Expiration: time.Duration(r.ExpirationMS) * time.Millisecond, Status: st,
		ClientOrderID: r.ClientOrderID, BrokerOrderID: r.BrokerOrderID,
		OpenPrice: norm(r.OpenPrice.Decimal), ClosePrice: norm(r.ClosePrice.Decimal), Payout: norm(r.Payout.Decimal),
		Profit: norm(r.Profit.Decimal), HasProfit: st.settled() && r.Profit.Valid,
		OpenedAt: millisTime(r.OpenedAt), ExpiresAt: millisTime(r.ExpiresAt), ClosedAt: millisTime(r.ClosedAt),
		CreatedAt: time.UnixMilli(r.CreatedAt).UTC(), Error: r.Error,
	}
}

// getRow reads trade id of userID; ErrNotFound when it does not exist or
// is another user's.
func getRow(tx *sqlx.Tx, userID, id int64) (row, error) {
	var r row
	err := tx.Get(&r, tx.Rebind(`SELECT `+columns+` FROM trades WHERE id = ? AND user_id = ?`), id, userID)
	if errors.Is(err, sql.ErrNoRows) {
		return row{}, fmt.Errorf("%w: trade %d", ErrNotFound, id)
	}
	if err != nil {
		return row{}, fmt.Errorf("trading: read trade %d: %w", id, err)
	}
	return r, nil
}

// truncate shortens an error text for the error column.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary.
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// maxErrorText bounds the stored error text.
const maxErrorText = 1000
