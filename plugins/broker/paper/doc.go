// Package paper is STC's practice broker and the market of its zero-setup
// default: a simulated binary-options broker with deterministic synthetic
// prices, persistent play-money accounts and the behaviour of a real
// broker (trading hours, payouts, stake and expiry rules, idempotent
// orders, settlement at expiry).
//
// One Market per process owns the clock, the price paths, the accounts,
// the open-order book and the settlement loop; Factory hands out
// per-session broker.Broker values that share it. Every goroutine belongs
// to the Market (and to a session for streams) and Close stops them all.
//
// # Market clock
//
// market time = anchor + (wall − wallStart) × TimeScale, where wallStart is
// the wall time when New ran and anchor is that same time, unless an
// earlier run on the same DataDir already drove market time further (a
// scale > 1 runs ahead of the wall clock): then anchor is that persisted
// high-water mark, so market time never goes backwards, not even across
// restarts. At scale 1 market time equals wall time. Within a process the
// clock is clamped to be monotone against wall-clock steps.
//
// # Instruments and trading rules
//
// Twelve forex pairs (market "forex") and their "-OTC" twins (market
// "otc", an independent price path). Regular symbols are closed from
// Friday 21:00 to Sunday 21:00 UTC market time (no holidays); OTC trades
// 24/7. Payouts are fixed per symbol: 80–92 % for forex, 4–9 points less
// (at least 70 %) for OTC. Stakes are 1 to 20000 USD with at most two
// decimals. Expiries are 60, 120, 180, 240 and 300 s, plus 15 minutes on
// the quarter-hour grid: the order expires at the first :00/:15/:30/:45
// boundary at least 5 minutes after placement (so it runs 5:00 to 19:59).
// An order whose expiry second falls in closed hours is refused with
// ErrMarketClosed.
//
// # Prices and candles
//
// Prices are a pure function of (seed, symbol, second); see price.go for
// the process (cached daily anchors plus a hashed Brownian bridge inside
// each day, with intraday session seasonality). A candle aggregates the
// 1-second ticks of the open seconds in its span: open is the first tick,
// close the last, high and low the extremes, volume the sum of per-second
// tick volumes (1 + the move in points). Candles hold only closed candles
// (open + width ≤ now) with open times in [From, To) from 2020-01-01 on;
// weekend hours of regular symbols have none, and the 4h and 1d candles
// around the close and reopen hold only the open hours. Page size defaults
// to 1000 and is capped at 5000; NextPageToken is opaque and empty on the
// last page. Timeframes of 15m and more are built from per-day quarter-hour
// aggregates kept in a bounded LRU, so repeated daily history is cheap.
//
// # Errors
//
//   - unknown symbol: broker.ErrUnknownInstrument;
//   - unsupported timeframe: broker.ErrUnsupported, also wrapping
//     market.ErrInvalidTimeframe;
//   - malformed page token: a plain error;
//   - Mode Real (or invalid): broker.ErrUnsupported; paper is practice only;
//   - bad or missing credentials, wrong password, wrong second-factor code:
//     broker.ErrAuthFailed; Require2FA without a code:
//     broker.ErrSecondFactorRequired (the password is checked first);
//   - account calls (Balance, PlaceOrder, GetOrder, OrderResults) on a
//     session that was never opened: broker.ErrAuthFailed, "session not
//     open", since the remedy is to log in; market data needs no login;
//   - any call on a closed session: broker.ErrSessionNotFound; after
//     Market.Close: broker.ErrUnavailable;
//   - order rules: ErrInvalidOrder, ErrMarketClosed, ErrInsufficientFunds,
//     ErrUnknownInstrument; a failed disk write: ErrUnavailable (the host
//     then resolves the order with GetOrder).
//
// # Accounts and orders
//
// Open creates an account on first login with 10,000 USD and a
// PBKDF2-SHA256 password hash (random salt); usernames are case-sensitive.
// Each account is an append-only, fsynced JSON-lines log under
// DataDir/accounts (see store.go). PlaceOrder is idempotent on
// ClientOrderID per account, also across restarts: the order is persisted
// before PlaceOrder returns, and a repeated id returns the stored order
// without a second debit. The stake is debited at placement; the entry
// price is the tick of the placement second. Sessions are also
// broker.BatchPlacers: PlaceOrders checks a batch's orders in sequence
// with the same rules and a running balance, and persists all accepted
// ones with one write and one fsync before any of them counts.
//
// Settlement uses the tick of the expiry second: CALL wins above the
// entry, PUT below, equal is a draw that refunds the stake. A win pays
// stake × payout rounded to cents half away from zero (half-up), so the
// balance gains stake + profit; a loss has profit −stake. Orders that
// expired while no process ran settle in New at their historical price.
//
// # Streams
//
// SubscribeCandles delivers every closed candle exactly once and in order,
// blocking only its own goroutine on a slow reader and catching up from
// the deterministic prices, and the forming candle at most once per market
// second and ten times per wall second, dropped when the buffer is full.
// OrderResults pushes final orders to every subscriber of the account
// without ever blocking settlement: a subscriber whose buffer (256) is full
// misses that event, and GetOrder remains the source of truth.
package paper
