package nats

import (
	"bufio"
	"bytes"
	"net"
	"strconv"

	"github.com/purista-go/purista/pkg/framework/wire"

	"github.com/purista-go/purista/pkg/framework/internal/batchconn"
)

// The bridge's connections read through stripReader.
//
// Every PURISTA response, event and info message carries the WIRE.md headers (9 to 13 of
// them), and nats.go decodes the header block of every message it receives into a map:
// 15 allocations per message, and, measured at 64 calls in flight, with the headers of
// the responses alone a third of the bridge's CPU per call. The bridge never reads them:
// WIRE.md's readers take the envelope from the body (TypeScript PURISTA sends commands
// without any header). So before nats.go sees a message whose header block holds
// PURISTA's header names and nothing else, stripReader turns it into the same message
// without headers (HMSG into MSG, the header block dropped). Everything else passes
// unchanged: a status line (no responders, JetStream heartbeats and flow control),
// any other header (Nats-Msg-Id, the dead-letter headers), large header blocks.
//
// It only reads what nats-server sends on a plain connection (INFO, MSG, HMSG, PING,
// PONG, +OK, -ERR). At the first line that is none of these (a TLS handshake after
// INFO, a WebSocket upgrade) it stops looking and passes every further byte through.

// Bounds of stripReader: its buffer, and the largest header block it inspects.
const (
	stripBufferSize = 32 << 10
	maxStripHeader  = 4 << 10
)

// stripConn is a broker connection whose writes are batched (batchconn) and whose reads
// go through a stripReader.
type stripConn struct {
	*batchconn.Conn // writes, Close, addresses, deadlines
	in              stripReader
}

// Read implements net.Conn. Only nats.go's read loop calls it.
func (c *stripConn) Read(p []byte) (int, error) { return c.in.Read(p) }

// stripDialer dials connections wrapped in stripConn; it fits nats.go's CustomDialer.
type stripDialer struct{ net.Dialer }

// Dial dials address and wraps the connection.
func (d *stripDialer) Dial(network, address string) (net.Conn, error) {
	c, err := d.Dialer.Dial(network, address)
	if err != nil {
		return nil, err
	}
	return &stripConn{Conn: batchconn.New(c), in: stripReader{r: bufio.NewReaderSize(c, stripBufferSize)}}, nil
}

// stripReader is the reading side described above. Not safe for concurrent use.
type stripReader struct {
	r    *bufio.Reader
	out  []byte // a control line (or its rewrite) not yet handed out; its memory is line
	pass int    // bytes of a message (body and CRLF) to hand out unchanged
	raw  bool   // not the protocol expected: everything passes through
	line []byte // reused for out

	// held: line is an HMSG whose header block was not buffered yet when Read already had
	// something to return; the next Read waits for the block and decides.
	held       bool
	fields     [8][]byte // the held line's fields (pointing into line)
	nfields    int
	hdr, total int
}

// Read implements io.Reader: it fills p with as much as it has without blocking once it
// has something.
func (s *stripReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		switch {
		case len(s.out) > 0:
			c := copy(p[n:], s.out)
			s.out = s.out[c:]
			n += c
		case s.held:
			if n > 0 {
				return n, nil
			}
			s.held = false
			s.strip(s.fields[1:s.nfields], s.hdr, s.total)
		case s.raw || s.pass > 0:
			if n > 0 && s.r.Buffered() == 0 {
				return n, nil
			}
			want := len(p) - n
			if !s.raw {
				want = min(want, s.pass)
			}
			c, err := s.r.Read(p[n : n+want])
			n += c
			if !s.raw {
				s.pass -= c
			}
			if err != nil {
				return n, err
			}
		default:
			if n > 0 && !s.lineBuffered() {
				return n, nil
			}
			if err := s.next(n > 0); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// lineBuffered reports whether a whole line waits in the buffer.
func (s *stripReader) lineBuffered() bool {
	b, _ := s.r.Peek(s.r.Buffered())
	return bytes.IndexByte(b, '\n') >= 0
}

// next reads the control line that starts at the reader's position and sets out and
// pass for it; with nonBlocking, an HMSG whose header block is not buffered yet is held
// for the next Read rather than waited for.
func (s *stripReader) next(nonBlocking bool) error {
	// Decide from the first byte before waiting for a whole line: a TLS handshake never
	// sends a newline the other side would wait for.
	first, err := s.r.Peek(1)
	if err != nil {
		return err
	}
	switch first[0] {
	case 'M', 'm', 'H', 'h', 'P', 'p', '+', '-', 'I', 'i':
	default:
		s.raw = true
		return nil
	}
	line, err := s.r.ReadSlice('\n')
	if err != nil {
		if len(line) == 0 {
			return err
		}
		// A line longer than the buffer (none of the protocol is), or the connection
		// ended inside one: hand out what came and stop interpreting.
		s.raw = true
		s.line = append(s.line[:0], line...)
		s.out = s.line
		return nil
	}
	s.line = append(s.line[:0], line...)
	s.out = s.line
	n := splitOp(s.line, &s.fields)
	if n == 0 {
		s.raw = true
		return nil
	}
	op, args := s.fields[0], s.fields[1:n]
	switch {
	case equalFoldASCII(op, "MSG"):
		if n, ok := lastInt(args, 3, 4); ok {
			s.pass = n + 2
			return nil
		}
	case equalFoldASCII(op, "HMSG"):
		if len(args) == 4 || len(args) == 5 {
			hdr, hok := atoi(args[len(args)-2])
			total, tok := atoi(args[len(args)-1])
			if hok && tok && hdr <= total {
				s.pass = total + 2
				if hdr <= min(maxStripHeader, s.r.Size()) {
					if nonBlocking && s.r.Buffered() < hdr {
						s.held, s.out, s.nfields, s.hdr, s.total = true, nil, n, hdr, total
						return nil
					}
					s.strip(args, hdr, total)
				}
				return nil
			}
		}
	case equalFoldASCII(op, "PING"), equalFoldASCII(op, "PONG"), equalFoldASCII(op, "+OK"),
		equalFoldASCII(op, "-ERR"), equalFoldASCII(op, "INFO"):
		return nil
	}
	s.raw = true // not a line nats-server sends: stop interpreting
	return nil
}

// strip turns the HMSG in s.line (arguments args) into an MSG without its header block
// when that block holds PURISTA headers only; otherwise it hands it out as it is.
func (s *stripReader) strip(args [][]byte, hdr, total int) {
	s.out = s.line
	block, err := s.r.Peek(hdr)
	if err != nil || !puristaHeadersOnly(block) {
		return
	}
	// Rebuild the line in place of the old one: args point into s.line, so the new line
	// goes after it and is then moved to the front.
	old := len(s.line)
	s.line = append(s.line, "MSG"...)
	for _, a := range args[:len(args)-2] {
		s.line = append(s.line, ' ')
		s.line = append(s.line, a...)
	}
	s.line = append(s.line, ' ')
	s.line = strconv.AppendInt(s.line, int64(total-hdr), 10)
	s.line = append(s.line, '\r', '\n')
	s.line = append(s.line[:0], s.line[old:]...)
	s.out = s.line
	_, _ = s.r.Discard(hdr)
	s.pass = total - hdr + 2
}

// puristaHeadersOnly reports whether block is a NATS header block without a status
// ("NATS/1.0" alone on the first line) whose every header is one of WIRE.md's names.
func puristaHeadersOnly(block []byte) bool {
	rest, ok := bytes.CutPrefix(block, []byte("NATS/1.0\r\n"))
	if !ok || !bytes.HasSuffix(rest, []byte("\r\n")) {
		return false
	}
	for {
		line, after, ok := bytes.Cut(rest, []byte("\r\n"))
		if !ok {
			return false
		}
		if len(line) == 0 {
			return len(after) == 0
		}
		// nats.go ends a header line at any LF (nextHeaderLine): a lone CR or LF inside
		// the line could hide another header from this check.
		name, _, ok := bytes.Cut(line, []byte(":"))
		if !ok || !wire.IsHeaderName(string(name)) || bytes.IndexByte(line, '\r') >= 0 || bytes.IndexByte(line, '\n') >= 0 {
			return false
		}
		rest = after
	}
}

// splitOp splits a control line into fields (separated by spaces or tabs, the line's
// CRLF dropped) and returns how many there are; 0 for a line of more than len(fields).
func splitOp(line []byte, fields *[8][]byte) int {
	line = bytes.TrimRight(line, "\r\n")
	n := 0
	for i := 0; i < len(line); {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		j := i
		for j < len(line) && line[j] != ' ' && line[j] != '\t' {
			j++
		}
		if j > i {
			if n == len(fields) {
				return 0
			}
			fields[n] = line[i:j]
			n++
		}
		i = j
	}
	return n
}

// lastInt returns the last of args as a size when there are lo to hi arguments.
func lastInt(args [][]byte, lo, hi int) (int, bool) {
	if len(args) < lo || len(args) > hi {
		return 0, false
	}
	return atoi(args[len(args)-1])
}

// atoi parses a non-negative decimal size.
func atoi(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 10 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// equalFoldASCII reports whether b is s in any letter case.
func equalFoldASCII(b []byte, s string) bool {
	return len(b) == len(s) && bytes.EqualFold(b, []byte(s))
}
