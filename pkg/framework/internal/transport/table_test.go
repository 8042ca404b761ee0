package transport

import (
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"
)

type reg struct{ name string }

func TestTable(t *testing.T) {
	a, b := EndpointOf(wire.Address{ServiceName: "Svc", ServiceVersion: "1", ServiceTarget: "a", InstanceID: "x"}), Endpoint{"Svc", "1", "b"}
	r1, r2, r3 := &reg{"r1"}, &reg{"r2"}, &reg{"r3"}
	type op struct {
		do      string // add, remove, take
		ep      Endpoint
		r       *reg
		wantErr error
		wantOK  bool     // remove's result
		taken   []string // take's result
	}
	tests := []struct {
		name string
		ops  []op
		want map[Endpoint]string // the table's content at the end
	}{
		{name: "empty", want: map[Endpoint]string{}},
		{name: "add two endpoints", ops: []op{{do: "add", ep: a, r: r1}, {do: "add", ep: b, r: r2}},
			want: map[Endpoint]string{a: "r1", b: "r2"}},
		{name: "a duplicate changes nothing", ops: []op{{do: "add", ep: a, r: r1}, {do: "add", ep: a, r: r2, wantErr: bridge.ErrDuplicate}},
			want: map[Endpoint]string{a: "r1"}},
		{name: "remove removes only its own registration", ops: []op{
			{do: "add", ep: a, r: r1}, {do: "remove", ep: a, r: r2}, {do: "remove", ep: b, r: r1},
			{do: "remove", ep: a, r: r1, wantOK: true}, {do: "remove", ep: a, r: r1}},
			want: map[Endpoint]string{}},
		{name: "a replacement survives the old registration's remove", ops: []op{
			{do: "add", ep: a, r: r1}, {do: "remove", ep: a, r: r1, wantOK: true}, {do: "add", ep: a, r: r3},
			{do: "remove", ep: a, r: r1}},
			want: map[Endpoint]string{a: "r3"}},
		{name: "take empties", ops: []op{
			{do: "add", ep: a, r: r1}, {do: "add", ep: b, r: r2}, {do: "take", taken: []string{"r1", "r2"}},
			{do: "take", taken: []string{}}, {do: "remove", ep: a, r: r1}},
			want: map[Endpoint]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tab Table[*reg]
			for i, o := range tt.ops {
				switch o.do {
				case "add":
					if err := tab.Add(o.ep, o.r); !errors.Is(err, o.wantErr) || (err == nil) != (o.wantErr == nil) {
						t.Fatalf("op %d: Add = %v, want %v", i, err, o.wantErr)
					}
				case "remove":
					if ok := tab.Remove(o.ep, o.r); ok != o.wantOK {
						t.Fatalf("op %d: Remove = %v, want %v", i, ok, o.wantOK)
					}
				case "take":
					if got := names(tab.Take()); !slices.Equal(got, o.taken) {
						t.Fatalf("op %d: Take = %v, want %v", i, got, o.taken)
					}
				}
			}
			if tab.Len() != len(tt.want) {
				t.Errorf("Len = %d, want %d", tab.Len(), len(tt.want))
			}
			var want []string
			for ep, name := range tt.want {
				want = append(want, name)
				if r, ok := tab.Get(ep); !ok || r.name != name {
					t.Errorf("Get(%s) = %v %v, want %s", ep, r, ok, name)
				}
			}
			slices.Sort(want)
			if got := names(tab.All()); !slices.Equal(got, append([]string{}, want...)) {
				t.Errorf("All = %v, want %v", got, want)
			}
			for _, ep := range []Endpoint{a, b} {
				if _, in := tt.want[ep]; !in {
					if r, ok := tab.Get(ep); ok {
						t.Errorf("Get(%s) = %v, want none", ep, r)
					}
				}
			}
		})
	}
}

// TestTableConcurrent runs lookups against concurrent writers (for the race detector):
// a lookup sees a registration whole or not at all.
func TestTableConcurrent(t *testing.T) {
	var tab Table[*reg]
	eps := []Endpoint{{"S", "1", "a"}, {"S", "1", "b"}, {"S", "1", "c"}}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 500 {
				ep := eps[(w+i)%len(eps)]
				r := &reg{ep.Target}
				if tab.Add(ep, r) == nil {
					tab.Remove(ep, r)
				}
				if i%100 == 0 {
					tab.Take()
				}
			}
		})
		wg.Go(func() {
			for i := range 2000 {
				ep := eps[i%len(eps)]
				if r, ok := tab.Get(ep); ok && r.name != ep.Target {
					t.Errorf("Get(%s) = %s", ep, r.name)
				}
				for _, r := range tab.All() {
					if r == nil {
						t.Error("All holds nil")
					}
				}
			}
		})
	}
	wg.Wait()
}

func TestEndpoint(t *testing.T) {
	a := wire.Address{ServiceName: "Svc", ServiceVersion: "2", ServiceTarget: "run", InstanceID: "i"}
	ep := EndpointOf(a)
	if ep != (Endpoint{"Svc", "2", "run"}) || !ep.Address().SameEndpoint(a) || ep.Address().InstanceID != "" || ep.String() != a.String() {
		t.Errorf("EndpointOf(%+v) = %+v (%s)", a, ep, ep)
	}
}

func names(rs []*reg) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.name)
	}
	slices.Sort(out)
	return out
}
