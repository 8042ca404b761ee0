package wire

import (
	"strings"
	"sync"
	"sync/atomic"
)

// Namer builds subjects and topics like NATSSubject and MQTTTopic, remembering the
// snake-cased form of each token it has seen, so that a bridge does not snake-case the
// same service names, versions, targets and instance ids on every message. The zero value
// is ready to use and safe for concurrent use; a bridge owns one.
//
// At most NamerCapacity distinct tokens are remembered (tokens such as principal ids may
// be unbounded); further ones are snake-cased on every use.
type Namer struct {
	snake sync.Map // token → snake-cased token
	size  atomic.Int32
}

// NamerCapacity is the number of tokens a Namer remembers.
const NamerCapacity = 4096

// SnakeCase returns SnakeCase(s), memoized.
func (n *Namer) SnakeCase(s string) string {
	if v, ok := n.snake.Load(s); ok {
		return v.(string)
	}
	v := SnakeCase(s)
	if n.size.Load() < NamerCapacity {
		if _, loaded := n.snake.LoadOrStore(s, v); !loaded {
			n.size.Add(1)
		}
	}
	return v
}

// NATSSubject returns NATSSubject(t).
func (n *Namer) NATSSubject(t Tokens) string { return n.join(t, ".", n.SnakeCase(NATSEmptyToken)) }

// MQTTTopic returns MQTTTopic(t).
func (n *Namer) MQTTTopic(t Tokens) string { return n.join(t, "/", n.SnakeCase(MQTTEmptyToken)) }

// join is the memoized form of join(t, sep, empty).
func (n *Namer) join(t Tokens, sep, empty string) string {
	l := t.list()
	size := len(Prefix)
	for i, v := range l {
		if v == "" {
			l[i] = empty
		} else {
			l[i] = n.SnakeCase(v)
		}
		size += len(sep) + len(l[i])
	}
	var b strings.Builder
	b.Grow(size)
	b.WriteString(Prefix)
	for _, v := range l {
		b.WriteString(sep)
		b.WriteString(v)
	}
	return b.String()
}
