// Package catalog finds STC plugin binaries in the plugin directory and
// decides which of them may be trusted.
//
// A binary is trusted only when the build's SHA256SUMS manifest lists it:
// the manifest is the operator's statement of what was built, and the
// checksum it records is verified again by go-plugin on every launch. A
// binary without a manifest line is reported and never returned as an
// Entry, so nothing dropped into the directory runs by accident.
package catalog

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"

	"github.com/stc-trading/stc/sdk/plugin"
)

// Problems Discover reports. Each Problem wraps one of them, so callers
// can count or filter problems with errors.Is.
var (
	// ErrNoManifest: the directory has no SHA256SUMS, so nothing is trusted.
	ErrNoManifest = errors.New("no " + ManifestName + " manifest in the plugin directory: no plugin is trusted; run `make build`")
	// ErrBadManifest: a manifest line is not in `sha256sum` format.
	ErrBadManifest = errors.New("malformed manifest line")
	// ErrNotInManifest: a plugin binary the manifest does not list.
	ErrNotInManifest = errors.New("binary is not listed in " + ManifestName + " and will not be run; rebuild with `make build`")
	// ErrMissingBinary: a manifest line whose file does not exist.
	ErrMissingBinary = errors.New("listed in " + ManifestName + " but the file is missing")
	// ErrOutsideDir: a path that leaves the plugin directory.
	ErrOutsideDir = errors.New("refusing a path outside the plugin directory")
	// ErrNotExecutable: a plugin file without an execute bit, or not a
	// regular file.
	ErrNotExecutable = errors.New("not an executable regular file")
	// ErrBadName: a file with a plugin prefix whose name part is invalid.
	ErrBadName = errors.New("invalid plugin name (want stc-broker-<name> or stc-strategy-<name>, name in [a-z0-9_-])")
)

// ManifestName is the checksum manifest `make build` writes next to the
// binaries, in `sha256sum` output format.
const ManifestName = "SHA256SUMS"

// Entry is a trusted plugin binary.
type Entry struct {
	Kind plugin.Kind
	Name string
	// File is the binary's name in the plugin directory.
	File string
	// Path is absolute with symlinks resolved, and inside the directory.
	Path string
	// SHA256 is the manifest's checksum, verified at every launch.
	SHA256 []byte
}

// Key is "kind/name", the key of per-plugin settings.
func (e Entry) Key() string { return Key(e.Kind, e.Name) }

// Key returns "kind/name", e.g. "broker/paper".
func Key(k plugin.Kind, name string) string { return k.String() + "/" + name }

// Problem is one thing wrong with the plugin directory.
type Problem struct {
	File string // file name in the directory, or the manifest's name
	Err  error
}

// Error implements error.
func (p Problem) Error() string { return p.File + ": " + p.Err.Error() }

// Unwrap returns the underlying sentinel.
func (p Problem) Unwrap() error { return p.Err }

// Result is what Discover found.
type Result struct {
	Dir      string  // absolute, symlinks resolved
	Entries  []Entry // trusted binaries, sorted by kind then name
	Problems []Problem
}

var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// ParseFileName splits "stc-<kind>-<name>" into its kind and name. ok is
// false for files that are not plugins at all; err is set when the file
// looks like a plugin but its name is invalid.
func ParseFileName(file string) (kind plugin.Kind, name string, ok bool, err error) {
	base := file
	if runtime.GOOS == "windows" {
		base = strings.TrimSuffix(base, ".exe")
	}
	switch {
	case strings.HasPrefix(base, "stc-broker-"):
		kind, name = plugin.KindBroker, strings.TrimPrefix(base, "stc-broker-")
	case strings.HasPrefix(base, "stc-strategy-"):
		kind, name = plugin.KindStrategy, strings.TrimPrefix(base, "stc-strategy-")
	default:
		return 0, "", false, nil
	}
	if !namePattern.MatchString(name) {
		return kind, name, true, ErrBadName
	}
	return kind, name, true, nil
}

// Discover lists the plugin binaries in dir and the manifest's verdict on
// each. Only an unreadable directory is an error; everything else is a
// Problem, so one bad file never hides the good ones.
func Discover(dir string) (Result, error) {
	root, err := realDir(dir)
	if err != nil {
		return Result{}, err
	}
	res := Result{Dir: root}
	sums, problems, err := readManifest(filepath.Join(root, ManifestName))
	if err != nil {
		return Result{}, err
	}
	res.Problems = append(res.Problems, problems...)
	files, err := os.ReadDir(root)
	if err != nil {
		return Result{}, fmt.Errorf("read plugin directory: %w", err)
	}
	present := make(map[string]bool, len(files))
	for _, f := range files {
		present[f.Name()] = true
		kind, name, isPlugin, nameErr := ParseFileName(f.Name())
		if !isPlugin {
			continue
		}
		if nameErr != nil {
			res.Problems = append(res.Problems, Problem{File: f.Name(), Err: nameErr})
			continue
		}
		path, err := resolveIn(root, f.Name())
		if err != nil {
			res.Problems = append(res.Problems, Problem{File: f.Name(), Err: err})
			continue
		}
		if err := checkExecutable(path); err != nil {
			res.Problems = append(res.Problems, Problem{File: f.Name(), Err: err})
			continue
		}
		sum, listed := sums[f.Name()]
		if !listed {
			res.Problems = append(res.Problems, Problem{File: f.Name(), Err: ErrNotInManifest})
			continue
		}
		res.Entries = append(res.Entries, Entry{Kind: kind, Name: name, File: f.Name(), Path: path, SHA256: sum})
	}
	for file := range sums {
		if !present[file] {
			res.Problems = append(res.Problems, Problem{File: file, Err: ErrMissingBinary})
		}
	}
	sort.Slice(res.Entries, func(i, j int) bool { return res.Entries[i].Key() < res.Entries[j].Key() })
	sort.SliceStable(res.Problems, func(i, j int) bool { return res.Problems[i].File < res.Problems[j].File })
	return res, nil
}

// Resolve returns the absolute, symlink-free path of file inside dir, the
// way registration resolves an operator-supplied command. file must be a
// bare name: separators and ".." are refused, and so is a symlink that
// leads out of dir (Vault: "cannot execute files outside of configured
// plugin directory").
func Resolve(dir, file string) (string, error) {
	root, err := realDir(dir)
	if err != nil {
		return "", err
	}
	return resolveIn(root, file)
}

func realDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("plugin directory %q: %w", dir, err)
	}
	root, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("plugin directory %q: %w", dir, err)
	}
	st, err := os.Stat(root)
	if err != nil {
		return "", fmt.Errorf("plugin directory %q: %w", dir, err)
	}
	if !st.IsDir() {
		return "", fmt.Errorf("plugin directory %q is not a directory", dir)
	}
	return root, nil
}

// resolveIn resolves file inside the already-resolved directory root.
func resolveIn(root, file string) (string, error) {
	if file == "" || file == "." || file == ".." || filepath.Base(file) != file || strings.ContainsAny(file, `/\`) {
		return "", fmt.Errorf("%w: %q is not a bare file name", ErrOutsideDir, file)
	}
	path, err := filepath.EvalSymlinks(filepath.Join(root, file))
	if err != nil {
		return "", fmt.Errorf("resolve %q: %w", file, err)
	}
	rel, err := filepath.Rel(root, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", fmt.Errorf("%w: %q leads to %s", ErrOutsideDir, file, path)
	}
	return path, nil
}

func checkExecutable(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return ErrNotExecutable
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o111 == 0 {
		return ErrNotExecutable
	}
	return nil
}

// readManifest parses the manifest. A missing manifest is a Problem, not
// an error: the host still starts and reports every binary as untrusted.
func readManifest(path string) (map[string][]byte, []Problem, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string][]byte{}, []Problem{{File: ManifestName, Err: ErrNoManifest}}, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", ManifestName, err)
	}
	sums, problems := ParseManifest(string(data))
	return sums, problems, nil
}
