package nats_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/purista-go/purista/internal/benchutil"
	"github.com/purista-go/purista/pkg/framework/bridge"
	pnats "github.com/purista-go/purista/pkg/framework/nats"
	"github.com/purista-go/purista/pkg/framework/nats/natsembed"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// benchPayload is the command input of every benchmark (a ~256-byte string).
var benchPayload = strings.Repeat("x", 256)

// invoker performs one request/reply round trip.
type invoker func(ctx context.Context) error

// benchSides are the invokers compared on one broker.
type benchSides struct {
	ours     invoker // caller bridge → broker → handler bridge
	sameWire invoker // raw nats.go sending the bytes our wire format requires
	noHeader invoker // raw nats.go on a short subject: the old baseline, for context
}

// benchSetups returns the invokers on the broker at u, cleaned up with tb; opts are given
// to the bridges (after the test options) and rawOpts to the raw connections (TLS).
//
// ours uses two bridges (caller and handler, local delivery off), so every call crosses
// the broker. sameWire is raw nats.go putting on the wire what ours does: the encoded
// command (same envelope and size) on a 13-token command subject of the same length
// without headers (commands carry none, as TypeScript PURISTA sends them) with an
// _INBOX reply subject, answered by a queue subscriber on the command pattern with the
// body-only encoded response of the same size. The ratio against it shows what our code
// costs beyond what the wire format itself does. noHeader is a second baseline (the same
// bodies on a short subject, no headers), printed as context.
func benchSetups(tb testing.TB, u string, opts []pnats.Option, rawOpts ...natsgo.Option) benchSides {
	caller := startBridge(tb, u, append([]pnats.Option{pnats.WithLocalDelivery(false)}, opts...)...)
	handler := startBridge(tb, u, opts...)
	callee := addr(uniq("Bench"), "echo")
	from := addr("BenchCaller", "run")
	from.InstanceID = caller.InstanceID() // as the framework stamps it
	cmd := command(from, callee, benchPayload)
	output := json.RawMessage(`"` + benchPayload + `"`)
	// Like the raw responder, the handler does no JSON work of its own: it answers with
	// fixed bytes (the bridge still decodes the command and encodes the response). Each
	// call is a new command (fresh id, correlation id and timestamp) carrying the same
	// payload bytes, as the raw side sends the same request bytes.
	answer := func(context.Context, *wire.Message) *wire.Message {
		return &wire.Message{MessageType: wire.TypeCommandSuccessResponse, Payload: output}
	}
	if _, err := handler.RegisterCommand(context.Background(), callee, answer, bridge.CommandOptions{}); err != nil {
		tb.Fatal(err)
	}
	var s benchSides
	s.ours = func(ctx context.Context) error {
		c := *cmd
		c.ID, c.CorrelationID, c.Timestamp = wire.NewID(), wire.NewID(), wire.NowMillis()
		_, err := caller.Invoke(ctx, &c, 10*time.Second)
		return err
	}

	rawCallee := addr(uniq("Bench"), "echo") // same length as callee: same subject length
	rawCmd := command(from, rawCallee, benchPayload)
	reqBody, _ := wire.Encode(rawCmd)
	resp := bridge.CompleteResponse(context.Background(), rawCmd,
		&wire.Message{MessageType: wire.TypeCommandSuccessResponse, Payload: output}, wire.NewID())
	respBody, _ := wire.Encode(resp)
	srv, cli := rawConn(tb, u, rawOpts...), rawConn(tb, u, rawOpts...)
	respond := func(m *natsgo.Msg) { _ = m.Respond(respBody) }
	if _, err := srv.QueueSubscribe(wire.NATSCommandSubject(rawCallee), wire.NATSQueueGroup(rawCallee), respond); err != nil {
		tb.Fatal(err)
	}
	subject := wire.NATSSubject(wire.TokensOf(rawCmd))
	s.sameWire = func(ctx context.Context) error {
		_, err := cli.RequestWithContext(ctx, subject, reqBody)
		return err
	}

	shortSubject := "bench.raw." + wire.NewID()
	if _, err := srv.QueueSubscribe(shortSubject, "q", respond); err != nil {
		tb.Fatal(err)
	}
	if err := srv.Flush(); err != nil {
		tb.Fatal(err)
	}
	s.noHeader = func(ctx context.Context) error {
		_, err := cli.RequestWithContext(ctx, shortSubject, reqBody)
		return err
	}
	return s
}

func runSeq(b *testing.B, inv invoker) {
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if err := inv(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func run64(b *testing.B, inv invoker) {
	b.SetParallelism((64 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	ctx := context.Background()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := inv(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkInvoke compares the bridge's invoke round trip with raw nats.go sending the
// same wire traffic, sequentially and with 64 calls in flight.
func BenchmarkInvoke(b *testing.B) {
	s := benchSetups(b, needBroker(b), nil)
	b.Run("nats", func(b *testing.B) { runSeq(b, s.ours) })
	b.Run("samewire", func(b *testing.B) { runSeq(b, s.sameWire) })
	b.Run("nats-64", func(b *testing.B) { run64(b, s.ours) })
	b.Run("samewire-64", func(b *testing.B) { run64(b, s.sameWire) })
}

// BenchmarkInvokeTLS is BenchmarkInvoke over TLS (see BenchmarkInvokeRatioTLS), for
// profiling that path.
func BenchmarkInvokeTLS(b *testing.B) {
	s := tlsSetups(b)
	b.Run("nats-64", func(b *testing.B) { run64(b, s.ours) })
	b.Run("samewire-64", func(b *testing.B) { run64(b, s.sameWire) })
}

// BenchmarkInvokeRatio prints "ratio nats-samewire-{seq,inflight64,p50} <ours÷raw>"
// against raw nats.go sending the same wire traffic (the targets), and, as context, the
// pre-issue-10 "ratio nats-invoke-{seq,64,p50}" against raw nats.go on a short subject,
// both sides measured alternately in one run by benchutil.
func BenchmarkInvokeRatio(b *testing.B) {
	s := benchSetups(b, needBroker(b), nil)
	compareSides(b, "nats", s)
}

// BenchmarkInvokeRatioTLS prints "ratio nats-tls-samewire-{seq,inflight64,p50}": the same
// comparison over TLS, against an in-process nats-server with a certificate made for the
// run (both sides use the same TLS configuration; the bridge's TLS path is its plain
// path: nats.go upgrades the connection).
func BenchmarkInvokeRatioTLS(b *testing.B) {
	compareSides(b, "nats-tls", tlsSetups(b))
}

// tlsSetups starts an in-process nats-server requiring TLS with a certificate made for
// the run and returns the invokers on it, both sides trusting that certificate.
func tlsSetups(b *testing.B) benchSides {
	server, client := testTLS(b)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	srv, err := natsembed.Start(ctx, b.TempDir(), natsembed.WithTLS(server))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Shutdown)
	return benchSetups(b, srv.ClientURL(), []pnats.Option{pnats.WithNATSOptions(natsgo.Secure(client))}, natsgo.Secure(client))
}

// compareSides prints the samewire ratios of s (the targets) and the no-header ones.
func compareSides(b *testing.B, name string, s benchSides) {
	ctx := context.Background()
	ours := benchutil.Side{Name: "nats bridge", Call: func() error { return s.ours(ctx) }}
	if err := benchutil.CompareAs(name+"-samewire", "inflight64", 64, ratioWindow, ratioCalls, ours,
		benchutil.Side{Name: "raw nats.go, same wire", Call: func() error { return s.sameWire(ctx) }}); err != nil {
		b.Fatal(err)
	}
	if err := benchutil.Compare(name+"-invoke", 64, ratioWindow, ratioCalls, ours,
		benchutil.Side{Name: "raw nats.go, short subject (context)", Call: func() error { return s.noHeader(ctx) }}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() { // the work above is the measurement
	}
}

// ratioWindow and ratioCalls size the ratio benchmarks: time per op over ratioWindow per
// side and case, latency over ratioCalls sequential calls per side.
const (
	ratioWindow = time.Second
	ratioCalls  = 2000
)

// testTLS makes a self-signed certificate for 127.0.0.1 and returns the server's TLS
// configuration and a client configuration that trusts it.
func testTLS(tb testing.TB) (server, client *tls.Config) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "purista bench"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}, MinVersion: tls.VersionTLS12}
	client = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return server, client
}
