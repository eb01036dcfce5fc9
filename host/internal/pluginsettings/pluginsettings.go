// Package pluginsettings gives every plugin exactly the operator settings
// it declares, and nothing else of the host's environment.
//
// A plugin declares its settings in GetInfo (sdk/plugin.Setting: name,
// type, default, bounds, required, secret). The host learns them by
// launching each plugin once (Inspect), then resolves each declared
// setting's value from the variable STC_<PLUGIN>_<SETTING> in its own
// environment or, where the environment has none, in its configuration
// file (Resolve). A plugin's launches then get exactly STC_PLUGIN_LOG_LEVEL,
// STC_PLUGIN_DATA_DIR (its own directory, DataDir) and the settings the
// operator set (Resolution.Env); a setting left unset gets the plugin's own
// default, inside the plugin.
//
// At start the host refuses (Resolution.Err): a value its declaration
// rejects, a required setting without value, a configuration file line no
// installed plugin declares, a declaration that would hand a plugin one of
// the host's own variables. It warns about a variable of an installed
// plugin's prefix the plugin does not declare (STC_PAPER_TYPO): the
// environment is shared with other programs, so that is not fatal, but it
// is never passed.
package pluginsettings

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/stc-trading/stc/host/internal/catalog"
	"github.com/stc-trading/stc/host/internal/config"
	"github.com/stc-trading/stc/sdk/plugin"
	"github.com/stc-trading/stc/sdk/schema"
)

// Declared is what the host learned by launching one plugin once.
type Declared struct {
	Entry catalog.Entry
	Info  plugin.Info // valid when Err is nil
	// Err is why the plugin could not be fingerprinted; its settings are
	// then unknown and none is passed.
	Err error
}

// Source says where a setting's value comes from.
type Source string

// Sources of a value, in order of precedence.
const (
	FromEnvironment Source = "environment"
	FromFile        Source = "config file"
	FromDefault     Source = "default"
	Unset           Source = "unset" // no value and no default
)

// Value is one declared setting, resolved.
type Value struct {
	Setting plugin.Setting
	Var     string // STC_<PLUGIN>_<SETTING>
	// Value is the effective text: the operator's, else the default.
	Value  string
	Source Source
}

// Display is the value for a listing: a secret's is masked.
func (v Value) Display() string {
	switch {
	case v.Source == Unset && v.Setting.Required:
		return "(missing)"
	case v.Source == Unset:
		return "(unset)"
	case v.Setting.Sensitive:
		return "******"
	case v.Value == "":
		return `""`
	}
	return v.Value
}

// passed reports whether the host hands the value to the plugin: only
// what the operator set. A default is the plugin's to apply.
func (v Value) passed() bool { return v.Source == FromEnvironment || v.Source == FromFile }

// Plugin is one plugin's declaration and resolved settings.
type Plugin struct {
	Declared
	Values []Value // in declaration order; empty when Err is set
}

// Sources are where values come from.
type Sources struct {
	// Environ is the host's environment, "KEY=value" (os.Environ()).
	Environ []string
	// File is the configuration file's plugin lines by variable
	// (config.Config.PluginSettings).
	File map[string]string
}

// Resolution is the settings of every installed plugin.
type Resolution struct {
	Plugins []Plugin
	// Warnings are problems that do not stop the host: variables of an
	// installed plugin's prefix it does not declare, plugins that could
	// not be fingerprinted, variables two plugins share.
	Warnings []string
	// Errors stop `stc serve`: invalid values, missing required settings,
	// unknown configuration file lines, declarations that name a host
	// variable, data directories that collide with the host's.
	Errors []error

	dataRoot, logLevel string
	byKey              map[string]int // entry key → index in Plugins
}

// Err joins Errors, nil when there are none.
func (r *Resolution) Err() error { return errors.Join(r.Errors...) }

// DataDir is plugin e's own data directory under the host's data
// directory root: root/<name> for a broker (where the paper broker's
// accounts and the IQ Option journal always were), root/strategy-<name>
// for a strategy.
func DataDir(root string, e catalog.Entry) string {
	if e.Kind == plugin.KindStrategy {
		return filepath.Join(root, "strategy-"+e.Name)
	}
	return filepath.Join(root, e.Name)
}

// DataDir is plugin e's own data directory in this resolution's host
// data directory.
func (r *Resolution) DataDir(e catalog.Entry) string { return DataDir(r.dataRoot, e) }

// reservedDirs are the host's own entries in the data directory that a
// broker's directory must not be (stc.db and dev-encryption.key cannot
// collide: plugin names have no dot).
var reservedDirs = map[string]bool{"run": true}

// Env is the whole environment of plugin e's process (a
// pluginmgr.EnvFunc): the log level, its data directory and the settings
// the operator set. A plugin this resolution does not know gets the first
// two only.
func (r *Resolution) Env(e catalog.Entry) map[string]string {
	env := map[string]string{plugin.LogLevelEnv: r.logLevel, plugin.DataDirEnv: r.DataDir(e)}
	i, ok := r.byKey[e.Key()]
	if !ok {
		return env
	}
	for _, v := range r.Plugins[i].Values {
		if v.passed() {
			env[v.Var] = v.Value
		}
	}
	return env
}

// Resolve checks every plugin's declarations against the host and
// resolves their values from src. dataRoot (absolute) and logLevel are
// what Env passes every plugin.
func Resolve(decls []Declared, src Sources, dataRoot, logLevel string) *Resolution {
	r := &Resolution{dataRoot: dataRoot, logLevel: logLevel, byKey: make(map[string]int, len(decls))}
	environ := parseEnviron(src.Environ)
	declaredBy := map[string][]string{} // variable → plugins declaring it
	for _, d := range decls {
		p := Plugin{Declared: d}
		if d.Err == nil {
			p.Values = r.resolveOne(d, environ, src.File)
			for _, v := range p.Values {
				declaredBy[v.Var] = append(declaredBy[v.Var], d.Entry.Key())
			}
		} else {
			r.Warnings = append(r.Warnings, fmt.Sprintf("%s could not be fingerprinted, so it gets none of its settings: %v", d.Entry.Key(), d.Err))
		}
		r.checkDataDir(d.Entry, decls)
		r.byKey[d.Entry.Key()] = len(r.Plugins)
		r.Plugins = append(r.Plugins, p)
	}
	for _, v := range sortedKeys(declaredBy) {
		if owners := declaredBy[v]; len(owners) > 1 {
			r.Warnings = append(r.Warnings, fmt.Sprintf("%s is a setting of %s alike: each of them receives it", v, strings.Join(owners, " and ")))
		}
	}
	r.checkUnknown(decls, environ, src.File, declaredBy)
	return r
}

// resolveOne resolves one fingerprinted plugin's settings.
func (r *Resolution) resolveOne(d Declared, environ, file map[string]string) []Value {
	name, settings := d.Entry.Name, d.Info.Settings
	if err := plugin.CheckSettings(settings); err != nil {
		r.Errors = append(r.Errors, fmt.Errorf("%s declares invalid settings, so none is passed: %w", d.Entry.Key(), err))
		return nil
	}
	values := make([]Value, 0, len(settings))
	raw := map[string]string{}
	for _, s := range settings {
		v := Value{Setting: s, Var: plugin.SettingEnv(name, s.Name)}
		if config.IsHostSetting(v.Var) || strings.HasPrefix(v.Var, "STC_PLUGIN_") {
			r.Errors = append(r.Errors, fmt.Errorf("%s declares the setting %q, whose variable %s is the host's own; it is never passed (rename the setting or the plugin)", d.Entry.Key(), s.Name, v.Var))
			continue
		}
		// Blank counts as unset, and values are trimmed, as the SDK reads
		// them.
		env, fileValue := strings.TrimSpace(environ[v.Var]), strings.TrimSpace(file[v.Var])
		switch {
		case env != "":
			v.Value, v.Source = env, FromEnvironment
		case fileValue != "":
			v.Value, v.Source = fileValue, FromFile
		case s.Default != "":
			v.Value, v.Source = s.Default, FromDefault
		default:
			v.Source = Unset
		}
		if v.passed() {
			raw[s.Name] = v.Value
		}
		values = append(values, v)
	}
	// The plugin checks its values again; checking here first makes a bad
	// one stop the host at start, with the variable's name, instead of
	// crash-looping the plugin later.
	var problems schema.Errors
	if _, err := schema.Resolve(fieldsOf(values), raw); errors.As(err, &problems) {
		for _, p := range problems {
			for _, v := range values {
				if v.Setting.Name != p.Field {
					continue
				}
				problem := p.Problem
				if problem == "required" {
					problem = "required; set it in the environment or the configuration file"
				}
				r.Errors = append(r.Errors, fmt.Errorf("%s: %w", d.Entry.Key(),
					&plugin.SettingError{Plugin: name, Setting: v.Setting, Value: raw[p.Field], Problem: problem}))
			}
		}
	}
	return values
}

func fieldsOf(values []Value) []schema.Field {
	out := make([]schema.Field, len(values))
	for i, v := range values {
		out[i] = v.Setting
	}
	return out
}

// checkDataDir refuses a broker whose data directory would be the host's
// or a strategy's.
func (r *Resolution) checkDataDir(e catalog.Entry, all []Declared) {
	if e.Kind != plugin.KindBroker {
		return
	}
	if reservedDirs[e.Name] {
		r.Errors = append(r.Errors, fmt.Errorf("%s: its data directory %s is the host's own; rename the plugin", e.Key(), DataDir(r.dataRoot, e)))
	}
	for _, o := range all {
		if o.Entry.Kind == plugin.KindStrategy && DataDir(r.dataRoot, o.Entry) == DataDir(r.dataRoot, e) {
			r.Errors = append(r.Errors, fmt.Errorf("%s and %s would share the data directory %s; rename one", e.Key(), o.Entry.Key(), DataDir(r.dataRoot, e)))
		}
	}
}

// checkUnknown reports variables that look like settings but that no
// plugin declares. In the configuration file that is an error, as any
// unknown name there is; in the environment, which other programs share,
// it is a warning, and only for an installed plugin's prefix.
func (r *Resolution) checkUnknown(decls []Declared, environ, file map[string]string, declared map[string][]string) {
	owner := func(v string) (Declared, bool) {
		var best Declared
		found := false
		for _, d := range decls {
			// The longest prefix is the likeliest owner (mt5_bridge before mt5).
			if p := prefix(d.Entry.Name); strings.HasPrefix(v, p) && (!found || len(p) > len(prefix(best.Entry.Name))) {
				best, found = d, true
			}
		}
		return best, found
	}
	for _, v := range sortedKeys(file) {
		if len(declared[v]) > 0 {
			continue
		}
		d, ok := owner(v)
		switch {
		case ok && d.Err != nil:
			r.Warnings = append(r.Warnings, fmt.Sprintf("configuration file sets %s, which %s may declare; it could not be fingerprinted to check", v, d.Entry.Key()))
		case ok:
			r.Errors = append(r.Errors, fmt.Errorf("configuration file sets %s, but %s declares no such setting (its settings: %s)", v, d.Entry.Key(), settingNames(d)))
		default:
			r.Errors = append(r.Errors, fmt.Errorf("configuration file sets %s, which is neither a host setting (docs/CONFIG.md) nor a setting of an installed plugin (`stc plugins`)", v))
		}
	}
	for _, v := range sortedKeys(environ) {
		if len(declared[v]) > 0 || config.IsHostSetting(v) || strings.TrimSpace(environ[v]) == "" {
			continue
		}
		if d, ok := owner(v); ok && d.Err == nil {
			r.Warnings = append(r.Warnings, fmt.Sprintf("%s is set but %s declares no such setting, so it is not passed (its settings: %s)", v, d.Entry.Key(), settingNames(d)))
		}
	}
}

// prefix is the start of every variable of plugin name's settings.
func prefix(name string) string { return plugin.SettingEnv(name, "") }

func settingNames(d Declared) string {
	if len(d.Info.Settings) == 0 {
		return "none"
	}
	names := make([]string, len(d.Info.Settings))
	for i, s := range d.Info.Settings {
		names[i] = s.Name
	}
	return strings.Join(names, ", ")
}

// parseEnviron indexes the STC_ variables of a "KEY=value" list.
func parseEnviron(environ []string) map[string]string {
	out := make(map[string]string)
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(k, "STC_") {
			out[k] = v
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
