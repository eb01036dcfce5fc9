package httpapi

import (
	"net/http"
	"time"

	"github.com/stc-trading/stc/host/internal/users"
)

type userJSON struct {
	ID        int64     `json:"id"`
	Email     string    `json:"email"`
	Role      string    `json:"role,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

func toUserJSON(u users.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, Role: string(u.Role), CreatedAt: u.CreatedAt}
}

type credentialsBody struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// DeviceHeader carries the trusted-device token a client kept from its
// last login (the device_token field of the answer). Browsers need not
// send it: the same token comes back in the DeviceCookie.
const DeviceHeader = "STC-Device"

// DeviceCookie is the HttpOnly cookie a login sets with the trusted-device
// token, scoped to the login route so it goes nowhere else.
const DeviceCookie = "stc_device"

// deviceCookiePath is the only path the device cookie is sent to.
const deviceCookiePath = "/api/v2/auth/login"

// deviceToken returns the trusted-device token r carries: the header if
// set, else the cookie. Validity is the users service's business.
func deviceToken(r *http.Request) string {
	if v := r.Header.Get(DeviceHeader); v != "" {
		return v
	}
	if c, err := r.Cookie(DeviceCookie); err == nil {
		return c.Value
	}
	return ""
}

// sessionJSON is the answer of register and login; it sets the device
// cookie as a side effect.
func sessionJSON(w http.ResponseWriter, sess users.Session) map[string]any {
	out := map[string]any{"user": toUserJSON(sess.User), "token": sess.Token, "expires_at": sess.ExpiresAt}
	if sess.DeviceToken != "" {
		out["device_token"], out["device_expires_at"] = sess.DeviceToken, sess.DeviceExpiresAt
		http.SetCookie(w, &http.Cookie{
			Name: DeviceCookie, Value: sess.DeviceToken, Path: deviceCookiePath, Expires: sess.DeviceExpiresAt,
			HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode,
		})
	}
	return out
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	if e := s.loginCSRF(r); e != nil {
		writeError(w, e)
		return
	}
	var body credentialsBody
	if e := decodeJSON(w, r, &body); e != nil {
		writeError(w, e)
		return
	}
	sess, err := s.users.Register(r.Context(), body.Email, body.Password)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, s.sessionAnswer(w, r, sess))
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if e := s.loginCSRF(r); e != nil {
		writeError(w, e)
		return
	}
	var body credentialsBody
	if e := decodeJSON(w, r, &body); e != nil {
		writeError(w, e)
		return
	}
	sess, err := s.users.Login(r.Context(), users.LoginRequest{
		Email: body.Email, Password: body.Password, Address: s.addr.of(r), DeviceToken: deviceToken(r),
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.sessionAnswer(w, r, sess))
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if err := s.users.Logout(r.Context(), mustPrincipal(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	s.clearSessionCookie(w, r)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) currentUser(w http.ResponseWriter, r *http.Request) {
	p := mustPrincipal(r)
	u, err := s.users.User(r.Context(), p.UserID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sub, err := s.subscriptionJSON(r, p.UserID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": u.ID, "email": u.Email, "role": u.Role, "created_at": u.CreatedAt, "subscription": sub,
	})
}

type apiKeyJSON struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Scopes     []string   `json:"scopes"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

// createdAPIKeyJSON is a new key as the creation answer shows it: the
// only answer that carries its secret.
type createdAPIKeyJSON struct {
	apiKeyJSON
	Secret string `json:"secret"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func toAPIKeyJSON(k users.APIKey) apiKeyJSON {
	scopes := make([]string, len(k.Scopes))
	for i, sc := range k.Scopes {
		scopes[i] = string(sc)
	}
	return apiKeyJSON{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Scopes: scopes, CreatedAt: k.CreatedAt,
		ExpiresAt: optTime(k.ExpiresAt), LastUsedAt: optTime(k.LastUsedAt)}
}

func (s *Server) createAPIKey(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name      string     `json:"name"`
		Scopes    []string   `json:"scopes"`
		ExpiresAt *time.Time `json:"expires_at"`
	}
	if e := decodeJSON(w, r, &body); e != nil {
		writeError(w, e)
		return
	}
	req := users.NewAPIKey{Name: body.Name, Scopes: body.Scopes}
	if body.ExpiresAt != nil {
		req.ExpiresAt = *body.ExpiresAt
	}
	k, secret, err := s.users.CreateAPIKey(r.Context(), mustPrincipal(r), req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"api_key": createdAPIKeyJSON{apiKeyJSON: toAPIKeyJSON(k), Secret: secret}})
}

func (s *Server) listAPIKeys(w http.ResponseWriter, r *http.Request) {
	pg, e := parsePage(r)
	if e != nil {
		writeError(w, e)
		return
	}
	keys, err := s.users.APIKeys(r.Context(), mustPrincipal(r).UserID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	keys, next := paginate(keys, func(k users.APIKey) int64 { return k.ID }, pg)
	out := make([]apiKeyJSON, len(keys))
	for i, k := range keys {
		out[i] = toAPIKeyJSON(k)
	}
	writeJSON(w, http.StatusOK, listJSON(out, next))
}

func (s *Server) getAPIKey(w http.ResponseWriter, r *http.Request) {
	id, e := pathID(r, "id")
	if e != nil {
		writeError(w, e)
		return
	}
	k, err := s.users.APIKey(r.Context(), mustPrincipal(r).UserID, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"api_key": toAPIKeyJSON(k)})
}

func (s *Server) revokeAPIKey(w http.ResponseWriter, r *http.Request) {
	id, e := pathID(r, "id")
	if e != nil {
		writeError(w, e)
		return
	}
	if err := s.users.RevokeAPIKey(r.Context(), mustPrincipal(r).UserID, id); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
