package iqoption_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/plugins/broker/iqoption"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
)

// scripted is a server that is not iqfake: it answers with canned frames in
// the minimal or odd shapes real servers and the vendor's own mocks use —
// authenticated without request_id, no result for setOptions, nameless
// result frames, numeric request ids, status as a string, amounts as
// strings, the profile without its result wrapper, initialization data
// wrapped in result, pushes without request_id and unknown fields.
func scripted(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v2/login", func(w http.ResponseWriter, _ *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "ssid", Value: "0123456789abcdef0123456789abcdef"})
		_, _ = w.Write([]byte(`{"code":"success","company_id":1,"created_at":1,"token":"x","user_id":5}`)) // ssid only in the cookie
	})
	mux.HandleFunc("GET /echo/websocket", func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer func() { _ = ws.CloseNow() }()
		ctx := r.Context()
		send := func(s string) { _ = ws.Write(ctx, websocket.MessageText, []byte(s)) }
		now := time.Date(2026, 3, 4, 12, 0, 10, 0, time.UTC)
		for {
			_, data, err := ws.Read(ctx)
			if err != nil {
				return
			}
			var f struct {
				Name      string `json:"name"`
				RequestID string `json:"request_id"`
				Msg       struct {
					Name string          `json:"name"`
					Body json.RawMessage `json:"body"`
				} `json:"msg"`
			}
			_ = json.Unmarshal(data, &f)
			id := f.RequestID
			switch f.Name {
			case "authenticate":
				send(`{"name":"timeSync","msg":` + itoa(now.UnixMilli()) + `}`)
				send(`{"name":"authenticated","msg":true,"client_session_id":"c"}`)
				send(`{"name":"front","msg":"ws.example","session_id":"1"}`)
			case "setOptions", "heartbeat":
			case "subscribeMessage", "unsubscribeMessage":
				send(`{"msg":{"success":true},"request_id":` + id + `}`) // numeric id, no name
			case "sendMessage":
				send(`{"name":"result","request_id":"` + id + `","msg":{"success":true,"reason":null}}`)
				send(`{"name":"balance-changed","microserviceName":"internal-billing","msg":{"unrelated":true}}`)
				switch f.Msg.Name {
				case "core.get-profile":
					send(`{"request_id":"` + id + `","name":"profile","msg":{"user_id":5,"group_id":7,"currency":"USD","extra":{"deep":[1]}},"status":"2000"}`)
				case "balances.get-available-balances":
					send(`{"request_id":"` + id + `","name":"balances","msg":[{"id":11,"type":1,"amount":"0"},{"id":12,"type":4,"amount":"5080.88","currency":"USD","new":1}],"status":2000}`)
				case "binary-options.get-initialization-data":
					send(`{"request_id":"` + id + `","name":"initialization-data","msg":{"result":{"turbo":{"actives":{"2111":{"name":"front.AUDUSD-OTC","enabled":1,"is_suspended":0,"deadtime":"30","minimal_bet":"1","maximal_bet":"1000","option":{"expiration_times":[60],"profit":{"commission":"13"}}}}},"binary":{"actives":{}}}},"status":2000}`)
				case "quotes-history.get-candles":
					send(`{"request_id":"` + id + `","name":"candles","msg":{"candles":[{"id":2,"from":1772625540,"to":1772625600,"open":"0.65","close":0.66,"min":0.64,"max":0.67,"volume":3,"at":1772625600000000000},{"id":1,"from":1772625480,"to":1772625540,"open":0.64,"close":0.65,"min":0.63,"max":0.66,"volume":2}]},"status":2000}`)
				case "binary-options.open-option":
					var b struct {
						Price json.RawMessage `json:"price"`
					}
					_ = json.Unmarshal(f.Msg.Body, &b)
					if strings.HasPrefix(string(b.Price), `"`) {
						send(`{"request_id":"` + id + `","name":"option","msg":{"message":"invalid request","result":{}},"status":4000}`)
						continue
					}
					send(`{"request_id":"` + id + `","name":"option","msg":{"id":"14147912599","price":1,"exp":1772625660,"value":0.655,"profit_income":187,"robot_id":null},"status":2000}`)
					send(`{"name":"position-changed","microserviceName":"portfolio","msg":{"id":"p","external_id":14147912599,"version":2,"status":"closed","close_reason":"win","invest":"1","close_profit":"1.87","close_quote":0.66,"close_time":1772625660000,"brand_new":{"x":1}}}`)
				default:
					send(`{"request_id":"` + id + `","name":"` + f.Msg.Name + `","msg":{"message":"invalid request","result":{}},"status":4000}`)
				}
			}
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestAgainstAScriptedServerWithOddShapes(t *testing.T) {
	srv := scripted(t)
	a, err := iqoption.New(iqoption.Config{
		AuthURL: srv.URL + "/api/v2/login", WSURL: "ws" + strings.TrimPrefix(srv.URL, "http") + "/echo/websocket",
		RequestTimeout: 10 * time.Second,
	})
	require.NoError(t, err)
	ctx := context.Background()
	s := a.Factory()()
	acct, err := s.Open(ctx, broker.OpenRequest{Mode: broker.Practice, Credentials: map[string]string{"identifier": "x", "password": "y"}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close(ctx) })
	assert.Equal(t, "5080.88", acct.Balance.String())
	assert.Equal(t, "USD", acct.Currency)
	assert.Equal(t, "0123456789abcdef0123456789abcdef", acct.ResumeCredentials["ssid"], "the ssid from the cookie")

	list, err := s.Instruments(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "AUDUSD-OTC", list[0].Symbol)
	assert.InDelta(t, 87, list[0].PayoutPercent, 1e-9)

	page, err := s.Candles(ctx, broker.CandlesRequest{Symbol: "AUDUSD-OTC", Timeframe: market.M1, From: 1772625480, To: 1772625600})
	require.NoError(t, err)
	require.Len(t, page.Candles, 2)
	assert.Equal(t, int64(1772625480), page.Candles[0].Time, "sorted ascending")

	results, err := s.OrderResults(ctx)
	require.NoError(t, err)
	o, err := s.PlaceOrder(ctx, broker.OrderRequest{ClientOrderID: "r1", Symbol: "AUDUSD-OTC", Side: market.Put, Amount: decimalOne(), Expiry: time.Minute})
	require.NoError(t, err, "price went out as a JSON number")
	assert.Equal(t, "14147912599", o.BrokerOrderID)
	final := next(t, results)
	assert.Equal(t, broker.Won, final.State)
	assert.Equal(t, "0.87", final.Profit.String())
}
