package accounts

import (
	"fmt"
	"maps"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/stc-trading/stc/host/internal/names"
	"github.com/stc-trading/stc/sdk/broker"
)

// Bounds on a connect request. They keep one request from storing or
// sending arbitrary amounts of data; real brokers need a handful of short
// fields.
const (
	maxCredentials     = 16
	maxCredentialKey   = 64
	maxCredentialValue = 1024
	// maxBrokerName and maxLogin are the broker_accounts column widths.
	maxBrokerName = 20
	maxLogin      = 254
)

// codeField is the one-time second-factor code: sent to the broker, never
// stored.
const codeField = "code"

// loginFields are the credential fields, in order of preference, whose
// value names the account to its user (never a secret field).
func loginFields() []string { return []string{"username", "email", "login", "identifier"} }

// connectInput is a validated ConnectRequest.
type connectInput struct {
	broker string
	mode   broker.Mode
	creds  map[string]string // a copy; the caller's map is never kept
	login  string
}

// codeOnly reports a repeat of a second-factor connect that carries just
// the code; the rest comes from the pending account's stored credentials.
func (in connectInput) codeOnly() bool {
	_, ok := in.creds[codeField]
	return ok && len(in.creds) == 1
}

// stored returns the credentials to seal: everything but the one-time code.
func (in connectInput) stored() map[string]string {
	out := maps.Clone(in.creds)
	delete(out, codeField)
	return out
}

// validateConnect checks req's shape. Broker-specific checks (known broker,
// declared fields) follow once the plugin is reached. Messages name keys
// at most, never values.
func validateConnect(req ConnectRequest) (connectInput, error) {
	in := connectInput{broker: req.Broker, mode: req.Mode}
	if err := validateBrokerName(req.Broker); err != nil {
		return connectInput{}, err
	}
	switch req.Mode {
	case 0:
		// Not given: practice is the responsible default, so a client that
		// forgets the mode never trades real money.
		in.mode = broker.Practice
	case broker.Practice, broker.Real:
	default:
		return connectInput{}, fmt.Errorf("%w: mode must be practice or real", ErrInvalidRequest)
	}
	if len(req.Credentials) == 0 {
		return connectInput{}, fmt.Errorf("%w: credentials are required", ErrInvalidRequest)
	}
	if len(req.Credentials) > maxCredentials {
		return connectInput{}, fmt.Errorf("%w: at most %d credential fields", ErrInvalidRequest, maxCredentials)
	}
	for k, v := range req.Credentials {
		if k == "" || len(k) > maxCredentialKey || !names.Valid(k) {
			return connectInput{}, fmt.Errorf("%w: credential names must be 1 to %d bytes of visible text", ErrInvalidRequest, maxCredentialKey)
		}
		if len(v) > maxCredentialValue {
			return connectInput{}, fmt.Errorf("%w: credential %q is longer than %d bytes", ErrInvalidRequest, k, maxCredentialValue)
		}
		if !printable(v) {
			// gRPC cannot carry invalid UTF-8, and control characters are
			// a classic way to smuggle line breaks into logs downstream.
			return connectInput{}, fmt.Errorf("%w: credential %q must be UTF-8 without control characters", ErrInvalidRequest, k)
		}
	}
	in.creds = maps.Clone(req.Credentials)
	return in, nil
}

// validateBrokerName accepts the catalog's plugin name syntax; anything else
// cannot name an installed broker.
func validateBrokerName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: broker is required", ErrInvalidRequest)
	}
	if len(name) > maxBrokerName {
		return fmt.Errorf("%w: name too long", ErrUnknownBroker)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' {
			return fmt.Errorf("%w: names are lower-case letters, digits, '-' and '_'", ErrUnknownBroker)
		}
	}
	return nil
}

// checkAgainstMetadata checks in against what the adapter declares: only
// declared credential fields, the required ones present, real mode only
// where supported. It also
// derives the login from the first non-sensitive login field.
func checkAgainstMetadata(in *connectInput, meta broker.Metadata) error {
	if in.mode == broker.Real && !meta.Capabilities.RealAccounts {
		return fmt.Errorf("accounts: broker %s has no real-money accounts: %w", in.broker, broker.ErrUnsupported)
	}
	sensitive := map[string]bool{}
	if len(meta.Credentials) > 0 {
		declared := map[string]bool{codeField: meta.Capabilities.SecondFactor}
		for _, f := range meta.Credentials {
			declared[f.Name] = true
			sensitive[f.Name] = f.Sensitive
		}
		for k := range in.creds {
			if !declared[k] {
				return fmt.Errorf("%w: broker %s does not take credential %q", ErrInvalidRequest, in.broker, k)
			}
		}
		// A repeat carrying the code alone takes the rest from the pending
		// account; any other request must be complete, so that an obvious
		// mistake costs neither an account row nor a broker login.
		if !in.codeOnly() {
			for _, f := range meta.Credentials {
				if f.Required && in.creds[f.Name] == "" {
					return fmt.Errorf("%w: credential %q is required by broker %s", ErrInvalidRequest, f.Name, in.broker)
				}
			}
		}
	}
	for _, f := range loginFields() {
		v := strings.TrimSpace(in.creds[f])
		if v == "" || sensitive[f] {
			continue
		}
		if len(v) > maxLogin {
			return fmt.Errorf("%w: credential %q is longer than %d bytes", ErrInvalidRequest, f, maxLogin)
		}
		// The login is what the account is shown by, to its user and in
		// the logs, so it follows the rule of every name. Secret fields
		// never get here: they are passed on as typed.
		if !names.Valid(v) {
			return fmt.Errorf("%w: credential %q must be visible text without invisible or direction-changing characters", ErrInvalidRequest, f)
		}
		in.login = v
		break
	}
	return nil
}

// printable reports valid UTF-8 without control characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}
