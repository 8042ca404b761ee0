package wire

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// The capture files in testdata are captured TypeScript PURISTA traffic: real messages
// of TypeScript PURISTA 1.11.0 on NATS, RabbitMQ and MQTT (see docs/wire-format.md).

type natsRecord struct {
	Seq         int               `json:"seq"`
	What        string            `json:"what"`
	Subject     string            `json:"subject"`
	Reply       *string           `json:"reply"`
	Headers     map[string]string `json:"headers"`
	BodyBytes   int               `json:"bodyBytes"`
	Body        json.RawMessage   `json:"body"`
	Undelivered bool              `json:"undelivered"`
}

type amqpRecord struct {
	Seq        int               `json:"seq"`
	What       string            `json:"what"`
	Exchange   string            `json:"exchange"`
	RoutingKey string            `json:"routingKey"`
	Properties amqpProperties    `json:"properties"`
	Headers    map[string]string `json:"headers"`
	BodyBytes  int               `json:"bodyBytes"`
	Body       json.RawMessage   `json:"body"`
}

type amqpProperties struct {
	ContentType     string  `json:"contentType"`
	ContentEncoding string  `json:"contentEncoding"`
	DeliveryMode    int     `json:"deliveryMode"`
	CorrelationID   *string `json:"correlationId"`
	ReplyTo         *string `json:"replyTo"`
	MessageID       string  `json:"messageId"`
	Timestamp       int64   `json:"timestamp"`
	Type            string  `json:"type"`
}

type mqttRecord struct {
	Seq        int             `json:"seq"`
	What       string          `json:"what"`
	Topic      string          `json:"topic"`
	QoS        int             `json:"qos"`
	Retain     bool            `json:"retain"`
	Properties mqttProperties  `json:"properties"`
	BodyBytes  int             `json:"bodyBytes"`
	Body       json.RawMessage `json:"body"`
}

type mqttProperties struct {
	ContentType     string            `json:"contentType"`
	UserProperties  map[string]string `json:"userProperties"`
	CorrelationData *string           `json:"correlationData"`
}

func loadJSON[T any](t *testing.T, name string) T {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

// body returns the captured body as the bytes that were on the wire: the record's JSON
// compacted, which reproduces the captured length.
func body(t *testing.T, raw json.RawMessage, wantLen int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != wantLen {
		t.Errorf("re-marshalled body has %d bytes, capture says %d", buf.Len(), wantLen)
	}
	return buf.Bytes()
}

// checkDecode decodes a captured body, checks the exact round trip and that our encoding
// carries the same JSON as PURISTA's, apart from the ignored "sennder" field.
func checkDecode(t *testing.T, data []byte) *Message {
	t.Helper()
	m, err := Decode(data)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	enc, err := Encode(m)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	m2, err := Decode(enc)
	if err != nil {
		t.Fatalf("Decode(Encode): %v", err)
	}
	if !sameMessage(m, m2) {
		t.Errorf("round trip differs:\n got %+v\nwant %+v", m2, m)
	}
	var orig, ours map[string]any
	if err := json.Unmarshal(data, &orig); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(enc, &ours); err != nil {
		t.Fatal(err)
	}
	delete(orig, "sennder")
	if !reflect.DeepEqual(orig, ours) {
		t.Errorf("Encode changed the JSON:\n got %s\nwant %s", enc, data)
	}
	return m
}

// checkHeaders compares the headers we would attach with the captured ones: every
// non-empty captured header must be produced with the same value (traceparent: the same
// W3C trace id, since PURISTA's header names the publishing span and otp the handler's);
// every header we produce must have been captured, except the names in extra.
func checkHeaders(t *testing.T, got, captured map[string]string, extra ...string) {
	t.Helper()
	for name, want := range captured {
		if want == "" {
			continue // PURISTA sends senderServiceTarget "" for service-level info; we omit it
		}
		g, ok := got[name]
		switch {
		case !ok:
			t.Errorf("header %s=%q captured, not produced", name, want)
		case name == HeaderTraceParent:
			if TraceIDOf(g) == "" || TraceIDOf(g) != TraceIDOf(want) {
				t.Errorf("traceparent %q, captured %q: trace ids differ", g, want)
			}
		case g != want:
			t.Errorf("header %s=%q, captured %q", name, g, want)
		}
	}
	for name, v := range got {
		if _, ok := captured[name]; !ok && !slices.Contains(extra, name) {
			t.Errorf("header %s=%q produced, not captured", name, v)
		}
	}
}

// snaked returns t with every token mangled and placeholders read back as "", the form
// the parsers return.
func snaked(t Tokens) Tokens {
	var l [12]string
	for i, v := range t.list() {
		l[i] = SnakeCase(v)
	}
	return tokensFromList(l)
}

func TestGoldenNATS(t *testing.T) {
	records := loadJSON[[]natsRecord](t, "nats.json")
	if len(records) != 18 {
		t.Fatalf("%d records, want 18", len(records))
	}
	for _, r := range records {
		t.Run(r.What, func(t *testing.T) {
			m := checkDecode(t, body(t, r.Body, r.BodyBytes))
			if r.Headers != nil {
				checkHeaders(t, Headers(m), r.Headers)
			} else if m.MessageType != TypeCommand {
				t.Errorf("only commands come without headers, got %s", m.MessageType)
			}
			if !strings.HasPrefix(r.Subject, Prefix+".") {
				if !strings.HasPrefix(r.Subject, "_INBOX.") || !m.MessageType.IsResponse() {
					t.Errorf("unexpected subject %q for %s", r.Subject, m.MessageType)
				}
				return
			}
			got := NATSSubject(TokensOf(m))
			want := r.Subject
			if r.Undelivered {
				// PURISTA left the empty service target empty; we use the placeholder.
				if !strings.Contains(want, "..") || m.Sender.ServiceTarget != "" {
					t.Fatalf("undelivered record without empty token: %q", want)
				}
				want = strings.Replace(want, "..", ".empty.", 1)
			}
			if got != want {
				t.Errorf("NATSSubject\n got %s\nwant %s", got, want)
			}
			for _, s := range []string{r.Subject, got} {
				parsed, err := ParseNATSSubject(s)
				if err != nil {
					t.Fatal(err)
				}
				if want := snaked(TokensOf(m)); parsed != want {
					t.Errorf("ParseNATSSubject(%s)\n got %+v\nwant %+v", s, parsed, want)
				}
			}
			if m.MessageType == TypeCommand && (r.Reply == nil || !strings.HasPrefix(*r.Reply, "_INBOX.")) {
				t.Errorf("command without inbox reply subject")
			}
		})
	}
}

func TestGoldenMQTT(t *testing.T) {
	records := loadJSON[[]mqttRecord](t, "mqtt.json")
	if len(records) != 17 {
		t.Fatalf("%d records, want 17", len(records))
	}
	collapsed := 0
	for _, r := range records {
		t.Run(r.What, func(t *testing.T) {
			m := checkDecode(t, body(t, r.Body, r.BodyBytes))
			checkHeaders(t, Headers(m), r.Properties.UserProperties)
			if r.Properties.ContentType != ContentTypeJSON || r.QoS != 1 || r.Retain {
				t.Errorf("contentType %q qos %d retain %v", r.Properties.ContentType, r.QoS, r.Retain)
			}
			if cd := r.Properties.CorrelationData; cd != nil && *cd != m.CorrelationID {
				t.Errorf("correlationData %q, body correlationId %q", *cd, m.CorrelationID)
			}
			got := MQTTTopic(TokensOf(m))
			want := r.Topic
			if strings.Count(r.Topic, "/") == 11 {
				// PURISTA's path join dropped the empty service target; we keep a level.
				collapsed++
				if m.Sender.ServiceTarget != "" {
					t.Fatalf("12-level topic with sender target %q", m.Sender.ServiceTarget)
				}
				l := strings.Split(want, "/")
				want = strings.Join(slices.Insert(l, 7, "none"), "/")
			}
			if got != want {
				t.Errorf("MQTTTopic\n got %s\nwant %s", got, want)
			}
			for _, s := range []string{r.Topic, got} {
				parsed, err := ParseMQTTTopic(s)
				if err != nil {
					t.Fatal(err)
				}
				if want := snaked(TokensOf(m)); parsed != want {
					t.Errorf("ParseMQTTTopic(%s)\n got %+v\nwant %+v", s, parsed, want)
				}
			}
		})
	}
	if collapsed != 4 {
		t.Errorf("%d 12-level topics, want 4 (init and ready of two services)", collapsed)
	}
}

func TestGoldenAMQP(t *testing.T) {
	records := loadJSON[[]amqpRecord](t, "amqp.json")
	if len(records) != 17 {
		t.Fatalf("%d records, want 17", len(records))
	}
	sennder := 0
	for _, r := range records {
		t.Run(r.What, func(t *testing.T) {
			data := body(t, r.Body, r.BodyBytes)
			if bytes.Contains(data, []byte(`"sennder":`)) {
				sennder++
			}
			m := checkDecode(t, data)
			checkHeaders(t, AMQPHeaders(m, r.Headers[HeaderReplyTo]), r.Headers, HeaderReceiverInstanceID)
			if _, ok := r.Headers[HeaderReplyTo]; ok != m.MessageType.IsResponse() {
				t.Errorf("replyTo header present=%v for %s", ok, m.MessageType)
			}
			if r.Exchange != AMQPExchange || r.RoutingKey != "" {
				t.Errorf("exchange %q routing key %q", r.Exchange, r.RoutingKey)
			}
			p := r.Properties
			if p.MessageID != m.ID || p.Timestamp != m.Timestamp || p.Type != string(m.MessageType) ||
				p.ContentType != m.ContentType || p.ContentEncoding != m.ContentEncoding || p.DeliveryMode != 2 {
				t.Errorf("properties %+v do not match the envelope", p)
			}
			if m.CorrelationID != "" && (p.CorrelationID == nil || *p.CorrelationID != m.CorrelationID) {
				t.Errorf("correlationId property %v, body %q", p.CorrelationID, m.CorrelationID)
			}
			if (p.ReplyTo != nil) != (m.MessageType == TypeCommand) {
				t.Errorf("replyTo property %v on %s", p.ReplyTo, m.MessageType)
			}
		})
	}
	if sennder != 4 {
		t.Errorf("%d bodies with sennder, want 4 (every response)", sennder)
	}
}

type natsTopology struct {
	Subscriptions []struct {
		Bridge  string `json:"bridge"`
		Subject string `json:"subject"`
		Queue   string `json:"queue"`
	} `json:"puristaSubscriptions"`
}

type mqttTopology struct {
	Instances map[string]struct {
		InstanceID string `json:"instanceId"`
	} `json:"instances"`
	Subscriptions []struct {
		Bridge string `json:"bridge"`
		Topic  string `json:"topic"`
	} `json:"puristaSubscriptions"`
}

type amqpTopology struct {
	Instances map[string]struct {
		ReplyQueue string `json:"replyQueue"`
	} `json:"instances"`
	Declared struct {
		Exchanges []struct {
			Name    string `json:"name"`
			Type    string `json:"type"`
			Durable bool   `json:"durable"`
		} `json:"exchanges"`
		Queues []struct {
			Name string `json:"name"`
		} `json:"queues"`
		Bindings []struct {
			Source      string     `json:"source_name"`
			Destination string     `json:"destination_name"`
			Arguments   [][]string `json:"arguments"`
		} `json:"bindings"`
	} `json:"amqpDeclared"`
}

// The endpoints of the capture run.
var (
	sendWelcome    = Address{ServiceName: "Email", ServiceVersion: "1", ServiceTarget: "sendWelcome"}
	failHandled    = Address{ServiceName: "Email", ServiceVersion: "1", ServiceTarget: "failHandled"}
	failUnhandled  = Address{ServiceName: "Email", ServiceVersion: "1", ServiceTarget: "failUnhandled"}
	signUp         = Address{ServiceName: "User", ServiceVersion: "1", ServiceTarget: "signUp"}
	onUserSignedUp = Address{ServiceName: "Email", ServiceVersion: "1", ServiceTarget: "onUserSignedUp"}
	userSignedUp   = Tokens{EventName: "userSignedUp"}
)

func TestGoldenNATSTopology(t *testing.T) {
	topo := loadJSON[natsTopology](t, "nats.topology.json")
	var got []string
	for _, s := range topo.Subscriptions {
		got = append(got, s.Bridge+" "+s.Subject+" "+s.Queue)
	}
	want := []string{
		"Email " + NATSCommandSubject(sendWelcome) + " " + NATSQueueGroup(sendWelcome),
		"Email " + NATSCommandSubject(failHandled) + " " + NATSQueueGroup(failHandled),
		"Email " + NATSCommandSubject(failUnhandled) + " " + NATSQueueGroup(failUnhandled),
		"Email " + NATSPattern(userSignedUp) + " " + NATSQueueGroup(onUserSignedUp),
		"User " + NATSCommandSubject(signUp) + " " + NATSQueueGroup(signUp),
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("subscriptions\n got %q\nwant %q", got, want)
	}
}

func TestGoldenMQTTTopology(t *testing.T) {
	topo := loadJSON[mqttTopology](t, "mqtt.topology.json")
	var got []string
	for _, s := range topo.Subscriptions {
		got = append(got, s.Bridge+" "+s.Topic)
	}
	var want []string
	for _, role := range []string{"client", "User", "Email"} {
		want = append(want, role+" "+MQTTResponseFilter(topo.Instances[role].InstanceID))
	}
	want = append(want,
		"Email "+MQTTCommandFilter(sendWelcome, MQTTDefaultShare),
		"Email "+MQTTCommandFilter(failHandled, MQTTDefaultShare),
		"Email "+MQTTCommandFilter(failUnhandled, MQTTDefaultShare),
		"Email "+MQTTShared(MQTTDefaultShare, MQTTPattern(userSignedUp)),
		"User "+MQTTCommandFilter(signUp, MQTTDefaultShare),
	)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("subscriptions\n got %q\nwant %q", got, want)
	}
}

func TestGoldenAMQPTopology(t *testing.T) {
	topo := loadJSON[amqpTopology](t, "amqp.topology.json")
	d := topo.Declared
	if len(d.Exchanges) != 1 || d.Exchanges[0].Name != AMQPExchange || d.Exchanges[0].Type != "headers" || !d.Exchanges[0].Durable {
		t.Errorf("exchanges %+v", d.Exchanges)
	}
	// The bindings to the purista exchange, as destination → arguments.
	bindings := map[string]map[string]string{}
	for _, b := range d.Bindings {
		if b.Source != AMQPExchange {
			continue // the default exchange's implicit bindings
		}
		args := map[string]string{}
		for _, a := range b.Arguments {
			if len(a) != 3 || a[1] != "longstr" {
				t.Fatalf("binding argument %q", a)
			}
			args[a[0]] = a[2]
		}
		bindings[b.Destination] = args
	}
	want := map[string]map[string]string{
		AMQPCommandQueue(sendWelcome):         AMQPCommandBindingArgs(sendWelcome),
		AMQPCommandQueue(failHandled):         AMQPCommandBindingArgs(failHandled),
		AMQPCommandQueue(failUnhandled):       AMQPCommandBindingArgs(failUnhandled),
		AMQPCommandQueue(signUp):              AMQPCommandBindingArgs(signUp),
		AMQPSubscriptionQueue(onUserSignedUp): AMQPBindingArgs(userSignedUp),
	}
	for _, inst := range topo.Instances {
		want[inst.ReplyQueue] = AMQPReplyBindingArgs(inst.ReplyQueue)
	}
	if !reflect.DeepEqual(bindings, want) {
		t.Errorf("bindings\n got %v\nwant %v", bindings, want)
	}
	var queues []string
	for _, q := range d.Queues {
		queues = append(queues, q.Name)
	}
	for name := range want {
		if !slices.Contains(queues, name) {
			t.Errorf("queue %s not declared; declared: %q", name, queues)
		}
	}
}
