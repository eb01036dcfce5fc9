package iqfake

import (
	"encoding/json"
	"io"
	"net/http"
)

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// handleLogin serves POST /api/v2/login: success with ssid (body and
// cookie), the SMS second factor, the login limit (legacy 429 body of
// docs/brokers/IQOPTION.md §14.16) and invalid_credentials (§3.4).
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Identifier string `json:"identifier"`
		Password   string `json:"password"`
		Token      string `json:"token"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, `{"code":"invalid_request","message":"invalid request"}`)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Logins++
	if ttl := s.faults.LoginLimitTTL; ttl > 0 {
		writeJSON(w, http.StatusTooManyRequests, `{"data":{"ttl":`+itoa(int64(ttl))+`},"errors":[{"code":301,"title":"Login limit exceeded"}]}`)
		return
	}
	u := s.users[req.Identifier]
	if u == nil || u.Password != req.Password {
		writeJSON(w, http.StatusForbidden, `{"code":"invalid_credentials","message":"You entered the wrong credentials. Please ensure that your login/password is correct."}`)
		return
	}
	if u.TwoFactorCode != "" {
		t := s.tokens[req.Token]
		if req.Token == "" || t == nil || t.u != u || t.stage != "ok" {
			tok := "1-" + s.tokenLocked("verify")
			s.tokens[tok] = &twoFA{u: u, stage: "login"}
			writeJSON(w, http.StatusOK, `{"code":"verify","method":"sms","token":`+quote(tok)+`}`)
			return
		}
		delete(s.tokens, req.Token)
	}
	ssid := s.tokenLocked("ssid")
	s.ssids[ssid] = u
	http.SetCookie(w, &http.Cookie{Name: "ssid", Value: ssid, Path: "/", MaxAge: 2592000})
	writeJSON(w, http.StatusOK, `{"code":"success","ssid":`+quote(ssid)+`}`)
}

// handleVerify serves POST /api/v2/verify/2fa: {method, token} sends the
// code and answers the token to verify it against; {code, token} checks
// the code and answers the token the login is re-posted with.
func (s *Server) handleVerify(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Method string `json:"method"`
		Code   string `json:"code"`
		Token  string `json:"token"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, `{"code":"invalid_request","message":"invalid request"}`)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens[req.Token]
	switch {
	case t == nil:
		writeJSON(w, http.StatusBadRequest, `{"code":"invalid_token","message":"Token is invalid or expired"}`)
	case req.Code == "" && t.stage == "login":
		if req.Method != "sms" {
			writeJSON(w, http.StatusBadRequest, `{"code":"method_not_supported","message":"This verification method is not supported. Choose another method or try again later."}`)
			return
		}
		delete(s.tokens, req.Token)
		tok := s.tokenLocked("sms")
		s.tokens[tok] = &twoFA{u: t.u, stage: "sms"}
		s.stats.SMSSent++
		writeJSON(w, http.StatusOK, `{"code":"success","token":`+quote(tok)+`}`)
	case req.Code != "" && t.stage == "sms":
		if req.Code != t.u.TwoFactorCode {
			writeJSON(w, http.StatusBadRequest, `{"code":"invalid_code","message":"Invalid code"}`)
			return
		}
		delete(s.tokens, req.Token)
		tok := s.tokenLocked("2fa")
		s.tokens[tok] = &twoFA{u: t.u, stage: "ok"}
		writeJSON(w, http.StatusOK, `{"code":"success","token":`+quote(tok)+`}`)
	default:
		writeJSON(w, http.StatusBadRequest, `{"code":"invalid_request","message":"invalid request"}`)
	}
}
