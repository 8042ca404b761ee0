package check

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/purista-go/purista/internal/check"

	"github.com/purista-go/purista/internal/cli/cmdutil"
	"github.com/purista-go/purista/internal/cli/iostreams"
	"github.com/purista-go/purista/internal/project"
)

func TestNewCmdCheck(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		want      Options
		wantUsage bool
	}{
		{name: "defaults", want: Options{Broker: "nats", Format: "text", Timeout: 5 * time.Minute}},
		{name: "all flags", args: []string{"proj", "--only", "stateless,two-models", "--skip", "x", "--broker", "mqtt",
			"--broker-url", "mqtt://h:1883", "--format", "json", "--junit", "r.xml", "--timeout", "1m"},
			want: Options{Dir: "proj", Only: []string{"stateless", "two-models"}, Skip: []string{"x"}, Broker: "mqtt",
				BrokerURL: "mqtt://h:1883", Format: "json", JUnit: "r.xml", Timeout: time.Minute}},
		{name: "bad format", args: []string{"--format", "xml"}, wantUsage: true},
		{name: "bad broker", args: []string{"--broker", "kafka"}, wantUsage: true},
		{name: "two dirs", args: []string{"a", "b"}, wantUsage: true},
		{name: "zero timeout", args: []string{"--timeout", "0s"}, wantUsage: true},
		{name: "amqp url gives amqp", args: []string{"--broker-url", "amqp://guest:guest@127.0.0.1:5672/"},
			want: Options{Broker: "amqp", BrokerURL: "amqp://guest:guest@127.0.0.1:5672/", Format: "text", Timeout: 5 * time.Minute}},
		{name: "mqtt url gives mqtt", args: []string{"--broker-url", "ws://h:8080/mqtt"},
			want: Options{Broker: "mqtt", BrokerURL: "ws://h:8080/mqtt", Format: "text", Timeout: 5 * time.Minute}},
		{name: "nats url gives nats", args: []string{"--broker-url", "tls://h:4222"},
			want: Options{Broker: "nats", BrokerURL: "tls://h:4222", Format: "text", Timeout: 5 * time.Minute}},
		{name: "broker contradicts url", args: []string{"--broker", "nats", "--broker-url", "amqp://guest:guest@127.0.0.1:5672/"}, wantUsage: true},
		{name: "default broker does not contradict url", args: []string{"--broker-url", "mqtt://h:1883"},
			want: Options{Broker: "mqtt", BrokerURL: "mqtt://h:1883", Format: "text", Timeout: 5 * time.Minute}},
		{name: "unknown url scheme", args: []string{"--broker-url", "kafka://h:9092"}, wantUsage: true},
		{name: "port above 65535", args: []string{"--broker-url", "nats://nope:99999"}, wantUsage: true},
		{name: "port 0", args: []string{"--broker-url", "mqtt://h:0"}, wantUsage: true},
		{name: "port not a number", args: []string{"--broker-url", "amqp://guest:guest@h:x/"}, wantUsage: true},
		{name: "profile leaves the kind to the profile", args: []string{"--profile", "prod"},
			want: Options{Profile: "prod", Format: "text", Timeout: 5 * time.Minute}},
		{name: "profile with explicit broker", args: []string{"--profile", "prod", "--broker", "amqp"},
			want: Options{Profile: "prod", Broker: "amqp", Format: "text", Timeout: 5 * time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			var got *Options
			cmd := NewCmdCheck(&cmdutil.Factory{IOStreams: ios}, func(o *Options) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			err := cmd.Execute()
			if tt.wantUsage {
				if !cmdutil.IsUsageError(err) {
					t.Fatalf("err = %v, want a usage error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.IO != ios {
				t.Errorf("IO is not the Factory's")
			}
			g := *got
			g.IO, g.Check = nil, nil
			if !reflect.DeepEqual(g, tt.want) {
				t.Errorf("options\n got %+v\nwant %+v", g, tt.want)
			}
		})
	}
}

// TestRunUsage checks the usage errors Run finds before it builds or runs anything: the
// folder is not a project, so an error about anything else means a check came too late.
func TestRunUsage(t *testing.T) {
	notProject := t.TempDir()
	tests := []struct {
		name string
		opts Options
		want string // in the usage error
	}{
		{name: "only and skip cancel", opts: Options{Only: []string{"external-config"}, Skip: []string{"external-config"}},
			want: "--skip external-config leaves out every check that --only external-config selects"},
		{name: "skip everything", opts: Options{Skip: check.Names()}, want: "leaves out every check"},
		{name: "junit folder missing", opts: Options{JUnit: filepath.Join(notProject, "nope", "x.xml")},
			want: "--junit " + filepath.Join(notProject, "nope", "x.xml") + " cannot be written"},
		{name: "junit is a folder", opts: Options{JUnit: notProject}, want: "cannot be written"},
		{name: "broker contradicts url", opts: Options{Broker: "mqtt", BrokerURL: "amqp://guest:guest@127.0.0.1:5672/"},
			want: "--broker mqtt contradicts --broker-url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			o := tt.opts
			o.IO, o.Dir, o.Format, o.Timeout = ios, notProject, "text", time.Minute
			o.Check = check.Run
			err := Run(context.Background(), &o)
			if !cmdutil.IsUsageError(err) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want a usage error with %q", err, tt.want)
			}
		})
	}
	t.Run("junit check leaves no file", func(t *testing.T) {
		name := filepath.Join(t.TempDir(), "r.xml")
		if err := checkWritable(name); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(name); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("checkWritable left %s behind: %v", name, err)
		}
		if err := os.WriteFile(name, []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := checkWritable(name); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(name); string(b) != "old" {
			t.Errorf("checkWritable changed an existing file: %q", b)
		}
	})
}

// TestRunProjectErrors: a folder that is no project, and a project that does not
// compile, are not usage errors, and each says what to do.
func TestRunProjectErrors(t *testing.T) {
	notProject := t.TempDir()
	t.Run("not a project says what to do", func(t *testing.T) {
		ios, _, _, _ := iostreams.Test()
		err := Run(context.Background(), &Options{IO: ios, Dir: notProject, Format: "text", Timeout: time.Minute, Check: check.Run})
		if !errors.Is(err, project.ErrNotFound) || cmdutil.IsUsageError(err) {
			t.Fatalf("err = %v, want project.ErrNotFound (exit 1)", err)
		}
		for _, w := range []string{"purista check DIR", "purista new NAME"} {
			if h := cmdutil.HintOf(err); !strings.Contains(h, w) {
				t.Errorf("hint %q does not say %q", h, w)
			}
		}
	})
	t.Run("a project that does not compile is exit 3 with what to do", func(t *testing.T) {
		dir := t.TempDir()
		for name, body := range map[string]string{
			"go.mod":         "module bk\n\ngo 1.26\n",
			"cmd/bk/main.go": "package main\n\nfunc main() {\n",
			project.FileName: "name: bk\nmodule: bk\nmain: ./cmd/bk\n",
		} {
			if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		ios, _, _, _ := iostreams.Test()
		err := Run(context.Background(), &Options{IO: ios, Dir: dir, Format: "text", Timeout: time.Minute, Check: check.Run})
		var ec *cmdutil.ExitCodeError
		if !errors.As(err, &ec) || ec.Code != ExitNotBuilt || !strings.Contains(err.Error(), "syntax error") {
			t.Fatalf("err = %v, want exit %d with the compiler's message", err, ExitNotBuilt)
		}
		if h := cmdutil.HintOf(err); !strings.Contains(h, "go build ./...") {
			t.Errorf("hint %q does not say how to see the errors", h)
		}
	})
}

// TestRunBrokerUnavailable: an external broker that does not answer stops the run
// before the build with one error naming the masked URL, exit 2 and what to do; no
// report, no check failures.
func TestRunBrokerUnavailable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	_ = l.Close()
	base := filepath.Join("..", "..", "check", "testdata", "base")
	tests := []struct {
		name, url, want, hint string
	}{
		{name: "nats", url: "nats://" + closed, want: "broker unavailable: nats://" + closed + " does not answer", hint: "embedded broker"},
		{name: "amqp, password masked", url: "amqp://guest:secret@" + closed + "/",
			want: "broker unavailable: amqp://xxxxx@" + closed + "/ does not answer", hint: "Start RabbitMQ"},
		{name: "unknown host", url: "nats://nope.invalid:1", want: "nats://nope.invalid:1 does not answer", hint: "--broker-url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, out, errOut := iostreams.Test()
			kind, err := check.BrokerKind("", tt.url)
			if err != nil {
				t.Fatal(err)
			}
			err = Run(context.Background(), &Options{IO: ios, Dir: base, BrokerURL: tt.url, Broker: kind, Format: "text", Timeout: time.Minute,
				Check: check.Run})
			var ec *cmdutil.ExitCodeError
			if !errors.As(err, &ec) || ec.Code != cmdutil.ExitUsage || !errors.Is(err, check.ErrBrokerUnavailable) ||
				!strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "(--broker-url)") {
				t.Fatalf("err = %v (%T), want exit 2 with %q", err, err, tt.want)
			}
			if h := cmdutil.HintOf(err); !strings.Contains(h, "Nothing was checked") || !strings.Contains(h, tt.hint) {
				t.Errorf("hint %q does not say %q", h, tt.hint)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error shows the password: %v", err)
			}
			if out.Len() != 0 || strings.Contains(errOut.String(), "build") {
				t.Errorf("something ran after the broker test: report %q, progress %q", out.String(), errOut.String())
			}
		})
	}
}

// TestRunTimeout checks that a run cut off by --timeout while building is reported as a
// timeout (exit 1, with what to do), not as a project that does not build (exit 3),
// and that the progress does not call the build done.
func TestRunTimeout(t *testing.T) {
	ios, _, out, errOut := iostreams.Test()
	err := Run(context.Background(), &Options{IO: ios, Dir: filepath.Join("..", "..", "check", "testdata", "base"),
		Only: []string{"two-models"}, Broker: "nats", Format: "text", Timeout: time.Millisecond, Check: check.Run})
	var ec *cmdutil.ExitCodeError
	if !errors.As(err, &ec) || ec.Code != ExitFailed || err.Error() != "check timed out after 1ms (raise --timeout)" {
		t.Fatalf("err = %v (%T), want exit %d: check timed out after 1ms (raise --timeout)", err, err, ExitFailed)
	}
	if strings.Contains(errOut.String(), "build done") || !strings.Contains(errOut.String(), "build timed out") {
		t.Errorf("progress:\n%s\nwant build timed out, not done", errOut.String())
	}
	if out.Len() != 0 {
		t.Errorf("a report was printed: %s", out.String())
	}
}

func TestProgress(t *testing.T) {
	tests := []struct {
		name string
		ev   check.Progress
		want string
	}{
		{name: "done", ev: check.Progress{Step: "build", Done: true}, want: "purista check: build done ("},
		{name: "failed", ev: check.Progress{Step: "build", Done: true, Err: errors.New("exit status 1")}, want: "purista check: build failed ("},
		{name: "timed out", ev: check.Progress{Step: "analyze", Done: true, Err: fmt.Errorf("analyze cut off: %w", context.DeadlineExceeded)},
			want: "purista check: analyze timed out ("},
		{name: "interrupted", ev: check.Progress{Step: "build", Done: true, Err: context.Canceled}, want: "purista check: build interrupted ("},
		{name: "check", ev: check.Progress{Step: "stateless", Done: true, Result: &check.Result{Status: check.Fail}},
			want: "purista check: stateless fail ("},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, errOut := iostreams.Test()
			p := newProgress(ios)
			p.update(check.Progress{Step: tt.ev.Step})
			p.update(tt.ev)
			p.stop()
			if !strings.Contains(errOut.String(), tt.want) {
				t.Errorf("progress:\n%s\nwant %q", errOut.String(), tt.want)
			}
		})
	}
}
