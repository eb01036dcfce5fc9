package config

import (
	"bufio"
	"fmt"
	"os"
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
// with # are ignored; values may be wrapped in double quotes. Unknown names
// are an error, so a typo does not silently keep a default.
func readFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("configuration file: %w", err)
	}
	defer func() { _ = f.Close() }()
	out := make(map[string]string)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if !ok || key == "" {
			return nil, fmt.Errorf("%s:%d: want STC_NAME=value", path, n)
		}
		if !knownKey(key) {
			return nil, fmt.Errorf("%s:%d: unknown setting %s (see docs/CONFIG.md)", path, n, key)
		}
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			value = value[1 : len(value)-1]
		}
		out[key] = value
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("configuration file: %w", err)
	}
	return out, nil
}

func knownKey(k string) bool {
	switch k {
	case "STC_HTTP_ADDR", "STC_DATA_DIR", "STC_DATABASE_URL", "STC_PLUGIN_DIR", "STC_LOG_LEVEL",
		"STC_PLUGIN_CALL_TIMEOUT", "STC_PAPER_TIME_SCALE", "STC_TRACK", "STC_POLL_INTERVAL",
		"STC_PLUGIN_MARKETDATA_TIMEOUT", "STC_PLUGIN_MARKETDATA_CONCURRENCY",
		"STC_CANDLES_MAX_DAYS_ANON", "STC_CANDLES_MAX_DAYS_USER", "STC_CANDLES_FETCH_DAYS_ANON", "STC_CANDLES_FETCH_DAYS_USER",
		"STC_CANDLES_FETCH_DAYS_ANON_TOTAL", "STC_CANDLES_FETCH_CONCURRENCY", "STC_CANDLES_FETCH_CONCURRENCY_ANON":
		return true
	}
	return false
}
