package supervise

import (
	"testing"

	"github.com/purista-go/purista/internal/project"
	"github.com/purista-go/purista/internal/runtime"
)

// TestUnitAddrsNeverShared: units started one after the other get HTTP and health
// addresses no other unit holds, even when a unit's previous port is now another unit's
// (a port picked by listening on port 0 is free again until its process binds it); a
// unit's own free previous port is kept when no other unit holds it; a fixed HTTP
// address is used as given.
func TestUnitAddrsNeverShared(t *testing.T) {
	m := &project.Manifest{Services: []project.Service{{Name: "A", Version: "1"}, {Name: "B", Version: "1"}, {Name: "C", Version: "1"}}}
	free, err := runtime.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		prep func(r *Runner)
		keep map[string]string // unit → the previous HTTP address it must keep
	}{
		{"fresh", func(*Runner) {}, nil},
		{"own free previous port", func(r *Runner) { r.units[0].httpAddr = free }, map[string]string{"A": free}},
		{"previous port also another unit's", func(r *Runner) {
			// A's and B's last processes were both given free (as the system may hand
			// a port out twice): at most one of them gets it again.
			r.units[0].httpAddr, r.units[1].httpAddr = free, free
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRunner(Options{Manifest: m, Distributed: true})
			tt.prep(r)
			seen := map[string]string{}
			r.mu.Lock()
			defer r.mu.Unlock()
			for _, u := range r.units {
				httpAddr, healthAddr, err := r.unitAddrs(u)
				if err != nil {
					t.Fatal(err)
				}
				if want, ok := tt.keep[u.name]; ok && httpAddr != want {
					t.Errorf("%s: HTTP %s, want its previous %s", u.name, httpAddr, want)
				}
				for _, a := range []string{httpAddr, healthAddr} {
					if other, dup := seen[a]; dup {
						t.Errorf("%s: %s is already %s's", u.name, a, other)
					}
					seen[a] = u.name
				}
			}
			if len(seen) != 2*len(r.units) {
				t.Errorf("%d distinct addresses for %d units, want two each", len(seen), len(r.units))
			}
		})
	}
	t.Run("fixed HTTP address", func(t *testing.T) {
		r := NewRunner(Options{Manifest: m, HTTPAddr: "127.0.0.1:8080"})
		r.mu.Lock()
		defer r.mu.Unlock()
		httpAddr, healthAddr, err := r.unitAddrs(r.units[0])
		if err != nil {
			t.Fatal(err)
		}
		if httpAddr != "127.0.0.1:8080" || healthAddr == "" || healthAddr == httpAddr {
			t.Errorf("HTTP %q health %q, want the fixed HTTP address and a free health port", httpAddr, healthAddr)
		}
	})
}
