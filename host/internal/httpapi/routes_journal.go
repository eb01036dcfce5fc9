package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// journalEntryJSON is one entry of a bot's journal: an event of the bot's
// own (a signal, a start, a pause and its reason) or of one of its trades,
// as the event stream sent it.
type journalEntryJSON struct {
	ID    int64           `json:"id"`
	Kind  string          `json:"kind"`
	At    time.Time       `json:"at"`
	Bot   json.RawMessage `json:"bot,omitempty"`
	Trade json.RawMessage `json:"trade,omitempty"`
}

// botJournal serves GET /api/v2/bots/{id}/journal: the bot's recent
// events, newest first, paged with cursor (an entry id) as the other
// lists are. It holds what the event log keeps (docs/STREAM.md).
func (s *Server) botJournal(w http.ResponseWriter, r *http.Request) {
	id, e := pathID(r, "id")
	if e != nil {
		writeError(w, e)
		return
	}
	pg, e := parsePage(r)
	if e != nil {
		writeError(w, e)
		return
	}
	userID := mustPrincipal(r).UserID
	// The bot must be the caller's: another user's bot is 404 like any
	// other read.
	if _, err := s.bots.Get(r.Context(), userID, id); err != nil {
		s.fail(w, r, err)
		return
	}
	if s.events == nil {
		writeError(w, &apiError{Status: http.StatusNotFound, Code: "stream_unavailable", Message: "this host keeps no event log"})
		return
	}
	evs, err := s.events.ForBot(r.Context(), userID, id, pg.cursor, pg.limit+1)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var next *string
	if len(evs) > pg.limit {
		evs = evs[:pg.limit]
		c := strconv.FormatInt(evs[len(evs)-1].Seq, 10)
		next = &c
	}
	items := make([]journalEntryJSON, 0, len(evs))
	for _, ev := range evs {
		var body map[string]json.RawMessage
		if err := json.Unmarshal(ev.Payload, &body); err != nil {
			continue
		}
		items = append(items, journalEntryJSON{ID: ev.Seq, Kind: string(ev.Kind), At: ev.At, Bot: body["bot"], Trade: body["trade"]})
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "next_cursor": next})
}
