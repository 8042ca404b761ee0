// Package framework is how a purista service is written: a contract that callers import,
// a service that implements it, and handlers that invoke and emit through whichever event
// bridge the process was started with. Service code never names a transport.
//
// # Contract
//
// A service's contract package declares its name and version once, and its commands and
// events from them, with their Go input and output types (JSON Schemas are derived from
// the types and their struct tags):
//
//	package emailv1
//
//	var Contract = framework.NewContract("Email", "1")
//
//	type SendWelcomeIn struct {
//		Email string `json:"email" jsonschema:"format=email"`
//	}
//	type SendWelcomeOut struct {
//		Sent bool `json:"sent"`
//	}
//
//	var SendWelcome = framework.Command[SendWelcomeIn, SendWelcomeOut](Contract, "sendWelcome",
//		framework.WithSuccessEvent("welcomeSent"))
//
// A mistake in a declaration (an invalid name, WithTimeout(0), …) panics when the
// package is initialised, as regexp.MustCompile does.
//
// # Service
//
// The implementation builds a Service from the contract and attaches handlers with
// Handle and Subscribe:
//
//	func New() *framework.Service {
//		svc := framework.NewService(emailv1.Contract, "sends e-mails")
//		framework.Handle(svc, emailv1.SendWelcome, sendWelcome)
//		framework.Subscribe(svc, "onUserSignedUp", userv1.SignUp.SuccessEvent(), onUserSignedUp)
//		return svc
//	}
//
// # Handler
//
// A handler gets a *Context (a context.Context with the message's metadata and a
// logger) and the decoded, validated input. It calls other services through their
// contracts and emits events; the *Context is the Caller that Invoke and Emit take:
//
//	func signUp(c *framework.Context, in userv1.SignUpIn) (userv1.SignUpOut, error) {
//		if _, err := emailv1.SendWelcome.Invoke(c, emailv1.SendWelcomeIn{Email: in.Email}); err != nil {
//			return userv1.SignUpOut{}, err
//		}
//		return userv1.SignUpOut{ID: newID()}, userv1.UserAudit.Emit(c, userv1.AuditEntry{Action: "signUp"})
//	}
//
// Return NewHandledError for an error the caller should see; any other error reaches
// the caller as a masked 500. Package frameworktest tests handlers without a bridge.
//
// # Main
//
// A project's main runs its services with package
// github.com/purista-go/purista/pkg/framework/app, which picks the bridge and the
// services to run from flags and PURISTA_* variables when the process starts:
//
//	func main() { app.New(usersvc.New(), emailsvc.New()).Main() }
//
// Start runs services on a bridge of your choice in tests and embedded uses, and
// Runtime.Client gives code outside handlers a Caller.
package framework
