package check

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/purista-go/purista/internal/project"
	"github.com/purista-go/purista/pkg/framework"
)

func TestLoadSettings(t *testing.T) {
	m := &project.Manifest{Services: []project.Service{{Name: "Orders", Version: "1"}, {Name: "Stock", Version: "1"}}}
	tests := []struct {
		name, yaml string
		want       map[string][]string
		wantErr    string // a usage error containing this
	}{
		{name: "none", yaml: "name: shop\n"},
		{name: "fields", yaml: "check:\n  nondeterministic:\n    Orders.place: [id, order.createdAt]\n",
			want: map[string][]string{"Orders.place": {"id", "order.createdAt"}}},
		{name: "not Service.command", yaml: "check:\n  nondeterministic:\n    place: [id]\n", wantErr: `"place" is not Service.command (e.g. Orders.create)`},
		{name: "unknown service", yaml: "check:\n  nondeterministic:\n    Nope.place: [id]\n",
			wantErr: `"Nope.place" names no service of the project: the services are Orders, Stock`},
		{name: "no field", yaml: "check:\n  nondeterministic:\n    Orders.place: []\n", wantErr: "lists no field"},
		{name: "empty field", yaml: "check:\n  nondeterministic:\n    Orders.place: [\"\"]\n", wantErr: "lists no field, or an empty one"},
		{name: "not a map", yaml: "check:\n  nondeterministic: [id]\n", wantErr: "purista.yaml: check:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, project.FileName), []byte(tt.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := loadSettings(dir, m)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want a usage error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(s.Nondeterministic, tt.want) {
				t.Fatalf("settings = %v, %v; want %v", s.Nondeterministic, err, tt.want)
			}
		})
	}
}

func TestMaskAndDiffer(t *testing.T) {
	place := framework.CommandInfo{Service: "Orders", Version: "1", Name: "place"}
	set := settings{Nondeterministic: map[string][]string{"orders.place": {"id", "items.sku", "meta.at"}}}
	ok := func(s string) outcome { return outcome{OK: true, Output: s} }
	tests := []struct {
		name       string
		c          framework.CommandInfo
		a, b       outcome
		equal      bool     // after masking
		fields     []string // differingFields before masking
		hintSubstr string
	}{
		{name: "masked id", c: place, a: ok(`{"id":"a","n":1}`), b: ok(`{"id":"b","n":1}`), equal: true, fields: []string{"id"},
			hintSubstr: "output field id differs between calls: if that is meant (a random id, a time stamp), declare it in purista.yaml: check: {nondeterministic: {Orders.place: [id]}}"},
		{name: "masked in array and nested", c: place, a: ok(`{"items":[{"sku":"x"},{"sku":"y"}],"meta":{"at":1}}`),
			b: ok(`{"items":[{"sku":"p"},{"sku":"q"}],"meta":{"at":2}}`), equal: true, fields: []string{"items.sku", "meta.at"}},
		{name: "field missing on one side is a difference", c: place, a: ok(`{"id":"a"}`), b: ok(`{}`)},
		{name: "other field differs", c: place, a: ok(`{"id":"a","n":1}`), b: ok(`{"id":"b","n":2}`), fields: []string{"id", "n"},
			hintSubstr: "fields id, n differ"},
		{name: "other command not masked", c: framework.CommandInfo{Service: "Orders", Version: "1", Name: "list"},
			a: ok(`{"id":"a"}`), b: ok(`{"id":"b"}`), fields: []string{"id"}},
		{name: "errors are not masked", c: place, a: outcome{Status: 500, Error: "x"}, b: outcome{Status: 500, Error: "y"}},
		{name: "different shape names no field", c: place, a: ok(`{"n":[1]}`), b: ok(`{"n":[1,2]}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := set.mask(tt.c, tt.a) == set.mask(tt.c, tt.b); got != tt.equal {
				t.Errorf("masked equal = %v, want %v (%v, %v)", got, tt.equal, set.mask(tt.c, tt.a), set.mask(tt.c, tt.b))
			}
			if got := differingFields(tt.a, tt.b); !reflect.DeepEqual(got, tt.fields) && (len(got) != 0 || len(tt.fields) != 0) {
				t.Errorf("differingFields = %v, want %v", got, tt.fields)
			}
			h := nondetHint(tt.c, tt.a, tt.b)
			if (h == "") != (len(tt.fields) == 0) || !strings.Contains(h, tt.hintSubstr) {
				t.Errorf("hint = %q, want one with %q", h, tt.hintSubstr)
			}
		})
	}
}
