package mqtt_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/purista-go/purista/pkg/framework/wire"
)

// tsOutcome is what a TypeScript PURISTA caller makes of a response.
type tsOutcome struct {
	corr        string          // the pending invocation it settles
	success     bool            // resolved (else rejected)
	payload     json.RawMessage // success: the value resolved with (compacted)
	status      int             // error: HandledError/UnhandledError status
	message     string          // error: its message
	data        string          // error: its data (compacted JSON, "" without)
	handled     bool            // error: HandledError (else UnhandledError)
	traceparent string          // the trace context its span continues
}

// tsReadsResponse reads a response as TypeScript PURISTA's MQTT caller does
// (handleCommandResponse of @purista/mqttbridge 1.11, read from its source): the trace
// context from the traceparent user property or else the body's otp; the body parsed as
// JSON (user properties are not used otherwise); it must be a command response; the
// pending invocation is the correlation data or else the body's correlationId; a success
// resolves with the body's payload, an error rejects with HandledError or UnhandledError
// built from the payload's status, message and data.
func tsReadsResponse(p *paho.Publish) (tsOutcome, error) {
	var body struct {
		MessageType    string          `json:"messageType"`
		CorrelationID  string          `json:"correlationId"`
		IsHandledError bool            `json:"isHandledError"`
		Payload        json.RawMessage `json:"payload"`
		OTP            string          `json:"otp"`
	}
	if err := json.Unmarshal(p.Payload, &body); err != nil {
		return tsOutcome{}, fmt.Errorf("unable to parse received MQTT message: %w", err)
	}
	var o tsOutcome
	if p.Properties != nil {
		o.traceparent = p.Properties.User.Get("traceparent")
	}
	if o.traceparent == "" && body.OTP != "" {
		var carrier map[string]string
		if err := json.Unmarshal([]byte(body.OTP), &carrier); err == nil {
			o.traceparent = carrier["traceparent"]
		}
	}
	switch body.MessageType {
	case string(wire.TypeCommandSuccessResponse), string(wire.TypeCommandErrorResponse):
	default:
		return tsOutcome{}, errors.New("the received message is not a command")
	}
	o.corr = body.CorrelationID
	if p.Properties != nil && len(p.Properties.CorrelationData) > 0 {
		o.corr = string(p.Properties.CorrelationData)
	}
	if body.MessageType == string(wire.TypeCommandSuccessResponse) {
		o.success, o.payload = true, compact(body.Payload)
		return o, nil
	}
	var ep struct {
		Status  int             `json:"status"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body.Payload, &ep); err != nil {
		return tsOutcome{}, fmt.Errorf("error payload: %w", err)
	}
	o.status, o.message, o.data, o.handled = ep.Status, ep.Message, string(compact(ep.Data)), body.IsHandledError
	return o, nil
}

func compact(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return raw
	}
	return b.Bytes()
}

// traceID is the W3C trace id of a traceparent.
func traceID(tp string) string {
	parts := strings.Split(tp, "-")
	if len(parts) != 4 {
		return ""
	}
	return parts[1]
}

// capturePublish turns a capture record into the PUBLISH a reader received.
func capturePublish(c capture) *paho.Publish {
	props := &paho.PublishProperties{ContentType: c.Properties.ContentType, CorrelationData: []byte(c.Properties.CorrelationData)}
	for k, v := range c.Properties.UserProperties {
		props.User.Add(k, v)
	}
	return &paho.Publish{QoS: c.QoS, Topic: c.Topic, Payload: c.Body, Properties: props}
}

// TestGoldenReplyAcceptedByTS: purista answers the captured TypeScript commands (seq 10,
// 14, 16) the way the TypeScript Email service did (seq 11, 15, 17), and a TypeScript
// caller reading our body-only replies reaches the same outcome as with the captured
// replies: same invocation settled, same value or error, same trace. The replies carry no
// PURISTA user properties (the deviation); topic, QoS, content type, correlation data and
// the body's fields are those of the capture.
func TestGoldenReplyAcceptedByTS(t *testing.T) {
	addr := brokerAddr(t)
	caps := loadCaptures(t)
	sfx := wire.NewID()[:8]
	email := start(t, addr)
	r := renamer{
		"WireCapture": "WireCapture" + sfx, "User": "User" + sfx, "Email": "Email" + sfx,
		capClient: wire.NewID(), capUser: wire.NewID(), capEmail: email.InstanceID(),
	}
	raw := dialRaw(t, addr)
	raw.sub(t, wire.MQTTResponseFilter(r[capClient]))
	raw.sub(t, wire.MQTTResponseFilter(r[capUser]))

	reg := func(target string, answer func(cmd *wire.Message) *wire.Message) {
		register(t, email, wire.Address{ServiceName: "Email" + sfx, ServiceVersion: "1", ServiceTarget: target},
			func(_ context.Context, cmd *wire.Message) *wire.Message {
				resp := answer(cmd)
				if resp != nil {
					resp.OTP = cmd.OTP // as the framework runtime does
				}
				return resp
			})
	}
	handled := true
	reg("sendWelcome", func(*wire.Message) *wire.Message {
		return &wire.Message{MessageType: wire.TypeCommandSuccessResponse, Payload: json.RawMessage(`{"sent":true}`)}
	})
	reg("failHandled", func(*wire.Message) *wire.Message {
		return &wire.Message{MessageType: wire.TypeCommandErrorResponse, IsHandledError: &handled,
			Payload: json.RawMessage(`{"status":404,"message":"welcome template not found","data":{"reason":"nope"}}`)}
	})
	reg("failUnhandled", func(*wire.Message) *wire.Message { return nil }) // an unhandled failure

	for _, pair := range []struct {
		name      string
		cmd, resp int
	}{{"success (seq 11)", 10, 11}, {"handled 404 (seq 15)", 14, 15}, {"unhandled 500 (seq 17)", 16, 17}} {
		t.Run(pair.name, func(t *testing.T) {
			cmdCap, respCap := caps[pair.cmd], caps[pair.resp]
			want, err := tsReadsResponse(capturePublish(respCap))
			if err != nil {
				t.Fatalf("the oracle rejects the captured TypeScript reply: %v", err)
			}
			var capCmd wire.Message
			if err := json.Unmarshal(cmdCap.Body, &capCmd); err != nil {
				t.Fatal(err)
			}
			if want.corr != capCmd.CorrelationID {
				t.Fatalf("the oracle settles %s for the capture, want %s", want.corr, capCmd.CorrelationID)
			}

			// Send the command as the TypeScript caller did, with a fresh correlationId.
			corr := wire.NewID()
			var body map[string]any
			_ = json.Unmarshal(r.body(t, cmdCap.Body), &body)
			body["correlationId"], body["id"] = corr, wire.NewID()
			payload, _ := json.Marshal(body)
			props := &paho.PublishProperties{ContentType: cmdCap.Properties.ContentType, MessageExpiry: cmdCap.Properties.Expiry,
				CorrelationData: []byte(corr)}
			for k, v := range cmdCap.Properties.UserProperties {
				props.User.Add(k, r.value(v))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if _, err := raw.Publish(ctx, &paho.Publish{QoS: 1, Topic: r.topic(cmdCap.Topic), Payload: payload, Properties: props}); err != nil {
				t.Fatal(err)
			}
			var got *paho.Publish
			waitFor(t, 10*time.Second, "the reply", func() bool {
				for _, p := range raw.received() {
					if string(p.Properties.CorrelationData) == corr {
						got = p
						return true
					}
				}
				return false
			})

			if wt := r.topic(respCap.Topic); got.Topic != wt {
				t.Errorf("topic\n got %s\nwant %s", got.Topic, wt)
			}
			if got.QoS != respCap.QoS || got.Retain != respCap.Retain || got.Properties.ContentType != respCap.Properties.ContentType {
				t.Errorf("qos/retain/contentType = %d/%v/%q, capture %d/%v/%q", got.QoS, got.Retain, got.Properties.ContentType,
					respCap.QoS, respCap.Retain, respCap.Properties.ContentType)
			}
			if len(got.Properties.User) != 0 {
				t.Errorf("a point-to-point reply carries user properties %v", got.Properties.User)
			}
			if g, w := bodyKeys(t, got.Payload), bodyKeys(t, respCap.Body); !slices.Equal(g, w) {
				t.Errorf("body fields = %v, capture %v", g, w)
			}
			out, err := tsReadsResponse(got)
			if err != nil {
				t.Fatalf("a TypeScript caller rejects our reply: %v\n%s", err, got.Payload)
			}
			if out.corr != corr {
				t.Errorf("settles invocation %s, want %s", out.corr, corr)
			}
			if !bytes.Equal(out.payload, want.payload) || out.success != want.success || out.status != want.status ||
				out.message != want.message || out.data != want.data || out.handled != want.handled {
				t.Errorf("outcome %+v, TypeScript's reply gave %+v", out, want)
			}
			if cmdTrace := traceID(cmdCap.Properties.UserProperties["traceparent"]); traceID(out.traceparent) != cmdTrace {
				t.Errorf("the caller's span continues trace %q, want the command's %q", traceID(out.traceparent), cmdTrace)
			}
		})
	}
}
