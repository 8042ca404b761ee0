package amqp

import (
	"encoding/binary"
	"net"
	"strings"
)

// noHeadersTag prefixes the consumer tags of the consumers whose deliveries this bridge
// reads only from the body and the properties: the reply queue and the command queues.
// stripConn drops the headers table of their deliveries before amqp091 parses it.
const noHeadersTag = "purista-nh-"

// AMQP 0-9-1 framing constants stripConn needs.
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
	// maxRewrite bounds the frames stripConn holds whole to look into (method frames and
	// the content headers of marked deliveries); larger ones pass through untouched.
	maxRewrite = 1 << 20
	// readChunk is the least free space stripConn offers the socket per read.
	readChunk = 32 << 10
)

// stripConn is a net.Conn whose reads pass the broker's frames through unchanged except
// one: the content header of a basic.deliver to a consumer whose tag starts with
// noHeadersTag loses its headers table (the property and its flag bit; the frame size is
// adjusted). amqp091 decodes every header of every delivery into a map of boxed strings,
// which cost about 6 allocations per header, 13 headers per message: a third of all
// allocations of an Invoke, for headers that only the broker's headers exchange needed.
// Deliveries to other consumers (subscriptions, dead letters: they copy or read
// headers) and every other frame are left as they are.
//
// Only plain connections can use it; under amqps amqp091 puts TLS on top of the dialed
// connection. Reads are not safe for concurrent use (amqp091 has one reader).
type stripConn struct {
	net.Conn
	buf   []byte
	r     int    // next byte to hand out
	rdy   int    // end of the bytes checked and ready to hand out
	w     int    // end of the bytes read from the socket
	pass  int    // bytes of the current frame still to pass through unchecked
	strip []bool // by channel: the next content header is a marked delivery's
	err   error  // the socket's read error: returned after the buffered bytes
}

func newStripConn(c net.Conn) *stripConn {
	return &stripConn{Conn: c, buf: make([]byte, 2*readChunk)}
}

// Read implements net.Conn.
func (c *stripConn) Read(p []byte) (int, error) {
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
func (c *stripConn) fill(n int) error {
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
func (c *stripConn) mark(ch uint16, f []byte) {
	args := f[frameHeaderLen : len(f)-1]
	if len(args) < 5 || binary.BigEndian.Uint16(args[0:2]) != classBasic || binary.BigEndian.Uint16(args[2:4]) != methodDeliver {
		return
	}
	tagLen := int(args[4])
	if 5+tagLen > len(args) || !strings.HasPrefix(string(args[5:5+tagLen]), noHeadersTag) {
		return
	}
	if int(ch) >= len(c.strip) {
		c.strip = append(c.strip, make([]bool, int(ch)+1-len(c.strip))...)
	}
	c.strip[ch] = true
}

// span is a byte range of a frame.
type span struct{ at, n int }

// headersSpan returns the bytes of content header frame f to remove (the headers table),
// after clearing its flag and shrinking the frame size in f; n is 0 when f has no headers
// or does not parse as expected (it is then left as it is).
func headersSpan(f []byte) span {
	// payload: class-id 2, weight 2, body size 8, property flags 2, properties.
	const flagsAt = frameHeaderLen + 12
	end := len(f) - 1
	if end < flagsAt+2 || f[end] != frameEnd {
		return span{}
	}
	flags := binary.BigEndian.Uint16(f[flagsAt:])
	if flags&flagHeaders == 0 || flags&flagContinuation != 0 {
		return span{}
	}
	at := flagsAt + 2
	for _, fl := range [...]uint16{flagContentType, flagContentEncoding} {
		if flags&fl != 0 {
			if at >= end {
				return span{}
			}
			at += 1 + int(f[at])
		}
	}
	if at+4 > end {
		return span{}
	}
	n := 4 + int(binary.BigEndian.Uint32(f[at:]))
	if n < 4 || at+n > end {
		return span{}
	}
	binary.BigEndian.PutUint16(f[flagsAt:], flags&^flagHeaders)
	binary.BigEndian.PutUint32(f[3:7], uint32(len(f)-frameHeaderLen-1-n))
	return span{at, n}
}
