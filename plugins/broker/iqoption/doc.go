// Package iqoption is STC's IQ Option broker adapter. It speaks the
// platform's own protocol, described in docs/brokers/IQOPTION.md (§15 maps
// it onto broker.Broker): an HTTP login that yields an ssid, then one
// JSON-over-WebSocket session per user.
//
// # Login
//
// Open posts identifier/password to the auth URL and keeps only the
// returned ssid (also returned as ResumeCredentials{"ssid"}, so the host
// can store it instead of the password). Opening with an "ssid"
// credential skips the HTTP login. A 2FA account answers code "verify":
// the adapter asks for an SMS code, remembers the challenge token in the
// Adapter (shared by sessions, ten minutes) and returns
// broker.ErrSecondFactorRequired; re-opening with the "code" credential
// verifies it and re-posts the login with the 2FA token. HTTP 429 or error
// code 301 is broker.ErrRateLimited with the server's ttl as retry-after;
// invalid_credentials, code 202 and other 4xx are broker.ErrAuthFailed.
//
// # WebSocket session
//
// authenticate (protocol 3) then setOptions{sendResults:true}, whose own
// result is not waited for (requests work with or without result frames).
// Requests wait for their answer at most Config.RequestTimeout, and end a
// margin before the caller's deadline (a tenth of the time left, at most
// 1 s) so a lost answer comes back as the adapter's ErrUnavailable and not
// as the host's call timeout, which counts against the whole process. They
// are correlated by request_id; the result frame that precedes a typed
// answer is checked (success false is an error) and skipped; status ≥ 4000
// is an error whatever the answer's name. Pushes are routed by
// microserviceName+name. The server clock is the last timeSync push and
// is the only clock used for expiries. A watchdog drops the socket when
// no timeSync came for 60 s (Config.TimeSyncTimeout); the client then
// reconnects with jittered exponential backoff (100 ms doubling to 10 s),
// re-authenticates with the ssid, re-sends every subscription, and
// reconciles orders and candle streams. Five rejected re-authentications
// in a row end the session (ErrAuthFailed). Heartbeat pushes are answered
// when Config.HeartbeatReply is set. A panic while handling one frame is
// logged and contained: one process serves many users.
//
// # Market data
//
// The catalogue comes from binary-options.get-initialization-data at
// runtime: no active id is hard-coded. Symbols are the localisation key's
// tail ("front.EURUSD-OTC" → EURUSD-OTC); the Dec-2024 "-op" ids list as
// the plain symbol (EURUSD-op → EURUSD), and when several ids share a
// symbol the tradable one wins, then the "-op" one. Payout is 100 −
// commission, updated live by commission-changed. The parsed catalogue is
// shared by the sessions of one user group (profile group_id) and
// refetched after Config.CatalogTTL. Candles come from
// quotes-history.get-candles v2.0 with only_closed, at most 1,000 per
// request; pages of up to 5,000 are served in chunks. candle-generated
// pushes (at in nanoseconds, decoded as int64) feed SubscribeCandles:
// phase "C" delivers the candle as closed exactly once, other updates are
// forming candles (the newest only, when the reader lags).
//
// The anonymous session (never opened; the host's market-data session)
// reports AnonymousMarketData and serves Instruments, Candles and
// SubscribeCandles through the connection of an open session of the same
// Adapter (anon.go): the oldest live one, so anonymous streams of one
// active and size share its upstream subscription. When the lending
// session ends, a stream moves to another live session, re-subscribes and
// first delivers from history the candles that closed meanwhile. Without
// any open session these answer broker.ErrUnavailable ("no IQ Option
// account is connected yet"); the account calls stay refused.
//
// # Orders
//
// binary-options.open-option v2.0 with price as a JSON number and
// user_balance_id of the session's mode (practice type 4, real type 1).
// Turbo (1–5 min): expiry is the next whole minute whose purchase window
// (expiry − deadtime, server time) is still open, plus minutes − 1.
// Binary (15 min): the first quarter-hour boundary with an open purchase
// window. Results come from portfolio.position-changed (v3.0), applied only
// for a higher version and never after the order is final: win/loose/equal
// map to Won/Lost/Draw, others (sold) by the sign of close_profit −
// invest, which is the profit. Refusals map to sentinels by status first
// (4119, 4103, 5000 → ErrMarketClosed; other ≥ 4000 → ErrInvalidOrder),
// refined by known English texts (no money → ErrInsufficientFunds, purchase
// time over / not available / suspended → ErrMarketClosed).
//
// PlaceOrder is idempotent on ClientOrderID within the session, and
// across plugin restarts when Config.DataDir is set: each account's order
// journal (journal.go) records every order, fsynced before it is sent,
// and Open reloads and reconciles it. When the
// open-option answer is lost (socket drop, timeout) the order is never
// sent again: it stays Pending and PlaceOrder returns ErrUnavailable.
// A position push that matches it (active, direction, expiry and stake in
// raw_event) claims it at once; otherwise GetOrder and every reconnect
// reconcile it against open and recent closed positions. An unknown order
// without a position a minute after its expiry is Rejected ("never
// placed"). Orders past expiry without a result are looked up in the
// position history by option id.
package iqoption
