package watch

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestRunReportsBurstsOfRelevantChanges: saves of Go files, go.mod and purista.yaml
// come as one Change per burst, first change first; a folder created while watching is
// watched; editor backups, hidden and vendored files, testdata and other files are not
// reported; the end of ctx closes the channel.
func TestRunReportsBurstsOfRelevantChanges(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"vendor", "testdata", ".git"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan Change)
	done := make(chan error, 1)
	go func() { done <- Run(ctx, root, 20*time.Millisecond, out) }()
	t.Cleanup(func() {
		cancel()
		for range out { // until Run returns and closes it
		}
	})
	write := func(t *testing.T, rel string) {
		t.Helper()
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("package x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	next := func(t *testing.T) Change {
		t.Helper()
		select {
		case c := <-out:
			return c
		case <-time.After(30 * time.Second):
			t.Fatal("no change reported")
			return Change{}
		}
	}
	// until writes rel until a change names it: the watcher is set up (or has added a
	// new folder) only some time after Run starts (or the folder appears).
	until := func(t *testing.T, rel string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			write(t, rel)
			select {
			case c := <-out:
				if slices.Contains(c.Files, rel) {
					return
				}
			case <-time.After(100 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("no change names %s", rel)
			}
		}
	}
	until(t, "main.go")

	tests := []struct {
		name   string
		writes []string
		want   []string
	}{
		{"a burst is one change", []string{"a.go", "a.go", "go.mod", "purista.yaml"}, []string{"a.go", "go.mod", "purista.yaml"}},
		{"ignored files", []string{"README.md", ".a.go.swp", "a.go~", "vendor/v.go", "testdata/t.go", ".git/x.go", "b.go"}, []string{"b.go"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			for _, w := range tt.writes {
				write(t, w)
			}
			c := next(t)
			if !slices.Equal(c.Files, tt.want) {
				t.Errorf("files %q, want %q", c.Files, tt.want)
			}
			if c.At.Before(start) {
				t.Errorf("At %v is before the first write %v", c.At, start)
			}
		})
	}
	t.Run("a new folder is watched", func(t *testing.T) {
		if err := os.Mkdir(filepath.Join(root, "svc"), 0o755); err != nil {
			t.Fatal(err)
		}
		until(t, filepath.Join("svc", "new.go"))
	})
	cancel()
	for range out { // drained until Run closes it
	}
	if err := <-done; err != nil {
		t.Errorf("Run() = %v, want nil at the end of ctx", err)
	}
}
