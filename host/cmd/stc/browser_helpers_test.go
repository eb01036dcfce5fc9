package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/cockpit/browsertest"
)

// screen is one browser tab on the cockpit of a test host, at one size.
type screen struct {
	t    *testing.T
	tab  *browsertest.Tab
	base string
	size string // "1440x900", for screenshot names
}

func newScreen(t *testing.T, browser context.Context, base string, w, h int64) *screen {
	t.Helper()
	return &screen{t: t, tab: browsertest.NewTab(t, browser, w, h), base: base, size: fmt.Sprintf("%dx%d", w, h)}
}

// speak makes the tab's browser prefer the languages of an
// Accept-Language value (navigator.languages follows).
func (s *screen) speak(languages string) {
	s.t.Helper()
	ua := eval[string](s, `navigator.userAgent`)
	_, err := chromedp.Call(s.tab.Ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: ua, AcceptLanguage: languages})
	require.NoError(s.t, err)
}

// fail ends the test with what the page showed and logged.
func (s *screen) fail(what string, err error) {
	s.t.Helper()
	body, _ := chromedp.Run(s.tab.Ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 3000) : ''`))
	if shot, e := chromedp.Run(s.tab.Ctx, chromedp.CaptureScreenshot()); e == nil {
		p := filepath.Join(os.TempDir(), "stc-cockpit-failure-"+s.size+".png")
		_ = os.WriteFile(p, shot, 0o600)
		s.t.Logf("screenshot of the failure: %s", p)
	}
	s.t.Fatalf("%s: %v\npage text:\n%s\nbrowser problems: %v", what, err, body, s.tab.Problems(nil))
}

// do runs actions, failing the test on an error.
func (s *screen) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	s.t.Helper()
	if err := chromedp.Do(s.tab.Ctx, actions...); err != nil {
		s.fail(what, err)
	}
}

// minWait is the least any wait gets: the limits are hang guards, and a
// machine busy with other test binaries renders a page in seconds, not
// milliseconds.
const minWait = 45 * time.Second

// waitFor waits until sel (CSS) is visible, within limit (at least
// minWait).
func (s *screen) waitFor(what, sel string, limit time.Duration) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.tab.Ctx, max(limit, minWait))
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		s.fail(what+" (waiting for "+sel+")", err)
	}
}

// waitReady waits until sel is in the document, visible or not (within
// limit, at least minWait).
func (s *screen) waitReady(what, sel string, limit time.Duration) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.tab.Ctx, max(limit, minWait))
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.WaitReady(chromedp.CSS(sel))); err != nil {
		s.fail(what+" (waiting for "+sel+")", err)
	}
}

// eval evaluates a JavaScript expression in the page and decodes its
// value into T.
func eval[T any](s *screen, js string) T {
	s.t.Helper()
	v, err := chromedp.Run(s.tab.Ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		s.fail("evaluate "+js, err)
	}
	return v
}

// text is the visible text of the first element matching sel.
func (s *screen) text(sel string) string {
	s.t.Helper()
	return eval[string](s, `(document.querySelector(`+jsString(sel)+`) || {innerText: ''}).innerText`)
}

// fill replaces an input's value by typing v.
func (s *screen) fill(sel, v string) {
	s.t.Helper()
	eval[bool](s, `(() => { const el = document.querySelector(`+jsString(sel)+`); el.value = ''; el.focus(); return true })()`)
	s.do("type into "+sel, chromedp.SendKeys(chromedp.CSS(sel), v))
}

// choose picks the option of a select as a user would (the change event
// fires).
func (s *screen) choose(sel, value string) {
	s.t.Helper()
	ok := eval[bool](s, `(() => { const el = document.querySelector(`+jsString(sel)+`);
		if (!el || ![...el.options].some(o => o.value === `+jsString(value)+`)) return false;
		el.value = `+jsString(value)+`; el.dispatchEvent(new Event('change', {bubbles: true})); return true })()`)
	require.True(s.t, ok, "select %s has no option %q", sel, value)
}

// click clicks the first element matching sel.
func (s *screen) click(sel string) {
	s.t.Helper()
	s.do("click "+sel, chromedp.Click(chromedp.CSS(sel)))
}

// open navigates to path and waits for the page to render.
func (s *screen) open(path string) {
	s.t.Helper()
	s.do("open "+path, chromedp.Navigate(s.base+path))
	s.waitReady("render "+path, "#app[data-page]", 20*time.Second)
}

// snap saves a screenshot as $STC_SCREENSHOTS/<name>-<size>.png when that
// directory is set (docs/screenshots is where the README's come from).
func (s *screen) snap(name string) {
	s.t.Helper()
	dir := os.Getenv("STC_SCREENSHOTS")
	if dir == "" {
		return
	}
	// Let charts, fonts and notices settle.
	time.Sleep(700 * time.Millisecond)
	b, err := chromedp.Run(s.tab.Ctx, chromedp.CaptureScreenshot())
	require.NoError(s.t, err)
	require.NoError(s.t, os.MkdirAll(dir, 0o755))
	require.NoError(s.t, os.WriteFile(filepath.Join(dir, name+"-"+s.size+".png"), b, 0o644))
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// pageProblems are the browser's uncaught exceptions, CSP refusals and
// other errors, without the failed-request lines the host's 4xx answers
// print (a 401 before sign-in, the 409 that asks for a 2FA code, the
// validation errors the test provokes) and requests a navigation
// cancelled (an open event stream when the test opens another page).
func pageProblems(s *screen) []string {
	return s.tab.Problems(func(p string) bool {
		return strings.Contains(p, "Failed to load resource: the server responded with a status of 4") ||
			strings.Contains(p, "net::ERR_ABORTED")
	})
}
