package httpauth

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Identity headers set by a trusted proxy.
const (
	PrincipalHeader = "X-Principal-Id"
	TenantHeader    = "X-Tenant-Id"
)

// TrustedProxy authenticates requests whose identity a proxy in front of the process
// verified (an API gateway, an auth sidecar): it reads X-Principal-Id and X-Tenant-Id
// only when the connection comes from one of the configured source networks, and
// ignores them from anywhere else.
type TrustedProxy struct {
	nets []netip.Prefix
}

// NewTrustedProxy returns a trusted-proxy authenticator for the given source networks,
// as CIDRs ("10.0.0.0/8") or single addresses ("127.0.0.1").
func NewTrustedProxy(sources []string) (*TrustedProxy, error) {
	p := &TrustedProxy{}
	for _, s := range sources {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q is neither a CIDR (10.0.0.0/8) nor an IP address", s)
			}
			p.nets = append(p.nets, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q is neither a CIDR (10.0.0.0/8) nor an IP address", s)
		}
		p.nets = append(p.nets, pfx.Masked())
	}
	if len(p.nets) == 0 {
		return nil, fmt.Errorf("no trusted proxy networks given")
	}
	return p, nil
}

// Trusts reports whether remoteAddr (a request's RemoteAddr, host:port) is a trusted
// proxy.
func (p *TrustedProxy) Trusts(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, n := range p.nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// Authenticate returns the identity in the headers of a request from a trusted proxy.
// A request from elsewhere, or without X-Principal-Id, has no credentials
// (ErrNoCredentials).
func (p *TrustedProxy) Authenticate(r *http.Request) (Identity, error) {
	if !p.Trusts(r.RemoteAddr) {
		return Identity{}, ErrNoCredentials
	}
	principal := r.Header.Get(PrincipalHeader)
	if principal == "" {
		return Identity{}, ErrNoCredentials
	}
	return Identity{PrincipalID: principal, TenantID: r.Header.Get(TenantHeader), Method: "proxy"}, nil
}
