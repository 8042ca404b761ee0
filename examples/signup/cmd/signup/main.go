// Command signup runs the sign-up example: the User and Email services. Which services
// run, and on which bridge, is decided at start-up (PURISTA_BRIDGE, PURISTA_SERVICES or
// the matching flags), never in service code.
package main

import (
	"github.com/purista-go/purista/pkg/framework/app"

	emailsvc "github.com/purista-go/purista/examples/signup/services/email/v1/service"
	usersvc "github.com/purista-go/purista/examples/signup/services/user/v1/service"
)

func main() {
	app.New(usersvc.New(nil), emailsvc.New()).Main()
}
