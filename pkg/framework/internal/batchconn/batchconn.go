// Package batchconn wraps a network connection so that many small writes leave in one
// system call. The NATS, AMQP and MQTT bridges dial their broker connections through it.
package batchconn

import (
	"net"
	"runtime"
	"sync"
	"time"
)

// Conn is a net.Conn whose writes are copied into a buffer and written to the socket by
// its own goroutine, so that many small writes leave in one system call.
//
// The broker client libraries write each message (nats.go's flusher, amqp091's publish,
// paho's packet writer) with a system call made while they hold the connection's lock:
// every other publisher waits for it, and under load nearly every message costs a write
// on our side and a read on the broker's. Through Conn those writes only copy; the writer
// goroutine yields once before each system call (runtime.Gosched), so goroutines that are
// ready to publish run first and their messages join the same write. When nothing else is
// ready the yield returns at once, so a lone message is not delayed beyond one goroutine
// switch.
//
// Each Write is kept whole and in order, but a message written with several Write calls
// is only whole if its writer holds a lock across them (nats.go and amqp091 do). paho
// writes each MQTT packet with net.Buffers.WriteTo from several goroutines at once, which
// stays whole on a *net.TCPConn (one writev) but not through Conn alone; paho locks its
// connection across a packet's writes when the connection is a sync.Locker, so the MQTT
// bridge wraps Conn in one (pkg/framework/mqtt's mqttConn).
//
// The writer belongs to the connection: it exits when the connection is closed (after
// sending what is buffered, for at most closeFlush) or when a write fails; the error is
// then returned by the following Write. Deadlines apply to the socket writes.
type Conn struct {
	net.Conn

	mu      sync.Mutex
	room    sync.Cond // signalled when the buffer shrinks or the writer stops
	buf     []byte    // bytes accepted, not yet handed to the socket
	spare   []byte
	err     error // sticky: the first write error
	closing bool
	wake    chan struct{} // cap 1: the buffer is not empty, or Close began
	done    chan struct{} // closed when the writer has exited
}

// Bounds of Conn: a writer keeps at most maxBuffered bytes (further writes wait),
// reuses buffers of up to maxSpare bytes,
// and Close waits at most closeFlush for the buffer to be written.
const (
	maxBuffered = 4 << 20
	maxSpare    = 1 << 20 // a larger buffer is not kept for reuse (64 calls in flight can exceed 64 kB)
	closeFlush  = time.Second
)

// New wraps c and starts its writer.
func New(c net.Conn) *Conn {
	b := &Conn{Conn: c, wake: make(chan struct{}, 1), done: make(chan struct{})}
	b.room.L = &b.mu
	go b.writer()
	return b
}

// Write copies p for the writer and returns; it blocks only while maxBuffered bytes wait.
func (b *Conn) Write(p []byte) (int, error) {
	b.mu.Lock()
	for b.err == nil && !b.closing && len(b.buf) >= maxBuffered {
		b.room.Wait()
	}
	if b.err != nil || b.closing {
		err := b.err
		b.mu.Unlock()
		if err == nil {
			err = net.ErrClosed
		}
		return 0, err
	}
	wasEmpty := len(b.buf) == 0
	b.buf = append(b.buf, p...)
	b.mu.Unlock()
	if wasEmpty {
		b.signal()
	}
	return len(p), nil
}

func (b *Conn) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// writer writes what Write buffered. Write into an empty buffer and Close leave a token
// in wake; after each write the writer looks again before it waits for the next token,
// so it never sleeps while bytes wait or Close waits for it.
func (b *Conn) writer() {
	defer close(b.done)
	for range b.wake {
		for {
			runtime.Gosched() // let ready publishers add to this write
			b.mu.Lock()
			if len(b.buf) == 0 { // nothing to write: keep both buffers
				closing := b.closing
				b.mu.Unlock()
				if closing {
					return
				}
				break
			}
			out := b.buf
			b.buf, b.spare = b.spare[:0], nil
			b.mu.Unlock()
			_, err := b.Conn.Write(out)
			b.mu.Lock()
			if cap(out) <= maxSpare {
				b.spare = out[:0]
			}
			if err != nil {
				b.err = err
			}
			b.room.Broadcast()
			b.mu.Unlock()
			if err != nil {
				return
			}
		}
	}
}

// Close writes what is buffered (waiting at most closeFlush), stops the writer and closes
// the socket. It is safe to call more than once.
func (b *Conn) Close() error {
	b.mu.Lock()
	b.closing = true
	b.room.Broadcast()
	b.mu.Unlock()
	b.signal()
	t := time.NewTimer(closeFlush)
	defer t.Stop()
	select {
	case <-b.done:
	case <-t.C:
	}
	err := b.Conn.Close() // also ends a write still blocked after closeFlush
	<-b.done
	return err
}

// Dialer dials connections wrapped in Conn; it fits nats.go's CustomDialer.
type Dialer struct{ net.Dialer }

// Dial dials address and wraps the connection.
func (d *Dialer) Dial(network, address string) (net.Conn, error) {
	c, err := d.Dialer.Dial(network, address)
	if err != nil {
		return nil, err
	}
	return New(c), nil
}
