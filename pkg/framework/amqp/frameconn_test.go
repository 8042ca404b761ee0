package amqp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"

	"github.com/purista-go/purista/pkg/framework/wire"
)

// frame builds one AMQP frame.
func frame(typ byte, ch uint16, payload []byte) []byte {
	f := []byte{typ, byte(ch >> 8), byte(ch)}
	f = binary.BigEndian.AppendUint32(f, uint32(len(payload)))
	f = append(f, payload...)
	return append(f, frameEnd)
}

func shortstr(s string) []byte { return append([]byte{byte(len(s))}, s...) }

// deliverFrame is a basic.deliver method frame for consumer tag.
func deliverFrame(ch uint16, tag string) []byte {
	p := []byte{0, classBasic, 0, methodDeliver}
	p = append(p, shortstr(tag)...)
	p = binary.BigEndian.AppendUint64(p, 7) // delivery tag
	p = append(p, 0)                        // redelivered
	p = append(p, shortstr("purista")...)
	p = append(p, shortstr("")...)
	return frame(frameMethod, ch, p)
}

// props are some properties of a content header.
type props struct {
	table   []byte // the headers table's entries (nil: no table)
	replyTo string
	full    bool // with content type and encoding, delivery mode, correlation id, timestamp
}

// contentHeader is a basic content header frame with the properties p.
func contentHeader(ch uint16, p props) []byte {
	var flags uint16
	var list []byte
	if p.full {
		flags |= flagContentType | flagContentEncoding
		list = append(list, shortstr("application/json")...)
		list = append(list, shortstr("utf-8")...)
	}
	if p.table != nil {
		flags |= flagHeaders
		list = binary.BigEndian.AppendUint32(list, uint32(len(p.table)))
		list = append(list, p.table...)
	}
	if p.full {
		flags |= flagDeliveryMode | flagCorrelationID
		list = append(list, 2)
		list = append(list, shortstr("corr-1")...)
	}
	if p.replyTo != "" {
		flags |= flagReplyTo
		list = append(list, shortstr(p.replyTo)...)
	}
	if p.full {
		flags |= flagTimestamp | flagType
		list = binary.BigEndian.AppendUint64(list, 1700000000000)
		list = append(list, shortstr("command")...)
	}
	return contentHeaderRaw(ch, binary.BigEndian.AppendUint16(nil, flags), list)
}

// contentHeaderRaw is a basic content header frame with the given property list (flags,
// then properties, split or not).
func contentHeaderRaw(ch uint16, list ...[]byte) []byte {
	p := []byte{0, classBasic, 0, 0}
	p = binary.BigEndian.AppendUint64(p, 42) // body size
	for _, l := range list {
		p = append(p, l...)
	}
	return frame(frameHeader, ch, p)
}

// chunkConn serves data in reads of at most chunk bytes, then io.EOF.
type chunkConn struct {
	net.Conn
	data  []byte
	chunk int
}

func (c *chunkConn) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.chunk)], c.data)
	c.data = c.data[n:]
	return n, nil
}

// readAll reads c to EOF with reads of at most size bytes.
func readAll(t *testing.T, c net.Conn, size int) []byte {
	t.Helper()
	var out []byte
	p := make([]byte, size)
	for {
		n, err := c.Read(p)
		out = append(out, p[:n]...)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestFrameConnKeepsOnlyReplyToOfMarkedDeliveries(t *testing.T) {
	table := bytes.Repeat([]byte("t"), 300)
	body := frame(3, 1, bytes.Repeat([]byte("b"), 42))
	big := frame(3, 2, bytes.Repeat([]byte("x"), 3*maxRewrite/2)) // passes through unbuffered
	all := props{table: table, replyTo: "amq.gen-1", full: true}
	var in, want []byte
	add := func(f, w []byte) { in, want = append(in, f...), append(want, w...) }
	add(frame(8, 0, nil), frame(8, 0, nil)) // heartbeat
	// A marked delivery on channel 1 keeps only replyTo; the frame shrinks accordingly.
	add(deliverFrame(1, noHeadersTag+"abc"), deliverFrame(1, noHeadersTag+"abc"))
	add(contentHeader(1, all), contentHeader(1, props{replyTo: all.replyTo}))
	add(body, body)
	// Another consumer's delivery (a subscription) keeps everything, as does a content
	// header that does not follow a marked delivery.
	add(deliverFrame(2, "purista-0123"), deliverFrame(2, "purista-0123"))
	add(contentHeader(2, all), contentHeader(2, all))
	add(big, big)
	add(contentHeader(1, all), contentHeader(1, all))
	// A marked delivery without replyTo keeps no property.
	add(deliverFrame(1, noHeadersTag+"abc"), deliverFrame(1, noHeadersTag+"abc"))
	add(contentHeader(1, props{table: table, full: true}), contentHeader(1, props{}))
	add(body, body)
	// One whose properties do not parse is left alone.
	bad := contentHeaderRaw(1, []byte{0x20, 0}, []byte{0, 0, 1, 0}) // table longer than the frame
	add(deliverFrame(1, noHeadersTag+"abc"), deliverFrame(1, noHeadersTag+"abc"))
	add(bad, bad)
	// A content header too large to look into passes whole, and the next content header
	// on its channel (say, a returned message's) is not taken for a marked delivery's.
	huge := contentHeader(1, props{table: bytes.Repeat([]byte("t"), maxRewrite), replyTo: "amq.gen-1", full: true})
	add(deliverFrame(1, noHeadersTag+"abc"), deliverFrame(1, noHeadersTag+"abc"))
	add(huge, huge)
	add(body, body)
	add(contentHeader(1, all), contentHeader(1, all))
	// A delivery to another consumer on a channel that had a marked one keeps all.
	add(deliverFrame(1, "purista-0123"), deliverFrame(1, "purista-0123"))
	add(contentHeader(1, all), contentHeader(1, all))
	// A high channel number.
	add(deliverFrame(700, noHeadersTag+"x"), deliverFrame(700, noHeadersTag+"x"))
	add(contentHeader(700, props{table: []byte{}}), contentHeader(700, props{}))

	for _, chunk := range []int{1, 3, 7, 100, 4096, 1 << 22} {
		for _, size := range []int{1, 5, 4096, 1 << 16} {
			c := newFrameConn(&chunkConn{data: in, chunk: chunk})
			if got := readAll(t, c, size); !bytes.Equal(got, want) {
				t.Fatalf("chunk %d, read size %d: got %d bytes, want %d", chunk, size, len(got), len(want))
			}
		}
	}
}

func TestFrameConnPassesOtherStreamsThrough(t *testing.T) {
	for _, in := range [][]byte{
		[]byte("AMQP\x00\x00\x09\x01"), // the broker's answer to an unsupported protocol header
		[]byte("AMQP"),                 // shorter than a frame header
		[]byte("AMQP\x00\x00\x09\x01\x01\x00\x00\x00\x00\x00\x05"),
		append(deliverFrame(1, noHeadersTag+"abc"), contentHeader(1, props{table: []byte("tt")})[:20]...), // cut short
	} {
		for _, chunk := range []int{1, 3, 100} {
			c := newFrameConn(&chunkConn{data: in, chunk: chunk})
			if got := readAll(t, c, 4); !bytes.Equal(got, in) {
				t.Fatalf("chunk %d: got %q, want %q", chunk, got, in)
			}
		}
	}
}

// captureConn records what is written to it.
type captureConn struct {
	net.Conn
	buf bytes.Buffer
}

func (c *captureConn) Write(p []byte) (int, error) { return c.buf.Write(p) }

func TestFrameConnSplicesEncodedProperties(t *testing.T) {
	m := &wire.Message{
		MessageType: wire.TypeCommandSuccessResponse, ID: "0123", CorrelationID: "0123", Timestamp: 1700000000000,
		Sender:   wire.Address{ServiceName: "Users", ServiceVersion: "1", ServiceTarget: "get", InstanceID: "i1"},
		Receiver: &wire.Address{ServiceName: "Web", ServiceVersion: "2", ServiceTarget: "run", InstanceID: "i2"},
	}
	list, ok := appendProperties(nil, m, "amq.gen-reply", "")
	if !ok {
		t.Fatal("appendProperties failed")
	}
	appID := func(s string) []byte { return append(binary.BigEndian.AppendUint16(nil, flagAppID), shortstr(s)...) }
	table := []byte("\x01kS\x00\x00\x00\x01v")
	body := frame(3, 1, bytes.Repeat([]byte("b"), 42))
	big := frame(3, 1, bytes.Repeat([]byte("x"), 3*bigWrite))

	for _, chunk := range []int{1, 2, 7, 100, 4096, 1 << 22} {
		out := &captureConn{}
		c := newFrameConn(out)
		tok := c.hold(list)
		gone := c.hold(list)
		c.release(gone)
		var in, want []byte
		add := func(f, w []byte) { in, want = append(in, f...), append(want, w...) }
		add([]byte(protocolHeader), []byte(protocolHeader))
		add(frame(frameMethod, 1, []byte{0, classBasic, 0, 40, 1, 2, 3}), frame(frameMethod, 1, []byte{0, classBasic, 0, 40, 1, 2, 3}))
		add(contentHeaderRaw(1, appID(tok)), contentHeaderRaw(1, list))
		add(body, body)
		// A released token (unreachable) leaves no properties.
		add(contentHeaderRaw(1, appID(gone)), contentHeaderRaw(1, []byte{0, 0}))
		// Other appIds, a token beside other properties, and other frames pass unchanged.
		add(contentHeaderRaw(1, appID("my-app")), contentHeaderRaw(1, appID("my-app")))
		withType := binary.BigEndian.AppendUint16(nil, flagType|flagAppID)
		withType = append(append(withType, shortstr("command")...), shortstr(tok)...)
		add(contentHeaderRaw(1, withType), contentHeaderRaw(1, withType))
		add(contentHeader(1, props{table: table, full: true}), contentHeader(1, props{table: table, full: true}))
		add(contentHeader(1, props{}), contentHeader(1, props{}))
		add(big, big)
		add(frame(8, 0, nil), frame(8, 0, nil))

		for rest := in; len(rest) > 0; {
			k := min(chunk, len(rest))
			if n, err := c.Write(rest[:k]); n != k || err != nil {
				t.Fatalf("Write = %d, %v", n, err)
			}
			rest = rest[k:]
		}
		if !bytes.Equal(out.buf.Bytes(), want) {
			t.Fatalf("chunk %d: got %d bytes, want %d", chunk, out.buf.Len(), len(want))
		}
	}
}

// FuzzFrameConn feeds arbitrary byte streams through both directions of a frameConn in
// arbitrary pieces. Nothing may panic; a stream that names no marked consumer passes
// reads unchanged, and one without a held token passes writes unchanged (but for a last
// frame that is not whole: writes hold it back until it is).
func FuzzFrameConn(f *testing.F) {
	all := props{table: []byte("\x01kS\x00\x00\x00\x01v"), replyTo: "amq.gen-1", full: true}
	f.Add(append(deliverFrame(1, noHeadersTag+"abc"), contentHeader(1, all)...), uint8(3))
	f.Add(append(deliverFrame(2, "purista-0123"), contentHeader(2, all)...), uint8(7))
	f.Add(contentHeaderRaw(1, append(binary.BigEndian.AppendUint16(nil, flagAppID), shortstr(tokenPrefix+"1")...)), uint8(1))
	f.Add([]byte(protocolHeader), uint8(2))
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8) {
		size := int(chunk%64) + 1
		r := newFrameConn(&chunkConn{data: in, chunk: size})
		got := readAll(t, r, size+3)
		if !bytes.Contains(in, noHeadersTagBytes) && !bytes.Equal(got, in) {
			t.Fatalf("read %q as %q", in, got)
		}
		if len(got) > len(in) {
			t.Fatalf("read %d bytes from %d", len(got), len(in))
		}

		out := &captureConn{}
		w := newFrameConn(out)
		w.wpass = 0 // the stream is frames from the start
		for rest := in; len(rest) > 0; {
			k := min(size, len(rest))
			if n, err := w.Write(rest[:k]); n != k || err != nil {
				t.Fatalf("Write = %d, %v", n, err)
			}
			rest = rest[k:]
		}
		if !bytes.Contains(in, tokenPrefixBytes) && !bytes.HasPrefix(in, out.buf.Bytes()) {
			t.Fatalf("wrote %q as %q", in, out.buf.Bytes())
		}
	})
}
