package wire

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// addCaptureSeeds adds every captured body of testdata as a seed.
func addCaptureSeeds(f *testing.F) {
	f.Helper()
	for _, name := range []string{"nats.json", "amqp.json", "mqtt.json"} {
		var records []struct {
			Body json.RawMessage `json:"body"`
		}
		b, err := readTestdata(name)
		if err != nil {
			f.Fatal(err)
		}
		if err := json.Unmarshal(b, &records); err != nil {
			f.Fatal(err)
		}
		for _, r := range records {
			var buf bytes.Buffer
			if err := json.Compact(&buf, r.Body); err != nil {
				f.Fatal(err)
			}
			f.Add(buf.Bytes())
		}
	}
}

// FuzzDecode checks that Decode never panics and that every accepted message survives
// Encode and Decode unchanged, with a stable encoding.
func FuzzDecode(f *testing.F) {
	addCaptureSeeds(f)
	for _, s := range []string{``, `{}`, `null`, `[]`, `{"messageType":"command"}`,
		`{"id":"x","messageType":"customMessage","eventName":"e","sender":{"serviceName":"s"},"payload":"<&>\u2028"}`,
		`{"id":"x","messageType":"command","sender":{"serviceName":"s"},"receiver":null,"correlationId":"c"}`,
		`{"id":"x","messageType":"infoServiceReady","sender":{"serviceName":"s"},"isHandledError":false,"timestamp":1e3}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data)
		if err != nil {
			if m != nil {
				t.Fatalf("Decode returned a message and error %v", err)
			}
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("accepted message does not validate: %v", err)
		}
		enc, err := Encode(m)
		if err != nil {
			t.Fatalf("Encode of decoded message: %v", err)
		}
		m2, err := Decode(enc)
		if err != nil {
			t.Fatalf("Decode(Encode(m)): %v\n%s", err, enc)
		}
		if !sameMessage(m, m2) {
			t.Fatalf("round trip differs:\n got %#v\nwant %#v", m2, m)
		}
		enc2, err := Encode(m2)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not stable:\n%s\n%s", enc, enc2)
		}
		if !reflect.DeepEqual(m.Clone(), m) {
			t.Fatalf("Clone differs")
		}
		// The derived names never panic either.
		_ = NATSSubject(TokensOf(m))
		_ = MQTTTopic(TokensOf(m))
		_ = Headers(m)
		_ = AMQPHeaders(m, "q")
	})
}

// FuzzSnakeCase checks properties that follow from the regular expression SnakeCase
// implements:
//   - every ASCII letter or digit is inside exactly one match, and the matches appear in
//     order, so the output without "_" is the input's ASCII letters and digits,
//     lower-cased; everything else is dropped;
//   - so the output of an input with an ASCII letter or digit is lower-case words of
//     [a-z0-9] joined by single "_", and an input without one comes back unchanged;
//   - every word of the output is a single match again ([a-z]+[0-9]*, [0-9]+ or a
//     lower-cased capital run), so SnakeCase is idempotent.
func FuzzSnakeCase(f *testing.F) {
	b, err := readTestdata("snakecase_vectors.json")
	if err != nil {
		f.Fatal(err)
	}
	var vectors [][2]string
	if err := json.Unmarshal(b, &vectors); err != nil {
		f.Fatal(err)
	}
	for _, v := range vectors[:200] {
		f.Add(v[0])
	}
	for _, s := range []string{"HTTPServer", "974d5ac300b190b7ded33a92b1ae26df", "*", "", "__empty__", "ABC_DEF", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := SnakeCase(s)
		var alnum strings.Builder
		for i := 0; i < len(s); i++ {
			if c := s[i]; isUpper(c) || isLower(c) || isDigit(c) {
				alnum.WriteByte(c)
			}
		}
		if alnum.Len() == 0 {
			if out != s {
				t.Fatalf("SnakeCase(%q) = %q, want the input unchanged", s, out)
			}
			return
		}
		if got, want := strings.ReplaceAll(out, "_", ""), strings.ToLower(alnum.String()); got != want {
			t.Fatalf("SnakeCase(%q) = %q: letters and digits %q, want %q", s, out, got, want)
		}
		for _, w := range strings.Split(out, "_") {
			if w == "" {
				t.Fatalf("SnakeCase(%q) = %q has an empty word", s, out)
			}
		}
		if again := SnakeCase(out); again != out {
			t.Fatalf("not idempotent: SnakeCase(%q) = %q, SnakeCase(%q) = %q", s, out, out, again)
		}
	})
}

// sameMessage reports whether a and b are equal, comparing their payloads as JSON
// (insignificant whitespace aside): Decode keeps a payload as it arrived, Encode compacts.
func sameMessage(a, b *Message) bool {
	ac, bc := *a, *b
	ac.Payload, bc.Payload = compactJSON(a.Payload), compactJSON(b.Payload)
	return reflect.DeepEqual(&ac, &bc)
}

// compactJSON returns raw without insignificant whitespace (raw itself when it is not JSON).
func compactJSON(raw json.RawMessage) json.RawMessage {
	if raw == nil {
		return nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return raw
	}
	return buf.Bytes()
}
