package supervise

import (
	"bytes"
	"strings"
	"sync"
)

// tailBuffer keeps the last max bytes written to it (a process's stderr, shown when it
// crashes).
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
	cut bool // the front was dropped in the middle of a line
}

// Write implements io.Writer.
func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.cut = t.buf[over-1] != '\n'
		t.buf = append([]byte(nil), t.buf[over:]...)
	}
	return len(p), nil
}

// String returns the kept bytes, from the first whole line on when the front was
// dropped in the middle of a line: the tail never starts with half a line.
func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buf
	if t.cut {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}

// lineWriter calls emit for every complete line written to it.
type lineWriter struct {
	mu   sync.Mutex
	emit func(string)
	buf  []byte
}

// Write implements io.Writer.
func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimRight(string(w.buf[:i]), "\r")
		w.buf = w.buf[i+1:]
		w.emit(line)
	}
	return len(p), nil
}
