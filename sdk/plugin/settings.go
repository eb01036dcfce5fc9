package plugin

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/stc-trading/stc/sdk/schema"
)

// Setting declares one operator setting of a plugin: a value the host's
// operator sets once for the whole plugin (a server URL, a market speed,
// an API token), unlike a strategy parameter (one per bot) or a broker
// credential (one per user account). It is a schema.Field: Name (in
// [a-z0-9_], at most 64 bytes), Type, Default, Description, Min, Max,
// Options, Required, and Sensitive for a secret, which `stc plugins`
// masks and nothing logs.
//
// A plugin lists its settings once, reads them in main with LoadSettings
// and declares them with WithSettings, so that GetInfo reports them. The
// host passes a plugin exactly the settings it declares, each as the
// variable SettingEnv(plugin, setting) (STC_PAPER_TIME_SCALE), taken from
// the host's environment or configuration file; nothing else of the
// host's environment reaches a plugin.
type Setting = schema.Field

// Variables the host sets for every plugin it launches, whatever it
// declares.
const (
	// LogLevelEnv is the host's log level: trace, debug, info, warn or
	// error. Serve's default logger uses it.
	LogLevelEnv = "STC_PLUGIN_LOG_LEVEL"
	// DataDirEnv is the plugin's own data directory, which the host
	// creates (mode 0700) before the launch and keeps across restarts:
	// <data dir>/<name> for a broker, <data dir>/strategy-<name> for a
	// strategy. One process uses it at a time, except that a restarted
	// process may start while the old one is still exiting (lock it if
	// that matters). When the host launches a plugin only to read its
	// GetInfo, it is a fresh temporary directory.
	DataDirEnv = "STC_PLUGIN_DATA_DIR"
)

// maxSettingName bounds a setting's name, so that its variable stays a
// sensible length.
const maxSettingName = 64

var settingName = regexp.MustCompile(`^[a-z0-9][a-z0-9_]*$`)

// SettingEnv returns the environment variable of setting of the plugin
// named pluginName: "STC_", the plugin's name, "_", the setting's name,
// upper-cased, with "-" in the plugin's name turned into "_" (variable
// names have no "-"). SettingEnv("paper", "time_scale") is
// "STC_PAPER_TIME_SCALE"; SettingEnv("mt5-bridge", "token") is
// "STC_MT5_BRIDGE_TOKEN".
func SettingEnv(pluginName, setting string) string {
	return "STC_" + strings.ToUpper(strings.ReplaceAll(pluginName, "-", "_")) + "_" + strings.ToUpper(setting)
}

// CheckSettings reports every problem of a list of declarations at once:
// a name outside [a-z0-9_] or longer than 64 bytes, a name declared twice,
// an invalid type, a required setting with a default (it could never be
// missing), and a default that its own type, bounds or options reject.
func CheckSettings(settings []Setting) error {
	var errs []error
	seen := make(map[string]bool, len(settings))
	for _, s := range settings {
		switch {
		case !settingName.MatchString(s.Name) || len(s.Name) > maxSettingName:
			errs = append(errs, fmt.Errorf("setting %q: the name must match [a-z0-9][a-z0-9_]* and be at most %d bytes", s.Name, maxSettingName))
			continue
		case seen[s.Name]:
			errs = append(errs, fmt.Errorf("setting %q is declared twice", s.Name))
			continue
		case s.Type < schema.Int || s.Type > schema.Duration:
			errs = append(errs, fmt.Errorf("setting %q has the invalid type %s", s.Name, s.Type))
			continue
		case s.Required && s.Default != "":
			errs = append(errs, fmt.Errorf("setting %q is required and has a default; drop one", s.Name))
		}
		seen[s.Name] = true
		if s.Default != "" {
			if _, err := schema.Resolve([]schema.Field{s}, map[string]string{s.Name: s.Default}); err != nil {
				errs = append(errs, fmt.Errorf("setting %q: its default is invalid: %w", s.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// LoadSettings reads the settings a plugin declares through getenv
// (os.Getenv in main, a map in tests), applies their defaults and checks
// each value against its declaration (type, bounds, options). An empty
// variable counts as unset. Every problem is reported at once, each a
// *SettingError naming the variable.
//
// Required settings are the host's to enforce: it refuses to start
// without them. LoadSettings does not, because the host also launches a
// plugin once without any setting, only to read its declarations from
// GetInfo; in that launch a required setting reads as its zero value. So
// main must not fail on a missing required setting: check it where it is
// used (Open), or leave it to the host.
func LoadSettings(pluginName string, settings []Setting, getenv func(string) string) (schema.Values, error) {
	if err := CheckSettings(settings); err != nil {
		return schema.Values{}, fmt.Errorf("plugin %s declares invalid settings: %w", pluginName, err)
	}
	fields := make([]schema.Field, len(settings))
	raw := make(map[string]string)
	bySetting := make(map[string]Setting, len(settings))
	for i, s := range settings {
		bySetting[s.Name] = s
		fields[i] = s
		fields[i].Required = false
		if v := strings.TrimSpace(getenv(SettingEnv(pluginName, s.Name))); v != "" {
			raw[s.Name] = v
		}
	}
	values, err := schema.Resolve(fields, raw)
	var problems schema.Errors
	if errors.As(err, &problems) {
		errs := make([]error, len(problems))
		for i, p := range problems {
			errs[i] = &SettingError{Plugin: pluginName, Setting: bySetting[p.Field], Value: raw[p.Field], Problem: p.Problem}
		}
		return schema.Values{}, errors.Join(errs...)
	}
	if err != nil {
		return schema.Values{}, err
	}
	return values, nil
}

// SettingError is a problem with the value of one plugin setting. It
// matches schema.ErrInvalid.
type SettingError struct {
	Plugin  string  // the plugin's name
	Setting Setting // the declaration
	Value   string  // the offending value, "" when missing
	Problem string  // what is wrong, e.g. "must be at least 1"
}

// Error names the variable and, unless the setting is Sensitive, the
// value: STC_PAPER_TIME_SCALE="-1": must be at least 0.001. A secret is
// never echoed, not even inside the problem; a missing value reads
// STC_MT5_TOKEN: required.
func (e *SettingError) Error() string {
	v := SettingEnv(e.Plugin, e.Setting.Name)
	switch {
	case e.Value == "":
		return v + ": " + e.Problem
	case e.Setting.Sensitive:
		problem := strings.ReplaceAll(e.Problem, strconv.Quote(e.Value), "the value")
		return v + "=<secret>: " + strings.ReplaceAll(problem, e.Value, "<secret>")
	}
	return fmt.Sprintf("%s=%q: %s", v, e.Value, e.Problem)
}

// Unwrap lets errors.Is(err, schema.ErrInvalid) match.
func (e *SettingError) Unwrap() error { return schema.ErrInvalid }

// WithSettings declares the plugin's settings, so that GetInfo reports
// them and the host passes them. Declare the list main read with
// LoadSettings.
func WithSettings(settings ...Setting) ServeOption {
	return func(c *serveConfig) { c.settings = settings }
}
