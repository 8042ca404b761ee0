package wire

import (
	"errors"
	"fmt"
	"strings"
)

// SnakeCase converts s the way TypeScript PURISTA's convertToSnakeCase does, so that Go
// and TypeScript services derive identical subject and topic tokens.
//
// PURISTA splits s into the matches of the regular expression
//
//	[A-Z]{2,}(?=[A-Z][a-z]+[0-9]*|\b)|[A-Z]?[a-z]+[0-9]*|[A-Z]|[0-9]+
//
// lower-cases each match and joins them with "_". Everything between matches (spaces,
// punctuation, "_", non-ASCII characters) is dropped. A string without any match is
// returned unchanged: "*" stays "*" and "" stays "".
//
// Examples: "commandSuccessResponse" → "command_success_response", "HTTPServer" →
// "http_server", "1.0.0" → "1_0_0", "__empty__" → "empty", "4bf92f3577b34da6" →
// "4_bf92_f3577_b34_da6".
//
// SnakeCase is idempotent: SnakeCase(SnakeCase(s)) == SnakeCase(s).
func SnakeCase(s string) string {
	var b strings.Builder
	matched := false
	for i := 0; i < len(s); {
		n := snakeToken(s, i)
		if n == 0 {
			i++
			continue
		}
		if matched {
			b.WriteByte('_')
		} else {
			b.Grow(len(s) + 8)
		}
		matched = true
		for _, c := range []byte(s[i : i+n]) {
			if isUpper(c) {
				c += 'a' - 'A'
			}
			b.WriteByte(c)
		}
		i += n
	}
	if !matched {
		return s
	}
	return b.String()
}

// snakeToken returns the length of the token PURISTA's regular expression matches at
// position i of s (the JavaScript semantics: alternatives in order, greedy quantifiers
// with backtracking), or 0 when no alternative matches there.
//
// JavaScript regular expressions without the u flag work on UTF-16 code units and treat
// only ASCII letters, digits and "_" as word characters, so working on bytes is exact:
// bytes of multi-byte UTF-8 sequences are never letters, digits or word characters.
func snakeToken(s string, i int) int {
	// Alternative 1: [A-Z]{2,}(?=[A-Z][a-z]+[0-9]*|\b).
	// Let run be the maximal run of capitals at i. Backtracking tries lengths run, run-1,
	// …, 2. At length run the next byte is not a capital, so only \b can hold: the end of
	// s or a non-word byte. At length run-1 the next byte is a capital, so \b fails and
	// the lookahead needs a lower-case letter right after it, i.e. at i+run. Shorter
	// lengths are followed by two capitals and fail both lookaheads.
	run := 0
	for i+run < len(s) && isUpper(s[i+run]) {
		run++
	}
	if run >= 2 {
		end := i + run
		if end == len(s) || !isWord(s[end]) {
			return run
		}
		if run-1 >= 2 && isLower(s[end]) {
			return run - 1
		}
	}
	// Alternative 2: [A-Z]?[a-z]+[0-9]* (the optional capital is tried first).
	j := i
	if j < len(s) && isUpper(s[j]) && j+1 < len(s) && isLower(s[j+1]) {
		j++
	}
	if j < len(s) && isLower(s[j]) {
		for j < len(s) && isLower(s[j]) {
			j++
		}
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		return j - i
	}
	// Alternative 3: [A-Z].
	if run >= 1 {
		return 1
	}
	// Alternative 4: [0-9]+.
	j = i
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	return j - i
}

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }
func isLower(c byte) bool { return 'a' <= c && c <= 'z' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isWord(c byte) bool  { return isUpper(c) || isLower(c) || isDigit(c) || c == '_' }

// Tokens are the twelve variable levels of a PURISTA subject or topic, in wire order.
// Values are the raw envelope values (not snake-cased); the name builders mangle them.
type Tokens struct {
	MessageType            string
	PrincipalID            string
	TenantID               string
	SenderInstanceID       string
	SenderServiceName      string
	SenderServiceVersion   string
	SenderServiceTarget    string
	EventName              string
	ReceiverInstanceID     string
	ReceiverServiceName    string
	ReceiverServiceVersion string
	ReceiverServiceTarget  string
}

// TokensOf returns the subject tokens of m. A message without receiver has empty
// receiver tokens.
func TokensOf(m *Message) Tokens {
	t := Tokens{
		MessageType:          string(m.MessageType),
		PrincipalID:          m.PrincipalID,
		TenantID:             m.TenantID,
		SenderInstanceID:     m.Sender.InstanceID,
		SenderServiceName:    m.Sender.ServiceName,
		SenderServiceVersion: m.Sender.ServiceVersion,
		SenderServiceTarget:  m.Sender.ServiceTarget,
		EventName:            m.EventName,
	}
	if m.Receiver != nil {
		t.ReceiverInstanceID = m.Receiver.InstanceID
		t.ReceiverServiceName = m.Receiver.ServiceName
		t.ReceiverServiceVersion = m.Receiver.ServiceVersion
		t.ReceiverServiceTarget = m.Receiver.ServiceTarget
	}
	return t
}

// list returns the tokens in wire order.
func (t Tokens) list() [12]string {
	return [12]string{
		t.MessageType, t.PrincipalID, t.TenantID,
		t.SenderInstanceID, t.SenderServiceName, t.SenderServiceVersion, t.SenderServiceTarget,
		t.EventName,
		t.ReceiverInstanceID, t.ReceiverServiceName, t.ReceiverServiceVersion, t.ReceiverServiceTarget,
	}
}

// tokensFromList is the inverse of Tokens.list.
func tokensFromList(l [12]string) Tokens {
	return Tokens{
		MessageType: l[0], PrincipalID: l[1], TenantID: l[2],
		SenderInstanceID: l[3], SenderServiceName: l[4], SenderServiceVersion: l[5], SenderServiceTarget: l[6],
		EventName:          l[7],
		ReceiverInstanceID: l[8], ReceiverServiceName: l[9], ReceiverServiceVersion: l[10], ReceiverServiceTarget: l[11],
	}
}

// Prefix is the first token of every PURISTA subject and topic.
const Prefix = "purista"

// Placeholders PURISTA puts in place of an empty token before snake-casing it.
const (
	// NATSEmptyToken stands for an empty token in NATS subjects ("empty" after mangling).
	NATSEmptyToken = "__empty__"
	// MQTTEmptyToken stands for an empty level in MQTT topics ("none" after mangling).
	MQTTEmptyToken = "__none__"
)

// Wildcards used in subscription patterns.
const (
	// NATSWildcard matches exactly one NATS subject token.
	NATSWildcard = "*"
	// MQTTWildcard matches exactly one MQTT topic level.
	MQTTWildcard = "+"
)

// ErrInvalidName is wrapped by the errors of the subject and topic parsers.
var ErrInvalidName = errors.New("not a PURISTA subject or topic")

// join renders prefix + the 12 tokens, each empty one replaced by empty and each other one
// snake-cased.
func join(t Tokens, sep, empty string) string {
	var b strings.Builder
	b.WriteString(Prefix)
	for _, v := range t.list() {
		b.WriteString(sep)
		if v == "" {
			b.WriteString(empty)
		} else {
			b.WriteString(SnakeCase(v))
		}
	}
	return b.String()
}

// NATSSubject returns the 13-token NATS subject a message with tokens t is published on:
// "purista" and the twelve tokens, each snake-cased, joined by ".". An empty token becomes
// the placeholder (NATSEmptyToken, i.e. "empty").
//
// Unlike TypeScript PURISTA, an empty sender service target also becomes "empty": PURISTA
// leaves it empty, producing subjects with an empty token that nats-server delivers to
// nobody (docs/wire-format.md).
func NATSSubject(t Tokens) string {
	return join(t, ".", SnakeCase(NATSEmptyToken))
}

// NATSPattern returns the NATS subscription subject selecting the messages whose tokens
// equal the non-empty fields of t; each empty field becomes the wildcard "*".
func NATSPattern(t Tokens) string {
	return join(t, ".", NATSWildcard)
}

// NATSCommandSubject returns the subject a command handler for a subscribes to:
// "purista.command.*.*.*.*.*.*.*.*.<svc>.<ver>.<target>" (snake-cased).
func NATSCommandSubject(a Address) string {
	return NATSPattern(commandTokens(a))
}

// NATSQueueGroup returns the queue group shared by the instances of a command handler or
// subscription at a: "purista_queue_<svc>_<ver>_<target>" upper-cased, not snake-cased
// (e.g. PURISTA_QUEUE_EMAIL_1_SENDWELCOME).
func NATSQueueGroup(a Address) string {
	return strings.ToUpper("purista_queue_" + a.ServiceName + "_" + a.ServiceVersion + "_" + a.ServiceTarget)
}

// NATSDeadLetterSubject returns the concrete subject (no wildcards) that purista bridges
// publish dead letters of the subscription at a to:
// "purista.deadletter.<svc>.<ver>.<target>" (snake-cased, placeholder for empty parts).
// It has five tokens, so it never matches a 13-token PURISTA pattern. This is a purista
// extension; TypeScript PURISTA has no such subject.
func NATSDeadLetterSubject(a Address) string {
	return deadLetter(a, ".", SnakeCase(NATSEmptyToken))
}

// MQTTTopic returns the 13-level MQTT topic a message with tokens t is published on:
// "purista" and the twelve tokens, each snake-cased, joined by "/". An empty token becomes
// the placeholder (MQTTEmptyToken, i.e. "none").
//
// Unlike TypeScript PURISTA, an empty sender service target also becomes "none": PURISTA
// collapses it, producing 12-level topics that no 13-level pattern matches (docs/wire-format.md).
func MQTTTopic(t Tokens) string {
	return join(t, "/", SnakeCase(MQTTEmptyToken))
}

// MQTTPattern returns the MQTT topic filter selecting the messages whose tokens equal the
// non-empty fields of t; each empty field becomes the wildcard "+".
func MQTTPattern(t Tokens) string {
	return join(t, "/", MQTTWildcard)
}

// MQTTShared prefixes an MQTT topic filter with the shared-subscription group share:
// "$share/<share>/<filter>". An empty share returns filter unchanged (not shared).
func MQTTShared(share, filter string) string {
	if share == "" {
		return filter
	}
	return "$share/" + share + "/" + filter
}

// MQTTDefaultShare is the share group TypeScript PURISTA uses for every shared
// subscription.
const MQTTDefaultShare = "sharedpurista"

// MQTTSubscriptionShare returns the share group purista uses for a shared subscription
// at a: "purista_<svc>_<ver>_<target>", each part snake-cased (e.g.
// purista_email_1_on_user_signed_up). Unlike TypeScript PURISTA, which puts every shared
// subscription into MQTTDefaultShare, each subscription gets a group of its own, so two
// services subscribing to the same filter both receive every message.
func MQTTSubscriptionShare(a Address) string {
	parts := []string{Prefix, a.ServiceName, a.ServiceVersion, a.ServiceTarget}
	for i := 1; i < len(parts); i++ {
		if parts[i] == "" {
			parts[i] = SnakeCase(MQTTEmptyToken)
		} else {
			parts[i] = SnakeCase(parts[i])
		}
	}
	return strings.Join(parts, "_")
}

// MQTTCommandFilter returns the subscription filter of a command handler for a,
// "$share/<share>/purista/command/+/+/+/+/+/+/+/+/<svc>/<ver>/<target>". TypeScript
// PURISTA uses the share MQTTDefaultShare. An empty share gives the unshared filter.
func MQTTCommandFilter(a Address, share string) string {
	return MQTTShared(share, MQTTPattern(commandTokens(a)))
}

// MQTTResponseFilter returns the filter an instance subscribes to for the responses
// addressed to it: "purista/+/+/+/+/+/+/+/+/<snake(instanceID)>/+/+/+".
func MQTTResponseFilter(instanceID string) string {
	return MQTTPattern(Tokens{ReceiverInstanceID: instanceID})
}

// MQTTDeadLetterTopic returns the concrete topic purista bridges publish dead letters of
// the subscription at a to: "purista/deadletter/<svc>/<ver>/<target>" (snake-cased,
// placeholder for empty parts). This is a purista extension.
func MQTTDeadLetterTopic(a Address) string {
	return deadLetter(a, "/", SnakeCase(MQTTEmptyToken))
}

func commandTokens(a Address) Tokens {
	return Tokens{
		MessageType:            string(TypeCommand),
		ReceiverServiceName:    a.ServiceName,
		ReceiverServiceVersion: a.ServiceVersion,
		ReceiverServiceTarget:  a.ServiceTarget,
	}
}

func deadLetter(a Address, sep, empty string) string {
	parts := []string{Prefix, "deadletter", a.ServiceName, a.ServiceVersion, a.ServiceTarget}
	for i := 2; i < len(parts); i++ {
		if parts[i] == "" {
			parts[i] = empty
		} else {
			parts[i] = SnakeCase(parts[i])
		}
	}
	return strings.Join(parts, sep)
}

// AMQPExchange is the name of the headers exchange every PURISTA message is published to,
// with routing key "".
const AMQPExchange = "purista"

// AMQPCommandQueue returns the queue of the command handler for a:
// "purista.cmd.<svc>.<ver>.<target>", case kept (e.g. purista.cmd.Email.1.sendWelcome).
func AMQPCommandQueue(a Address) string {
	return "purista.cmd." + a.ServiceName + "." + a.ServiceVersion + "." + a.ServiceTarget
}

// AMQPSubscriptionQueue returns the queue shared by the instances of the subscription at
// a: "purista.sub.<svc>.<ver>.<target>", case kept.
func AMQPSubscriptionQueue(a Address) string {
	return "purista.sub." + a.ServiceName + "." + a.ServiceVersion + "." + a.ServiceTarget
}

// AMQPDeadLetterQueue returns the queue purista bridges dead-letter the messages of the
// subscription at a to: "purista.dlq.<svc>.<ver>.<target>", case kept. This is a purista
// extension (TypeScript PURISTA requeues poison messages forever).
func AMQPDeadLetterQueue(a Address) string {
	return "purista.dlq." + a.ServiceName + "." + a.ServiceVersion + "." + a.ServiceTarget
}

// AMQPBindingArgs returns the arguments of a binding to AMQPExchange that selects the
// messages whose headers equal the non-empty fields of t: "x-match" "all" plus one header
// per non-empty field (raw values, not snake-cased). The receiver instance is bound on
// HeaderAMQPReceiverInstanceID, the name TypeScript PURISTA's AMQP bridge sends.
func AMQPBindingArgs(t Tokens) map[string]string {
	args := map[string]string{"x-match": "all"}
	names := tokenHeaders(true)
	for i, v := range t.list() {
		if v != "" {
			args[names[i]] = v
		}
	}
	return args
}

// AMQPCommandBindingArgs returns the binding arguments of the command queue for a:
// x-match=all, messageType=command and the receiver's service name, version and target.
func AMQPCommandBindingArgs(a Address) map[string]string {
	return AMQPBindingArgs(commandTokens(a))
}

// AMQPReplyBindingArgs returns the binding arguments of an instance's reply queue:
// x-match=all, replyTo=<queue>.
func AMQPReplyBindingArgs(queue string) map[string]string {
	return map[string]string{"x-match": "all", HeaderReplyTo: queue}
}

// ParseNATSSubject reads the tokens of a 13-token PURISTA subject. The placeholder
// "empty" and empty tokens (as TypeScript PURISTA sends for service-level info messages)
// both read as "". The values are the mangled (snake-cased) forms, good for routing
// decisions and logs only: the envelope in the body is authoritative.
func ParseNATSSubject(subject string) (Tokens, error) {
	parts := strings.Split(subject, ".")
	if len(parts) != 13 || parts[0] != Prefix {
		return Tokens{}, fmt.Errorf("%w: NATS subject %q", ErrInvalidName, subject)
	}
	return parseTokens(parts[1:], SnakeCase(NATSEmptyToken)), nil
}

// ParseMQTTTopic reads the tokens of a PURISTA MQTT topic. It accepts the 13-level form
// and the 12-level form TypeScript PURISTA produces when the sender's service target is
// empty (service-level info messages), which it reads as an empty sender target. The
// placeholder "none" reads as "". Values are the mangled forms, as for ParseNATSSubject.
func ParseMQTTTopic(topic string) (Tokens, error) {
	parts := strings.Split(topic, "/")
	if (len(parts) != 13 && len(parts) != 12) || parts[0] != Prefix {
		return Tokens{}, fmt.Errorf("%w: MQTT topic %q", ErrInvalidName, topic)
	}
	levels := parts[1:]
	if len(levels) == 11 {
		// The empty sender target collapsed: re-insert it after the sender version.
		levels = append(levels[:6:6], append([]string{""}, levels[6:]...)...)
	}
	return parseTokens(levels, SnakeCase(MQTTEmptyToken)), nil
}

func parseTokens(levels []string, empty string) Tokens {
	var l [12]string
	for i, v := range levels {
		if v != empty {
			l[i] = v
		}
	}
	return tokensFromList(l)
}
