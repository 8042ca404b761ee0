// Package devmsg holds the messages of a `purista dev` session: what the supervisor
// reports (builds, process states, health, event-stream lines, changes of the services)
// and what the terminal UI and the headless printer show, with the formatting both share.
package devmsg

import (
	"strings"
	"time"

	"github.com/purista-go/purista/internal/project"
	"github.com/purista-go/purista/internal/runtime"
)

// The supervisor reports what happens through these messages, sent to its sink in
// order. The TUI turns them into tea messages; headless mode prints them.

// MonolithUnit is the name of the single unit in monolith mode.
const MonolithUnit = "app"

// FirstBuildNote tells why the first build may take long.
const FirstBuildNote = "the first build downloads and compiles the modules on a cold Go cache (a few minutes)"

// Unit states.
const (
	StateBuilding = "building"
	StateStarting = "starting"
	StateRunning  = "running"
	StateStopping = "stopping"
	StateStopped  = "stopped"
	StateExited   = "exited" // ended on its own (crash or exit)
)

// UnitEventMsg is one event-stream line of a unit's process.
type UnitEventMsg struct {
	// Unit is the unit name ("app" in monolith mode, the service name when distributed).
	Unit string
	// Event is the line from the framework's event stream.
	Event runtime.Event
}

// UnitStateMsg reports a unit's process state.
type UnitStateMsg struct {
	Unit     string
	State    string
	PID      int
	Restarts int
	// ExitCode is set for StateExited and StateStopped.
	ExitCode int
	// HTTPAddr is the unit's command endpoint while it runs.
	HTTPAddr string
	// Err explains an unexpected exit (with the tail of stderr) or a failed start.
	Err string
}

// HealthMsg is the latest readiness probe of a unit.
type HealthMsg struct {
	Unit string
	OK   bool
	Err  string
}

// BuildMsg reports a build: Started, then OK or a compile error in Output.
type BuildMsg struct {
	// Started is true when a build begins, false when it has finished.
	Started bool
	// Err is the compile error (compiler output) or another build failure; "" on success.
	Err string
	// Took is the build time.
	Took time.Duration
	// Files are the changed files that caused a rebuild (empty for the first build).
	Files []string
	// Idle is set on a failed build when no process of the project runs (first start,
	// or the app has exited): nothing "keeps running".
	Idle bool
	// Watch is set on a failed build when a saved change rebuilds.
	Watch bool
	// Cancelled is set when the build was stopped (quit, SIGINT, SIGTERM), not failed.
	Cancelled bool
}

// FailText is how a failed or cancelled build is announced.
func (m BuildMsg) FailText() string {
	switch {
	case m.Cancelled:
		return "build cancelled"
	case !m.Idle:
		return "build failed (the previous process keeps running)"
	case m.Watch:
		return "build failed; fix the error and save to rebuild"
	default:
		return "build failed"
	}
}

// ReadyMsg reports that every unit answers its readiness probe.
type ReadyMsg struct {
	// Took is the time from the trigger (start of `purista dev`, or the file save) until
	// all units are ready.
	Took time.Duration
	// Rebuild is true after a rebuild, false for the first start.
	Rebuild bool
}

// InfoMsg is a line of information for the user (broker chosen, errors of the runner).
type InfoMsg struct {
	Text  string
	Error bool
	// Warn marks a warning (shown as loudly as an error, without calling it one).
	Warn bool
}

// ServicesMsg reports that the project's set of services changed while dev runs
// (purista.yaml was edited: a service added, removed, renamed or given another version).
// It comes after the processes of removed services have stopped and before the processes
// of the new set start.
type ServicesMsg struct {
	// Services is the new set, in manifest order.
	Services []project.Service
	// Units are the runner's unit names from now on (MonolithUnit, or one per service
	// when distributed).
	Units []string
	// Added and Removed name the services that came and went ("Shipping v1"); a rename
	// is one of each.
	Added, Removed []string
}

// Text is how a change of the services is announced.
func (m ServicesMsg) Text() string {
	var parts []string
	if len(m.Added) > 0 {
		parts = append(parts, "added "+strings.Join(m.Added, ", "))
	}
	if len(m.Removed) > 0 {
		parts = append(parts, "removed "+strings.Join(m.Removed, ", "))
	}
	names := make([]string, len(m.Services))
	for i, s := range m.Services {
		names[i] = s.Name
	}
	return "services changed (" + strings.Join(parts, "; ") + "): now " + strings.Join(names, ", ")
}

// HTTPModeNote says how the app's HTTP endpoint runs: loudly, in the framework's HTTP
// development mode; with secure, under the project's own authentication.
func HTTPModeNote(secure bool) InfoMsg {
	if secure {
		return InfoMsg{Text: "HTTP: the project's own authentication applies (--secure-http): endpoints, GET /api and /openapi.json need credentials " +
			"unless public; command routes are off, so the invoke dialog reaches no command"}
	}
	return InfoMsg{Text: "HTTP DEVELOPMENT MODE: no credentials needed (callers are whoever X-Principal-Id names) and every command is also at " +
		"POST /api/<service>/v<n>/<command>; never deploy like this (purista dev --secure-http uses the project's authentication)", Warn: true}
}
