// Package clitest holds fakes of the engines of cmdutil.Factory for the verbs' unit
// tests: each records what it was asked to do and returns canned results.
package clitest

import (
	"sync"

	"github.com/purista-go/purista/internal/scaffold"
)

// ScaffoldCall is one call of a Scaffolder: the method and its arguments.
type ScaffoldCall struct {
	// Method is "NewProject", "AddService", "AddCommand" or "AddSubscription".
	Method string
	// Project is NewProject's options; Command AddCommand's.
	Project scaffold.ProjectOptions
	Command scaffold.CommandOptions
	// Dir is the folder the Add methods were given; Args their other string arguments
	// in order (AddService: name, version; AddSubscription: service, name, event, from).
	Dir  string
	Args []string
}

// Scaffolder is a fake cmdutil.Scaffolder: every method records its call and returns
// Plan and Err. It is safe for concurrent use.
type Scaffolder struct {
	// Plan and Err are what every method returns.
	Plan *scaffold.Plan
	Err  error

	mu    sync.Mutex
	calls []ScaffoldCall
}

// Calls returns the calls so far, in order.
func (s *Scaffolder) Calls() []ScaffoldCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ScaffoldCall(nil), s.calls...)
}

func (s *Scaffolder) record(c ScaffoldCall) (*scaffold.Plan, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
	return s.Plan, s.Err
}

// NewProject records the call.
func (s *Scaffolder) NewProject(o scaffold.ProjectOptions) (*scaffold.Plan, error) {
	return s.record(ScaffoldCall{Method: "NewProject", Project: o})
}

// AddService records the call.
func (s *Scaffolder) AddService(dir, name, version string) (*scaffold.Plan, error) {
	return s.record(ScaffoldCall{Method: "AddService", Dir: dir, Args: []string{name, version}})
}

// AddCommand records the call.
func (s *Scaffolder) AddCommand(dir string, o scaffold.CommandOptions) (*scaffold.Plan, error) {
	return s.record(ScaffoldCall{Method: "AddCommand", Dir: dir, Command: o})
}

// AddSubscription records the call.
func (s *Scaffolder) AddSubscription(dir, service, name, event, from string) (*scaffold.Plan, error) {
	return s.record(ScaffoldCall{Method: "AddSubscription", Dir: dir, Args: []string{service, name, event, from}})
}

// Plan returns a plan that creates the files (path → content) under root, with next as
// the hints printed after it is applied.
func Plan(root string, files map[string]string, next ...string) *scaffold.Plan {
	p := &scaffold.Plan{Root: root, Next: next}
	for path, data := range files {
		p.Files = append(p.Files, scaffold.File{Path: path, Data: []byte(data)})
	}
	return p
}
