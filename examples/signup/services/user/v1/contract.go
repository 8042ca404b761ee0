// Package userv1 is the contract of the User service, version 1.
package userv1

import (
	"net/http"

	"github.com/purista-go/purista/pkg/framework"
)

// Contract names the service on the bridge; its commands and events are declared from it.
var Contract = framework.NewContract("User", "1")

// SignUpIn is the input of SignUp.
type SignUpIn struct {
	Email string `json:"email" jsonschema:"format=email"`
	Name  string `json:"name" jsonschema:"minLength=1"`
}

// SignUpOut is the output of SignUp and the body of its success event userSignedUp.
type SignUpOut struct {
	ID    string `json:"id"`
	Email string `json:"email"`
}

// AuditEntry is the body of the userAudit event.
type AuditEntry struct {
	Action string `json:"action"`
}

// SignUp registers a user and sends the welcome e-mail. On success it emits the event
// userSignedUp with the new user. It is served publicly over HTTP at POST /users (anyone
// may sign up), answering 201 with the new user.
var SignUp = framework.Command[SignUpIn, SignUpOut](Contract, "signUp",
	framework.WithDescription("register a user and send the welcome e-mail"),
	framework.WithSuccessEvent("userSignedUp"),
	framework.WithExample(SignUpIn{Email: "alice@example.com", Name: "Alice"}),
	framework.WithHTTP(framework.Endpoint{Method: http.MethodPost, Path: "/users", Public: true,
		Status: http.StatusCreated, Tags: []string{"users"}, Summary: "Sign up a new user"}))

// UserAudit is emitted for every user action.
var UserAudit = framework.Event[AuditEntry](Contract, "userAudit")
