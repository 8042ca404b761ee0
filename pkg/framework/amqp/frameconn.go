package amqp

import (
	"bytes"
	"encoding/binary"
	"net"

	"github.com/purista-go/purista/pkg/framework/wire"
)

// noHeadersTag prefixes the consumer tags of the consumers whose deliveries this bridge
// reads only from the body and the properties: the reply queue and the command queues.
// frameConn drops the headers table of their deliveries before amqp091 parses it.
const noHeadersTag = "purista-nh-"

var noHeadersTagBytes = []byte(noHeadersTag)

// AMQP 0-9-1 framing constants frameConn needs.
const (
	frameMethod    = 1
	frameHeader    = 2
	frameHeaderLen = 7 // type, channel, size
	frameEnd       = 0xCE
	classBasic     = 60
	methodDeliver  = 60
	// Property flags of the basic class (content header frame).
	flagContentType     = 0x8000
	flagContentEncoding = 0x4000
	flagHeaders         = 0x2000
	flagContinuation    = 0x0001
	// maxRewrite bounds the frames frameConn holds whole to look into (method frames and
	// the content headers of marked deliveries); larger ones pass through untouched.
	maxRewrite = 1 << 20
	// readChunk is the least free space frameConn offers the socket per read.
	readChunk = 32 << 10
)

// frameConn is the connection amqp091 gets on plain (not TLS) connections. It looks into
// the AMQP frames passing through to spare amqp091's field-table codec, which costs about
// five allocations per header written and six per header read, with up to 14 headers on
// every message: without it, two thirds of all the allocations of an Invoke.
//
// Reads: the broker's frames pass through unchanged except one: the content header of a
// basic.deliver to a consumer whose tag starts with noHeadersTag loses its headers table
// (the property and its flag bit; the frame size is adjusted). Those consumers (the reply
// queue, command queues) read only the body and the properties; the headers were for
// the broker's headers exchange. Deliveries to other consumers (subscriptions, dead
// letters: they copy or read headers) and every other frame are left as they are.
//
// Writes: a content header whose headers table is the single entry spliceKey holding a
// byte array (see session.headers) gets that array as its table: the bridge encodes its
// string headers itself (appendHeaders), without allocating, and amqp091 only copies one
// byte array. Every other frame passes through unchanged.
//
// Under amqps amqp091 puts TLS on top of the dialed connection, so frames are not
// visible here and frameConn is not used. Reads are not safe for concurrent use (amqp091
// has one reader); neither are writes (amqp091 writes under its send lock).
type frameConn struct {
	net.Conn

	// read side
	buf   []byte
	r     int    // next byte to hand out
	rdy   int    // end of the bytes checked and ready to hand out
	w     int    // end of the bytes read from the socket
	pass  int    // bytes of the current frame still to pass through unchecked
	strip []bool // by channel: the next content header is a marked delivery's
	err   error  // the socket's read error: returned after the buffered bytes

	// write side
	wacc  []byte // the start of a frame being looked into
	wpass int    // bytes of the current frame (or protocol header) to pass through
	wout  []byte // what one Write passes on
}

func newFrameConn(c net.Conn) *frameConn {
	return &frameConn{Conn: c, buf: make([]byte, 2*readChunk), wpass: len(protocolHeader)}
}

// protocolHeader opens the client's stream; frames follow it.
const protocolHeader = "AMQP\x00\x00\x09\x01"

// spliceKey is the key of the placeholder headers table frameConn replaces by the table
// encoded in its value. No header of a real message starts with a NUL.
const spliceKey = "\x00purista-headers"

// Write implements net.Conn. It passes everything on in one write to the wrapped
// connection, except large stretches of message bodies, which go straight through.
func (c *frameConn) Write(p []byte) (int, error) {
	out := c.wout[:0]
	for i := 0; i < len(p); {
		if c.wpass > 0 {
			k := min(c.wpass, len(p)-i)
			c.wpass -= k
			if k >= bigWrite { // a body: no need to copy it here
				if err := c.flushOut(out); err != nil {
					return 0, err
				}
				out = c.wout[:0]
				if _, err := c.Conn.Write(p[i : i+k]); err != nil {
					return 0, err
				}
			} else {
				out = append(out, p[i:i+k]...)
			}
			i += k
			continue
		}
		if len(c.wacc) < frameHeaderLen {
			k := min(frameHeaderLen-len(c.wacc), len(p)-i)
			c.wacc = append(c.wacc, p[i:i+k]...)
			i += k
			if len(c.wacc) < frameHeaderLen {
				break
			}
		}
		total := frameHeaderLen + int(binary.BigEndian.Uint32(c.wacc[3:7])) + 1
		if c.wacc[0] != frameHeader || total > maxRewrite {
			out = append(out, c.wacc...)
			c.wpass = total - len(c.wacc)
			c.wacc = c.wacc[:0]
			continue
		}
		k := min(total-len(c.wacc), len(p)-i)
		c.wacc = append(c.wacc, p[i:i+k]...)
		i += k
		if len(c.wacc) < total {
			break
		}
		out = appendSpliced(out, c.wacc)
		c.wacc = c.wacc[:0]
	}
	if err := c.flushOut(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// bigWrite is the size from which Write passes a stretch of body straight on.
const bigWrite = 16 << 10

// flushOut writes out and keeps its array for the next Write.
func (c *frameConn) flushOut(out []byte) error {
	if cap(out) <= 4*bigWrite {
		c.wout = out[:0]
	}
	if len(out) == 0 {
		return nil
	}
	_, err := c.Conn.Write(out)
	return err
}

// appendSpliced appends content header frame f to out, with its headers table replaced
// by the table its spliceKey placeholder carries; other frames are appended unchanged.
func appendSpliced(out, f []byte) []byte {
	at, ok := headersAt(f)
	if !ok {
		return append(out, f...)
	}
	end := len(f) - 1
	tlen := int(binary.BigEndian.Uint32(f[at:]))
	t := f[at+4:]
	const head = 1 + len(spliceKey) + 1 + 4 // key, type 'x', length
	if tlen < head || at+4+tlen > end || int(t[0]) != len(spliceKey) || string(t[1:1+len(spliceKey)]) != spliceKey || t[1+len(spliceKey)] != 'x' {
		return append(out, f...)
	}
	raw := t[head:tlen]
	if int(binary.BigEndian.Uint32(t[head-4:])) != len(raw) {
		return append(out, f...)
	}
	start := len(out)
	out = append(out, f[:at]...)
	out = binary.BigEndian.AppendUint32(out, uint32(len(raw)))
	out = append(out, raw...)
	out = append(out, f[at+4+tlen:]...)
	binary.BigEndian.PutUint32(out[start+3:], uint32(len(out)-start-frameHeaderLen-1))
	return out
}

// appendHeaders appends the AMQP field table entries (without the table's length) of
// the headers Headers(m, replyTo) returns, all long strings, as amqp091 writes them.
func appendHeaders(b []byte, m *wire.Message, replyTo string) []byte {
	add := func(k, v string) {
		if k == wire.HeaderReceiverInstanceID {
			k = wire.HeaderAMQPReceiverInstanceID
		}
		b = append(b, byte(len(k)))
		b = append(b, k...)
		b = append(b, 'S')
		b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
		b = append(b, v...)
	}
	wire.VisitHeaders(m, add)
	if replyTo != "" {
		add(wire.HeaderReplyTo, replyTo)
	}
	return b
}

// Read implements net.Conn.
func (c *frameConn) Read(p []byte) (int, error) {
	for {
		if c.r < c.rdy {
			n := copy(p, c.buf[c.r:c.rdy])
			c.r += n
			return n, nil
		}
		if c.pass > 0 {
			if c.w > c.rdy {
				k := min(c.pass, c.w-c.rdy)
				c.rdy += k
				c.pass -= k
				continue
			}
			// Nothing buffered: a large body passes straight into p.
			c.r, c.rdy, c.w = 0, 0, 0
			n, err := c.Conn.Read(p[:min(len(p), c.pass)])
			c.pass -= n
			return n, err
		}
		if c.err != nil {
			return 0, c.err
		}
		// At a frame boundary.
		if c.fill(frameHeaderLen) != nil {
			continue
		}
		f := c.buf[c.rdy:]
		typ, ch, size := f[0], binary.BigEndian.Uint16(f[1:3]), int(binary.BigEndian.Uint32(f[3:7]))
		total := frameHeaderLen + size + 1
		look := typ == frameMethod || (typ == frameHeader && int(ch) < len(c.strip) && c.strip[ch])
		if !look || total > maxRewrite {
			c.pass = total
			continue
		}
		if c.fill(total) != nil {
			continue
		}
		f = c.buf[c.rdy : c.rdy+total]
		if typ == frameMethod {
			c.mark(ch, f)
			c.rdy += total
			continue
		}
		c.strip[ch] = false
		cut := headersSpan(f)
		if cut.n > 0 {
			copy(c.buf[c.rdy+cut.at:], c.buf[c.rdy+cut.at+cut.n:c.w])
			c.w -= cut.n
			total -= cut.n
		}
		c.rdy += total
	}
}

// fill reads until n bytes from rdy are buffered. It is called only when every ready
// byte has been handed out (r == rdy), so the buffer can be compacted. A read error is
// kept in c.err, and what was buffered is then handed out as it is (amqp091 ends the
// connection at the error anyway).
func (c *frameConn) fill(n int) error {
	if c.w-c.rdy >= n {
		return nil
	}
	if c.rdy > 0 {
		c.w = copy(c.buf, c.buf[c.rdy:c.w])
		c.r, c.rdy = 0, 0
	}
	if need := n + readChunk; len(c.buf) < need {
		nb := make([]byte, need)
		copy(nb, c.buf[:c.w])
		c.buf = nb
	}
	for c.w < n {
		m, err := c.Conn.Read(c.buf[c.w:])
		c.w += m
		if err != nil && c.w < n {
			c.err, c.rdy = err, c.w
			return err
		}
	}
	return nil
}

// mark notes, for a basic.deliver method frame f on channel ch, whether its content
// header is to lose its headers.
func (c *frameConn) mark(ch uint16, f []byte) {
	args := f[frameHeaderLen : len(f)-1]
	if len(args) < 5 || binary.BigEndian.Uint16(args[0:2]) != classBasic || binary.BigEndian.Uint16(args[2:4]) != methodDeliver {
		return
	}
	tagLen := int(args[4])
	if 5+tagLen > len(args) || !bytes.HasPrefix(args[5:5+tagLen], noHeadersTagBytes) {
		return
	}
	if int(ch) >= len(c.strip) {
		c.strip = append(c.strip, make([]bool, int(ch)+1-len(c.strip))...)
	}
	c.strip[ch] = true
}

// headersAt returns where the headers table of content header frame f starts (at its
// length), and false when f has none or does not parse as expected.
func headersAt(f []byte) (int, bool) {
	// payload: class-id 2, weight 2, body size 8, property flags 2, properties.
	const flagsAt = frameHeaderLen + 12
	end := len(f) - 1
	if end < flagsAt+2 || f[end] != frameEnd {
		return 0, false
	}
	flags := binary.BigEndian.Uint16(f[flagsAt:])
	if flags&flagHeaders == 0 || flags&flagContinuation != 0 {
		return 0, false
	}
	at := flagsAt + 2
	for _, fl := range [...]uint16{flagContentType, flagContentEncoding} {
		if flags&fl != 0 {
			if at >= end {
				return 0, false
			}
			at += 1 + int(f[at])
		}
	}
	if at+4 > end {
		return 0, false
	}
	return at, true
}

// span is a byte range of a frame.
type span struct{ at, n int }

// headersSpan returns the bytes of content header frame f to remove (the headers table),
// after clearing its flag and shrinking the frame size in f; n is 0 when f has no headers
// or does not parse as expected (it is then left as it is).
func headersSpan(f []byte) span {
	const flagsAt = frameHeaderLen + 12
	at, ok := headersAt(f)
	if !ok {
		return span{}
	}
	n := 4 + int(binary.BigEndian.Uint32(f[at:]))
	if n < 4 || at+n > len(f)-1 {
		return span{}
	}
	flags := binary.BigEndian.Uint16(f[flagsAt:])
	binary.BigEndian.PutUint16(f[flagsAt:], flags&^flagHeaders)
	binary.BigEndian.PutUint32(f[3:7], uint32(len(f)-frameHeaderLen-1-n))
	return span{at, n}
}
