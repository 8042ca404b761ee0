package mqtt_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/purista-go/purista/pkg/framework/mqtt"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// TestTLS: the bridge connects to a TLS listener (a mosquitto of the test's own with a
// generated certificate) through the same dialer as on plain TCP, and calls cross it.
func TestTLS(t *testing.T) {
	var caFile string
	addr := startMosquitto(t, "allow_anonymous true", func(dir string) string {
		caFile = filepath.Join(dir, "ca.pem")
		cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
		writeTestCerts(t, caFile, cert, key)
		return "cafile " + caFile + "\ncertfile " + cert + "\nkeyfile " + key
	})
	url := "mqtts://" + addr + "?ca=" + caFile
	caller := start(t, url, mqtt.WithLocalDelivery(false))
	callee := start(t, url)
	to := uniqAddr("TLSCallee", "echo")
	register(t, callee, to, echo)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := caller.Invoke(ctx, command(t, uniqAddr("TLSCaller", "run"), to, "over TLS"), 5*time.Second)
	if err != nil || resp.MessageType != wire.TypeCommandSuccessResponse || string(resp.Payload) != `"over TLS"` {
		t.Fatalf("Invoke over TLS = %+v, %v", resp, err)
	}
}

// writeTestCerts writes a CA certificate and a server certificate for 127.0.0.1 signed by
// it, with the server's key, as PEM files.
func writeTestCerts(t *testing.T, caFile, certFile, keyFile string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "purista test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for file, block := range map[string]*pem.Block{
		caFile: {Type: "CERTIFICATE", Bytes: caDER}, certFile: {Type: "CERTIFICATE", Bytes: der},
		keyFile: {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
