package nats

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"testing"
	"testing/iotest"

	natsgo "github.com/nats-io/nats.go"

	"github.com/purista-go/purista/pkg/framework/wire"
)

// onlyPurista reports whether every header nats.go decoded is one of WIRE.md's.
func onlyPurista(h natsgo.Header) bool {
	for k := range h {
		if !wire.IsHeaderName(k) {
			return false
		}
	}
	return true
}

// puristaBlock is a header block of WIRE.md headers only, as the bridges send it.
const puristaBlock = "NATS/1.0\r\nmessageType: commandSuccessResponse\r\nsenderServiceName: User\r\n" +
	"receiverInstanceId: abc\r\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n\r\n"

// hmsg renders an HMSG (reply may be empty).
func hmsg(subject, sid, reply, block, payload string) string {
	args := subject + " " + sid
	if reply != "" {
		args += " " + reply
	}
	return fmt.Sprintf("HMSG %s %d %d\r\n%s%s\r\n", args, len(block), len(block)+len(payload), block, payload)
}

// msg renders an MSG (reply may be empty).
func msg(subject, sid, reply, payload string) string {
	args := subject + " " + sid
	if reply != "" {
		args += " " + reply
	}
	return fmt.Sprintf("MSG %s %d\r\n%s\r\n", args, len(payload), payload)
}

// readAll reads everything from a stripReader over in, with reads of the given size.
func readAll(t *testing.T, in io.Reader, size int) string {
	t.Helper()
	s := &stripReader{r: bufio.NewReaderSize(in, 256)} // small: messages span refills
	var out bytes.Buffer
	buf := make([]byte, size)
	for {
		n, err := s.Read(buf)
		out.Write(buf[:n])
		if err == io.EOF {
			return out.String()
		}
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatal("Read returned 0 bytes and no error")
		}
	}
}

func TestStripReader(t *testing.T) {
	body := `{"id":"1","payload":"x"}`
	tests := []struct {
		name, in, want string
	}{
		{"PURISTA headers only: stripped", hmsg("_INBOX.a.b", "7", "", puristaBlock, body), msg("_INBOX.a.b", "7", "", body)},
		{"with reply subject", hmsg("purista.x", "12", "_INBOX.r", puristaBlock, body), msg("purista.x", "12", "_INBOX.r", body)},
		{"no responders status kept", hmsg("_INBOX.a", "1", "", "NATS/1.0 503\r\n\r\n", ""), hmsg("_INBOX.a", "1", "", "NATS/1.0 503\r\n\r\n", "")},
		{"heartbeat status kept", hmsg("_INBOX.a", "1", "", "NATS/1.0 100 Idle Heartbeat\r\n\r\n", ""), hmsg("_INBOX.a", "1", "", "NATS/1.0 100 Idle Heartbeat\r\n\r\n", "")},
		{"other header kept", hmsg("s", "1", "", "NATS/1.0\r\nmessageType: command\r\nNats-Msg-Id: x\r\n\r\n", body),
			hmsg("s", "1", "", "NATS/1.0\r\nmessageType: command\r\nNats-Msg-Id: x\r\n\r\n", body)},
		{"header name in another case kept", hmsg("s", "1", "", "NATS/1.0\r\nMessageType: command\r\n\r\n", body),
			hmsg("s", "1", "", "NATS/1.0\r\nMessageType: command\r\n\r\n", body)},
		{"bare LF hides another header from the check: kept", hmsg("s", "1", "", "NATS/1.0\r\nmessageType: command\nNats-Msg-Id: x\r\n\r\n", body),
			hmsg("s", "1", "", "NATS/1.0\r\nmessageType: command\nNats-Msg-Id: x\r\n\r\n", body)},
		{"empty header block stripped", hmsg("s", "1", "", "NATS/1.0\r\n\r\n", body), msg("s", "1", "", body)},
		{"payload that looks like protocol passes", hmsg("s", "1", "", puristaBlock, "HMSG x 1 2 3\r\nPING\r\n") + "PING\r\n",
			msg("s", "1", "", "HMSG x 1 2 3\r\nPING\r\n") + "PING\r\n"},
		{"MSG, PING, INFO, +OK, -ERR pass", "INFO {\"server_id\":\"x\"}\r\n+OK\r\nPING\r\n" + msg("a", "1", "", body) + "-ERR 'x'\r\nPONG\r\n",
			"INFO {\"server_id\":\"x\"}\r\n+OK\r\nPING\r\n" + msg("a", "1", "", body) + "-ERR 'x'\r\nPONG\r\n"},
		{"tabs and lower case", "hmsg\ts\t1\t" + strconv.Itoa(len(puristaBlock)) + "\t" + strconv.Itoa(len(puristaBlock)+2) + "\r\n" + puristaBlock + "ab\r\n",
			"MSG s 1 2\r\nab\r\n"},
		{"TLS after INFO passes untouched", "INFO {}\r\n\x16\x03\x03HMSG s 1 2 3\r\nMSG\r\n", "INFO {}\r\n\x16\x03\x03HMSG s 1 2 3\r\nMSG\r\n"},
		{"WebSocket upgrade passes untouched", "HTTP/1.1 101 Switching Protocols\r\n\r\n" + hmsg("s", "1", "", puristaBlock, body),
			"HTTP/1.1 101 Switching Protocols\r\n\r\n" + hmsg("s", "1", "", puristaBlock, body)},
		{"connection ends inside a line", "PING\r\nHMSG s 1", "PING\r\nHMSG s 1"},
		{"connection ends inside a message", hmsg("s", "1", "", puristaBlock, body)[:40], hmsg("s", "1", "", puristaBlock, body)[:40]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, size := range []int{1, 3, 64, 32 << 10} {
				if got := readAll(t, bytes.NewReader([]byte(tt.in)), size); got != tt.want {
					t.Fatalf("reads of %d: got\n%q\nwant\n%q", size, got, tt.want)
				}
				if got := readAll(t, iotest.OneByteReader(bytes.NewReader([]byte(tt.in))), size); got != tt.want {
					t.Fatalf("one byte at a time, reads of %d: got\n%q\nwant\n%q", size, got, tt.want)
				}
			}
		})
	}
}

// FuzzStripReader checks, on streams of protocol lines and messages made from the fuzzer's
// bytes, that what nats.go reads holds every message with the same subject, sid, reply
// and payload, and its headers unless they were PURISTA's only, whatever the read sizes.
func FuzzStripReader(f *testing.F) {
	f.Add([]byte("a"), uint64(1))
	f.Add([]byte("messageType: x\r\nfoo: y"), uint64(7))
	f.Add([]byte("NATS/1.0 503"), uint64(99))
	f.Add([]byte("messageType: x\nfoo: y"), uint64(2))
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		rng := rand.New(rand.NewPCG(seed, seed>>7))
		var in, want bytes.Buffer
		for i := range 20 {
			payload := string(data[:rng.IntN(len(data)+1)])
			switch rng.IntN(5) {
			case 0:
				in.WriteString(msg("s"+strconv.Itoa(i), "1", "", payload))
				want.WriteString(msg("s"+strconv.Itoa(i), "1", "", payload))
			case 1:
				in.WriteString(hmsg("s", strconv.Itoa(i), "r", puristaBlock, payload))
				want.WriteString(msg("s", strconv.Itoa(i), "r", payload))
			case 2: // a block made from the fuzzer's bytes: kept unless PURISTA's only
				block := "NATS/1.0\r\n" + string(data) + "\r\n\r\n"
				in.WriteString(hmsg("s", strconv.Itoa(i), "", block, payload))
				if puristaHeadersOnly([]byte(block)) {
					if h, err := natsgo.DecodeHeadersMsg([]byte(block)); err != nil || !onlyPurista(h) {
						t.Fatalf("stripped %q, but nats.go reads it as %v (%v)", block, h, err)
					}
					want.WriteString(msg("s", strconv.Itoa(i), "", payload))
				} else {
					want.WriteString(hmsg("s", strconv.Itoa(i), "", block, payload))
				}
			case 3:
				in.WriteString("PING\r\n")
				want.WriteString("PING\r\n")
			case 4:
				in.WriteString(hmsg("s", strconv.Itoa(i), "", "NATS/1.0 503\r\n\r\n", payload))
				want.WriteString(hmsg("s", strconv.Itoa(i), "", "NATS/1.0 503\r\n\r\n", payload))
			}
		}
		size := 1 + rng.IntN(200)
		if got := readAll(t, iotest.HalfReader(bytes.NewReader(in.Bytes())), size); got != want.String() {
			t.Fatalf("reads of %d: got\n%q\nwant\n%q", size, got, want.String())
		}
	})
}

// TestStripReaderAllocations: handing out a stripped message allocates nothing.
func TestStripReaderAllocations(t *testing.T) {
	one := hmsg("_INBOX.abc.def", "3", "", puristaBlock, `{"id":"1"}`)
	src := &repeatReader{data: []byte(one)}
	s := &stripReader{r: bufio.NewReaderSize(src, stripBufferSize)}
	buf := make([]byte, 32<<10)
	if n := testing.AllocsPerRun(200, func() { _, _ = s.Read(buf) }); n > 0 {
		t.Fatalf("%.1f allocations per read", n)
	}
}

// repeatReader returns data over and over, whole.
type repeatReader struct{ data []byte }

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n+len(r.data) <= len(p) {
		n += copy(p[n:], r.data)
	}
	return n, nil
}
