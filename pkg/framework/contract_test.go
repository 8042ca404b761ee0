package framework_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/memory"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// TestDeclarationPanics: a mistake in a declaration panics where it is written, with an
// error wrapping ErrInvalidDefinition that names the declaration and the mistake.
func TestDeclarationPanics(t *testing.T) {
	shop := framework.NewContract("Shop", "1")
	tests := []struct {
		name    string
		declare func()
		want    []string // substrings of the panic's error
	}{
		{"service name not an identifier", func() { framework.NewContract("my-svc", "1") },
			[]string{`framework.NewContract("my-svc", "1")`, `service name "my-svc" is not a Go identifier`}},
		{"empty service name", func() { framework.NewContract("", "1") }, []string{"service name is empty"}},
		{"version not an integer", func() { framework.NewContract("Shop", "v1") }, []string{`service version "v1" is not a positive integer`}},
		{"version with a leading zero", func() { framework.NewContract("Shop", "01") }, []string{`service version "01"`}},
		{"empty version", func() { framework.NewContract("Shop", "") }, []string{"service version is empty"}},
		{"command of the zero Contract", func() { framework.Command[echoIn, echoOut](framework.Contract{}, "buy") },
			[]string{`framework.Command(zero Contract, "buy")`, "framework.NewContract"}},
		{"command name not an identifier", func() { framework.Command[echoIn, echoOut](shop, "buy-now") },
			[]string{`framework.Command(Shop v1, "buy-now")`, `command name "buy-now" is not a Go identifier`}},
		{"empty command name", func() { framework.Command[echoIn, echoOut](shop, "") }, []string{"command name is empty"}},
		{"zero timeout", func() { framework.Command[echoIn, echoOut](shop, "buy", framework.WithTimeout(0)) },
			[]string{"timeout 0s is not positive"}},
		{"negative timeout", func() { framework.Command[echoIn, echoOut](shop, "buy", framework.WithTimeout(-time.Second)) },
			[]string{"timeout -1s is not positive"}},
		{"bad success event name", func() { framework.Command[echoIn, echoOut](shop, "buy", framework.WithSuccessEvent("bought!")) },
			[]string{`success event name "bought!" is not a Go identifier`}},
		{"example that does not encode", func() { framework.Command[echoIn, echoOut](shop, "buy", framework.WithExample(func() {})) },
			[]string{"example: json: unsupported type"}},
		{"WithHTTP twice", func() {
			framework.Command[echoIn, echoOut](shop, "buy", framework.WithHTTP(framework.Endpoint{Path: "/a"}), framework.WithHTTP(framework.Endpoint{Path: "/b"}))
		}, []string{"WithHTTP given twice"}},
		{"two mistakes at once", func() {
			framework.Command[echoIn, echoOut](shop, "buy", framework.WithTimeout(0), framework.WithSuccessEvent(""))
		}, []string{"timeout 0s", "success event name is empty"}},
		{"event of the zero Contract", func() { framework.Event[echoOut](framework.Contract{}, "bought") },
			[]string{`framework.Event(zero Contract, "bought")`}},
		{"event name not an identifier", func() { framework.Event[echoOut](shop, "was bought") },
			[]string{`event name "was bought" is not a Go identifier`}},
		{"service of the zero Contract", func() { framework.NewService(framework.Contract{}, "sells") },
			[]string{`framework.NewService(zero Contract, "sells")`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				p := recover()
				err, ok := p.(error)
				if !ok {
					t.Fatalf("recovered %v (%T), want a panic with an error", p, p)
				}
				if !errors.Is(err, framework.ErrInvalidDefinition) {
					t.Errorf("panic %v does not wrap ErrInvalidDefinition", err)
				}
				for _, w := range tt.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("panic %q does not say %q", err, w)
					}
				}
			}()
			tt.declare()
		})
	}
}

// TestValidDeclarations: valid declarations do not panic and carry what was declared.
func TestValidDeclarations(t *testing.T) {
	shop := framework.NewContract("Shop", "12")
	buy := framework.Command[echoIn, echoOut](shop, "buy", framework.WithSuccessEvent("bought"), framework.WithTimeout(time.Second))
	bought := framework.Event[echoOut](shop, "bought")
	svc := framework.NewService(shop, "sells")
	tests := []struct {
		name      string
		got, want any
	}{
		{"contract name", shop.Name(), "Shop"},
		{"contract version", shop.Version(), "12"},
		{"contract string", shop.String(), "Shop v12"},
		{"command address", buy.Address(), wire.Address{ServiceName: "Shop", ServiceVersion: "12", ServiceTarget: "buy"}},
		{"command timeout", buy.Info().Timeout, time.Second},
		{"success event", buy.SuccessEvent(), bought},
		{"event contract", bought.Contract(), shop},
		{"service contract", svc.Contract(), shop},
		{"service name", svc.Name(), "Shop"},
		{"service version", svc.Version(), "12"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

// TestZeroRefs: zero refs answer with zero values and fail calls with ErrZeroRef, never
// with a nil dereference.
func TestZeroRefs(t *testing.T) {
	var cmd framework.CommandRef[echoIn, echoOut]
	var ev framework.EventRef[echoOut]
	rt, err := framework.Start(context.Background(), memory.New(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Shutdown(context.Background()) })
	client := rt.Client(context.Background())
	tests := []struct {
		name string
		call func() error
	}{
		{"Invoke", func() error { _, err := cmd.Invoke(client, echoIn{Text: "x"}); return err }},
		{"InvokeWith", func() error {
			_, err := cmd.InvokeWith(client, echoIn{Text: "x"}, framework.InvokeOptions{})
			return err
		}},
		{"Invoke without a caller", func() error { _, err := cmd.Invoke(nil, echoIn{Text: "x"}); return err }},
		{"Emit", func() error { return ev.Emit(client, echoOut{}) }},
		{"Emit of a zero SuccessEvent", func() error { return relay.SuccessEvent().Emit(client, echoOut{}) }},
		{"Emit without a caller", func() error { return ev.Emit(nil, echoOut{}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, framework.ErrZeroRef) {
				t.Fatalf("err = %v, want ErrZeroRef", err)
			}
		})
	}
	answers := []struct {
		name      string
		got, want any
	}{
		{"Address", cmd.Address(), wire.Address{}},
		{"Info", cmd.Info().Name + cmd.Info().Service, ""},
		{"SuccessEvent", cmd.SuccessEvent(), framework.EventRef[echoOut]{}},
		{"EventRef.Name", ev.Name(), ""},
		{"EventRef.Contract", ev.Contract(), framework.Contract{}},
		{"Contract.String", framework.Contract{}.String(), "zero Contract"},
	}
	for _, a := range answers {
		if a.got != a.want {
			t.Errorf("%s = %v, want %v", a.name, a.got, a.want)
		}
	}
}
