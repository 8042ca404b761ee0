package check

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/purista-go/purista/internal/project"
	"github.com/purista-go/purista/pkg/framework"
)

// masked replaces the value of a non-deterministic output field before answers are
// compared: the field must be there in both, its value may differ.
const masked = "(nondeterministic)"

// settings are the `check` section of purista.yaml (docs/check.md):
//
//	check:
//	  nondeterministic:
//	    Orders.place: [id, createdAt]   # Service.command: output fields, dotted paths
type settings struct {
	// Nondeterministic maps "Service.command" to the output fields whose values
	// legitimately differ between calls (a random id, a time stamp). Paths are dotted
	// ("order.id"); an array on the way applies the rest of the path to every element.
	Nondeterministic map[string][]string `yaml:"nondeterministic"`
}

// loadSettings reads the check section of the project's purista.yaml and checks that
// every command it names belongs to a service of the manifest. Errors wrap ErrUsage.
func loadSettings(root string, m *project.Manifest) (settings, error) {
	var doc struct {
		Check settings `yaml:"check"`
	}
	data, err := os.ReadFile(filepath.Join(root, project.FileName))
	if err != nil {
		return settings{}, err
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return settings{}, usagef("%s: check: %w", project.FileName, err)
	}
	s := doc.Check
	for key, fields := range s.Nondeterministic {
		svc, cmd, ok := strings.Cut(key, ".")
		if !ok || svc == "" || cmd == "" {
			return settings{}, usagef("%s: check.nondeterministic: %q is not Service.command (e.g. %s.%s)", project.FileName, key, firstService(m), "create")
		}
		if _, ok := m.Service(svc); !ok {
			return settings{}, usagef("%s: check.nondeterministic: %q names no service of the project: the services are %s",
				project.FileName, key, strings.Join(m.ServiceNames(), ", "))
		}
		if len(fields) == 0 || slices.Contains(fields, "") {
			return settings{}, usagef("%s: check.nondeterministic: %q lists no field, or an empty one: give output fields, e.g. [id]", project.FileName, key)
		}
	}
	return s, nil
}

func firstService(m *project.Manifest) string {
	if len(m.Services) == 0 {
		return "Service"
	}
	return m.Services[0].Name
}

// fields returns the non-deterministic output fields of c.
func (s settings) fields(c framework.CommandInfo) []string {
	for key, f := range s.Nondeterministic {
		svc, cmd, _ := strings.Cut(key, ".")
		if strings.EqualFold(svc, c.Service) && cmd == c.Name {
			return f
		}
	}
	return nil
}

// mask returns o with the values of c's non-deterministic fields replaced by a marker.
func (s settings) mask(c framework.CommandInfo, o outcome) outcome {
	fields := s.fields(c)
	if !o.OK || len(fields) == 0 {
		return o
	}
	var v any
	if json.Unmarshal([]byte(o.Output), &v) != nil {
		return o
	}
	for _, f := range fields {
		v = maskPath(v, strings.Split(f, "."))
	}
	b, err := json.Marshal(v)
	if err != nil {
		return o
	}
	o.Output = string(b)
	return o
}

// maskPath replaces the value at path in v (arrays on the way are walked element-wise).
func maskPath(v any, path []string) any {
	switch x := v.(type) {
	case []any:
		for i := range x {
			x[i] = maskPath(x[i], path)
		}
	case map[string]any:
		if len(path) == 0 {
			return masked
		}
		if child, ok := x[path[0]]; ok {
			if len(path) == 1 {
				x[path[0]] = masked
			} else {
				x[path[0]] = maskPath(child, path[1:])
			}
		}
	}
	return v
}

// differingFields returns the dotted paths (arrays walked through, as in the setting)
// of the values that differ between two successful answers, sorted; nil when either
// is no JSON object or the difference is not in a field (a different shape).
func differingFields(a, b outcome) []string {
	if !a.OK || !b.OK {
		return nil
	}
	var va, vb any
	if json.Unmarshal([]byte(a.Output), &va) != nil || json.Unmarshal([]byte(b.Output), &vb) != nil {
		return nil
	}
	seen := map[string]bool{}
	var walk func(x, y any, path string) bool
	walk = func(x, y any, path string) bool {
		switch xx := x.(type) {
		case map[string]any:
			yy, ok := y.(map[string]any)
			if !ok || len(xx) != len(yy) {
				return false
			}
			for k, xv := range xx {
				yv, ok := yy[k]
				if !ok {
					return false
				}
				p := k
				if path != "" {
					p = path + "." + k
				}
				if !walk(xv, yv, p) {
					return false
				}
			}
			return true
		case []any:
			yy, ok := y.([]any)
			if !ok || len(xx) != len(yy) {
				return false
			}
			for i := range xx {
				if !walk(xx[i], yy[i], path) {
					return false
				}
			}
			return true
		}
		if x != y { // JSON scalars: string, float64, bool, nil
			if path == "" {
				return false
			}
			seen[path] = true
		}
		return true
	}
	if !walk(va, vb, "") {
		return nil
	}
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// nondetHint says how to declare fields that differ between calls of c, or "" when the
// answers a and b differ in something else.
func nondetHint(c framework.CommandInfo, a, b outcome) string {
	fields := differingFields(a, b)
	if len(fields) == 0 {
		return ""
	}
	what := "field " + fields[0] + " differs"
	if len(fields) > 1 {
		what = "fields " + strings.Join(fields, ", ") + " differ"
	}
	return fmt.Sprintf("output %s between calls: if that is meant (a random id, a time stamp), declare it in %s: check: {nondeterministic: {%s.%s: [%s]}}",
		what, project.FileName, c.Service, c.Name, strings.Join(fields, ", "))
}
