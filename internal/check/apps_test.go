package check

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/purista-go/purista/pkg/framework"
)

// TestLoadCall checks how a call of the graceful-shutdown load is classified: an
// answer, a refused connection, and a connection closed without an answer after the
// call was read (which the check names without the URL, whose port changes each run).
func TestLoadCall(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/drop") {
			c, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = c.Close()
			}
			return
		}
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(srv.Close)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	_ = l.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	tests := []struct {
		name, addr, cmd string
		want            callEnd
		wantErr         string
	}{
		{name: "answered", addr: addr, cmd: "ok", want: answered},
		{name: "dropped after reading", addr: addr, cmd: "drop", want: cut,
			wantErr: "the connection closed without an answer after the call was sent (EOF)"},
		{name: "refused", addr: closed, cmd: "ok", want: refused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := framework.CommandInfo{Service: "S", Version: "1", Name: tt.cmd}
			got, err := loadCall(context.Background(), &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}, tt.addr, c)
			if got != tt.want {
				t.Fatalf("loadCall = %v (%v), want %v", got, err, tt.want)
			}
			if tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr) {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestProblemText(t *testing.T) {
	tests := []struct{ in, want string }{
		{in: "name is required", want: "name is required"},
		{in: `{"type":"about:blank","title":"Not Found","status":404,"detail":"no endpoint at this path","traceId":"ab5c"}`,
			want: "no endpoint at this path"},
		{in: `{"title":"Bad Request","status":400,"traceId":"x"}`, want: "Bad Request"},
		{in: `{"other":1}`, want: `{"other":1}`},
	}
	for _, tt := range tests {
		if got := problemText(tt.in); got != tt.want {
			t.Errorf("problemText(%s) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
