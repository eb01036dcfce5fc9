package trading

import (
	"strconv"
	"strings"
	"time"

	"github.com/stc-trading/stc/host/internal/apperr"
)

// maxZoneSpans bounds the UTC offsets one analytics query converts with:
// a zone with daylight saving time changes twice a year, so this covers
// centuries of history; a pathological range is refused, not run.
const maxZoneSpans = 1000

// offsetSQL returns the SQL term of the UTC offset, in milliseconds, that
// loc has at the instant the column col (Unix milliseconds) holds, for
// instants from first to last: a CASE over the offsets loc uses in that
// range, or one literal when it uses one. SQLite has no time-zone
// database, so Go's resolves the offsets and the term is integer
// arithmetic that both stores run alike. Every number in it is computed
// here; nothing of the client's text reaches the SQL.
func offsetSQL(col string, loc *time.Location, first, last int64) (string, error) {
	t := time.UnixMilli(first).In(loc)
	var b strings.Builder
	for n := 0; ; n++ {
		_, off := t.Zone()
		offMS := strconv.FormatInt(int64(off)*1000, 10)
		_, end := t.ZoneBounds()
		if end.IsZero() || end.UnixMilli() > last {
			if n == 0 {
				return offMS, nil
			}
			return "CASE" + b.String() + " ELSE " + offMS + " END", nil
		}
		if n == maxZoneSpans {
			return "", apperr.Invalid(ErrInvalidRequest, "tz", "the trades span more than %d changes of the time zone's offset; narrow from and to", maxZoneSpans)
		}
		b.WriteString(" WHEN " + col + " < " + strconv.FormatInt(end.UnixMilli(), 10) + " THEN " + offMS)
		t = end.In(loc)
	}
}
