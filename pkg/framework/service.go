package framework

import (
	"fmt"
	"strings"
	"sync"
	"unicode"

	"github.com/purista-go/purista/pkg/framework/wire"
)

// Service groups commands and subscriptions under a name and version. A Service is a
// definition: it holds no connection and no state of its own, so the same value can be
// run on any bridge, in any number of processes.
//
// Define a Service once (usually as a package-level value built by a function), attach
// handlers with Handle and Subscribe, and pass it to Main or Start. Definition methods are
// safe for concurrent use but are meant to be called during program initialisation.
type Service struct {
	contract    Contract
	description string

	mu            sync.Mutex
	commands      []*commandBinding
	subscriptions []*subscriptionBinding
	middleware    []Middleware
	errs          []error
}

// NewService returns an empty definition of the service that contract c names; attach
// handlers of the commands and events declared from c with Handle and Subscribe. It
// panics, with an error wrapping ErrInvalidDefinition, when c is the zero Contract.
func NewService(c Contract, description string) *Service {
	c.mustBeDeclared(fmt.Sprintf("framework.NewService(%s, %q)", c, description))
	return &Service{contract: c, description: description}
}

// Contract returns the contract the service implements.
func (s *Service) Contract() Contract { return s.contract }

// Name returns the service name.
func (s *Service) Name() string { return s.contract.name }

// Version returns the service version.
func (s *Service) Version() string { return s.contract.version }

// Description returns the service description.
func (s *Service) Description() string { return s.description }

// Use appends middleware that wraps every command handler of the service, in order (the
// first added is the outermost). Middleware sees raw JSON input and output and the
// handler's Context, so it can guard (return an error before calling next), transform
// input or output, time, log, or authorise.
func (s *Service) Use(mw ...Middleware) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.middleware = append(s.middleware, mw...)
}

// Err returns the definition errors collected so far (a wrong service on Handle, a
// duplicate command, an invalid name), joined, or nil. Start and Main refuse to run a
// service whose Err is not nil.
func (s *Service) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.errs) == 0 {
		return nil
	}
	joined := make([]string, len(s.errs))
	for i, e := range s.errs {
		joined[i] = e.Error()
	}
	return fmt.Errorf("%w: service %q version %q: %s", ErrInvalidDefinition, s.contract.name, s.contract.version, strings.Join(joined, "; "))
}

// Commands lists the service's command metadata in registration order.
func (s *Service) Commands() []CommandInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]CommandInfo, len(s.commands))
	for i, c := range s.commands {
		out[i] = c.def.info()
	}
	return out
}

// Subscriptions lists the service's subscription metadata in registration order.
func (s *Service) Subscriptions() []SubscriptionInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SubscriptionInfo, len(s.subscriptions))
	for i, b := range s.subscriptions {
		out[i] = b.info
	}
	return out
}

func (s *Service) addError(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, err)
}

func (s *Service) addCommand(b *commandBinding) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.commands {
		if c.def.name == b.def.name {
			s.errs = append(s.errs, fmt.Errorf("command %q registered twice", b.def.name))
			return
		}
	}
	s.commands = append(s.commands, b)
}

func (s *Service) addSubscription(b *subscriptionBinding) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.subscriptions {
		if c.info.Name == b.info.Name {
			s.errs = append(s.errs, fmt.Errorf("subscription %q registered twice", b.info.Name))
			return
		}
	}
	s.subscriptions = append(s.subscriptions, b)
}

func (s *Service) snapshot() ([]*commandBinding, []*subscriptionBinding, []Middleware) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*commandBinding(nil), s.commands...),
		append([]*subscriptionBinding(nil), s.subscriptions...),
		append([]Middleware(nil), s.middleware...)
}

// validateName checks that name is a Go-identifier-like name.
func validateName(what, name string) error {
	if name == "" {
		return fmt.Errorf("%s is empty: use a Go identifier such as \"User\" or \"sendWelcome\"", what)
	}
	for i, r := range name {
		if r == '_' || unicode.IsLetter(r) || (i > 0 && unicode.IsDigit(r)) {
			continue
		}
		return fmt.Errorf("%s %q is not a Go identifier (letters, digits, _; no leading digit): use e.g. \"User\" or \"sendWelcome\"", what, name)
	}
	return nil
}

// validateVersion checks that v is a positive integer string.
func validateVersion(v string) error {
	if v == "" {
		return fmt.Errorf("service version is empty: use a positive integer such as \"1\"")
	}
	for _, r := range v {
		if r < '0' || r > '9' {
			return fmt.Errorf("service version %q is not a positive integer: use e.g. \"1\"", v)
		}
	}
	if strings.TrimLeft(v, "0") == "" || v[0] == '0' {
		return fmt.Errorf("service version %q is not a positive integer: use e.g. \"1\"", v)
	}
	return nil
}

// Handler returns the registered handler of command name with the service's middleware
// applied (validation included), for tests and custom transports. ok is false when the
// service has no such command.
func (s *Service) Handler(name string) (h HandlerFunc, ok bool) {
	cmds, _, mws := s.snapshot()
	for _, c := range cmds {
		if c.def.name == name {
			h = c.handler
			for i := len(mws) - 1; i >= 0; i-- {
				h = mws[i](h)
			}
			return h, true
		}
	}
	return nil, false
}

// SubscriptionHandler returns the handler of subscription name, as the runtime calls it
// with each matching message (the event body decoded for Subscribe). It is how test
// helpers (frameworktest.Deliver) and custom transports reach a subscription.
func (s *Service) SubscriptionHandler(name string) (h func(c *Context, msg *wire.Message) error, ok bool) {
	_, subs, _ := s.snapshot()
	for _, b := range subs {
		if b.info.Name == name {
			return b.handler, true
		}
	}
	return nil, false
}
