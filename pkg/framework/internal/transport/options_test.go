package transport

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/purista-go/purista/pkg/framework/bridge"
)

func TestOptions(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))
	tests := []struct {
		name        string
		set         func(o *Options)
		wantLogger  *slog.Logger // nil: the discarding default
		wantID      string       // "": a fresh 32-hex id
		wantLocal   bool
		wantTimeout time.Duration
	}{
		{name: "defaults", set: func(*Options) {}, wantLocal: true, wantTimeout: bridge.DefaultTimeout},
		{name: "zero values keep the defaults", set: func(o *Options) {
			o.SetLogger(nil)
			o.SetInstanceID("")
			o.SetInvokeTimeout(0)
			o.SetInvokeTimeout(-time.Second)
		}, wantLocal: true, wantTimeout: bridge.DefaultTimeout},
		{name: "values are taken", set: func(o *Options) {
			o.SetLogger(logger)
			o.SetInstanceID("0123456789abcdef0123456789abcdef")
			o.SetLocalDelivery(false)
			o.SetInvokeTimeout(time.Second)
		}, wantLogger: logger, wantID: "0123456789abcdef0123456789abcdef", wantTimeout: time.Second},
		{name: "later options win, zero values keep earlier ones", set: func(o *Options) {
			o.SetInstanceID("first")
			o.SetInstanceID("second")
			o.SetInstanceID("")
			o.SetInvokeTimeout(time.Second)
			o.SetInvokeTimeout(2 * time.Second)
			o.SetInvokeTimeout(0)
			o.SetLocalDelivery(false)
			o.SetLocalDelivery(true)
		}, wantID: "second", wantLocal: true, wantTimeout: 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := DefaultOptions()
			tt.set(&o)
			if err := o.Resolve(); err != nil {
				t.Fatalf("Resolve = %v", err)
			}
			if tt.wantLogger != nil && o.Logger != tt.wantLogger || o.Logger == nil {
				t.Errorf("Logger = %p, want %p", o.Logger, tt.wantLogger)
			}
			if o.GeneratedID != (tt.wantID == "") {
				t.Errorf("GeneratedID = %v with id %q given", o.GeneratedID, tt.wantID)
			}
			switch {
			case tt.wantID == "" && !isHex32(o.InstanceID):
				t.Errorf("InstanceID = %q, want a fresh 32-hex id", o.InstanceID)
			case tt.wantID != "" && o.InstanceID != tt.wantID:
				t.Errorf("InstanceID = %q, want %q", o.InstanceID, tt.wantID)
			}
			if o.LocalDelivery != tt.wantLocal || o.InvokeTimeout != tt.wantTimeout {
				t.Errorf("LocalDelivery %v InvokeTimeout %s, want %v %s", o.LocalDelivery, o.InvokeTimeout, tt.wantLocal, tt.wantTimeout)
			}
		})
	}
}

func TestResolveZeroOptions(t *testing.T) {
	var o Options // not made by DefaultOptions
	if err := o.Resolve(); err != nil {
		t.Fatal(err)
	}
	if o.Logger == nil || o.InvokeTimeout != bridge.DefaultTimeout || !isHex32(o.InstanceID) || !o.GeneratedID {
		t.Errorf("Resolve of zero Options = %+v", o)
	}
	a, b := DefaultOptions(), DefaultOptions()
	_, _ = a.Resolve(), b.Resolve()
	if a.InstanceID == b.InstanceID {
		t.Errorf("two bridges got the same instance id %s", a.InstanceID)
	}
}

func TestCheckInstanceID(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"0123456789abcdef0123456789abcdef", true},
		{"orders-0", true},
		{"web-1.orders.svc", true},
		{"Pod_A", true},
		{"ä1", true},
		{"", false},
		{"*", false},
		{">", false},
		{"+", false},
		{"#", false},
		{"./#", false},
		{"__", false},
		{"a\nb", false},
		{"a\rb", false},
		{"a\x00", false},
		{"a\x7f", false},
	}
	for _, tt := range tests {
		err := CheckInstanceID(tt.id)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInstanceID)) {
			t.Errorf("CheckInstanceID(%q) = %v, want ok %v", tt.id, err, tt.ok)
		}
		o := DefaultOptions()
		o.SetInstanceID(tt.id)
		if rerr := o.Resolve(); (rerr == nil) != (tt.ok || tt.id == "") {
			t.Errorf("Resolve with id %q = %v", tt.id, rerr)
		}
		if o.InstanceID == "" {
			t.Errorf("Resolve with id %q left no id", tt.id)
		}
	}
}

func TestTimeout(t *testing.T) {
	o := DefaultOptions()
	o.SetInvokeTimeout(3 * time.Second)
	for _, tt := range []struct{ in, want time.Duration }{
		{0, 3 * time.Second}, {-1, 3 * time.Second}, {time.Millisecond, time.Millisecond}, {time.Hour, time.Hour},
	} {
		if got := o.Timeout(tt.in); got != tt.want {
			t.Errorf("Timeout(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestBridgeLogger(t *testing.T) {
	var buf bytes.Buffer
	o := DefaultOptions()
	o.SetLogger(slog.New(slog.NewTextHandler(&buf, nil)))
	o.SetInstanceID("inst1")
	if err := o.Resolve(); err != nil {
		t.Fatal(err)
	}
	o.BridgeLogger("nats").Info("hello")
	if out := buf.String(); !strings.Contains(out, "bridge=nats") || !strings.Contains(out, "instanceId=inst1") {
		t.Errorf("log line %q lacks the bridge's attributes", out)
	}
}

func isHex32(s string) bool {
	if len(s) != 32 {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
