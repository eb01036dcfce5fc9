// Package cockpit serves the trader's web app: plain JavaScript modules,
// CSS and the vendored chart library, embedded in the binary (no build
// step, no Node at build or run time) and talking only to the host's own
// REST API and event stream.
//
// Every asset is served under /assets/<version>/, where version is a hash
// of all embedded files, so a page always loads the modules it was
// written with and browsers may keep them for a year; the page itself
// (index.html, at every path of the app) is revalidated on each load.
// Assets are gzip-compressed once, at start, and sent compressed to the
// clients that accept it. Every answer carries the security headers of
// headers.go.
package cockpit

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"sort"
	"strings"
)

//go:embed web
var webFS embed.FS

// AssetPrefix is where the assets are served, followed by the version.
const AssetPrefix = "/assets/"

// versionMark is replaced in index.html by the asset version.
const versionMark = "__VERSION__"

// asset is one file ready to serve.
type asset struct {
	body, gzipped []byte
	contentType   string
	etag          string
}

// Handler serves the cockpit. It is immutable after New and safe for
// concurrent use.
type Handler struct {
	version string
	assets  map[string]*asset // by path below web/, e.g. "js/main.js"
	index   *asset
}

// New reads the embedded files, versions and compresses them.
func New() (*Handler, error) {
	files := map[string][]byte{}
	err := fs.WalkDir(webFS, "web", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := webFS.ReadFile(p)
		if err != nil {
			return err
		}
		files[strings.TrimPrefix(p, "web/")] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cockpit: read embedded files: %w", err)
	}
	indexHTML, ok := files["index.html"]
	if !ok {
		return nil, fmt.Errorf("cockpit: web/index.html is missing")
	}
	delete(files, "index.html")
	h := &Handler{version: contentVersion(files, indexHTML), assets: make(map[string]*asset, len(files))}
	for name, body := range files {
		a, err := newAsset(name, body)
		if err != nil {
			return nil, err
		}
		h.assets[name] = a
	}
	h.index, err = newAsset("index.html", bytes.ReplaceAll(indexHTML, []byte(versionMark), []byte(h.version)))
	if err != nil {
		return nil, err
	}
	return h, nil
}

// Version is the asset version the page links to.
func (h *Handler) Version() string { return h.version }

// contentVersion hashes every file's name and content.
func contentVersion(files map[string][]byte, index []byte) string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	sum := sha256.New()
	for _, n := range names {
		fmt.Fprintf(sum, "%s\x00%d\x00", n, len(files[n]))
		sum.Write(files[n])
	}
	sum.Write(index)
	return hex.EncodeToString(sum.Sum(nil))[:12]
}

func newAsset(name string, body []byte) (*asset, error) {
	ct := mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) {
	case ".js", ".mjs":
		ct = "text/javascript; charset=utf-8"
	case ".css":
		ct = "text/css; charset=utf-8"
	case ".html":
		ct = "text/html; charset=utf-8"
	case ".svg":
		ct = "image/svg+xml"
	case ".webmanifest":
		ct = "application/manifest+json"
	case "":
		ct = "text/plain; charset=utf-8" // LICENSE files
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	sum := sha256.Sum256(body)
	a := &asset{body: body, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(body); err != nil {
		return nil, fmt.Errorf("cockpit: compress %s: %w", name, err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("cockpit: compress %s: %w", name, err)
	}
	// Only when it pays: tiny files can grow.
	if buf.Len() < len(body) {
		a.gzipped = buf.Bytes()
	}
	return a, nil
}

// ServeHTTP serves an asset, or the app's page for any path that names no
// file (the app routes on the client: /trade, /bots/12, …).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header())
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	if rest, ok := strings.CutPrefix(p, AssetPrefix); ok {
		version, name, _ := strings.Cut(rest, "/")
		a, found := h.assets[name]
		if !found {
			http.NotFound(w, r)
			return
		}
		cache := "public, max-age=31536000, immutable"
		if version != h.version {
			// A page of another build asks: serve what there is, but let
			// nobody keep it under that name.
			cache = "no-cache"
		}
		h.send(w, r, a, cache)
		return
	}
	// A path with an extension names a file this app does not have
	// (/favicon.ico, /robots.txt): a plain 404, not the page.
	if path.Ext(p) != "" {
		http.NotFound(w, r)
		return
	}
	h.send(w, r, h.index, "no-cache")
}

// send writes a, gzipped when the client accepts it, honouring
// If-None-Match.
func (h *Handler) send(w http.ResponseWriter, r *http.Request, a *asset, cache string) {
	hd := w.Header()
	hd.Set("Content-Type", a.contentType)
	hd.Set("Cache-Control", cache)
	hd.Set("Vary", "Accept-Encoding")
	body, etag := a.body, a.etag
	if a.gzipped != nil && acceptsGzip(r) {
		body, etag = a.gzipped, strings.TrimSuffix(a.etag, `"`)+`-gz"`
		hd.Set("Content-Encoding", "gzip")
	}
	hd.Set("ETag", etag)
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, etag) {
		hd.Del("Content-Encoding")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hd.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// acceptsGzip reports whether Accept-Encoding lists gzip without q=0.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}
