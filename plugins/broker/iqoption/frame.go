package iqoption

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// frame is one server → client WebSocket message, decoded loosely: unknown
// fields are ignored, request_id may be a string or a number and may be
// missing (pushes), name may be missing (the vendor mock's bare result
// frames), and msg stays raw until its handler knows its shape.
type frame struct {
	Name             string          `json:"name"`
	RequestID        flexString      `json:"request_id"`
	MicroserviceName string          `json:"microserviceName"`
	Status           flexInt         `json:"status"`
	Msg              json.RawMessage `json:"msg"`
}

// errBadFrame is wrapped by decodeFrame's errors.
var errBadFrame = errors.New("iqoption: malformed frame")

// decodeFrame parses one message. It fails only on input that is not a
// JSON object or that carries neither a name nor a request id.
func decodeFrame(data []byte) (frame, error) {
	var f frame
	if err := json.Unmarshal(data, &f); err != nil {
		return frame{}, fmt.Errorf("%w: %w", errBadFrame, err)
	}
	if f.Name == "" && f.RequestID == "" {
		return frame{}, fmt.Errorf("%w: neither name nor request_id", errBadFrame)
	}
	return f, nil
}

// isResult reports whether f is a sendResults acknowledgement: named
// "result", or nameless with a msg holding "success" (the vendor mock).
func (f frame) isResult() bool {
	if f.Name == "result" {
		return true
	}
	return f.Name == "" && bytes.Contains(f.Msg, []byte(`"success"`))
}

// resultMsg is the msg of a result frame.
type resultMsg struct {
	Success bool            `json:"success"`
	Reason  json.RawMessage `json:"reason"`
}

// errorMsg is the msg of a status ≥ 4000 answer.
type errorMsg struct {
	Message flexString `json:"message"`
	Level   string     `json:"level"` // INVALID_SCHEMA and friends
}

// flexString decodes a JSON string or number (or null) into text.
type flexString string

// UnmarshalJSON implements json.Unmarshaler.
func (s *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || bytes.Equal(b, []byte("null")):
		*s = ""
	case b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = flexString(v)
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		*s = flexString(n.String())
	default:
		// objects, arrays and booleans (e.g. a structured message) become
		// their JSON text: still printable, never an error.
		*s = flexString(b)
	}
	return nil
}

// flexInt decodes a JSON integer, an integral float, or a string holding
// one, into an int64 without a float64 detour (ids and nanosecond stamps
// exceed 2^53).
type flexInt int64

// UnmarshalJSON implements json.Unmarshaler.
func (n *flexInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		*n = 0
		return nil
	}
	if b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s == "" {
			*n = 0
			return nil
		}
		b = []byte(s)
	}
	v, err := parseInt(string(b))
	if err != nil {
		return err
	}
	*n = flexInt(v)
	return nil
}

// parseInt parses a decimal integer, falling back to a float form such as
// 1.5e18 (which loses precision beyond 2^53, but only for senders that
// already lost it).
func parseInt(s string) (int64, error) {
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != f || f > 9.2e18 || f < -9.2e18 {
		return 0, fmt.Errorf("iqoption: %q is not an integer", s)
	}
	return int64(f), nil
}

// flexFloat decodes a JSON number or a string holding one.
type flexFloat float64

// UnmarshalJSON implements json.Unmarshaler.
func (x *flexFloat) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		*x = 0
		return nil
	}
	if b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s == "" {
			*x = 0
			return nil
		}
		b = []byte(s)
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("iqoption: %q is not a number: %w", b, err)
	}
	*x = flexFloat(v)
	return nil
}

// flexBool decodes true/false, 0/1 and their string forms.
type flexBool bool

// UnmarshalJSON implements json.Unmarshaler.
func (v *flexBool) UnmarshalJSON(b []byte) error {
	switch string(bytes.Trim(bytes.TrimSpace(b), `"`)) {
	case "true", "1":
		*v = true
	default:
		*v = false
	}
	return nil
}

// outFrame is one client → server message.
type outFrame struct {
	Name      string `json:"name"`
	RequestID string `json:"request_id"`
	LocalTime int64  `json:"local_time,omitempty"`
	Msg       any    `json:"msg"`
}

// rpc is the msg of a sendMessage frame.
type rpc struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Body    any    `json:"body"`
}

// subscription is the msg of a subscribeMessage / unsubscribeMessage frame.
type subscription struct {
	Name    string    `json:"name"`
	Version string    `json:"version,omitempty"`
	Params  subParams `json:"params"`
}

// subParams holds a subscription's routing filters.
type subParams struct {
	RoutingFilters map[string]any `json:"routingFilters"`
}

// key identifies a subscription for re-sending and de-duplication.
func (s subscription) key() string {
	b, _ := json.Marshal(s) // maps marshal with sorted keys: stable
	return string(b)
}
