// Package brokertest finds the real brokers tests run against.
package brokertest

import (
	"net"
	"net/url"
	"os"
	"testing"
	"time"
)

// RequireEnv is the variable that turns an unreachable broker from a skip into a failure.
const RequireEnv = "PURISTA_REQUIRE_BROKERS"

// URL returns the URL of the test broker of a kind (the value of envVar, else def) after
// checking that its host answers a TCP dial: tb is skipped when it does not, and fails
// then when PURISTA_REQUIRE_BROKERS=1.
func URL(tb testing.TB, envVar, def string) string {
	tb.Helper()
	u := os.Getenv(envVar)
	if u == "" {
		u = def
	}
	pu, err := url.Parse(u)
	if err == nil {
		var c net.Conn
		if c, err = net.DialTimeout("tcp", pu.Host, 2*time.Second); err == nil {
			_ = c.Close()
			return u
		}
	}
	if os.Getenv(RequireEnv) == "1" {
		tb.Fatalf("broker of %s unreachable (%s=1): %v", envVar, RequireEnv, err)
	}
	tb.Skipf("broker of %s unreachable: %v", envVar, err)
	return ""
}
