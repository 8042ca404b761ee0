package app

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/purista-go/purista/internal/testutil/bodyload"
	"github.com/purista-go/purista/pkg/framework"
)

type padIn struct {
	Pad string `json:"pad"`
}

var padCmd = framework.Command[padIn, struct{}](framework.NewContract("Pad", "1"), "pad",
	framework.WithHTTP(framework.Endpoint{Method: http.MethodPost, Path: "/pad", Public: true, BodyLimit: 8 << 20}))

// TestServerBodyMemoryBoundEndToEnd sends 20 concurrent bodies of 8 MiB to a command
// endpoint of a process whose body memory is 32 MiB, and bounds what the process takes
// from the OS meanwhile (docs/http.md, Server limits).
func TestServerBodyMemoryBoundEndToEnd(t *testing.T) {
	const (
		bodies   = 20
		bodySize = 8 << 20
		budget   = 32 << 20
	)
	svc := framework.NewService(framework.NewContract("Pad", "1"), "pad")
	framework.Handle(svc, padCmd, func(_ *framework.Context, in padIn) (struct{}, error) { return struct{}{}, nil })
	addr := freeAddr(t)
	env := map[string]string{"PURISTA_HTTP_ADDR": addr, "PURISTA_HEALTH_ADDR": "off", "PURISTA_HTTP_MAX_BODY_MEMORY": "32MiB",
		"PURISTA_HTTP_READ_TIMEOUT": "5m"} // bodies wait for their share, slowly under -race
	ctx, cancel := context.WithCancel(context.Background())
	logs := &logBuffer{}
	done := make(chan int, 1)
	go func() { done <- runMain(ctx, nil, func(k string) string { return env[k] }, logs, svc) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	payload := bodyload.JSONBody(bodySize)
	waitReady(t, "never served", done, logs, func() error {
		resp, err := http.Post("http://"+addr+"/pad", "application/json", bytes.NewReader([]byte(`{"pad":""}`)))
		if err == nil {
			_ = resp.Body.Close()
		}
		return err
	})
	res := bodyload.Post("http://"+addr+"/pad", payload, bodies)
	for i, s := range res.Statuses {
		if s != http.StatusOK {
			t.Errorf("body %d: status %d", i, s)
		}
	}
	grew := res.SysGrowth
	const bound = 12*budget + 32<<20 // docs/http.md, Server limits
	t.Logf("Sys grew by %d MiB for %d concurrent %d MiB bodies to a command, body memory %d MiB (bound %d MiB)",
		grew>>20, bodies, bodySize>>20, budget>>20, bound>>20)
	if grew > bound {
		t.Errorf("Sys grew by %d MiB, over the bound of %d MiB", grew>>20, bound>>20)
	}
}

func TestServerRefusesBodyLimitOverBodyMemory(t *testing.T) {
	svc := framework.NewService(framework.NewContract("Pad", "1"), "pad")
	framework.Handle(svc, padCmd, func(_ *framework.Context, in padIn) (struct{}, error) { return struct{}{}, nil })
	env := map[string]string{"PURISTA_HTTP_ADDR": freeAddr(t), "PURISTA_HEALTH_ADDR": "off", "PURISTA_HTTP_MAX_BODY_MEMORY": "4MiB"}
	var out logBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if code := runMain(ctx, nil, func(k string) string { return env[k] }, &out, svc); code != ExitConfig {
		t.Fatalf("exit %d, want %d\n%s", code, ExitConfig, out.String())
	}
	if !strings.Contains(out.String(), "PURISTA_HTTP_MAX_BODY_MEMORY") || !strings.Contains(out.String(), "POST /pad") {
		t.Fatalf("the refusal does not say what to change:\n%s", out.String())
	}
}
