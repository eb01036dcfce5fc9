package accounts

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/stc-trading/stc/host/internal/apperr"
	"github.com/stc-trading/stc/host/internal/names"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/plugin"
	"github.com/stc-trading/stc/sdk/schema"
)

// Bounds on a connect request. They keep one request from storing or
// sending arbitrary amounts of data; real brokers need a handful of short
// fields.
const (
	// MaxCredentials bounds the fields of a connect's credentials.
	MaxCredentials = 16
	// MaxCredentialKey and MaxCredentialValue bound a credential's name
	// and value, in bytes.
	MaxCredentialKey   = 64
	MaxCredentialValue = 1024
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
		return connectInput{}, apperr.Invalid(ErrInvalidRequest, "mode", "mode must be practice or real")
	}
	if len(req.Credentials) == 0 {
		return connectInput{}, apperr.Invalid(ErrInvalidRequest, "credentials", "credentials are required")
	}
	if len(req.Credentials) > MaxCredentials {
		return connectInput{}, apperr.Invalid(ErrInvalidRequest, "credentials", "credentials must have at most %d fields", MaxCredentials)
	}
	for k, v := range req.Credentials {
		if k == "" || len(k) > MaxCredentialKey || !names.Valid(k) {
			return connectInput{}, apperr.Invalid(ErrInvalidRequest, "credentials", "credential names must be 1 to %d bytes of visible text", MaxCredentialKey)
		}
		if len(v) > MaxCredentialValue {
			return connectInput{}, apperr.Invalid(ErrInvalidRequest, "credentials."+k, "credentials.%s must be at most %d bytes", k, MaxCredentialValue)
		}
		if !printable(v) {
			// gRPC cannot carry invalid UTF-8, and control characters are
			// a classic way to smuggle line breaks into logs downstream.
			return connectInput{}, apperr.Invalid(ErrInvalidRequest, "credentials."+k, "credentials.%s must be UTF-8 without control characters", k)
		}
	}
	in.creds = maps.Clone(req.Credentials)
	return in, nil
}

// validateBrokerName accepts the catalog's plugin name syntax; anything else
// cannot name an installed broker.
func validateBrokerName(name string) error {
	if name == "" {
		return apperr.Invalid(ErrInvalidRequest, "broker", "broker is required")
	}
	if len(name) > maxBrokerName {
		return apperr.Refuse(ErrUnknownBroker, "no broker of this name is installed on this host")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' {
			return apperr.Refuse(ErrUnknownBroker, "no broker of this name is installed on this host; broker names are lower-case letters, digits, '-' and '_'")
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
		return apperr.Refuse(broker.ErrUnsupported, "the %s broker has no real-money accounts", in.broker)
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
				return apperr.Invalid(ErrInvalidRequest, "credentials."+k, "credentials.%s is not a credential the %s broker takes", k, in.broker)
			}
		}
		// A repeat carrying the code alone takes the rest from the pending
		// account; any other request must be complete, so that an obvious
		// mistake costs neither an account row nor a broker login.
		if !in.codeOnly() {
			for _, f := range meta.Credentials {
				if f.Required && in.creds[f.Name] == "" {
					return apperr.Invalid(ErrInvalidRequest, "credentials."+f.Name, "credentials.%s is required by the %s broker", f.Name, in.broker)
				}
			}
			// The broker's plugin checks the values against the same
			// declarations; checking here first names the field at fault.
			if _, err := schema.Resolve(meta.Credentials, in.stored()); err != nil {
				return credentialsError(err)
			}
		}
	}
	for _, f := range loginFields() {
		v := strings.TrimSpace(in.creds[f])
		if v == "" || sensitive[f] {
			continue
		}
		if len(v) > maxLogin {
			return apperr.Invalid(ErrInvalidRequest, "credentials."+f, "credentials.%s must be at most %d bytes", f, maxLogin)
		}
		// The login is what the account is shown by, to its user and in
		// the logs, so it follows the rule of every name. Secret fields
		// never get here: they are passed on as typed.
		if !names.Valid(v) {
			return apperr.Invalid(ErrInvalidRequest, "credentials."+f, "credentials.%s must be visible text without invisible or direction-changing characters", f)
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

// credentialsError turns a refusal of credentials by their declared schema
// into the refusal of the first field at fault (they come sorted by name).
// A refusal from the broker's plugin, by rules a schema cannot express,
// names the credentials as a whole and keeps the plugin's explanation.
func credentialsError(err error) error {
	var problems schema.Errors
	if errors.As(err, &problems) && len(problems) > 0 {
		p := problems[0]
		return fmt.Errorf("%w: %w", apperr.Invalid(ErrInvalidRequest, "credentials."+p.Field, "credentials.%s: %s", p.Field, p.Problem), err)
	}
	if msg, ok := plugin.RefusalMessage(err); ok {
		return fmt.Errorf("%w: %w", apperr.Invalid(ErrInvalidRequest, "credentials", "credentials are refused by the broker: %s", msg), err)
	}
	return fmt.Errorf("%w: %w", apperr.Invalid(ErrInvalidRequest, "credentials", "credentials are not what the broker declares"), err)
}
