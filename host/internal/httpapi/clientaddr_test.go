package httpapi

import (
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The client address behind proxies: X-Forwarded-For counts only when the
// peer is a trusted proxy, and then only up to the first untrusted hop
// from the right (what a client writes into the header itself is further
// left and cannot move it).
func TestClientAddr(t *testing.T) {
	trusted := clientAddr{trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}}
	for _, c := range []struct {
		name, peer, xff string
		addr            clientAddr
		want            string
	}{
		{"no proxies configured: the header is ignored", "192.0.2.1:5000", "203.0.113.9", clientAddr{}, "192.0.2.1"},
		{"an untrusted peer's header is ignored", "192.0.2.1:5000", "203.0.113.9", trusted, "192.0.2.1"},
		{"a trusted proxy names the client", "10.0.0.2:5000", "203.0.113.9", trusted, "203.0.113.9"},
		{"a spoofed entry left of the real client", "10.0.0.2:5000", "1.1.1.1, 203.0.113.9", trusted, "203.0.113.9"},
		{"two proxies", "10.0.0.2:5000", "203.0.113.9, 10.0.0.7", trusted, "203.0.113.9"},
		{"every hop a proxy: the first", "10.0.0.2:5000", "10.0.0.9, 10.0.0.7", trusted, "10.0.0.9"},
		{"no header from a proxy: the proxy", "10.0.0.2:5000", "", trusted, "10.0.0.2"},
		{"garbage stops the walk at the last proxy", "10.0.0.2:5000", "203.0.113.9, not-an-ip, 10.0.0.7", trusted, "10.0.0.7"},
		{"a hop with a port", "10.0.0.2:5000", "203.0.113.9:4711", trusted, "203.0.113.9"},
		{"IPv6 proxy and client", "[fd00::1]:5000", "2001:db8::5", trusted, "2001:db8::5"},
		{"an IPv4-mapped peer", "[::ffff:10.0.0.2]:5000", "203.0.113.9", trusted, "203.0.113.9"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = c.peer
			if c.xff != "" {
				r.Header.Set("X-Forwarded-For", c.xff)
			}
			assert.Equal(t, c.want, c.addr.of(r))
		})
	}
}
