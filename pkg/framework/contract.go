package framework

import (
	"errors"
	"fmt"
)

// Contract names one version of a service on the bridge: the name and version that its
// commands, events and implementation share. Declare it once, in the service's contract
// package, and declare everything else from it, so that a command and the service that
// implements it cannot disagree:
//
//	var Contract = framework.NewContract("Email", "1")
//	var SendWelcome = framework.Command[SendWelcomeIn, SendWelcomeOut](Contract, "sendWelcome")
//
// and in the implementation, framework.NewService(emailv1.Contract, "sends e-mails").
// A Contract is a small comparable value, safe to copy and to use concurrently. The zero
// Contract is not usable: Command, Event and NewService panic when given it.
type Contract struct{ name, version string }

// NewContract returns the contract of service name at version. name is a Go identifier
// ("Email", "User") and version a positive integer without leading zeros ("1").
//
// NewContract panics when name or version is invalid, as regexp.MustCompile does for a
// bad expression: a contract is declared in a package-level variable, so the mistake
// shows when the program (or its test) starts, in every binary that imports the
// contract. The panic value is an error wrapping ErrInvalidDefinition.
func NewContract(name, version string) Contract {
	if err := errors.Join(validateName("service name", name), validateVersion(version)); err != nil {
		invalidDeclaration(fmt.Sprintf("framework.NewContract(%q, %q)", name, version), err)
	}
	return Contract{name: name, version: version}
}

// Name returns the service name ("" for the zero Contract).
func (c Contract) Name() string { return c.name }

// Version returns the service version ("" for the zero Contract).
func (c Contract) Version() string { return c.version }

// String returns "<name> v<version>", e.g. "Email v1".
func (c Contract) String() string {
	if c.name == "" {
		return "zero Contract"
	}
	return c.name + " v" + c.version
}

// mustBeDeclared panics when c is the zero Contract; where names the declaring call.
func (c Contract) mustBeDeclared(where string) {
	if c.name == "" {
		invalidDeclaration(where, errors.New("the zero Contract: declare one with framework.NewContract(\"Email\", \"1\")"))
	}
}

// invalidDeclaration panics with an error wrapping ErrInvalidDefinition that names the
// declaring call where and says what is wrong (err).
func invalidDeclaration(where string, err error) {
	panic(fmt.Errorf("%w: %s: %w", ErrInvalidDefinition, where, err))
}
