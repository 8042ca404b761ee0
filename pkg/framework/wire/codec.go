package wire

import (
	"sync"

	gojson "github.com/goccy/go-json"
)

// The envelope is encoded on every hop of every message with github.com/goccy/go-json, a
// drop-in for encoding/json that is faster on this struct (BenchmarkDecode), and
// decoded by decodeEnvelope (decode_fast.go), or, for what that declines, through
// internal/jsonx (goccy, then encoding/json for what goccy rejects, so errors read the
// same). encoding/json stays the reference: FuzzCodec checks that every path agrees with
// it on every input.

// encodeFast returns the compact encoding of m (HTML characters not escaped, as
// JavaScript's JSON.stringify) with goccy/go-json, and whether it succeeded.
func encodeFast(m *Message) ([]byte, bool) {
	b, err := gojson.MarshalWithOption(m, gojson.DisableHTMLEscape())
	return b, err == nil
}

// Buffers hands out Buffers for reuse, so that a bridge encodes every message it sends
// into memory it already has instead of a new slice per message (Encode's copy is a
// third of the bytes a NATS call allocates). The zero value is ready; safe for
// concurrent use.
type Buffers struct{ pool sync.Pool }

// Get returns a Buffer, a reused one when there is one.
func (p *Buffers) Get() *Buffer {
	if b, ok := p.pool.Get().(*Buffer); ok {
		return b
	}
	return &Buffer{}
}

// Put returns b for reuse; b and the bytes its Encode returned must not be used after.
// A buffer that grew past maxKeptBuffer is dropped instead.
func (p *Buffers) Put(b *Buffer) {
	if cap(b.out) <= maxKeptBuffer {
		p.pool.Put(b)
	}
}

// maxKeptBuffer bounds the memory Buffers keeps per buffer.
const maxKeptBuffer = 64 << 10

// Buffer encodes messages into memory it reuses. The zero value is ready; a Buffer is
// for one goroutine at a time.
type Buffer struct {
	out []byte
	enc *gojson.Encoder
}

// Encode encodes m exactly as Encode does and returns the bytes, which stay valid until
// the next Encode or until b is returned to its Buffers.
func (b *Buffer) Encode(m *Message) ([]byte, error) {
	if b.enc == nil {
		b.enc = gojson.NewEncoder((*appendWriter)(b))
		b.enc.SetEscapeHTML(false)
	}
	b.out = b.out[:0]
	if err := b.enc.Encode(m); err == nil && len(b.out) > 0 {
		return b.out[:len(b.out)-1], nil // without Encode's newline
	}
	out, err := encodeSlow(m)
	if err != nil {
		return nil, err
	}
	b.out = append(b.out[:0], out...)
	return b.out, nil
}

// appendWriter is the io.Writer of a Buffer's encoder: it appends to the Buffer's bytes.
type appendWriter Buffer

func (w *appendWriter) Write(p []byte) (int, error) {
	w.out = append(w.out, p...)
	return len(p), nil
}
