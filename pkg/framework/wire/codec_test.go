package wire

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	gojson "github.com/goccy/go-json"
)

// codecSeeds are inputs around the edges where goccy/go-json and encoding/json could differ.
var codecSeeds = []string{
	``, ` `, `{}`, `null`, `[]`, `{"id":"a"} x`, `{"id":"a"}  `, ` {"id" : "a" , "timestamp" : 12 } `,
	`{"ID":"a"}`, `{"Id":"a","id":"b"}`, `{"id":"a","id":"b"}`, `{"iD":1}`, `{"x":1,"y":[1,{"z":null}],"w":"\u00e9\n"}`,
	`{"id":"\ud83d\ude00"}`, `{"id":"\ud83d"}`, `{"id":"\u00e9\u2028\/"}`, "{\"id\":\"\xff\"}", "{\"id\":\"é\"}",
	`{"timestamp":1e3}`, `{"timestamp":-0}`, `{"timestamp":01}`, `{"timestamp":1.0}`, `{"timestamp":9223372036854775808}`,
	`{"timestamp":"1"}`, `{"timestamp":null}`, `{"sender":null}`, `{"receiver":null}`, `{"receiver":{"serviceName":"a"},"receiver":{"serviceTarget":"b"}}`,
	`{"sender":{"serviceName":"a","SERVICENAME":"b"}}`, `{"sender":{"serviceName":"a","x":[]}}`, `{"isHandledError":true}`,
	`{"isHandledError":null}`, `{"isHandledError":1}`, `{"payload":null}`, `{"payload": {"a" : [1, 2.5e-3, "x\"y"]} }`,
	`{"payload":"<&>\u2028"}`, `{"payload":tru}`, `{"payload":[1,]}`, `{"payload":{"a":1,}}`, `{"payload":-}`, `{"payload":"\x"}`,
	`{"payload":1}{"id":"a"}`, `{"otp":"{\"traceparent\":\"00-x-y-01\"}"}`, `{"messageType":"command","eventName":null}`,
	`{"id":"a",}`, `{,"id":"a"}`, `{"id"}`, `{"id":}`, `{"id":"a"`, `{"id":"a\u12"}`, "{\"id\":\"a\tb\"}",
	`{"payload":` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `}`,
	// decodeEnvelope's edges: escaped keys, escapes it resolves, numbers and literals it
	// must refuse, members after the end.
	`{"i\u0064":"x"}`, `{"id":"\u0041\u00e9"}`, `{"otp":"{\"traceparent\":\"00-\ud800\"}"}`, `{"timestamp":+1}`,
	`{"timestamp":1 }`, `{"timestamp":-}`, `{"timestamp":-01}`, `{"receiver":{"serviceName":"a"}}x`, `{"isHandledError":tru}`,
	`{"payload":{"a":1},}`, `{"payload":"a"`, `{"sender":{"serviceName":"a"},"sender":{"serviceTarget":"b"}}`,
	`{"sender":{"serviceName":"a","serviceName":"b"}}`, `{"sender":{"ServiceName":"a"}}`, `{"x":{"a":[1,2}}`, `{"x":"\q"}`,
	"{\"id\":\"caf\xc3\"}", `{"payload":{}, "id":"a" }`, `{"id":"\/"}`, `{"sennder":{"serviceName":"x"},"id":"a"}`,
}

// FuzzCodec checks that Decode and Encode through goccy/go-json give exactly what
// encoding/json gives: the same message or the same error, and the same bytes.
func FuzzCodec(f *testing.F) {
	addCaptureSeeds(f)
	for _, s := range codecSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkCodec(t, data)
	})
}

// TestCodecSeeds runs the FuzzCodec checks over the seeds (also without -fuzz).
func TestCodecSeeds(t *testing.T) {
	for _, s := range codecSeeds {
		checkCodec(t, []byte(s))
	}
}

// decodeFast decodes data into m with goccy/go-json alone and reports whether it
// succeeded: the fast path of Decode (through jsonx), checked against encoding/json.
func decodeFast(data []byte, m *Message) bool {
	return gojson.Unmarshal(data, m) == nil
}

func checkCodec(t *testing.T, data []byte) {
	t.Helper()
	var fast, slow Message
	fastOK := decodeFast(data, &fast)
	slowErr := json.Unmarshal(data, &slow)
	if fastOK {
		if slowErr != nil {
			t.Fatalf("fast path accepted what encoding/json rejects (%v): %q", slowErr, data)
		}
		if !reflect.DeepEqual(&fast, &slow) {
			t.Fatalf("fast path decoded %q as\n%#v\nencoding/json as\n%#v", data, fast, slow)
		}
	}
	if env, ok := decodeEnvelope(data, bytes.Clone); ok {
		if slowErr != nil {
			t.Fatalf("decodeEnvelope accepted what encoding/json rejects (%v): %q", slowErr, data)
		}
		if !reflect.DeepEqual(env, &slow) {
			t.Fatalf("decodeEnvelope decoded %q as\n%#v\nencoding/json as\n%#v", data, *env, slow)
		}
	}
	got, gotErr := Decode(data)
	want, wantErr := decodeSlow(data)
	if (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) || !reflect.DeepEqual(got, want) {
		t.Fatalf("Decode(%q) = %#v, %v; encoding/json: %#v, %v", data, got, gotErr, want, wantErr)
	}
	got, gotErr = DecodeOwned(bytes.Clone(data))
	if (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) || !reflect.DeepEqual(got, want) {
		t.Fatalf("DecodeOwned(%q) = %#v, %v; encoding/json: %#v, %v", data, got, gotErr, want, wantErr)
	}
	if slowErr != nil {
		return
	}
	// Encode every decoded message, valid or not, including its raw payload.
	for _, m := range []*Message{&slow, {ID: string(data), OTP: string(data), Payload: data, Receiver: &Address{InstanceID: string(data)}}} {
		enc, encErr := Encode(m)
		ref, refErr := encodeSlow(m)
		if (encErr == nil) != (refErr == nil) || (encErr != nil && encErr.Error() != refErr.Error()) || !bytes.Equal(enc, ref) {
			t.Fatalf("Encode(%#v) = %s, %v; encoding/json: %s, %v", m, enc, encErr, ref, refErr)
		}
		var buf Buffer
		for range 2 { // the second time into the memory of the first
			enc, encErr := buf.Encode(m)
			if (encErr == nil) != (refErr == nil) || (encErr != nil && encErr.Error() != refErr.Error()) || !bytes.Equal(enc, ref) {
				t.Fatalf("Buffer.Encode(%#v) = %s, %v; encoding/json: %s, %v", m, enc, encErr, ref, refErr)
			}
		}
	}
}

// TestCodecFastPathTaken checks that what bridges send takes the fast path.
func TestCodecFastPathTaken(t *testing.T) {
	recv := Address{ServiceName: "User", ServiceVersion: "1", ServiceTarget: "signUp"}
	m := &Message{ID: NewID(), Timestamp: NowMillis(), ContentType: ContentTypeJSON, ContentEncoding: EncodingUTF8,
		MessageType: TypeCommand, Sender: Address{ServiceName: "Web", ServiceVersion: "1", ServiceTarget: "post", InstanceID: NewID()},
		Receiver: &recv, TraceID: NewID(), CorrelationID: NewID(), OTP: `{"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}`,
		Payload: json.RawMessage(`{"payload":{"name":"Zoë","tags":["a","b"]},"parameter":{}}`)}
	data, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	var got Message
	if !decodeFast(data, &got) {
		t.Fatalf("fast path refused %s", data)
	}
	if !reflect.DeepEqual(&got, m) {
		t.Fatalf("got %#v, want %#v", got, *m)
	}
	handled := true
	resp := &Message{ID: NewID(), Timestamp: NowMillis(), ContentType: ContentTypeJSON, ContentEncoding: EncodingUTF8,
		MessageType: TypeCommandErrorResponse, Sender: recv, Receiver: &m.Sender, CorrelationID: m.CorrelationID,
		PrincipalID: "user-1", TenantID: "tenant-1", OTP: m.OTP, IsHandledError: &handled,
		Payload: json.RawMessage(`{"status":422,"message":"name \"Zoë\" taken"}`)}
	for _, want := range []*Message{m, resp} {
		data, err := Encode(want)
		if err != nil {
			t.Fatal(err)
		}
		env, ok := decodeEnvelope(data, bytes.Clone)
		if !ok {
			t.Fatalf("decodeEnvelope refused %s", data)
		}
		if !reflect.DeepEqual(env, want) {
			t.Fatalf("decodeEnvelope: got %#v, want %#v", *env, *want)
		}
		// The copy of the input and the message, plus two for the escaped otp (jsonparser
		// unescapes strings over 64 bytes into a buffer of its own).
		// AllocsPerRun counts every allocation of the process while it runs, so another
		// goroutine (the runtime's, under the race detector and a loaded machine) can only
		// add to it: the fewest of a few measurements is the function's own.
		n := testing.AllocsPerRun(100, func() { _, _ = decodeEnvelope(data, bytes.Clone) })
		for i := 0; i < 4 && n > 4; i++ {
			n = min(n, testing.AllocsPerRun(100, func() { _, _ = decodeEnvelope(data, bytes.Clone) }))
		}
		if n > 4 {
			t.Fatalf("decodeEnvelope: %.0f allocations, want at most 4", n)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	recv := Address{ServiceName: "User", ServiceVersion: "1", ServiceTarget: "signUp"}
	data, _ := Encode(&Message{ID: NewID(), Timestamp: NowMillis(), ContentType: ContentTypeJSON, ContentEncoding: EncodingUTF8,
		MessageType: TypeCommand, Sender: Address{ServiceName: "Web", ServiceVersion: "1", ServiceTarget: "post"},
		Receiver: &recv, CorrelationID: NewID(), Payload: json.RawMessage(`{"payload":"` + strings.Repeat("x", 256) + `","parameter":{}}`)})
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			_, _ = Decode(data)
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			_, _ = decodeSlow(data)
		}
	})
	m, _ := Decode(data)
	b.Run("encode-fast", func(b *testing.B) {
		for b.Loop() {
			_, _ = Encode(m)
		}
	})
	b.Run("encode-buffer", func(b *testing.B) {
		var bufs Buffers
		for b.Loop() {
			buf := bufs.Get()
			_, _ = buf.Encode(m)
			bufs.Put(buf)
		}
	})
	b.Run("encode-encoding-json", func(b *testing.B) {
		for b.Loop() {
			_, _ = encodeSlow(m)
		}
	})
}
