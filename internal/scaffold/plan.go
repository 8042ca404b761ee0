package scaffold

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// File is one file of a Plan: its final content, already rendered and formatted.
type File struct {
	// Path is slash-separated and relative to Plan.Root.
	Path string
	// Data is the complete new content.
	Data []byte
	// Update is true when the file exists and Data replaces it (a registration added to
	// main.go, service.go or purista.yaml, or a file overwritten by `new --force`).
	Update bool
	// old is the previous content of an updated file, to restore on failure.
	old []byte
}

// Plan is everything a scaffolding step will write, computed in memory before anything
// touches the disk. Apply writes it all or nothing; Describe lists it for --dry-run.
type Plan struct {
	// Root is the absolute folder all paths are relative to (the project root).
	Root string
	// Files are the files to create or update, in writing order.
	Files []File
	// Next are hints for the user once the plan is applied ("cd shop", …).
	Next []string
	// overwrite lets create replace existing files (`new --force`).
	overwrite bool
}

// add appends a new file.
func (p *Plan) add(path string, data []byte) { p.Files = append(p.Files, File{Path: path, Data: data}) }

// update appends a replacement of an existing file whose current content is old.
func (p *Plan) update(path string, data, old []byte) {
	p.Files = append(p.Files, File{Path: path, Data: data, Update: true, old: old})
}

// Paths returns the slash-separated paths of the plan's files, sorted.
func (p *Plan) Paths() []string {
	out := make([]string, 0, len(p.Files))
	for _, f := range p.Files {
		out = append(out, f.Path)
	}
	slices.Sort(out)
	return out
}

// Describe returns one line per file, sorted: "create <path>" or "update <path>".
func (p *Plan) Describe() []string {
	lines := make([]string, 0, len(p.Files))
	for _, f := range p.Files {
		verb := "create"
		if f.Update {
			verb = "update"
		}
		lines = append(lines, verb+" "+f.Path)
	}
	slices.SortFunc(lines, func(a, b string) int {
		return strings.Compare(a[strings.IndexByte(a, ' '):], b[strings.IndexByte(b, ' '):])
	})
	return lines
}

// Apply writes the plan all or nothing. It first writes every file's content to a
// temporary file next to its destination (creating folders as needed), then renames the
// temporary files into place. If any step fails it removes the temporary files and the
// folders it created, restores updated files and removes created ones, so the disk is
// as before; the returned error says what failed.
//
// A file that is not an update must not exist yet; an update's destination must still
// hold the content the plan was computed from (so concurrent edits are not lost).
func (p *Plan) Apply() (err error) {
	var (
		createdDirs []string // in creation order
		temps       = map[string]string{}
		renamed     []File
	)
	defer func() {
		if err == nil {
			return
		}
		for _, t := range temps {
			os.Remove(t)
		}
		for i := len(renamed) - 1; i >= 0; i-- {
			f := renamed[i]
			dst := filepath.Join(p.Root, filepath.FromSlash(f.Path))
			if f.Update {
				_ = os.WriteFile(dst, f.old, 0o644)
			} else {
				os.Remove(dst)
			}
		}
		for i := len(createdDirs) - 1; i >= 0; i-- {
			os.Remove(createdDirs[i]) // only succeeds when empty, as it was
		}
	}()

	for _, f := range p.Files {
		dst := filepath.Join(p.Root, filepath.FromSlash(f.Path))
		if err := checkDestination(dst, f); err != nil {
			return err
		}
		dirs, err := mkdirAll(filepath.Dir(dst))
		createdDirs = append(createdDirs, dirs...)
		if err != nil {
			return err
		}
		tmp, err := writeTemp(filepath.Dir(dst), filepath.Base(dst), f.Data)
		if err != nil {
			return err
		}
		temps[f.Path] = tmp
	}
	for _, f := range p.Files {
		dst := filepath.Join(p.Root, filepath.FromSlash(f.Path))
		if err := os.Rename(temps[f.Path], dst); err != nil {
			return fmt.Errorf("write %s: %w", f.Path, err)
		}
		delete(temps, f.Path)
		renamed = append(renamed, f)
	}
	return nil
}

// checkDestination verifies that dst is as the plan expects.
func checkDestination(dst string, f File) error {
	cur, err := os.ReadFile(dst)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !f.Update:
		return nil
	case err != nil && f.Update:
		return fmt.Errorf("read %s: %w", f.Path, err)
	case !f.Update:
		return fmt.Errorf("%s already exists; nothing was written", f.Path)
	case string(cur) != string(f.old):
		return fmt.Errorf("%s changed while purista was working; nothing was written, try again", f.Path)
	}
	return nil
}

// mkdirAll creates dir and its missing parents and returns the folders it created, in
// creation order (also when it fails half-way).
func mkdirAll(dir string) ([]string, error) {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err == nil {
			if !fi.IsDir() {
				return nil, fmt.Errorf("%s is a file, not a folder", d)
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	var created []string
	for i := len(missing) - 1; i >= 0; i-- {
		if err := os.Mkdir(missing[i], 0o755); err != nil {
			return created, err
		}
		created = append(created, missing[i])
	}
	return created, nil
}

// writeTemp writes data to a new hidden temporary file in dir and returns its path.
func writeTemp(dir, base string, data []byte) (string, error) {
	f, err := os.CreateTemp(dir, "."+base+".purista-*")
	if err != nil {
		return "", err
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}
