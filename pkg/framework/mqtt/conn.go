package mqtt

import (
	"bufio"
	"errors"
	"net"
	"sync"

	"github.com/purista-go/purista/pkg/framework/wire"

	"github.com/purista-go/purista/pkg/framework/internal/batchconn"
)

// The bridge's plain-TCP connection (see attemptConnection).
//
// paho reads every packet straight from the connection, one system call for its type
// byte, one per byte of its remaining length and one for the rest, and QuickAck adds a
// setsockopt after each: 14 reads and 14 setsockopts per call through the broker. Reading
// through a buffer, one read system call fetches whatever the broker has sent, often many
// packets.
//
// paho writes each packet from the goroutine that sends it (publishers, the ack sender,
// the pinger) with one writev, and under load nearly every packet costs a write here and
// a read in the broker. Writes go through batchconn instead, which copies them into a
// buffer written by one goroutine. paho writes a packet in several pieces
// (net.Buffers.WriteTo, which falls back to one Write per piece on anything but a
// *net.TCPConn) but locks its connection across them when the connection is a
// sync.Locker; mqttConn is one, so the pieces of two packets never interleave.

// readBufferSize is the size of the read buffer; a packet larger than it is passed to
// paho straight from the socket.
const readBufferSize = 32 << 10

// mqttConn is a broker connection whose reads are buffered and whose writes are batched.
type mqttConn struct {
	*batchconn.Conn            // writes, Close, addresses and deadlines
	pmu             sync.Mutex // held by paho across the writes of one packet
	in              packetReader
}

// newConn wraps c (already wrapped by QuickAck, so every read system call re-arms
// TCP_QUICKACK).
func newConn(c net.Conn) *mqttConn {
	return &mqttConn{Conn: batchconn.New(c), in: packetReader{r: bufio.NewReaderSize(c, readBufferSize)}}
}

// Lock implements sync.Locker: paho's packet writer holds it while it writes one packet.
func (c *mqttConn) Lock() { c.pmu.Lock() }

// Unlock implements sync.Locker.
func (c *mqttConn) Unlock() { c.pmu.Unlock() }

// Read implements net.Conn. Only paho's reader goroutine calls it.
func (c *mqttConn) Read(b []byte) (int, error) { return c.in.Read(b) }

// errMalformed is returned for a packet whose remaining length has more than four bytes.
var errMalformed = errors.New("mqtt: malformed packet length from broker")

// packetReader hands paho one packet at a time from a buffered reader. A packet that fits
// the buffer is handed over from it (or, rewritten, from buf); a larger one is read through.
type packetReader struct {
	r    *bufio.Reader
	out  []byte // the rest of the current packet
	skip int    // bytes of r that out came from, discarded when out is used up
	pass int    // bytes of a large packet still to be read straight from r
	buf  []byte // a rewritten packet; reused
}

// Read implements io.Reader.
func (p *packetReader) Read(b []byte) (int, error) {
	if len(p.out) == 0 && p.pass == 0 {
		if err := p.next(); err != nil {
			return 0, err
		}
	}
	if p.pass > 0 {
		n, err := p.r.Read(b[:min(len(b), p.pass)])
		p.pass -= n
		return n, err
	}
	n := copy(b, p.out)
	p.out = p.out[n:]
	return n, nil
}

// next waits for the next packet and makes it current.
func (p *packetReader) next() error {
	if p.skip > 0 {
		_, _ = p.r.Discard(p.skip) // buffered: cannot fail
		p.skip = 0
	}
	// The fixed header: the type byte and the remaining length, 7 bits per byte, the last
	// byte < 0x80 (MQTT 5 §1.5.5). Peek only what belongs to this packet: asking for more
	// would wait for the next one.
	hdr, rem := 2, 0
	for {
		h, err := p.r.Peek(hdr)
		if err != nil {
			return err
		}
		d := h[hdr-1]
		rem |= int(d&0x7f) << (7 * (hdr - 2))
		if d < 0x80 {
			break
		}
		if hdr == 5 {
			return errMalformed
		}
		hdr++
	}
	total := hdr + rem
	if total > p.r.Size() {
		p.pass = total
		return nil
	}
	pkt, err := p.r.Peek(total)
	if err != nil {
		return err
	}
	p.out, p.skip = pkt, total
	if pkt[0]>>4 == publishType {
		if out, ok := dropHeaders(p.buf[:0], pkt, hdr); ok {
			p.out, p.buf = out, out
		}
	}
	return nil
}

// The bridge reads every message from its body (WIRE.md: the envelope is authoritative,
// headers are never relied on), but paho parses every user property of a PUBLISH into
// two strings, each through a bytes.Buffer of at least 512 bytes: the 9–13 PURISTA
// headers of a command or response were 60 % of the bytes the bridge allocated. Before
// paho sees a PUBLISH, dropHeaders takes out the user properties that carry PURISTA
// headers; all others (the dead-letter properties, anything a foreign publisher adds)
// stay, as do all other properties.

// MQTT 5 packet type and property identifiers (MQTT 5 §2.1.2, §2.2.2.2).
const (
	publishType = 3

	propPayloadFormat  = 0x01
	propMessageExpiry  = 0x02
	propContentType    = 0x03
	propResponseTopic  = 0x08
	propCorrelation    = 0x09
	propSubscriptionID = 0x0B
	propTopicAlias     = 0x23
	propUser           = 0x26
)

// dropHeaders appends to dst the PUBLISH pkt (its fixed header hdr bytes long) without
// the user properties that carry PURISTA headers. It reports false, and pkt is to be used
// as it is, when there are none or pkt is not a PUBLISH it understands.
func dropHeaders(dst, pkt []byte, hdr int) ([]byte, bool) {
	body := pkt[hdr:]
	if len(body) < 2 {
		return nil, false
	}
	i := 2 + (int(body[0])<<8 | int(body[1])) // topic name
	if qos := (pkt[0] >> 1) & 3; qos > 0 {
		i += 2 // packet identifier
	}
	if i > len(body) {
		return nil, false
	}
	plen, n, ok := readVBI(body[i:])
	if !ok || i+n+plen > len(body) {
		return nil, false
	}
	start, end := i+n, i+n+plen
	props := body[start:end]
	kept, drop := 0, false
	for j := 0; j < len(props); {
		l, header := propSize(props[j:])
		if l == 0 {
			return nil, false
		}
		if header {
			drop = true
		} else {
			kept += l
		}
		j += l
	}
	if !drop {
		return nil, false
	}
	dst = append(dst, pkt[0])
	dst = appendVBI(dst, i+vbiSize(kept)+kept+len(body)-end)
	dst = append(dst, body[:i]...)
	dst = appendVBI(dst, kept)
	for j := 0; j < len(props); {
		l, header := propSize(props[j:])
		if !header {
			dst = append(dst, props[j:j+l]...)
		}
		j += l
	}
	return append(dst, body[end:]...), true
}

// propSize returns the size of the PUBLISH property at the start of b (identifier
// included) and whether it is a user property carrying a PURISTA header; size 0 for a
// property that is truncated or not allowed in a PUBLISH.
func propSize(b []byte) (size int, header bool) {
	str := func(at int) int { // end of the string or binary data at b[at:], or 0
		if at+2 > len(b) {
			return 0
		}
		end := at + 2 + (int(b[at])<<8 | int(b[at+1]))
		if end > len(b) {
			return 0
		}
		return end
	}
	switch b[0] {
	case propPayloadFormat:
		size = 2
	case propTopicAlias:
		size = 3
	case propMessageExpiry:
		size = 5
	case propContentType, propResponseTopic, propCorrelation:
		return str(1), false
	case propSubscriptionID:
		_, n, ok := readVBI(b[1:])
		if !ok {
			return 0, false
		}
		return 1 + n, false
	case propUser:
		k := str(1)
		if k == 0 {
			return 0, false
		}
		v := str(k)
		if v == 0 {
			return 0, false
		}
		return v, wire.IsHeaderName(string(b[3:k]))
	default:
		return 0, false
	}
	if size > len(b) {
		return 0, false
	}
	return size, false
}

// readVBI reads a variable byte integer (MQTT 5 §1.5.5) from the start of b and returns it
// and its size.
func readVBI(b []byte) (v, n int, ok bool) {
	for n < len(b) && n < 4 {
		d := b[n]
		v |= int(d&0x7f) << (7 * n)
		n++
		if d < 0x80 {
			return v, n, true
		}
	}
	return 0, 0, false
}

// vbiSize is the size of v as a variable byte integer.
func vbiSize(v int) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// appendVBI appends v as a variable byte integer.
func appendVBI(b []byte, v int) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}
