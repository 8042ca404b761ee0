// Package scaffoldtest helps tests of code that writes projects: it fingerprints a
// folder so a test can assert that a refused operation wrote nothing.
package scaffoldtest

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// Snapshot returns a hash of every path under dir, whether it is a folder, and every
// file's content; two equal snapshots mean nothing under dir changed. Errors fail t.
func Snapshot(t testing.TB, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fmt.Fprintln(h, p, d.IsDir())
		if !d.IsDir() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h.Write(data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}
