package iqfake_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/plugins/broker/iqoption/iqfake"
)

// client is a bare protocol client.
type client struct {
	t  *testing.T
	ws *websocket.Conn
}

type frame struct {
	Name             string          `json:"name"`
	RequestID        string          `json:"request_id"`
	MicroserviceName string          `json:"microserviceName"`
	Status           int             `json:"status"`
	Msg              json.RawMessage `json:"msg"`
}

func post(t *testing.T, url, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body)) //nolint:noctx // test
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m), string(raw))
	return resp.StatusCode, m
}

func dial(t *testing.T, fk *iqfake.Server) *client {
	t.Helper()
	ws, _, err := websocket.Dial(context.Background(), fk.WSURL(), nil) //nolint:bodyclose // the library owns it
	require.NoError(t, err)
	ws.SetReadLimit(32 << 20)
	t.Cleanup(func() { _ = ws.CloseNow() })
	return &client{t: t, ws: ws}
}

func (c *client) send(v string) {
	require.NoError(c.t, c.ws.Write(context.Background(), websocket.MessageText, []byte(v)))
}

// until reads frames until match, returning every frame read.
func (c *client) until(match func(frame) bool) []frame {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var seen []frame
	for {
		_, data, err := c.ws.Read(ctx)
		require.NoError(c.t, err)
		var f frame
		require.NoError(c.t, json.Unmarshal(data, &f))
		seen = append(seen, f)
		if match(f) {
			return seen
		}
	}
}

func login(t *testing.T, fk *iqfake.Server) (*client, string) {
	t.Helper()
	_, m := post(t, fk.AuthURL(), `{"identifier":"u@example.com","password":"pw"}`)
	ssid, _ := m["ssid"].(string)
	require.Len(t, ssid, 32)
	c := dial(t, fk)
	c.send(`{"name":"authenticate","request_id":"1","msg":{"ssid":"` + ssid + `","protocol":3,"session_id":"","client_session_id":""}}`)
	seen := c.until(func(f frame) bool { return f.Name == "timeSync" })
	assert.Equal(t, "authenticated", seen[0].Name)
	assert.Equal(t, "1", seen[0].RequestID)
	c.send(`{"name":"setOptions","request_id":"2","msg":{"sendResults":true}}`)
	c.until(func(f frame) bool { return f.Name == "result" && f.RequestID == "2" })
	return c, ssid
}

func start(t *testing.T) *iqfake.Server {
	fk, err := iqfake.Start(iqfake.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = fk.Close() })
	fk.AddUser(iqfake.User{Identifier: "u@example.com", Password: "pw"})
	return fk
}

func TestLoginShapes(t *testing.T) {
	fk := start(t)
	fk.AddUser(iqfake.User{Identifier: "2fa@example.com", Password: "pw", TwoFactorCode: "1234"})
	status, m := post(t, fk.AuthURL(), `{"identifier":"u@example.com","password":"bad"}`)
	assert.Equal(t, http.StatusForbidden, status)
	assert.Equal(t, "invalid_credentials", m["code"])

	_, m = post(t, fk.AuthURL(), `{"identifier":"2fa@example.com","password":"pw"}`)
	require.Equal(t, "verify", m["code"])
	verify := strings.Replace(fk.AuthURL(), "/login", "/verify/2fa", 1)
	_, m = post(t, verify, `{"method":"sms","token":"`+str(m["token"])+`"}`)
	smsToken := str(m["token"])
	status, _ = post(t, verify, `{"code":"0000","token":"`+smsToken+`"}`)
	assert.Equal(t, http.StatusBadRequest, status)
	_, m = post(t, verify, `{"code":"1234","token":"`+smsToken+`"}`)
	require.Equal(t, "success", m["code"])
	_, m = post(t, fk.AuthURL(), `{"identifier":"2fa@example.com","password":"pw","token":"`+str(m["token"])+`"}`)
	assert.Equal(t, "success", m["code"])

	fk.SetFaults(iqfake.Faults{LoginLimitTTL: 60})
	status, m = post(t, fk.AuthURL(), `{"identifier":"u@example.com","password":"pw"}`)
	assert.Equal(t, http.StatusTooManyRequests, status)
	assert.Equal(t, map[string]any{"ttl": float64(60)}, m["data"])
}

func TestAuthenticationShapes(t *testing.T) {
	fk := start(t)
	_, ssid := login(t, fk)

	legacy := dial(t, fk)
	legacy.send(`{"name":"ssid","msg":"` + ssid + `","request_id":""}`)
	seen := legacy.until(func(f frame) bool { return f.Name == "profile" })
	assert.Contains(t, string(seen[len(seen)-1].Msg), `"user_id"`)

	bad := dial(t, fk)
	bad.send(`{"name":"authenticate","request_id":"9","msg":{"ssid":"nope","protocol":3}}`)
	seen = bad.until(func(f frame) bool { return f.Name == "authenticated" })
	assert.Equal(t, "false", string(seen[0].Msg))
	assert.Empty(t, seen[0].RequestID, "a refusal carries no request_id")
}

func TestResultBeforeTypedAnswerAndErrors(t *testing.T) {
	fk := start(t)
	c, _ := login(t, fk)
	c.send(`{"name":"sendMessage","request_id":"buy","msg":{"name":"binary-options.open-option","version":"1.0","body":{"price":"2","active_id":76,"expired":1,"direction":"put","option_type_id":3,"user_balance_id":1}}}`)
	seen := c.until(func(f frame) bool { return f.Name == "option" })
	require.Len(t, seen, 2)
	assert.Equal(t, "result", seen[0].Name)
	assert.Equal(t, 4000, seen[1].Status)
	assert.JSONEq(t, `{"message":"invalid request","result":{}}`, string(seen[1].Msg))

	c.send(`{"name":"sendMessage","request_id":"d","msg":{"name":"digital-options.place-digital-option","version":"3.0","body":{"amount":"","asset_id":76,"instrument_id":"x","user_balance_id":1}}}`)
	seen = c.until(func(f frame) bool { return f.Name == "digital-option-placed" })
	assert.Equal(t, 4000, seen[len(seen)-1].Status)
	assert.Contains(t, string(seen[len(seen)-1].Msg), "INVALID_SCHEMA")
}

func TestPushesCarryMicroserviceAndNanosecondAt(t *testing.T) {
	fk := start(t)
	c, _ := login(t, fk)
	c.send(`{"name":"subscribeMessage","request_id":"s_1","msg":{"name":"candle-generated","version":"1.0","params":{"routingFilters":{"active_id":76,"size":60}}}}`)
	c.send(`{"name":"subscribeMessage","request_id":"s_2","msg":{"name":"quote-generated","version":"2.0","params":{"routingFilters":{"active_id":"76"}}}}`)
	c.until(func(f frame) bool { return f.RequestID == "s_2" })
	fk.Advance(61 * time.Second)
	seen := c.until(func(f frame) bool { return f.Name == "quote-generated" })
	var phases []string
	for _, f := range seen {
		if f.Name != "candle-generated" {
			continue
		}
		assert.Equal(t, "quotes", f.MicroserviceName)
		var m struct {
			At    int64  `json:"at"`
			From  int64  `json:"from"`
			Phase string `json:"phase"`
		}
		require.NoError(t, json.Unmarshal(f.Msg, &m))
		assert.Greater(t, m.At, int64(1e18), "at is in nanoseconds")
		phases = append(phases, m.Phase)
	}
	assert.Equal(t, []string{"C", "T"}, phases)
}

func TestSellOptionsClosesAsSold(t *testing.T) {
	fk := start(t)
	c, _ := login(t, fk)
	c.send(`{"name":"sendMessage","request_id":"p","msg":{"name":"core.get-profile","version":"1.0","body":{}}}`)
	prof := c.until(func(f frame) bool { return f.Name == "profile" })
	var p struct {
		Result struct {
			UserID    int64 `json:"user_id"`
			BalanceID int64 `json:"balance_id"`
		} `json:"result"`
	}
	require.NoError(t, json.Unmarshal(prof[len(prof)-1].Msg, &p))
	c.send(`{"name":"subscribeMessage","request_id":"s","msg":{"name":"portfolio.position-changed","version":"3.0","params":{"routingFilters":{"user_id":` + itoa(p.Result.UserID) + `}}}}`)
	exp := fk.Now().Unix() - fk.Now().Unix()%60 + 120
	c.send(`{"name":"sendMessage","request_id":"o","msg":{"name":"binary-options.open-option","version":"2.0","body":{"active_id":76,"direction":"call","expired":` + itoa(exp) + `,"option_type_id":3,"price":1.0,"user_balance_id":` + itoa(p.Result.BalanceID) + `,"profit_percent":92}}}`)
	seen := c.until(func(f frame) bool { return f.Name == "option" })
	var o struct {
		ID int64 `json:"id"`
	}
	require.NoError(t, json.Unmarshal(seen[len(seen)-1].Msg, &o))
	c.send(`{"name":"sendMessage","request_id":"x","msg":{"name":"binary-options.sell-options","version":"3.0","body":{"options_ids":[` + itoa(o.ID) + `]}}}`)
	seen = c.until(func(f frame) bool { return f.Name == "position-changed" && strings.Contains(string(f.Msg), `"sold"`) })
	assert.Equal(t, "portfolio", seen[len(seen)-1].MicroserviceName)
	assert.Empty(t, seen[len(seen)-1].RequestID)
}

func str(v any) string { s, _ := v.(string); return s }

func itoa(v int64) string { b, _ := json.Marshal(v); return string(b) }
