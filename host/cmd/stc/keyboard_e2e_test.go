package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/cockpit/browsertest"
)

// TestCockpitByKeyboardOnly drives the cockpit's main flow with nothing
// but key presses sent to the page (Tab, Shift+Tab, Enter, Space, arrows
// and typed text; no click, no value set by script): sign up, connect a
// paper account through the 2FA prompt, place a CALL from the ticket,
// create a bot and start and stop it, sign out. At every step it checks
// where focus is and that it is visible (an outline or a shadow the page
// does not clip or cover), and on every page that the first Tab stop is a
// working skip link, that Tab and Shift+Tab go round the whole page
// without being trapped, and that every stop has an accessible name.
func TestCockpitByKeyboardOnly(t *testing.T) {
	br := browsertest.Browser(t)
	bin, pluginDir := buildBinaries(t)
	h := startHost(t, bin, hostEnv(freeAddr(t), t.TempDir(), pluginDir, "",
		"STC_PAPER_TIME_SCALE=60", "STC_PAPER_REQUIRE_2FA=true", "STC_PAPER_2FA_CODE="+twoFACode, "STC_LOG_LEVEL=warn"))
	t.Cleanup(func() {
		if t.Failed() {
			logs := h.logs.String()
			t.Logf("the host's log, last part:\n%s", logs[max(0, len(logs)-6000):])
		}
	})
	s := newScreen(t, br, h.base, 1440, 900)
	k := &keyboard{s: s}

	// Sign-in: the page puts the caret in its first field; the skip link
	// is the first Tab stop and moves focus to the content, in place.
	s.open("/")
	s.waitFor("the sign-in form", "form.auth input[name=email]", hangGuard)
	k.expect("the sign-in page focuses its first field", "form.auth input[name=email]")
	k.cycle("sign-in")
	k.tabTo("the skip link", "a.skip", true)
	where := eval[string](s, `location.href + ' ' + history.length`)
	k.press(kb.Enter)
	k.expect("the skip link moves focus to the content", "main#main")
	assert.Equal(t, where, eval[string](s, `location.href + ' ' + history.length`), "the skip link is no navigation")
	k.press(kb.Tab)
	k.expect("Tab after the skip link", "form.auth input[name=email]")

	// The header's tools work from the keyboard and keep focus.
	k.tabTo("the theme button", "header button.icon-btn", true)
	dark := eval[string](s, `document.documentElement.dataset.theme || ''`)
	k.press(" ")
	assert.NotEqual(t, dark, eval[string](s, `document.documentElement.dataset.theme || ''`), "Space toggles the theme")
	k.press(kb.Enter)
	assert.Equal(t, dark, eval[string](s, `document.documentElement.dataset.theme || ''`), "Enter toggles it back")
	k.expect("focus stays on the theme button", "header button.icon-btn")
	k.tabTo("the language picker", "header select.lang", true)
	k.press(kb.ArrowDown)
	s.waitReady("the page in Portuguese", `html[lang="pt-BR"]`, hangGuard)
	k.expect("focus stays on the language picker when the page is redrawn in the new language", "header select.lang")
	assert.Equal(t, "Pular para o conteúdo", eval[string](s, `document.querySelector('a.skip').textContent`), "the skip link speaks the page's language")
	k.press(kb.ArrowUp)
	s.waitReady("the page in English", `html[lang="en"] a[href="/signup"]`, hangGuard)
	k.expect("and back", "header select.lang")

	// Sign-up: tab to the fields, type, Enter.
	k.tabTo("the sign-up link", `main a[href="/signup"]`, false)
	k.press(kb.Enter)
	s.waitFor("the sign-up form", "form.auth input[name=password][autocomplete=new-password]", hangGuard)
	k.expect("the sign-up page focuses its first field", "form.auth input[name=email]")
	k.typeText("kb-trader@example.com")
	k.press(kb.Tab)
	k.expect("Tab from the email", "form.auth input[name=password]")
	k.typeText(passphrase)
	k.press(kb.Enter)
	s.waitFor("the brokers after sign-up", `.broker[data-broker="paper"]`, hangGuard)
	k.expect("after the page changes, focus is on its content", "main#main")
	k.cycle("accounts")

	// The connect form opens from the broker's card and gives focus back
	// to it when it closes, by Cancel or by connecting.
	k.tabTo("the paper broker", `.broker[data-broker="paper"]`, false)
	k.press(" ")
	s.waitFor("the connect form", "form.connect input[name=username]", hangGuard)
	k.expect("the connect form takes focus", "form.connect input[name=username]")
	k.tabTo("Cancel", "form.connect button[type=button]", false)
	k.press(kb.Enter)
	k.expect("Cancel gives focus back to the broker", `.broker[data-broker="paper"]`)
	k.press(kb.Enter)
	s.waitFor("the connect form again", "form.connect input[name=username]", hangGuard)
	k.expect("the connect form takes focus", "form.connect input[name=username]")
	k.typeText("paper-kb")
	k.press(kb.Tab)
	k.expect("Tab from the login", "form.connect input[name=password]")
	k.typeText("paper-secret-1")
	k.press(kb.Tab)
	k.expect("Tab to the mode", `form.connect input[type=radio][value=practice]:checked`)
	k.press(kb.Tab)
	k.expect("Tab to Connect", "form.connect button[type=submit]")
	k.press(kb.Enter)
	s.waitFor("the 2FA prompt", "#twofa input", hangGuard)
	k.expect("the 2FA prompt takes focus", "#twofa input")
	k.typeText(twoFACode)
	k.press(kb.Enter)
	s.waitFor("the connected account", `.account[data-status="connected"]`, hangGuard)
	k.expect("connecting gives focus back to the broker", `.broker[data-broker="paper"]`)
	k.cycle("accounts with an account")

	// The trade view, through the navigation.
	k.tabTo("Trade in the navigation", `a[data-nav="trade"]`, true)
	k.press(kb.Enter)
	s.waitReady("the symbols", `#trade-symbol option[value="EURUSD-OTC"]`, hangGuard)
	k.expect("after the page changes, focus is on its content", "main#main")
	k.press(kb.Tab)
	k.expect("the account picker", "#trade-account")
	k.press(kb.Tab)
	k.expect("the symbol picker", "#trade-symbol")
	k.typeText("EURUSD-O")
	assert.Equal(t, "EURUSD-OTC", eval[string](s, `document.querySelector('#trade-symbol').value`), "typing picks the symbol")
	k.press(kb.Tab)
	k.expect("the timeframe group's checked radio", `[role=radio][aria-checked="true"][data-tf="1m"]`)
	k.press(kb.ArrowRight)
	k.expect("the arrow keys move the timeframe", `[role=radio][aria-checked="true"][data-tf="5m"]`)
	k.press(kb.ArrowLeft)
	k.expect("and back", `[role=radio][aria-checked="true"][data-tf="1m"]`)
	s.waitReady("the chart", "#chart canvas", hangGuard)
	s.waitFor("the ticket", "#ticket-call:not([disabled])", hangGuard)
	k.cycle("trade")
	k.tabTo("the amount", "#ticket-amount", false)
	k.press("a", chromedp.KeyModifiers(chromedp.ModifierCtrl))
	k.typeText("12")
	assert.Equal(t, "12", eval[string](s, `document.querySelector('#ticket-amount').value`))
	assert.Contains(t, s.text("#ticket-profit"), "$", "the potential profit follows the typed amount")
	k.press(kb.Tab)
	k.expect("the expiry", "#ticket-expiry")
	k.press(kb.ArrowDown)
	assert.Equal(t, "120", eval[string](s, `document.querySelector('#ticket-expiry').value`), "the arrow key picks the next expiry")
	k.press(kb.Tab)
	k.expect("CALL", "#ticket-call")
	k.press(kb.Enter)
	s.waitReady("the CALL on the chart", `#chart-trades li[data-trade]`, hangGuard)
	s.waitReady("the ticket ready again", "#ticket-call:not([aria-disabled])", hangGuard)
	k.expect("focus stays on CALL after the trade", "#ticket-call")
	trades := eval[string](s, `fetch('/api/v2/user/trades', {headers: {'STC-Session': 'cookie'}}).then(r => r.json())
		.then(j => j.items.map(x => [x.direction, x.symbol, x.amount, x.expiration].join(' ')).join())`)
	assert.Equal(t, "CALL EURUSD-OTC 12 120", trades, "one Enter placed exactly one trade, as typed")

	// A bot: its form, start and stop on its page and in the list.
	k.tabTo("Bots in the navigation", `a[data-nav="bots"]`, true)
	k.press(kb.Enter)
	s.waitFor("the bot list", "#new-bot", hangGuard)
	k.expect("after the page changes, focus is on its content", "main#main")
	k.press(kb.Tab)
	k.expect("New bot", "#new-bot")
	k.press(kb.Enter)
	s.waitFor("the bot form", "form.bot-form input[name=name]", hangGuard)
	k.expect("the bot form focuses its first field", "form.bot-form input[name=name]")
	k.typeText("kb bot")
	k.tabTo("the progression section", "form.bot-form details.more > summary", false)
	k.press(kb.Enter)
	assert.True(t, eval[bool](s, `document.querySelector('form.bot-form details.more').open`), "Enter opens the section")
	k.press(kb.Tab)
	k.expect("the progression kind", `form.bot-form select[name="progression.kind"]`)
	k.cycle("bot form")
	k.tabTo("Create", "form.bot-form button[type=submit]", false)
	k.press(kb.Enter)
	s.waitFor("the bot page", "#bot-toggle", hangGuard)
	k.expect("after the page changes, focus is on its content", "main#main")
	assert.Equal(t, "kb bot", s.text("h1.bot-name"))
	k.press(kb.Tab)
	k.expect("Start", "#bot-toggle")
	k.press(kb.Enter)
	s.waitFor("the bot runs", `.badge[data-status="running"]`, hangGuard)
	s.waitReady("the button says Stop", "#bot-toggle.ghost:not([aria-disabled])", hangGuard)
	k.expect("focus stays on the button when the bot's head is redrawn", "#bot-toggle")
	k.cycle("bot")
	k.tabTo("Bots in the navigation", `a[data-nav="bots"]`, true)
	k.press(kb.Enter)
	s.waitFor("the bot in the list", `.bot[data-bot] button[data-action="stop"]`, hangGuard)
	k.tabTo("the bot's Stop", `.bot[data-bot] button[data-action="stop"]`, false)
	k.press(kb.Enter)
	s.waitFor("the bot stops", `.bot[data-bot] button[data-action="start"]`, hangGuard)
	k.expect("focus stays on the bot's button when the list is redrawn", `.bot[data-bot] button[data-action="start"]`)
	k.cycle("bots")

	// On a phone the tab bar is fixed at the bottom and the header at the
	// top: no Tab stop may end up under either.
	p := newScreen(t, br, h.base, 390, 844)
	pk := &keyboard{s: p}
	p.open("/signin")
	p.waitFor("the sign-in form", "form.auth input[name=email]", hangGuard)
	pk.expect("the sign-in page focuses its first field", "form.auth input[name=email]")
	pk.typeText("kb-trader@example.com")
	pk.press(kb.Tab)
	pk.typeText(passphrase)
	pk.press(kb.Enter)
	p.waitFor("the ticket on a phone", "#ticket-call:not([disabled])", hangGuard)
	pk.cycle("trade on a phone")
	pk.tabTo("Bots in the tab bar", `a[data-nav="bots"]`, false)
	pk.press(kb.Enter)
	p.waitFor("the bots on a phone", `.bot[data-bot]`, hangGuard)
	pk.cycle("bots on a phone")

	// Disconnecting an account removes its card: focus goes to the list's
	// heading, not to the top of the document.
	k.tabTo("Accounts in the navigation", `a[data-nav="accounts"]`, true)
	k.press(kb.Enter)
	s.waitFor("the account", `.account[data-status="connected"] button`, hangGuard)
	k.expect("after the page changes, focus is on its content", "main#main")
	waitUntil(s, "the account's trades settled (an account with open trades is not disconnected)",
		`Promise.all(['open', 'pending'].map(st => fetch('/api/v2/user/trades?status=' + st, {headers: {'STC-Session': 'cookie'}})
			.then(r => r.json()).then(j => j.items.length))).then(n => n[0] + n[1] === 0)`)
	k.tabTo("Disconnect", `.account[data-status="connected"] button`, false)
	label := s.text(`.account[data-status="connected"] button`)
	k.press(kb.Enter)
	assert.NotEqual(t, label, s.text(`.account[data-status="connected"] button`), "the first Enter asks to confirm")
	k.expect("focus stays on Disconnect while it asks", `.account[data-status="connected"] button`)
	k.press(kb.Enter)
	s.waitFor("no account left", "#account-list .empty", hangGuard)
	k.expect("focus goes to the accounts' heading", "h2#accts-h")

	// Sign-out, from the header.
	k.tabTo("Sign out", "#signout", true)
	k.press(kb.Enter)
	s.waitFor("signed out", "form.auth input[name=email]", hangGuard)
	k.expect("the sign-in page focuses its first field", "form.auth input[name=email]")
	assert.Equal(t, 401, eval[int](s, `fetch('/api/v2/user', {headers: {'STC-Session': 'cookie'}}).then(r => r.status)`))

	for _, sc := range []*screen{s, p} {
		assert.Empty(t, sc.tab.Dialogs(), "%s: no page opened a dialog", sc.size)
		assert.Empty(t, pageProblems(sc), "%s: no script error and no CSP refusal", sc.size)
	}
}

// waitUntil polls js (a boolean expression, or a promise of one) until
// it is true.
func waitUntil(s *screen, what, js string) {
	s.t.Helper()
	deadline := time.Now().Add(hangGuard)
	for !eval[bool](s, js) {
		if time.Now().After(deadline) {
			s.fail(what, fmt.Errorf("not within %s (hang guard)", hangGuard))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// keyboard drives a screen with key presses only, and checks the focus.
type keyboard struct {
	s *screen
}

// hangGuard bounds every wait for the page (a busy machine can be slow;
// none of them measures speed).
const hangGuard = 60 * time.Second

// maxStops bounds a walk through a page's Tab stops: more means focus
// is trapped somewhere or never comes back.
const maxStops = 150

// press sends key (a kb constant or a character) to the focused element.
func (k *keyboard) press(key string, opts ...chromedp.KeyOption) {
	k.s.t.Helper()
	k.s.do("press "+fmt.Sprintf("%q", key), chromedp.KeyEvent(key, opts...))
}

// typeText types text, one key per character.
func (k *keyboard) typeText(text string) {
	k.s.t.Helper()
	k.s.do("type "+text, chromedp.KeyEvent(text))
}

// stop is where focus is: which element, whether it matches a selector,
// and why its focus would not be seen ("" when it is).
type stop struct {
	ID      int    `json:"id"` // the same element gets the same id
	Desc    string `json:"desc"`
	Body    bool   `json:"body"`
	Matches bool   `json:"matches"`
	Order   int    `json:"order"` // position in document order
	Problem string `json:"problem"`
	Name    string `json:"-"` // the accessible name
	Role    string `json:"-"`
}

func (st stop) String() string { return st.Desc }

// focusProbe describes document.activeElement. A focus indicator is an
// outline or a box-shadow; it must not be cut off by an ancestor that
// clips its overflow, and the element must not be under another one
// (the sticky header, the phone's tab bar).
const focusProbe = `((sel) => {
  const W = window[Symbol.for('stc.kb')] || (window[Symbol.for('stc.kb')] = {ids: new WeakMap(), n: 0});
  const el = document.activeElement;
  const desc = (e) => {
    let s = e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.classList.length ? '.' + [...e.classList].join('.') : '');
    for (const a of ['name', 'type', 'href', 'role', 'data-nav', 'data-broker', 'data-tf', 'data-action']) {
      if (e.hasAttribute(a)) s += '[' + a + '="' + e.getAttribute(a) + '"]';
    }
    const text = ['INPUT', 'SELECT', 'TEXTAREA', 'MAIN'].includes(e.tagName) ? '' : (e.innerText || '').trim().slice(0, 30);
    return text ? s + ' "' + text + '"' : s;
  };
  if (!el || el === document.body || el === document.documentElement) {
    return {id: 0, desc: 'nothing (the document)', body: true, matches: false, order: -1, problem: 'no element has focus'};
  }
  if (!W.ids.has(el)) W.ids.set(el, ++W.n);
  const cs = getComputedStyle(el);
  const outline = cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0;
  const shadow = cs.boxShadow !== 'none';
  const r = el.getBoundingClientRect();
  let problem = '';
  if (!el.matches(':focus-visible')) problem = 'not :focus-visible';
  else if (!outline && !shadow) problem = 'no focus indicator (outline ' + cs.outline + ', box-shadow ' + cs.boxShadow + ')';
  else if (r.width < 1 || r.height < 1 || cs.visibility !== 'visible') problem = 'not rendered';
  else if (r.bottom <= 0 || r.right <= 0 || r.top >= innerHeight || r.left >= innerWidth) problem = 'off screen';
  if (!problem && outline) {
    const grow = Math.max(0, parseFloat(cs.outlineOffset) + parseFloat(cs.outlineWidth));
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const ps = getComputedStyle(p);
      if (ps.overflowX === 'visible' && ps.overflowY === 'visible') continue;
      const pr = p.getBoundingClientRect();
      const left = pr.left + p.clientLeft, top = pr.top + p.clientTop;
      if (r.left - grow < left - 0.5 || r.top - grow < top - 0.5 || r.right + grow > left + p.clientWidth + 0.5 || r.bottom + grow > top + p.clientHeight + 0.5) {
        problem = 'the focus ring is clipped by ' + desc(p);
        break;
      }
    }
  }
  if (!problem) {
    const x = Math.min(Math.max(r.left + r.width / 2, 0), innerWidth - 1), y = Math.min(Math.max(r.top + r.height / 2, 0), innerHeight - 1);
    const hit = document.elementFromPoint(x, y);
    if (hit && !el.contains(hit) && !hit.contains(el) && !(hit.control === el)) problem = 'covered by ' + desc(hit);
  }
  return {id: W.ids.get(el), desc: desc(el), body: false, matches: sel ? el.matches(sel) : false,
    order: Array.prototype.indexOf.call(document.getElementsByTagName('*'), el), problem};
})`

// focus describes where focus is now, with its accessible name.
func (k *keyboard) focus(sel string) stop {
	k.s.t.Helper()
	st := eval[stop](k.s, focusProbe+"("+jsString(sel)+")")
	if st.Body {
		return st
	}
	// The name and role assistive technology gets: Chromium's own
	// accessibility tree, not a guess from the markup.
	ctx := k.s.tab.Ctx
	res, err := chromedp.Call(ctx, runtime.Evaluate, runtime.EvaluateParams{Expression: "document.activeElement"})
	require.NoError(k.s.t, err)
	require.NotNil(k.s.t, res.Result)
	defer func() {
		_, _ = chromedp.Call(ctx, runtime.ReleaseObject, runtime.ReleaseObjectParams{ObjectID: res.Result.ObjectID})
	}()
	no := false
	ax, err := chromedp.Call(ctx, accessibility.GetPartialAXTree, accessibility.GetPartialAXTreeParams{ObjectID: res.Result.ObjectID, FetchRelatives: &no})
	require.NoError(k.s.t, err)
	if len(ax.Nodes) > 0 {
		n := ax.Nodes[0]
		if n.Name != nil {
			_ = json.Unmarshal(n.Name.Value, &st.Name)
		}
		if n.Role != nil {
			_ = json.Unmarshal(n.Role.Value, &st.Role)
		}
	}
	return st
}

// check asserts that focus at st is seen and named.
func (k *keyboard) check(what string, st stop) {
	k.s.t.Helper()
	assert.Empty(k.s.t, st.Problem, "%s: focus on %s is not visible", what, st.Desc)
	// The main region (focused by the skip link and after a page change)
	// is announced by its role; every control needs a name.
	if !st.Body && st.Role != "main" {
		assert.NotEmpty(k.s.t, strings.TrimSpace(st.Name), "%s: %s (role %s) has no accessible name", what, st.Desc, st.Role)
	}
}

// expect asserts that focus is on the element matching sel, visibly.
func (k *keyboard) expect(what, sel string) {
	k.s.t.Helper()
	st := k.focus(sel)
	if !st.Matches {
		k.s.fail(what, fmt.Errorf("focus is on %s, not on %s", st.Desc, sel))
	}
	k.check(what, st)
}

// tabTo presses Tab (Shift+Tab when back) until focus is on sel,
// checking every stop on the way.
func (k *keyboard) tabTo(what, sel string, back bool) {
	k.s.t.Helper()
	var path []string
	for range maxStops {
		k.tab(back)
		st := k.focus(sel)
		if st.Matches {
			k.check(what, st)
			return
		}
		// Past the last stop focus leaves the document once (for the
		// browser's own controls) before it comes round again.
		if !st.Body || (len(path) > 0 && path[len(path)-1] == st.Desc) {
			k.check("on the way to "+what, st)
		}
		path = append(path, st.Desc)
	}
	k.s.fail("tab to "+what, fmt.Errorf("%s never got focus in %d presses; focus went through:\n%s", sel, maxStops, strings.Join(path, "\n")))
}

func (k *keyboard) tab(back bool) {
	k.s.t.Helper()
	if back {
		k.press(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift))
	} else {
		k.press(kb.Tab)
	}
}

// cycle walks the page's Tab stops from the focused element all the way
// round with Tab, and back with Shift+Tab: every stop is visible and
// named, the walk comes back where it started (no trap), it leaves the
// document order once (at its end) and starts it again at the skip link.
func (k *keyboard) cycle(page string) {
	k.s.t.Helper()
	t := k.s.t
	var stops []stop
	firstID := 0 // the first element the walk reached
	for len(stops) <= maxStops {
		k.tab(false)
		st := k.focus("a.skip")
		if st.ID == firstID && !st.Body {
			break
		}
		if firstID == 0 {
			firstID = st.ID
		}
		if n := len(stops); n > 0 && st.Body && stops[n-1].Body {
			k.s.fail(page, fmt.Errorf("Tab left the page and does not come back; stops: %v", stops))
		}
		if !st.Body {
			k.check(page, st)
		}
		stops = append(stops, st)
	}
	if len(stops) > maxStops {
		k.s.fail(page, fmt.Errorf("focus trap: Tab did not come back to %s within %d presses; stops: %v", stops[0].Desc, maxStops, stops))
	}
	// Where the walk goes back in the document is the end of the page;
	// the next stop is the first of the document.
	var wraps []int
	var real []stop
	for _, st := range stops {
		if !st.Body {
			real = append(real, st)
		}
	}
	for i := range real {
		next := real[(i+1)%len(real)]
		if next.Order <= real[i].Order {
			wraps = append(wraps, (i+1)%len(real))
		}
	}
	if assert.Len(t, wraps, 1, "%s: Tab follows the document order and wraps once: %v", page, real) {
		first := real[wraps[0]]
		assert.True(t, first.Matches, "%s: the first Tab stop is the skip link, not %s", page, first.Desc)
		assert.Equal(t, "#main", eval[string](k.s, `document.querySelector('a.skip').getAttribute('href')`), "%s: the skip link goes to the content", page)
	}
	// Shift+Tab goes round the other way through the same stops.
	want := make([]string, 0, len(real))
	for i := len(real) - 1; i >= 0; i-- {
		want = append(want, real[i].Desc)
	}
	got := make([]string, 0, len(real))
	for presses := 0; len(got) < len(real) && presses <= len(stops)+1; presses++ {
		k.tab(true)
		if st := k.focus(""); !st.Body {
			got = append(got, st.Desc)
		}
	}
	assert.Equal(t, want, got, "%s: Shift+Tab visits the same stops backwards", page)
	t.Logf("%s: %d Tab stops, all visible and named, no trap", page, len(real))
}
