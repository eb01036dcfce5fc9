package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/cockpit"
	"github.com/stc-trading/stc/host/internal/cockpit/browsertest"
)

const (
	twoFACode   = "424242"
	xssBotName  = `<img src=x onerror=alert(1)>`
	passphrase  = "correct horse battery"
	firstLoadKB = 300
)

// TestCockpitInBrowser drives the cockpit in headless Chromium against
// the real host (embedded store, the paper broker in 2FA mode on an
// accelerated clock, the RSI strategy): a trader signs up, connects a
// paper account through the 2FA prompt, places a CALL from the ticket,
// sees it on the chart and in the open trades and sees it settle, builds
// an RSI bot from its form (a refused field shown at the field), starts
// it, sees its first trade arrive, stops it and exports the history as
// CSV. A second trader sees none of it, and their bot named like an XSS
// payload is shown as text and never runs. Every page carries the CSP.
// With STC_SCREENSHOTS=dir it saves the main pages at 1440×900 and
// 390×844 (docs/screenshots holds the README's).
func TestCockpitInBrowser(t *testing.T) {
	br := browsertest.Browser(t)
	bin, pluginDir := buildBinaries(t)
	data := t.TempDir()
	h := startHost(t, bin, hostEnv(freeAddr(t), data, pluginDir, "",
		"STC_PAPER_TIME_SCALE=10", "STC_PAPER_REQUIRE_2FA=true", "STC_PAPER_2FA_CODE="+twoFACode, "STC_LOG_LEVEL=warn"))

	checkSecurityHeaders(t, h.base)

	// Trader A on a desktop screen.
	a := newScreen(t, br, h.base, 1440, 900)
	a.open("/")
	a.waitFor("signed out, / shows the sign-in page", "form.auth input[name=email]", 10*time.Second)
	a.snap("signin")
	a.click(`a[href="/signup"]`)
	emailA := "trader-a@example.com"
	cockpitSignUp(a, emailA)
	cockpitConnect(a, "paper-trader-a")

	// A manual CALL from the ticket: one click, one trade.
	a.click(`a[data-nav="trade"]`)
	a.waitReady("the symbols", `#trade-symbol option[value="EURUSD-OTC"]`, 20*time.Second)
	a.choose("#trade-symbol", "EURUSD-OTC")
	a.waitFor("the ticket", "#ticket-call:not([disabled])", 20*time.Second)
	a.waitReady("the chart", "#chart canvas", 20*time.Second)
	a.choose("#ticket-expiry", "60")
	a.fill("#ticket-amount", "10")
	assert.Contains(t, a.text("#ticket-payout"), "%", "the ticket shows the payout")
	assert.Contains(t, a.text("#ticket-profit"), "$", "and the potential profit")
	a.click("#ticket-call")
	a.waitFor("the CALL in the open trades", `#open-trades li[data-status="open"]`, 15*time.Second)
	a.waitReady("the CALL on the chart", `#chart-trades li[data-trade]`, 10*time.Second)
	assert.Contains(t, a.text(`#open-trades li[data-status="open"]`), "CALL")
	assert.Contains(t, eval[string](a, `document.querySelector('#chart-trades li').textContent`), "CALL EURUSD-OTC 10")
	a.snap("trade")
	trades := eval[int](a, `fetch('/api/v2/user/trades', {headers: {'STC-Session': 'cookie'}}).then(r => r.json()).then(j => j.items.length)`)
	assert.Equal(t, 1, trades, "one click placed exactly one trade")
	a.waitReady("the trade settles on the chart", `#chart-trades li[data-status="won"], #chart-trades li[data-status="lost"], #chart-trades li[data-status="draw"]`, 60*time.Second)
	a.waitFor("the settlement notice", ".toast", 10*time.Second)
	assert.Empty(t, eval[string](a, `document.querySelector('#open-trades li[data-status="open"]') ? 'open' : ''`), "the settled trade left the open trades")

	// An RSI bot from its form; the host's refusal shows at the field.
	a.click(`a[data-nav="bots"]`)
	a.click("#new-bot")
	a.waitFor("the bot form", "form.bot-form select[name=strategy]", 15*time.Second)
	a.choose("form.bot-form select[name=strategy]", "rsi")
	a.waitFor("the RSI parameters", "form.bot-form input[name=period]", 5*time.Second)
	a.fill("form.bot-form input[name=name]", " ")
	a.fill("form.bot-form input[name=period]", "5")
	a.fill("form.bot-form input[name=oversold]", "45")
	a.fill("form.bot-form input[name=overbought]", "55")
	a.choose("form.bot-form select[name=symbol]", "EURUSD-OTC")
	a.choose("form.bot-form select[name=timeframe]", "1m")
	a.choose("form.bot-form select[name=expiration]", "60")
	a.fill("form.bot-form input[name=amount]", "5")
	a.click("form.bot-form button[type=submit]")
	a.waitFor("the name refusal at the name field", "form.bot-form input[name=name] ~ .field-error", 10*time.Second)
	assert.Equal(t, "true", eval[string](a, `document.querySelector('form.bot-form input[name=name]').getAttribute('aria-invalid')`))
	a.snap("bot-form")
	a.fill("form.bot-form input[name=name]", "my rsi")
	a.click("form.bot-form button[type=submit]")
	a.waitFor("the bot page", "#bot-toggle", 15*time.Second)
	assert.Equal(t, "my rsi", a.text("h1.bot-name"))
	a.click("#bot-toggle")
	a.waitFor("the bot runs", `.badge[data-status="running"]`, 15*time.Second)
	a.waitReady("the bot's first trade in its journal", "#journal li[data-trade]", 120*time.Second)
	a.snap("bot")
	a.click("#bot-toggle")
	a.waitFor("the bot stops", `.badge[data-status="stopped"]`, 15*time.Second)
	a.click(`a[data-nav="bots"]`)
	a.waitFor("the bot list", `.bot[data-bot]`, 10*time.Second)
	a.snap("bots")

	// History: the trades, and their CSV.
	downloads := t.TempDir()
	_, err := chromedp.CallBrowser(a.tab.Ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads,
		BrowserContextID: chromedp.FromContext(a.tab.Ctx).BrowserContextID,
	})
	require.NoError(t, err)
	a.click(`a[data-nav="history"]`)
	a.waitFor("the trade table", `#trades-table tbody tr[data-trade]`, 15*time.Second)
	a.snap("history")
	a.click("#export-csv")
	csv := waitForDownload(t, downloads)
	lines := strings.Split(strings.TrimSpace(csv), "\r\n")
	require.GreaterOrEqual(t, len(lines), 3, "a header, the manual trade and the bot's: %s", csv)
	assert.True(t, strings.HasPrefix(lines[0], "id,created_at,opened_at"), lines[0])
	assert.Contains(t, csv, ",EURUSD-OTC,CALL,10,60,")

	a.click(`a[data-nav="settings"]`)
	a.waitFor("settings", "#limits-form", 10*time.Second)
	a.snap("settings")
	a.click(`a[data-nav="accounts"]`)
	a.waitFor("accounts", `.account[data-status="connected"]`, 10*time.Second)
	a.snap("accounts")

	// The same trader on a phone: sign in, and the main pages fit.
	phone := newScreen(t, br, h.base, 390, 844)
	measureFirstLoad(t, phone, emailA)
	// In Portuguese and the dark theme: words, money and times follow.
	phone.choose("select.lang", "pt-BR")
	phone.waitReady("the page in Portuguese", `html[lang="pt-BR"] a[data-nav="trade"]`, 10*time.Second)
	assert.Equal(t, "Operar", phone.text(`a[data-nav="trade"] .nav-text`))
	phone.waitReady("the chart again", "#chart canvas", 20*time.Second)
	assert.Contains(t, phone.text("#trade-balance"), "US$", "money in the Brazilian way")
	phone.click(`button[aria-label="Tema escuro"]`)
	assert.Equal(t, "dark", eval[string](phone, `document.documentElement.dataset.theme`))
	for _, p := range []struct{ nav, ready, name string }{
		{"trade", "#chart canvas", "trade"}, {"bots", ".bot[data-bot]", "bots"}, {"history", "#trades-table tbody tr[data-trade]", "history"},
		{"accounts", ".account[data-status]", "accounts"}, {"settings", "#limits-form", "settings"},
	} {
		phone.click(`a[data-nav="` + p.nav + `"]`)
		phone.waitReady(p.name+" on a phone", p.ready, 20*time.Second)
		phone.snap(p.name)
		assert.LessOrEqual(t, eval[int](phone, `document.documentElement.scrollWidth`), 390, "%s: nothing wider than the phone", p.name)
	}

	// Trader B sees none of A's data, and B's hostile bot name is text.
	// B's browser prefers Spanish: the cockpit speaks it unasked.
	b := newScreen(t, br, h.base, 1440, 900)
	b.speak("es-ES,es;q=0.9")
	b.open("/signup")
	b.waitFor("the sign-up page", "form.auth h1", 10*time.Second)
	assert.Equal(t, "es", eval[string](b, `document.documentElement.lang`), "the language comes from the browser")
	assert.Equal(t, "Crea tu cuenta STC", b.text("form.auth h1"))
	cockpitSignUp(b, "trader-b@example.com")
	assert.Contains(t, b.text("#account-list"), "Aún no hay cuentas", "B has no accounts of A")
	b.open("/history")
	b.waitFor("B's history", "#trades-table tbody tr", 10*time.Second)
	assert.Zero(t, eval[int](b, `document.querySelectorAll('#trades-table tbody tr[data-trade]').length`), "B sees none of A's trades")
	b.open("/bots")
	b.waitFor("B's bots", "#bot-list", 10*time.Second)
	assert.Zero(t, eval[int](b, `document.querySelectorAll('.bot[data-bot]').length`), "B sees none of A's bots")
	b.open("/accounts")
	cockpitConnect(b, "paper-trader-b")
	b.open("/bots/new")
	b.waitFor("B's bot form", "form.bot-form select[name=strategy]", 15*time.Second)
	b.fill("form.bot-form input[name=name]", xssBotName)
	b.choose("form.bot-form select[name=symbol]", "EURUSD-OTC")
	b.click("form.bot-form button[type=submit]")
	b.waitFor("B's bot page", "#bot-toggle", 15*time.Second)
	assert.Equal(t, xssBotName, b.text("h1.bot-name"), "the name is shown as the literal text")
	b.open("/bots")
	b.waitFor("B's bot list", ".bot[data-bot]", 10*time.Second)
	assert.Equal(t, xssBotName, b.text(".bot .bot-name"))
	assert.Zero(t, eval[int](b, `document.querySelectorAll('img').length`), "no element was made of the name")
	b.open("/history")
	b.waitFor("B's history", "#trades-table tbody tr", 10*time.Second)
	assert.Zero(t, eval[int](b, `document.querySelectorAll('#trades-table tbody tr[data-trade]').length`))
	a.open("/bots")
	a.waitFor("A's bot list", ".bot[data-bot]", 10*time.Second)
	assert.NotContains(t, a.text("#bot-list"), "img src", "A does not see B's bot")
	assert.Equal(t, 1, eval[int](a, `document.querySelectorAll('.bot[data-bot]').length`))

	// The operator's page.
	makeAdmin(t, h, bin, "", data)
	ops := newScreen(t, br, h.base, 1440, 900)
	ops.open("/signin")
	cockpitSignIn(ops, "ops@example.com", "operator passphrase 1")
	ops.click(`a[data-nav="admin"]`)
	ops.waitFor("the users", "#users tbody tr[data-user]", 15*time.Second)
	assert.Contains(t, ops.text("#plugins"), "paper")
	assert.Equal(t, "ready", ops.text("#health-ready"))
	ops.snap("admin")

	// Sign-out ends the session on the host, not only in the page.
	a.click("#signout")
	a.waitFor("signed out", "form.auth input[name=email]", 10*time.Second)
	assert.Equal(t, 401, eval[int](a, `fetch('/api/v2/user', {headers: {'STC-Session': 'cookie'}}).then(r => r.status)`))

	for _, s := range []*screen{a, phone, b, ops} {
		assert.Empty(t, s.tab.Dialogs(), "%s: no page opened a dialog (an injected alert would)", s.size)
		assert.Empty(t, pageProblems(s), "%s: no script error and no CSP refusal", s.size)
		assert.Empty(t, eval[string](s, `Object.keys(localStorage).concat(Object.keys(sessionStorage)).filter(k => /tok|sess|auth/i.test(k) || /stc_[sk]_/.test(localStorage.getItem(k) || sessionStorage.getItem(k) || '')).join()`),
			"%s: no token in web storage", s.size)
		assert.Empty(t, eval[string](s, `document.cookie`), "%s: the session cookie is out of the page's reach", s.size)
	}
}

// cockpitSignUp fills the sign-up form and lands on the accounts page.
func cockpitSignUp(s *screen, email string) {
	s.t.Helper()
	s.waitFor("the sign-up form", "form.auth input[name=email]", 10*time.Second)
	s.fill("form.auth input[name=email]", email)
	s.fill("form.auth input[name=password]", passphrase)
	s.snap("signup")
	s.click("form.auth button[type=submit]")
	s.waitFor("the brokers after sign-up", `.broker[data-broker="paper"]`, 15*time.Second)
}

func cockpitSignIn(s *screen, email, password string) {
	s.t.Helper()
	s.waitFor("the sign-in form", "form.auth input[name=email]", 10*time.Second)
	s.fill("form.auth input[name=email]", email)
	s.fill("form.auth input[name=password]", password)
	s.click("form.auth button[type=submit]")
	s.waitReady("signed in", `#app[data-page="trade"]`, 15*time.Second)
}

// cockpitConnect connects a paper account from the accounts page, through
// the broker's 2FA prompt.
func cockpitConnect(s *screen, login string) {
	s.t.Helper()
	s.waitFor("the paper broker", `.broker[data-broker="paper"]`, 15*time.Second)
	assert.Contains(s.t, s.text(`.broker[data-broker="iqoption"]`), "Pro", "a broker of another plan is locked, naming the plan")
	s.click(`.broker[data-broker="paper"]`)
	s.waitFor("the connect form", "form.connect input[name=username]", 10*time.Second)
	s.fill("form.connect input[name=username]", login)
	s.fill("form.connect input[name=password]", "paper-secret-1")
	s.click("form.connect button[type=submit]")
	s.waitFor("the 2FA prompt", "#twofa input", 15*time.Second)
	s.snap("accounts-2fa")
	// Enter in the code field submits, as a user finishing the code
	// would.
	s.fill("#twofa input", twoFACode+"\r")
	s.waitFor("the connected account", `.account[data-status="connected"]`, 15*time.Second)
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s.text(`.account[data-status="connected"] .balance`))
	assert.True(s.t, strings.HasPrefix(digits, "10000"), "the live balance of a new paper account, in the user's format: %s", digits)
}

// measureFirstLoad signs in on s and measures the bytes the trade view's
// first load transfers (compressed, chart library included).
func measureFirstLoad(t *testing.T, s *screen, email string) {
	t.Helper()
	_, err := chromedp.Call(s.tab.Ctx, network.Enable, network.EnableParams{})
	require.NoError(t, err)
	s.open("/signin")
	cockpitSignIn(s, email, passphrase)
	// A cold cache: the first visit of a phone that never saw the host.
	_, err = chromedp.Call(s.tab.Ctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true})
	require.NoError(t, err)
	sub, stop := context.WithCancel(s.tab.Ctx)
	loaded := chromedp.Events(sub, network.LoadingFinished)
	var mu sync.Mutex
	var total float64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev, err := range loaded {
			if err != nil {
				return
			}
			mu.Lock()
			total += ev.EncodedDataLength
			mu.Unlock()
		}
	}()
	s.open("/trade")
	s.waitReady("the chart", "#chart canvas", 20*time.Second)
	time.Sleep(time.Second)
	stop()
	<-done
	_, err = chromedp.Call(s.tab.Ctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: false})
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	t.Logf("the trade view's first load transferred %.1f KB (compressed, chart library included)", total/1024)
	assert.LessOrEqual(t, total, float64(firstLoadKB*1024), "the trade view's first load stays within %d KB", firstLoadKB)
}

func waitForDownload(t *testing.T, dir string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		files, _ := filepath.Glob(filepath.Join(dir, "*.csv"))
		if len(files) == 1 {
			b, err := os.ReadFile(files[0])
			require.NoError(t, err)
			if len(b) > 0 {
				return string(b)
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no CSV was downloaded to %s within 20 s (hang guard)", dir)
	return ""
}

// checkSecurityHeaders: every page and asset of the cockpit carries the
// CSP and the other security headers.
func checkSecurityHeaders(t *testing.T, base string) {
	t.Helper()
	resp, err := http.Get(base + "/") //nolint:noctx // test
	require.NoError(t, err)
	resp.Body.Close()
	paths := []string{"/", "/signin", "/signup", "/trade", "/accounts", "/bots", "/bots/new", "/bots/1", "/history", "/settings", "/admin"}
	for _, p := range paths {
		resp, err := http.Get(base + p) //nolint:noctx // test
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, p)
		assert.Equal(t, cockpit.ContentSecurityPolicy, resp.Header.Get("Content-Security-Policy"), "%s carries the CSP", p)
		assert.NotContains(t, resp.Header.Get("Content-Security-Policy"), "unsafe-inline", p)
		assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'", p)
		assert.Equal(t, "DENY", resp.Header.Get("X-Frame-Options"), p)
		assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"), p)
		assert.Equal(t, "no-referrer", resp.Header.Get("Referrer-Policy"), p)
	}
	resp, err = http.Get(base + "/api/v2/nothing-here") //nolint:noctx // test
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"), "unknown API paths keep their JSON 404")
}
