package catalog

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ParseManifest parses `sha256sum` output ("<hex>  <file>", or
// "<hex> *<file>" for binary mode). Blank lines and '#' comments are
// skipped. Lines that are malformed, name a path instead of a bare file,
// or contradict an earlier line for the same file are reported and left
// out: an ambiguous checksum must not make a binary trusted.
func ParseManifest(text string) (map[string][]byte, []Problem) {
	sums := make(map[string][]byte)
	conflicting := make(map[string]bool)
	var problems []Problem
	for i, raw := range strings.Split(text, "\n") {
		line := strings.TrimRight(raw, "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		where := fmt.Sprintf("%s:%d", ManifestName, i+1)
		// sha256sum escapes names containing '\' or newlines with a
		// leading '\'; plugin names never need that.
		if strings.HasPrefix(line, `\`) {
			problems = append(problems, Problem{File: where, Err: fmt.Errorf("%w: escaped file names are not supported", ErrBadManifest)})
			continue
		}
		hexSum, rest, ok := strings.Cut(line, " ")
		if !ok || len(rest) < 2 || (rest[0] != ' ' && rest[0] != '*') {
			problems = append(problems, Problem{File: where, Err: fmt.Errorf("%w: want \"<sha256>  <file>\"", ErrBadManifest)})
			continue
		}
		sum, err := hex.DecodeString(hexSum)
		if err != nil || len(sum) != sha256.Size {
			problems = append(problems, Problem{File: where, Err: fmt.Errorf("%w: %q is not a SHA-256 in hex", ErrBadManifest, hexSum)})
			continue
		}
		file := strings.TrimPrefix(rest[1:], "./")
		if file == "" || strings.ContainsAny(file, `/\`) || file == "." || file == ".." {
			problems = append(problems, Problem{File: where, Err: fmt.Errorf("%w: %q is not a bare file name", ErrOutsideDir, file)})
			continue
		}
		if prev, dup := sums[file]; dup || conflicting[file] {
			if dup && bytes.Equal(prev, sum) {
				continue
			}
			problems = append(problems, Problem{File: where, Err: fmt.Errorf("%w: %s is listed twice with different checksums", ErrBadManifest, file)})
			delete(sums, file)
			conflicting[file] = true
			continue
		}
		sums[file] = sum
	}
	return sums, problems
}

// FileSHA256 returns the SHA-256 of the file at path.
func FileSHA256(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("hash %s: %w", path, err)
	}
	return h.Sum(nil), nil
}

// WriteManifest writes dir/SHA256SUMS for every stc-* file in dir, exactly
// as `cd dir && sha256sum stc-* > SHA256SUMS` does in `make build`. Tests
// and development tools use it; production manifests come from the build.
func WriteManifest(dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "stc-*"))
	if err != nil {
		return err
	}
	sort.Strings(files)
	var b strings.Builder
	for _, f := range files {
		sum, err := FileSHA256(f)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%x  %s\n", sum, filepath.Base(f))
	}
	return os.WriteFile(filepath.Join(dir, ManifestName), []byte(b.String()), 0o644)
}
