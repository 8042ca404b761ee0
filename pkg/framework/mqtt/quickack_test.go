package mqtt

import (
	"net/url"
	"testing"
)

// TestAttemptConnection: plain TCP and TLS go through the bridge's one dialer (TCP with
// QuickAck, TLS on top); WebSockets use autopaho's.
func TestAttemptConnection(t *testing.T) {
	for _, c := range []struct {
		scheme string
		ours   bool
	}{{"mqtt", true}, {"tcp", true}, {"mqtts", true}, {"tls", true}, {"ssl", true}, {"ws", false}, {"wss", false}} {
		t.Run(c.scheme, func(t *testing.T) {
			t.Setenv("all_proxy", "")
			got := attemptConnection(&url.URL{Scheme: c.scheme, Host: "127.0.0.1:1"}, nil) != nil
			if got != c.ours {
				t.Errorf("our dialer for %s: %v, want %v", c.scheme, got, c.ours)
			}
		})
	}
}
