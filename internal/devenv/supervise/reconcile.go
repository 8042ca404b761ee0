package supervise

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"

	"github.com/purista-go/purista/internal/devenv/devmsg"
	"github.com/purista-go/purista/internal/project"
	"github.com/purista-go/purista/internal/runtime"
)

// The set of services dev runs follows purista.yaml: every rebuild reads it again, and
// the units (processes) are reconciled with its services.

// reload reads purista.yaml again and builds the binary of its main package. A manifest
// that cannot be read, is invalid or lists no service is reported (InfoMsg) and returned
// as the error without a build: the last good set keeps running until a fix is saved.
func (r *Runner) reload(ctx context.Context, files []string) (*project.Manifest, *runtime.Binary, error) {
	m, err := project.Load(r.opts.Root)
	if err == nil && len(m.Services) == 0 {
		err = fmt.Errorf("%s lists no services: add one with `purista add service <Name>`", project.FileName)
	}
	if err != nil {
		next := "the previous processes keep running with the last valid set of services; fix " + project.FileName + " and save"
		if r.idle() {
			next = "fix " + project.FileName + " and save to rebuild"
		}
		r.opts.Sink(devmsg.InfoMsg{Text: fmt.Sprintf("%v (%s)", err, next), Error: true})
		return nil, nil, fmt.Errorf("reload %s: %w", project.FileName, err)
	}
	bin, err := r.build(ctx, m.Main, files)
	return m, bin, err
}

// adopt makes m the manifest the runner follows: the units are reconciled with its
// services and a change of the services is reported with a ServicesMsg. Run calls it
// while no process runs, between stopping the old set and starting the new one.
func (r *Runner) adopt(m *project.Manifest) {
	added, removed := serviceChanges(r.manifest.Services, m.Services)
	r.manifest = m
	units := r.unitsFor(m, r.units)
	r.mu.Lock()
	r.units = units
	r.mu.Unlock()
	if len(added) == 0 && len(removed) == 0 {
		return
	}
	r.opts.Sink(devmsg.ServicesMsg{Services: slices.Clone(m.Services), Units: r.Units(), Added: added, Removed: removed})
}

// unitsFor returns the units that run the services of m. The monolith keeps its one
// unit. Distributed, there is one unit per service name, in manifest order; a unit of
// old whose service is still there is kept (its restart count and ports go on), a new
// one gets Options.HTTPAddr offset by its position, or the next offset no other unit
// uses.
func (r *Runner) unitsFor(m *project.Manifest, old []*unit) []*unit {
	if !r.opts.Distributed {
		if len(old) == 1 {
			return old
		}
		return []*unit{{name: devmsg.MonolithUnit, fixedHTTP: r.opts.HTTPAddr}}
	}
	kept := map[string]*unit{}
	for _, u := range old {
		kept[u.name] = u
	}
	var out []*unit
	var fresh []int // indexes in out of new units
	used := map[string]bool{}
	seen := map[string]bool{}
	for _, s := range m.Services {
		if seen[s.Name] {
			continue // another version of the same service runs in the same process
		}
		seen[s.Name] = true
		if u := kept[s.Name]; u != nil {
			out = append(out, u)
			used[u.fixedHTTP] = true
			continue
		}
		out = append(out, &unit{name: s.Name, services: []string{s.Name}})
		fresh = append(fresh, len(out)-1)
	}
	for _, i := range fresh {
		for n := i; ; n++ {
			a := offsetAddr(r.opts.HTTPAddr, n)
			if a == "" || !used[a] || (n > i && a == offsetAddr(r.opts.HTTPAddr, i)) {
				out[i].fixedHTTP = a // "" or a non-numeric port: nothing to offset
				used[a] = true
				break
			}
		}
	}
	return out
}

// serviceChanges returns the services ("Name vN") that are in next but not in prev, and
// those in prev but not in next, each in manifest order.
func serviceChanges(prev, next []project.Service) (added, removed []string) {
	label := func(s project.Service) string { return s.Name + " v" + s.Version }
	in := func(list []project.Service, l string) bool {
		return slices.ContainsFunc(list, func(s project.Service) bool { return label(s) == l })
	}
	for _, s := range next {
		if l := label(s); !in(prev, l) {
			added = append(added, l)
		}
	}
	for _, s := range prev {
		if l := label(s); !in(next, l) {
			removed = append(removed, l)
		}
	}
	return added, removed
}

// offsetAddr returns addr with its port increased by n ("" stays "", an address
// without a numeric port is returned as it is).
func offsetAddr(addr string, n int) string {
	host, port, err := net.SplitHostPort(addr)
	if addr == "" || n == 0 || err != nil {
		return addr
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return addr
	}
	return net.JoinHostPort(host, strconv.Itoa(p+n))
}
