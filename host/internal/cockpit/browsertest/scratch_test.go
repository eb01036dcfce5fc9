package browsertest

import (
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func shot(t *testing.T, tab *Tab, name string) {
	time.Sleep(800 * time.Millisecond)
	b, err := chromedp.Run(tab.Ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile("/tmp/scratch/"+name+".png", b, 0o644)
}

func TestScratch(t *testing.T) {
	base := os.Getenv("STC_DEV_URL")
	if base == "" {
		t.Skip()
	}
	b := Browser(t)
	tab := NewTab(t, b, 1440, 900)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%v\nproblems: %v", err, tab.Problems(nil))
		}
	}
	must(chromedp.Do(tab.Ctx, chromedp.Navigate(base+"/signup"), chromedp.WaitVisible(chromedp.CSS("input[name=email]"))))
	shot(t, tab, "signup")
	email := "u" + time.Now().Format("150405") + "@example.com"
	must(chromedp.Do(tab.Ctx, chromedp.SendKeys(chromedp.CSS("input[name=email]"), email), chromedp.SendKeys(chromedp.CSS("input[name=password]"), "correct horse battery"),
		chromedp.Click(chromedp.CSS("button[type=submit]")), chromedp.WaitVisible(chromedp.CSS(`.broker[data-broker="paper"]`))))
	shot(t, tab, "accounts")
	must(chromedp.Do(tab.Ctx, chromedp.Click(chromedp.CSS(`.broker[data-broker="paper"]`)), chromedp.WaitVisible(chromedp.CSS(`form.connect input[name=username]`)),
		chromedp.SendKeys(chromedp.CSS(`form.connect input[name=username]`), "trader-"+time.Now().Format("150405")),
		chromedp.SendKeys(chromedp.CSS(`form.connect input[name=password]`), "paper-secret-1"),
		chromedp.Click(chromedp.CSS(`form.connect button[type=submit]`)), chromedp.WaitVisible(chromedp.ID("twofa"))))
	shot(t, tab, "twofa")
	must(chromedp.Do(tab.Ctx, chromedp.SendKeys(chromedp.CSS(`#twofa input`), "424242"), chromedp.Click(chromedp.CSS(`form.connect button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.account[data-status="connected"]`))))
	shot(t, tab, "accounts2")
	must(chromedp.Do(tab.Ctx, chromedp.Click(chromedp.CSS(`a[data-nav="trade"]`)), chromedp.WaitVisible(chromedp.ID("ticket-call")), chromedp.Sleep(1500*time.Millisecond)))
	shot(t, tab, "trade")
	must(chromedp.Do(tab.Ctx, chromedp.Click(chromedp.ID("ticket-call")), chromedp.WaitVisible(chromedp.CSS(`#open-trades li[data-status="open"]`))))
	shot(t, tab, "trade2")
	must(chromedp.Do(tab.Ctx, chromedp.WaitVisible(chromedp.CSS(`#chart-trades li[data-status="won"], #chart-trades li[data-status="lost"], #chart-trades li[data-status="draw"]`), chromedp.NodeReady)))
	shot(t, tab, "trade3")
	for _, p := range []string{"bots/new", "bots", "history", "settings"} {
		must(chromedp.Do(tab.Ctx, chromedp.Navigate(base+"/"+p), chromedp.Sleep(1500*time.Millisecond)))
		shot(t, tab, "p-"+p[:4])
	}
	t.Logf("problems: %v\ndialogs: %v", tab.Problems(nil), tab.Dialogs())
}
