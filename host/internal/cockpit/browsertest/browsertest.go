// Package browsertest drives Debian's headless Chromium for the cockpit's
// browser tests and benchmarks (chromedp over the DevTools protocol). A
// machine without a browser skips them with a message saying how to get
// one; under CI=true they fail instead, since CI installs it.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// ExecPath returns the browser to drive: $STC_CHROMIUM, else the first of
// chromium, chromium-browser and google-chrome on $PATH (or Debian's
// /usr/bin/chromium), else "".
func ExecPath() string {
	if p := os.Getenv("STC_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	return ""
}

// Browser starts a headless Chromium for t, with a fresh profile and
// nothing that reaches the network on its own, and returns its context;
// it is closed when t ends. Without a browser t is skipped, or failed
// under CI=true.
func Browser(t testing.TB) context.Context {
	t.Helper()
	path := ExecPath()
	if path == "" {
		msg := "no Chromium found: the browser tests need Debian's chromium package (apt-get install -y chromium) or STC_CHROMIUM=/path/to/chrome"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("font-render-hinting", "none"),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		t.Fatalf("start %s: %v", path, err)
	}
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	return ctx
}

// Tab is one browser tab and what it saw: JavaScript dialogs (an
// injected alert() would open one), uncaught exceptions and console or
// security errors (a CSP violation is one).
type Tab struct {
	Ctx context.Context

	mu       sync.Mutex
	dialogs  []string
	problems []string
}

// NewTab opens a tab of browser in its own browser context (its own
// cookies: another user) with a viewport of width×height.
func NewTab(t testing.TB, browser context.Context, width, height int64) *Tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	tab := &Tab{Ctx: ctx}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, height)); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	// An alert() the page opens blocks it: record and dismiss each one.
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	messages := chromedp.Console(ctx)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			tab.mu.Lock()
			tab.dialogs = append(tab.dialogs, string(ev.Type)+": "+ev.Message)
			tab.mu.Unlock()
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == chromedp.ConsoleError {
				tab.mu.Lock()
				tab.problems = append(tab.problems, fmt.Sprintf("%s %s: %s (%s:%d)", m.Type, m.Source, m.Text, m.URL, m.Line+1))
				tab.mu.Unlock()
			}
		}
	}()
	return tab
}

// Dialogs are the JavaScript dialogs the tab opened so far.
func (tab *Tab) Dialogs() []string {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	return append([]string(nil), tab.dialogs...)
}

// Problems are the uncaught exceptions and logged errors so far, minus
// those for which ignore returns true.
func (tab *Tab) Problems(ignore func(string) bool) []string {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	var out []string
	for _, p := range tab.problems {
		if ignore == nil || !ignore(p) {
			out = append(out, p)
		}
	}
	return out
}

// CSPViolations are the logged errors that are Content-Security-Policy
// refusals.
func (tab *Tab) CSPViolations() []string {
	return tab.Problems(func(p string) bool { return !strings.Contains(p, "Content Security Policy") })
}
