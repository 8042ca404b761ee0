package amqp

import (
	"bytes"
	"encoding/binary"
	"net"
	"strconv"
	"sync"

	"github.com/purista-go/purista/pkg/framework/wire"
)

// noHeadersTag prefixes the consumer tags of the consumers whose deliveries this bridge
// reads only from the body and the replyTo property: the reply queue and the command
// queues. frameConn drops the other properties of their deliveries, headers included,
// before amqp091 decodes them.
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
	// Property flags of the basic class (content header frame), one bit per property in
	// the order the properties follow the flags.
	flagContentType     = 0x8000 // shortstr
	flagContentEncoding = 0x4000 // shortstr
	flagHeaders         = 0x2000 // table: long length, entries
	flagDeliveryMode    = 0x1000 // octet
	flagPriority        = 0x0800 // octet
	flagCorrelationID   = 0x0400 // shortstr
	flagReplyTo         = 0x0200 // shortstr
	flagMessageID       = 0x0080 // shortstr
	flagTimestamp       = 0x0040 // 64-bit integer
	flagType            = 0x0020 // shortstr
	flagAppID           = 0x0008 // shortstr
	flagContinuation    = 0x0001 // more flags follow: never in the basic class
	// flagsAt is where the property flags of a content header frame are: after the frame
	// header, class id 2, weight 2 and body size 8.
	flagsAt = frameHeaderLen + 12
	// maxRewrite bounds the frames frameConn holds whole to look into (method frames and
	// the content headers of marked deliveries); larger ones pass through untouched.
	maxRewrite = 1 << 20
	// readChunk is the least free space frameConn offers the socket per read.
	readChunk = 32 << 10
)

// frameConn is the connection amqp091 gets on plain (not TLS) connections. It looks into
// the AMQP frames passing through to spare amqp091's codec of the message properties: a
// few allocations per property and per header (a map of boxed strings), up to 14 headers
// on every message, written and read: without it, two thirds of all the allocations of
// an Invoke, and a quarter of its CPU time.
//
// Reads: the broker's frames pass through unchanged except one: the content header of a
// basic.deliver to a consumer whose tag starts with noHeadersTag keeps only its replyTo
// property (flags and frame size adjusted). Those consumers (the reply queue, command
// queues) read only the body and replyTo; the headers were for the broker's headers
// exchange, the other properties repeat the envelope. Deliveries to other consumers
// (subscriptions, dead letters: they copy or read headers), returned messages and every
// other frame are left as they are.
//
// Writes: a content header whose only property is an appId token of hold (see
// session.publishing) gets the property list held under that token (flags included): the
// bridge encodes the properties itself (appendProperties) without allocating, and
// amqp091 only writes a short string. Every other frame passes through unchanged.
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

	hmu  sync.Mutex
	held map[string][]byte // property lists of the publishes in progress, by token
	seq  uint64            // numbers the tokens
	tok  []byte            // scratch for building a token
}

func newFrameConn(c net.Conn) *frameConn {
	return &frameConn{Conn: c, buf: make([]byte, 2*readChunk), wpass: len(protocolHeader), held: map[string][]byte{}}
}

// protocolHeader opens the client's stream; frames follow it.
const protocolHeader = "AMQP\x00\x00\x09\x01"

// tokenPrefix starts the appId tokens of hold. No real appId starts with a NUL.
const tokenPrefix = "\x00purista-props-"

// hold keeps props, a property list, for the publish in progress that names the returned
// token as its only property (its appId), until release. The token is new on every call,
// so a frame can never meet another publish's properties.
func (c *frameConn) hold(props []byte) string {
	c.hmu.Lock()
	c.seq++
	c.tok = strconv.AppendUint(append(c.tok[:0], tokenPrefix...), c.seq, 36)
	tok := string(c.tok)
	c.held[tok] = props
	c.hmu.Unlock()
	return tok
}

// release forgets the properties of a publish that has returned; amqp091 has written its
// frames by then.
func (c *frameConn) release(tok string) {
	c.hmu.Lock()
	delete(c.held, tok)
	c.hmu.Unlock()
}

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
		out = c.appendSpliced(out, c.wacc)
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

// appendSpliced appends frame f to out; a content header whose only property is a
// token of hold gets the property list held under it.
func (c *frameConn) appendSpliced(out, f []byte) []byte {
	const at = flagsAt + 2 // the appId short string
	end := len(f) - 1
	if end < at+1 || f[end] != frameEnd || binary.BigEndian.Uint16(f[flagsAt:]) != flagAppID || int(f[at]) != end-at-1 ||
		!bytes.HasPrefix(f[at+1:end], tokenPrefixBytes) {
		return append(out, f...)
	}
	c.hmu.Lock()
	props, ok := c.held[string(f[at+1:end])]
	if !ok {
		// Unreachable: a publish holds its properties until amqp091 has written its
		// frames. Were it not so, the message would go out without properties (and
		// without headers, so routed to no queue) rather than with a bogus appId.
		props = []byte{0, 0}
	}
	start := len(out)
	out = append(out, f[:flagsAt]...)
	out = append(out, props...)
	c.hmu.Unlock()
	out = append(out, frameEnd)
	binary.BigEndian.PutUint32(out[start+3:], uint32(len(out)-start-frameHeaderLen-1))
	return out
}

var tokenPrefixBytes = []byte(tokenPrefix)

// appendProperties appends the property list (flags, then the properties) of the
// publishing of m that session.publishing describes, as amqp091 would encode it: content
// type and encoding, the headers Headers(m, replyTo) returns (all long strings),
// persistent delivery, correlationId, the replyTo property replyQueue, messageId,
// timestamp (milliseconds, see millis) and type. It reports false when a value does not
// fit a short string (amqp091 then reports the error).
func appendProperties(b []byte, m *wire.Message, replyTo, replyQueue string) ([]byte, bool) {
	flags := uint16(flagContentType | flagContentEncoding | flagHeaders | flagDeliveryMode | flagTimestamp)
	for _, p := range [...]struct {
		v    string
		flag uint16
	}{{m.CorrelationID, flagCorrelationID}, {replyQueue, flagReplyTo}, {m.ID, flagMessageID}, {string(m.MessageType), flagType}} {
		if len(p.v) > 255 {
			return b, false
		}
		if p.v != "" {
			flags |= p.flag
		}
	}
	b = binary.BigEndian.AppendUint16(b, flags)
	b = appendShortstr(b, wire.ContentTypeJSON)
	b = appendShortstr(b, wire.EncodingUTF8)
	tableAt := len(b)
	b = append(b, 0, 0, 0, 0)
	add := func(k, v string) {
		if k == wire.HeaderReceiverInstanceID {
			k = wire.HeaderAMQPReceiverInstanceID
		}
		b = appendShortstr(b, k)
		b = append(b, 'S')
		b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
		b = append(b, v...)
	}
	wire.VisitHeaders(m, add)
	if replyTo != "" {
		add(wire.HeaderReplyTo, replyTo)
	}
	binary.BigEndian.PutUint32(b[tableAt:], uint32(len(b)-tableAt-4))
	b = append(b, amqp091Persistent)
	if flags&flagCorrelationID != 0 {
		b = appendShortstr(b, m.CorrelationID)
	}
	if flags&flagReplyTo != 0 {
		b = appendShortstr(b, replyQueue)
	}
	if flags&flagMessageID != 0 {
		b = appendShortstr(b, m.ID)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(m.Timestamp))
	if flags&flagType != 0 {
		b = appendShortstr(b, string(m.MessageType))
	}
	return b, true
}

// amqp091Persistent is amqp091.Persistent, the delivery mode of every publish.
const amqp091Persistent = 2

// appendShortstr appends s (at most 255 bytes) as an AMQP short string.
func appendShortstr(b []byte, s string) []byte {
	b = append(b, byte(len(s)))
	return append(b, s...)
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
			if typ == frameHeader && look {
				c.strip[ch] = false // too large to look into: it passes whole
			}
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
		if n := keepReplyTo(f); n < total {
			copy(c.buf[c.rdy+n:], c.buf[c.rdy+total:c.w])
			c.w -= total - n
			total = n
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
	marked := 5+tagLen <= len(args) && bytes.HasPrefix(args[5:5+tagLen], noHeadersTagBytes)
	if int(ch) >= len(c.strip) {
		if !marked {
			return
		}
		c.strip = append(c.strip, make([]bool, int(ch)+1-len(c.strip))...)
	}
	c.strip[ch] = marked
}

// keepReplyTo rewrites content header frame f in place to keep only its replyTo
// property, and returns the frame's new length. A frame that does not parse as expected
// is left as it is.
func keepReplyTo(f []byte) int {
	end := len(f) - 1
	if end < flagsAt+2 || f[end] != frameEnd {
		return len(f)
	}
	flags := binary.BigEndian.Uint16(f[flagsAt:])
	if flags&flagContinuation != 0 {
		return len(f)
	}
	at := flagsAt + 2
	var replyTo []byte
	for bit := uint16(1 << 15); bit > flagContinuation; bit >>= 1 {
		if flags&bit == 0 {
			continue
		}
		if at >= end {
			return len(f)
		}
		switch bit {
		case flagHeaders:
			if at+4 > end {
				return len(f)
			}
			at += 4 + int(binary.BigEndian.Uint32(f[at:]))
		case flagDeliveryMode, flagPriority:
			at++
		case flagTimestamp:
			at += 8
		default: // short strings
			n := 1 + int(f[at])
			if bit == flagReplyTo && at+n <= end {
				replyTo = f[at : at+n]
			}
			at += n
		}
		if at > end || at < 0 {
			return len(f)
		}
	}
	if at != end {
		return len(f)
	}
	var keep uint16
	if replyTo != nil {
		keep = flagReplyTo
	}
	binary.BigEndian.PutUint16(f[flagsAt:], keep)
	n := flagsAt + 2 + copy(f[flagsAt+2:], replyTo)
	f[n] = frameEnd
	binary.BigEndian.PutUint32(f[3:7], uint32(n-frameHeaderLen))
	return n + 1
}
