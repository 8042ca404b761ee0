// Package watch reports debounced bursts of changes to a project's Go sources and its
// manifest, the triggers of a rebuild in `purista dev`.
package watch

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/purista-go/purista/internal/project"
)

// DefaultDebounce is how long the watcher waits for a burst of saves to end.
const DefaultDebounce = 250 * time.Millisecond

// Change is a debounced burst of file changes that calls for a rebuild.
type Change struct {
	// Files are the changed files (relative to the root), first change first.
	Files []string
	// At is when the first change of the burst was seen.
	At time.Time
}

// Run watches the Go sources (*.go, go.mod, go.sum) under root, recursively, skipping
// hidden folders, vendor, node_modules and testdata, and the project manifest
// (root/purista.yaml), and sends one Change per burst of events after quiet time
// debounce. New folders are watched as they appear. It returns when ctx ends (closing
// out) or when the watcher cannot be created.
func Run(ctx context.Context, root string, debounce time.Duration, out chan<- Change) error {
	defer close(out)
	if debounce <= 0 {
		debounce = DefaultDebounce
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer func() { _ = w.Close() }()
	addTree(w, root)
	manifest := filepath.Join(root, project.FileName)
	var pending *Change
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			_ = err // an overflow only loses events; the next save triggers again
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if ev.Has(fsnotify.Create) {
				if fi, err := os.Stat(ev.Name); err == nil && fi.IsDir() {
					addTree(w, ev.Name)
					continue
				}
			}
			if !relevant(ev) && !(ev.Name == manifest && changed(ev)) {
				continue
			}
			rel, err := filepath.Rel(root, ev.Name)
			if err != nil {
				rel = ev.Name
			}
			if pending == nil {
				pending = &Change{At: time.Now()}
			}
			if len(pending.Files) == 0 || pending.Files[len(pending.Files)-1] != rel {
				pending.Files = append(pending.Files, rel)
			}
			timer.Reset(debounce)
		case <-timer.C:
			if pending == nil {
				continue
			}
			select {
			case out <- *pending:
				pending = nil
			case <-ctx.Done():
				return nil
			}
		}
	}
}

// relevant reports whether ev touches a file that changes the binary.
func relevant(ev fsnotify.Event) bool {
	if !changed(ev) {
		return false
	}
	base := filepath.Base(ev.Name)
	if strings.HasPrefix(base, ".") || strings.HasSuffix(base, "~") {
		return false // editor swap and backup files
	}
	return strings.HasSuffix(base, ".go") || base == "go.mod" || base == "go.sum"
}

// changed reports whether ev changes a file's content or existence (not only its mode).
func changed(ev fsnotify.Event) bool {
	return ev.Has(fsnotify.Write) || ev.Has(fsnotify.Create) || ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename)
}

// skipDir reports whether a folder is never watched.
func skipDir(name string) bool {
	return (strings.HasPrefix(name, ".") && name != ".") || name == "vendor" || name == "node_modules" || name == "testdata"
}

// addTree adds dir and its sub-folders to w; unreadable folders are skipped.
func addTree(w *fsnotify.Watcher, dir string) {
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if path != dir && skipDir(d.Name()) {
			return filepath.SkipDir
		}
		_ = w.Add(path) // a folder that vanished in between is of no interest
		return nil
	})
}
