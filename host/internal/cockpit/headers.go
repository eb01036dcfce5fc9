package cockpit

import "net/http"

// ContentSecurityPolicy is sent with every page and asset. Scripts,
// styles and connections come from this host only; there is no inline
// script or style anywhere in the app (the chart library's inline
// attribution style is switched off and the attribution shown as a plain
// link instead), so neither 'unsafe-inline' nor a nonce is needed, and an
// injected <script> or onerror= attribute never runs. frame-ancestors
// 'none' stops clickjacking (X-Frame-Options for older browsers).
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// setSecurityHeaders sets the headers every cockpit answer carries.
func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
}
