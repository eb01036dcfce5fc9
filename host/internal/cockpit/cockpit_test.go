package cockpit_test

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/cockpit"
)

func get(t *testing.T, h http.Handler, path string, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func newHandler(t *testing.T) *cockpit.Handler {
	t.Helper()
	h, err := cockpit.New()
	require.NoError(t, err)
	return h
}

// TestPagesAndAssets: every app path is the page, linking versioned
// assets; assets are immutable under their version, gzip-compressed for
// clients that accept it, and revalidated with ETags; every answer has
// the security headers.
func TestPagesAndAssets(t *testing.T) {
	h := newHandler(t)
	for _, p := range []string{"/", "/signin", "/trade", "/bots/12/edit", "/history"} {
		rec := get(t, h, p)
		require.Equal(t, http.StatusOK, rec.Code, p)
		assert.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))
		assert.Equal(t, "no-cache", rec.Header().Get("Cache-Control"), "the page is revalidated, so a new build is seen at once")
		assert.Contains(t, rec.Body.String(), `/assets/`+h.Version()+`/js/main.js`)
		assertSecurityHeaders(t, rec, p)
	}
	rec := get(t, h, "/assets/"+h.Version()+"/js/main.js")
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "public, max-age=31536000, immutable", rec.Header().Get("Cache-Control"))
	assert.Equal(t, "text/javascript; charset=utf-8", rec.Header().Get("Content-Type"))
	assert.Empty(t, rec.Header().Get("Content-Encoding"), "no gzip for a client that did not ask")
	plain := rec.Body.Bytes()
	assertSecurityHeaders(t, rec, "main.js")

	rec = get(t, h, "/assets/"+h.Version()+"/js/main.js", "Accept-Encoding", "br, gzip;q=0.8")
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "gzip", rec.Header().Get("Content-Encoding"))
	assert.Equal(t, "Accept-Encoding", rec.Header().Get("Vary"))
	zr, err := gzip.NewReader(rec.Body)
	require.NoError(t, err)
	unzipped, err := io.ReadAll(zr)
	require.NoError(t, err)
	assert.Equal(t, plain, unzipped)
	etag := rec.Header().Get("ETag")
	require.NotEmpty(t, etag)
	rec = get(t, h, "/assets/"+h.Version()+"/js/main.js", "Accept-Encoding", "gzip", "If-None-Match", etag)
	assert.Equal(t, http.StatusNotModified, rec.Code)
	assert.Empty(t, rec.Body.Bytes())

	rec = get(t, h, "/assets/"+h.Version()+"/js/main.js", "Accept-Encoding", "gzip;q=0")
	assert.Empty(t, rec.Header().Get("Content-Encoding"), "q=0 refuses gzip")

	rec = get(t, h, "/assets/0123456789ab/js/main.js")
	assert.Equal(t, http.StatusOK, rec.Code, "an older page still gets the file")
	assert.Equal(t, "no-cache", rec.Header().Get("Cache-Control"), "but nobody keeps it under the wrong version")
	for _, p := range []string{"/assets/" + h.Version() + "/js/nope.js", "/favicon.ico", "/robots.txt", "/assets/" + h.Version() + "/../cockpit.go"} {
		rec = get(t, h, p)
		assert.Equal(t, http.StatusNotFound, rec.Code, p)
		assertSecurityHeaders(t, rec, p)
	}
	req := httptest.NewRequest(http.MethodPost, "/trade", nil)
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, req)
	assert.Equal(t, http.StatusMethodNotAllowed, rr.Code)
}

func assertSecurityHeaders(t *testing.T, rec *httptest.ResponseRecorder, what string) {
	t.Helper()
	csp := rec.Header().Get("Content-Security-Policy")
	assert.Equal(t, cockpit.ContentSecurityPolicy, csp, what)
	assert.Contains(t, csp, "script-src 'self'")
	assert.NotContains(t, csp, "unsafe-inline")
	assert.NotContains(t, csp, "unsafe-eval")
	assert.Contains(t, csp, "frame-ancestors 'none'")
	assert.Equal(t, "DENY", rec.Header().Get("X-Frame-Options"), what)
	assert.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"), what)
	assert.Equal(t, "no-referrer", rec.Header().Get("Referrer-Policy"), what)
}

// webFiles reads every file under web/.
func webFiles(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir("web", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		out[filepath.ToSlash(p)] = string(b)
		return err
	}))
	return out
}

// TestNoMarkupFromStrings: the app builds the DOM from nodes and text
// only. No file writes HTML from a string (innerHTML and friends), none
// evaluates strings as code, and the page has no inline script or style,
// which the CSP would refuse anyway.
func TestNoMarkupFromStrings(t *testing.T) {
	forbidden := regexp.MustCompile(`innerHTML|outerHTML\s*=|insertAdjacentHTML|document\.write|\beval\(|new Function\(|setAttribute\(\s*['"]style|\.cssText|setTimeout\(\s*['"]`)
	for name, src := range webFiles(t) {
		if !strings.HasPrefix(name, "web/js/") {
			continue
		}
		assert.Empty(t, forbidden.FindAllString(src, -1), "%s builds markup or code from a string", name)
	}
	index := webFiles(t)["web/index.html"]
	assert.NotRegexp(t, `<script(?:\s+type="module")?>`, index, "no inline script")
	assert.NotContains(t, index, "<style")
	assert.NotRegexp(t, `\son[a-z]+=`, index, "no inline event handler")
	assert.NotContains(t, index, "style=")
}

// TestLanguagesComplete: Portuguese (Brazil) and Spanish have every
// English key and no other.
func TestLanguagesComplete(t *testing.T) {
	files := webFiles(t)
	key := regexp.MustCompile(`'([a-zA-Z0-9_.]+)':`)
	keys := func(name string) []string {
		var out []string
		for _, m := range key.FindAllStringSubmatch(files[name], -1) {
			out = append(out, m[1])
		}
		sort.Strings(out)
		return out
	}
	en := keys("web/js/lang/en.js")
	require.Greater(t, len(en), 100)
	for _, l := range []string{"pt-BR", "es"} {
		assert.Equal(t, en, keys("web/js/lang/"+l+".js"), "%s has exactly the English keys", l)
	}
	// Every key the code asks for with a literal exists.
	used := regexp.MustCompile(`\bt\('([a-zA-Z0-9_.]+)'\s*[,)]`)
	have := map[string]bool{}
	for _, k := range en {
		have[k] = true
	}
	for name, src := range files {
		if name == "web/js/i18n.js" { // its doc comment shows t('key')
			continue
		}
		for _, m := range used.FindAllStringSubmatch(src, -1) {
			assert.True(t, have[m[1]], "%s uses %q, which en.js lacks", name, m[1])
		}
	}
}

// TestVendoredFilesMatchTheManifest: the embedded third-party files are
// byte for byte the ones vendor.txt pins (make web-vendor re-fetches and
// checks them), each with its license next to it.
func TestVendoredFilesMatchTheManifest(t *testing.T) {
	f, err := os.Open("vendor.txt")
	require.NoError(t, err)
	defer f.Close()
	packages, files := 0, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		switch fields[0] {
		case "package":
			require.Len(t, fields, 5, sc.Text())
			assert.Regexp(t, `^\d+\.\d+\.\d+$`, fields[2], "a pinned version")
			assert.NotEmpty(t, fields[3], "a license")
			assert.Regexp(t, `^[0-9a-f]{64}$`, fields[4])
			packages++
		case "file":
			require.Len(t, fields, 5, sc.Text())
			b, err := os.ReadFile(filepath.Join("web", "vendor", fields[3]))
			require.NoError(t, err, "vendored file %s", fields[3])
			sum := sha256.Sum256(b)
			assert.Equal(t, fields[4], hex.EncodeToString(sum[:]), "%s differs from the pinned file", fields[3])
			_, err = os.Stat(filepath.Join("web", "vendor", filepath.Dir(fields[3]), "LICENSE"))
			assert.NoError(t, err, "%s ships with its license", fields[3])
			files++
		default:
			t.Errorf("vendor.txt: unknown line %q", sc.Text())
		}
	}
	require.NoError(t, sc.Err())
	assert.Equal(t, 1, packages)
	assert.Equal(t, 2, files)
}

// TestTransferBudget: what the trade view loads, compressed, stays well
// inside the 300 KB first-load budget (docs/BENCHMARKS.md measures the
// real load in a browser, API answers included).
func TestTransferBudget(t *testing.T) {
	h := newHandler(t)
	total := 0
	for name := range webFiles(t) {
		if strings.HasSuffix(name, "LICENSE") || strings.Contains(name, "/lang/") && !strings.HasSuffix(name, "en.js") {
			continue
		}
		path := "/assets/" + h.Version() + "/" + strings.TrimPrefix(name, "web/")
		if name == "web/index.html" {
			path = "/trade"
		}
		rec := get(t, h, path, "Accept-Encoding", "gzip")
		require.Equal(t, http.StatusOK, rec.Code, path)
		total += rec.Body.Len()
	}
	t.Logf("every asset of the app, gzip-compressed: %d bytes", total)
	assert.Less(t, total, 250*1024)
}
