package config

import (
	"bufio"
	"fmt"
	"os"
	"slices"
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

// fileSetting is one line of a configuration file.
type fileSetting struct {
	value string
	line  int
}

// readFile parses a configuration file: one STC_NAME=value per line, the
// same names as the environment variables; blank lines and lines starting
// with # are ignored; values may be wrapped in double quotes. Load reports
// names it does not read (unknownSettings), so a typo does not silently
// keep a default.
func readFile(path string) (map[string]fileSetting, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("configuration file: %w", err)
	}
	defer func() { _ = f.Close() }()
	out := make(map[string]fileSetting)
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
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			value = value[1 : len(value)-1]
		}
		out[key] = fileSetting{value: value, line: n}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("configuration file: %w", err)
	}
	return out, nil
}

// unknownSettings reports the file's settings Load never read. The file
// holds every setting the environment may, secrets included.
func unknownSettings(path string, file map[string]fileSetting, read map[string]bool) []error {
	var errs []error
	for key, s := range file {
		if !read[key] {
			errs = append(errs, fmt.Errorf("%s:%d: unknown setting %s (see docs/CONFIG.md)", path, s.line, key))
		}
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errs
}
