package iqoption

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/shopspring/decimal"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/plugin"
	"github.com/stc-trading/stc/sdk/schema"
)

// Name and Version identify the adapter in Metadata.
const (
	Name    = "iqoption"
	Version = "0.1.0"
)

// Balance type ids of the balances service.
const (
	balanceReal     = 1
	balancePractice = 4
)

func credentialFields() []schema.Field {
	return []schema.Field{
		{Name: "identifier", Type: schema.String, Description: "IQ Option login e-mail; with password, used only to obtain a session id"},
		{Name: "password", Type: schema.String, Sensitive: true, Description: "IQ Option password; not kept after login"},
		{Name: "ssid", Type: schema.String, Sensitive: true, Description: "Session id from an earlier login (what the adapter returns as resume credentials); replaces identifier and password"},
		{Name: "code", Type: schema.String, Sensitive: true, Description: "Second-factor code sent by SMS, when the broker asks for one"},
	}
}

func metadata() broker.Metadata {
	return broker.Metadata{
		Name:        Name,
		Version:     Version,
		DisplayName: "IQ Option",
		Description: "IQ Option binary and turbo options over the platform's WebSocket protocol",
		Credentials: credentialFields(),
		Capabilities: broker.Capabilities{
			CandleStream:        true,
			OrderStream:         true,
			SecondFactor:        true,
			RealAccounts:        true,
			AnonymousMarketData: true, // through any connected account: see anon.go
		},
	}
}

// Adapter holds what the sessions of one plugin process share: the
// configuration, the pending second-factor logins, the catalogues, the
// order journals and the open sessions that lend their connection to the
// anonymous market-data session.
type Adapter struct {
	cfg      Config
	pending  challenges
	catalogs sharedCatalogs
	journals journals
	lenders  lenders
}

// New returns an adapter for cfg (defaults applied).
func New(cfg Config) (*Adapter, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	return &Adapter{cfg: cfg, pending: challenges{m: map[string]challenge{}}, catalogs: sharedCatalogs{m: map[int64]*catalog{}}, journals: journals{m: map[string]*journal{}}}, nil
}

// Factory returns new, unopened sessions. Each opened session holds its
// own WebSocket connection.
func (a *Adapter) Factory() broker.Factory {
	return func() broker.Broker {
		return &session{
			a: a, orders: map[string]*orderRec{}, byOption: map[int64]*orderRec{}, feeds: map[feedKey]*feed{},
			orphans: map[int64]positionMsg{}, rejections: map[int64]string{}, closing: make(chan struct{}),
		}
	}
}

// session is one user's account session (broker.Broker). It is safe for
// concurrent use; s.mu guards everything below it.
type session struct {
	a *Adapter

	mu         sync.Mutex
	c          *wsClient // nil until Open
	closed     bool
	log        hclog.Logger
	mode       broker.Mode
	userID     int64
	groupID    int64
	balanceID  int64
	currency   string
	ssid       string
	identifier string // login name, when Open was given one
	cat        *catalog
	journal    *journal             // nil without Config.DataDir
	orders     map[string]*orderRec // by client order id
	byOption   map[int64]*orderRec  // by option id (= position external_id)
	orphans    map[int64]positionMsg
	rejections map[int64]string // option-rejected pushes that beat their answer
	subs       []chan broker.Order
	feeds      map[feedKey]*feed
	closing    chan struct{}  // closed by Close
	wg         sync.WaitGroup // stream goroutines
}

// Sessions are not broker.BatchPlacers: IQ Option takes one open-option
// request per order, so the SDK's fallback (PlaceOrder for a few orders at
// a time) is all a batch could do.
var _ broker.Broker = (*session)(nil)

// Metadata is static.
func (s *session) Metadata() broker.Metadata { return metadata() }

// client returns the live client or the error that explains its absence.
func (s *session) client() (*wsClient, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clientLocked()
}

func (s *session) clientLocked() (*wsClient, error) {
	if s.closed {
		return nil, broker.NewError(broker.ErrSessionNotFound, "session closed")
	}
	if s.c == nil {
		return nil, broker.NewError(broker.ErrAuthFailed, "session not open (the anonymous session serves market data only)")
	}
	if err := s.c.deadErr(); err != nil {
		return nil, err
	}
	return s.c, nil
}

// Open logs in (HTTP, unless an ssid is given), connects the WebSocket,
// reads the profile, the balance of req.Mode and the catalogue, and
// subscribes to position and commission changes. The password is used
// once and dropped; ResumeCredentials carry the ssid instead.
func (s *session) Open(ctx context.Context, req broker.OpenRequest) (broker.Account, error) {
	vals, err := schema.Resolve(credentialFields(), req.Credentials)
	if err != nil {
		return broker.Account{}, fmt.Errorf("%w: %w", broker.ErrAuthFailed, err)
	}
	if req.Mode != broker.Practice && req.Mode != broker.Real {
		return broker.Account{}, broker.NewError(broker.ErrUnsupported, "mode %s", req.Mode)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return broker.Account{}, broker.NewError(broker.ErrSessionNotFound, "session closed")
	}
	if s.c != nil {
		c, mode := s.c, s.mode
		s.mu.Unlock()
		if mode != req.Mode {
			return broker.Account{}, broker.NewError(broker.ErrUnsupported, "session is open in %s mode; open a new session for %s", mode, req.Mode)
		}
		if err := c.deadErr(); err != nil {
			return broker.Account{}, err
		}
		return s.account(ctx)
	}
	s.mu.Unlock()

	ssid, identifier := vals.String("ssid"), vals.String("identifier")
	if ssid == "" {
		id, pw := vals.String("identifier"), vals.String("password")
		if id == "" || pw == "" {
			return broker.Account{}, broker.NewError(broker.ErrAuthFailed, "identifier and password, or ssid, are required")
		}
		if ssid, err = s.a.login(ctx, id, pw, vals.String("code")); err != nil {
			return broker.Account{}, err
		}
	}
	log := plugin.Logger(ctx).With("broker", Name)
	c, err := dialClient(ctx, s.a.cfg, ssid, log, s.routes(), s.onReconnect)
	if err != nil {
		return broker.Account{}, err
	}
	if err := s.setup(ctx, c, req.Mode, ssid, log); err != nil {
		c.close()
		return broker.Account{}, err
	}
	s.mu.Lock()
	s.identifier = identifier
	s.mu.Unlock()
	s.a.lenders.add(s)
	s.reconcile(ctx) // orders a previous process journaled
	return s.account(ctx)
}

// profileMsg is the msg of profile (core.get-profile v1.0).
type profileMsg struct {
	Result *profileDTO `json:"result"`
	profileDTO
}

type profileDTO struct {
	UserID   flexInt    `json:"user_id"`
	ID       flexInt    `json:"id"`
	GroupID  flexInt    `json:"group_id"`
	Currency flexString `json:"currency"`
}

// balanceDTO is one element of a balances answer.
type balanceDTO struct {
	ID       flexInt    `json:"id"`
	Type     flexInt    `json:"type"`
	Amount   flexString `json:"amount"`
	Currency flexString `json:"currency"`
}

func (s *session) setup(ctx context.Context, c *wsClient, mode broker.Mode, ssid string, log hclog.Logger) error {
	f, err := c.send(ctx, "core.get-profile", "1.0", nil)
	if err != nil {
		return callErr("get profile", err)
	}
	var pm profileMsg
	if err := json.Unmarshal(f.Msg, &pm); err != nil {
		return broker.NewError(broker.ErrUnavailable, "profile: %v", err)
	}
	p := pm.profileDTO
	if pm.Result != nil {
		p = *pm.Result
	}
	if p.UserID == 0 {
		p.UserID = p.ID
	}
	bal, err := fetchBalance(ctx, c, mode, 0)
	if err != nil {
		return err
	}
	cat, err := s.groupCatalog(ctx, c, int64(p.GroupID), nil)
	if err != nil {
		return err
	}
	j := s.a.journalFor(int64(p.UserID), mode)
	known, err := j.load()
	if err != nil {
		return broker.NewError(broker.ErrUnavailable, "%v", err)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return broker.NewError(broker.ErrSessionNotFound, "session closed")
	}
	s.c, s.mode, s.ssid, s.log, s.cat, s.journal = c, mode, ssid, log, cat, j
	for id, rec := range known {
		s.orders[id] = rec
		if rec.optionID != 0 {
			s.byOption[rec.optionID] = rec
		}
	}
	s.userID, s.groupID, s.balanceID, s.currency = int64(p.UserID), int64(p.GroupID), int64(bal.ID), string(bal.Currency)
	s.mu.Unlock()
	for _, it := range []string{"turbo-option", "binary-option"} {
		if err := c.subscribe(ctx, subscription{Name: "portfolio.position-changed", Version: "3.0", Params: subParams{RoutingFilters: map[string]any{
			"user_id": p.UserID, "user_balance_id": bal.ID, "instrument_type": it,
		}}}); err != nil {
			return callErr("subscribe position-changed", err)
		}
		if err := c.subscribe(ctx, subscription{Name: "commission-changed", Version: "1.0", Params: subParams{RoutingFilters: map[string]any{
			"instrument_type": it, "user_group_id": p.GroupID,
		}}}); err != nil {
			log.Warn("commission-changed subscription refused; payouts refresh with the catalogue only", "error", err)
		}
	}
	return nil
}

// fetchBalance returns the balance of mode's type (id 0) or the balance id.
func fetchBalance(ctx context.Context, c *wsClient, mode broker.Mode, id int64) (balanceDTO, error) {
	f, err := c.send(ctx, "balances.get-available-balances", "1.0", map[string]any{"types_ids": []int{balanceReal, balancePractice}})
	if err != nil {
		return balanceDTO{}, callErr("get balances", err)
	}
	var list []balanceDTO
	if err := json.Unmarshal(f.Msg, &list); err != nil {
		var wrapped struct {
			Balances []balanceDTO `json:"balances"`
			Result   []balanceDTO `json:"result"`
		}
		if err2 := json.Unmarshal(f.Msg, &wrapped); err2 != nil {
			return balanceDTO{}, broker.NewError(broker.ErrUnavailable, "balances: %v", err)
		}
		list = append(wrapped.Balances, wrapped.Result...)
	}
	want := int64(balancePractice)
	if mode == broker.Real {
		want = balanceReal
	}
	for _, b := range list {
		if (id != 0 && int64(b.ID) == id) || (id == 0 && int64(b.Type) == want) {
			return b, nil
		}
	}
	return balanceDTO{}, broker.NewError(broker.ErrUnsupported, "the account has no %s balance", mode)
}

func fetchCatalog(ctx context.Context, c *wsClient) (*catalog, error) {
	f, err := c.send(ctx, "binary-options.get-initialization-data", "3.0", nil)
	if err != nil {
		return nil, callErr("get initialization data", err)
	}
	now, _ := c.serverTime()
	cat, err := parseCatalog(f.Msg, now.Unix())
	if err != nil {
		return nil, broker.NewError(broker.ErrUnavailable, "%v", err)
	}
	cat.fetched = time.Now()
	return cat, nil
}

// account describes the open session.
func (s *session) account(ctx context.Context) (broker.Account, error) {
	b, err := s.Balance(ctx)
	if err != nil {
		return broker.Account{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return broker.Account{
		Balance: b.Amount, Currency: b.Currency, AccountRef: strconv.FormatInt(s.userID, 10),
		ResumeCredentials: s.resumeLocked(),
	}, nil
}

// resumeLocked is what the host stores instead of the password: the ssid,
// and the login name (not a secret) so the account stays recognisable.
func (s *session) resumeLocked() map[string]string {
	out := map[string]string{"ssid": s.ssid}
	if s.identifier != "" {
		out["identifier"] = s.identifier
	}
	return out
}

// Close ends the connection and every stream, and waits for their
// goroutines. Idempotent.
func (s *session) Close(context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	c := s.c
	close(s.closing)
	for _, fd := range s.feeds {
		fd.stopAll()
	}
	s.mu.Unlock()
	s.a.lenders.remove(s)
	if c != nil {
		c.close()
	}
	s.wg.Wait()
	return nil
}

// Instruments lists the discovered actives, refreshing the catalogue when
// it is older than CatalogTTL. The anonymous session asks through a
// connected account.
func (s *session) Instruments(ctx context.Context) ([]broker.Instrument, error) {
	if s.anonymous() {
		return borrow(ctx, s.a, func(l *session) ([]broker.Instrument, error) { return l.Instruments(ctx) })
	}
	cat, c, err := s.catalog(ctx)
	if err != nil {
		return nil, err
	}
	now, _ := c.serverTime()
	return cat.instruments(now.Unix()), nil
}

// catalog returns a fresh enough catalogue.
func (s *session) catalog(ctx context.Context) (*catalog, *wsClient, error) {
	c, err := s.client()
	if err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	cat, group := s.cat, s.groupID
	s.mu.Unlock()
	fresh, err := s.groupCatalog(ctx, c, group, cat)
	if err != nil {
		return nil, nil, err
	}
	if fresh != cat {
		s.mu.Lock()
		s.cat = fresh
		s.mu.Unlock()
	}
	return fresh, c, nil
}

// groupCatalog returns the newest catalogue of the user group if it is
// fresh, else fetches one (and shares it). A group of 0 (unknown) is never
// shared. On a failed fetch a stale catalogue beats none.
func (s *session) groupCatalog(ctx context.Context, c *wsClient, group int64, have *catalog) (*catalog, error) {
	if group != 0 {
		if shared := s.a.catalogs.get(group); shared != nil && (have == nil || shared.fetched.After(have.fetched)) {
			have = shared
		}
	}
	if have != nil && time.Since(have.fetched) < s.a.cfg.CatalogTTL {
		return have, nil
	}
	fresh, err := fetchCatalog(ctx, c)
	if err != nil {
		if have != nil {
			return have, nil
		}
		return nil, err
	}
	if group != 0 {
		s.a.catalogs.put(group, fresh)
	}
	return fresh, nil
}

// lookup resolves a symbol.
func (s *session) lookup(ctx context.Context, symbol string) (*active, *wsClient, error) {
	cat, c, err := s.catalog(ctx)
	if err != nil {
		return nil, nil, err
	}
	a := cat.bySymbol[symbol]
	if a == nil {
		return nil, nil, broker.NewError(broker.ErrUnknownInstrument, "%q", symbol)
	}
	return a, c, nil
}

// Balance returns the balance the session trades on, fresh from the server.
func (s *session) Balance(ctx context.Context) (broker.Balance, error) {
	c, err := s.client()
	if err != nil {
		return broker.Balance{}, err
	}
	s.mu.Lock()
	mode, id := s.mode, s.balanceID
	s.mu.Unlock()
	b, err := fetchBalance(ctx, c, mode, id)
	if err != nil {
		return broker.Balance{}, err
	}
	amount, err := decimal.NewFromString(string(b.Amount))
	if err != nil {
		return broker.Balance{}, broker.NewError(broker.ErrUnavailable, "balance amount %q: %v", b.Amount, err)
	}
	cur := string(b.Currency)
	if cur == "" {
		s.mu.Lock()
		cur = s.currency // the profile's, when the balance omits it
		s.mu.Unlock()
	}
	return broker.Balance{Amount: amount, Currency: cur, Mode: mode}, nil
}

// routes are the session's push handlers.
func (s *session) routes() map[string]pushHandler {
	return map[string]pushHandler{
		"portfolio,position-changed":     s.onPosition,
		",position-changed":              s.onPosition,
		"quotes,candle-generated":        s.onCandle,
		",candle-generated":              s.onCandle,
		",commission-changed":            s.onCommission,
		"binary-options,option-rejected": s.onRejected,
	}
}

// onCommission applies a live commission change to the catalogue.
func (s *session) onCommission(f frame) {
	var m commissionMsg
	if err := json.Unmarshal(f.Msg, &m); err != nil {
		return
	}
	s.mu.Lock()
	cat := s.cat
	s.mu.Unlock()
	if cat != nil {
		cat.setCommission(m)
	}
}

// onReconnect recovers what the socket missed. Candle streams hold live
// closes while the subscriptions are re-sent and history fills the gap, so
// closed candles stay in order and none is skipped; then order results
// are reconciled.
func (s *session) onReconnect(ctx context.Context, resubscribe func()) {
	streams := s.holdStreams()
	func() {
		defer func() {
			for _, st := range streams {
				st.release()
			}
		}()
		resubscribe()
		s.catchUpFeeds(ctx)
	}()
	s.reconcile(ctx)
}
