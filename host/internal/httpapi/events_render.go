package httpapi

import (
	"encoding/json"
	"fmt"

	"github.com/stc-trading/stc/host/internal/accounts"
	"github.com/stc-trading/stc/host/internal/bots"
	"github.com/stc-trading/stc/host/internal/events"
	"github.com/stc-trading/stc/host/internal/trading"
)

// RenderEvent is the event log's Renderer: an event's payload is the
// object the REST API returns for the entity (GET /api/v2/user/trades/{id},
// GET /api/v2/bots/{id}, an item of GET /api/v2/user/accounts), wrapped
// in an object named after its kind, so stream clients and REST clients
// share one schema.
func RenderEvent(obj any) (events.Rendered, error) {
	var (
		r   events.Rendered
		v   any
		err error
	)
	switch e := obj.(type) {
	case trading.Trade:
		r.Kind, r.BotID, v = events.KindTrade, e.BotID, map[string]tradeJSON{"trade": toTradeJSON(e)}
	case bots.Bot:
		r.Kind, r.BotID, v = events.KindBot, e.ID, map[string]botJSON{"bot": toBotJSON(e)}
	case accounts.Account:
		r.Kind, v = events.KindAccount, map[string]accountJSON{"account": toAccountJSON(e)}
	default:
		return r, fmt.Errorf("httpapi: no event for %T", obj)
	}
	r.Payload, err = json.Marshal(v)
	return r, err
}
