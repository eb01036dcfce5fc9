package config

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// configPath finds -config/--config in args (before flag parsing, since
// the file must apply under the flags) or STC_CONFIG_FILE.
func configPath(args []string, getenv func(string) string) string {
	for i, a := range args {
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "config" {
			continue
		}
		if hasValue {
			return value
		}
		if i+1 < len(args) {
			return args[i+1]
		}
	}
	return getenv("STC_CONFIG_FILE")
}

// readFile parses a configuration file: one STC_NAME=value per line, the
// same names as the environment variables; blank lines and lines starting
// with # are ignored; values may be wrapped in double quotes. It returns
// the host's settings and, apart, every other STC_ name: those are plugin
// settings, which only the installed plugins can tell from typos (the
// host checks them at start, so a typo never silently keeps a default).
func readFile(path string) (host, plugins map[string]string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("configuration file: %w", err)
	}
	defer func() { _ = f.Close() }()
	host, plugins = make(map[string]string), make(map[string]string)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if !ok || !varName.MatchString(key) {
			return nil, nil, fmt.Errorf("%s:%d: want STC_NAME=value (see docs/CONFIG.md)", path, n)
		}
		if key == configFileVar {
			return nil, nil, fmt.Errorf("%s:%d: %s names the file itself; set it in the environment or use -config", path, n, key)
		}
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			value = value[1 : len(value)-1]
		}
		if IsHostSetting(key) {
			host[key] = value
		} else {
			plugins[key] = value
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("configuration file: %w", err)
	}
	return host, plugins, nil
}

// varName is the shape of every setting's name, the host's and the
// plugins' (STC_<PLUGIN>_<SETTING>).
var varName = regexp.MustCompile(`^STC_[A-Z0-9_]+$`)

// configFileVar names the configuration file; it cannot be set from it.
const configFileVar = "STC_CONFIG_FILE"

// hostSettings are the variables Load reads. Every other STC_ name
// belongs to a plugin (or to nothing).
var hostSettings = map[string]bool{
	"STC_HTTP_ADDR": true, "STC_DATA_DIR": true, "STC_DATABASE_URL": true, "STC_PLUGIN_DIR": true,
	"STC_LOG_LEVEL": true, "STC_PLUGIN_CALL_TIMEOUT": true, "STC_TRACK": true, "STC_POLL_INTERVAL": true,
	"STC_DEV": true, "STC_ENCRYPTION_KEY": true, "STC_BILLING_WEBHOOK_SECRET": true,
	"STC_RATE_LIMIT_IP": true, "STC_RATE_LIMIT_USER": true, "STC_RATE_LIMIT_AUTH": true,
	"STC_IDEMPOTENCY_TTL": true, "STC_RETAIN_BILLING_EVENTS": true, "STC_RETAIN_ENDED_TOKENS": true,
	"STC_RETAIN_EVENTS": true, "STC_STREAM_PER_USER": true, "STC_STREAM_MAX": true, "STC_STREAM_HEARTBEAT": true,
	"STC_TRUSTED_PROXIES": true, "STC_METRICS_ADDR": true, "STC_METRICS_TOKEN": true, configFileVar: true,
	"STC_PLUGIN_MARKETDATA_TIMEOUT": true, "STC_PLUGIN_MARKETDATA_CONCURRENCY": true,
	"STC_CANDLES_MAX_DAYS_ANON": true, "STC_CANDLES_MAX_DAYS_USER": true, "STC_CANDLES_FETCH_DAYS_ANON": true,
	"STC_CANDLES_FETCH_DAYS_USER": true, "STC_CANDLES_FETCH_DAYS_ANON_TOTAL": true,
	"STC_CANDLES_FETCH_CONCURRENCY": true, "STC_CANDLES_FETCH_CONCURRENCY_ANON": true,
}

// IsHostSetting reports whether name is one of the host's own variables
// (STC_HTTP_ADDR, STC_ENCRYPTION_KEY, …). No plugin ever receives one,
// whatever it declares.
func IsHostSetting(name string) bool { return hostSettings[name] }
