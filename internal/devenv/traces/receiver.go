package traces

import (
	"compress/gzip"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// MaxBody bounds an export request, compressed and decompressed.
const MaxBody = 8 << 20

// Receiver is an OTLP/HTTP trace endpoint on loopback (http/protobuf, gzip or not) that
// stores the spans it receives. Start it with Listen; it serves until the context given
// to Listen ends, and Wait returns once it has stopped.
type Receiver struct {
	store   *Store
	onSpans func(traceIDs []string)
	ln      net.Listener
	srv     *http.Server
	done    chan struct{}
}

// Listen starts a receiver on 127.0.0.1 (a free port) that adds what it receives to
// store and then calls onSpans (may be nil) with the W3C trace ids that changed, from
// the receiver's goroutines. It serves until ctx ends.
func Listen(ctx context.Context, store *Store, onSpans func(traceIDs []string)) (*Receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("trace view: listen on a loopback port: %w", err)
	}
	r := &Receiver{store: store, onSpans: onSpans, ln: ln, done: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", r.export)
	r.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { // owned: ends when ctx ends (Shutdown below)
		defer close(r.done)
		_ = r.srv.Serve(ln) // ErrServerClosed after Shutdown
	}()
	go func() { // owned: ends with ctx or when the server stops on its own
		select {
		case <-ctx.Done():
		case <-r.done:
			return
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if r.srv.Shutdown(sctx) != nil {
			_ = r.srv.Close()
		}
	}()
	return r, nil
}

// Endpoint is the receiver's base URL, e.g. http://127.0.0.1:41234; it serves
// <Endpoint>/v1/traces.
func (r *Receiver) Endpoint() string { return "http://" + r.ln.Addr().String() }

// Wait blocks until the receiver has stopped (after the context given to Listen ended).
func (r *Receiver) Wait() { <-r.done }

// export handles POST /v1/traces.
func (r *Receiver) export(w http.ResponseWriter, req *http.Request) {
	if ct := req.Header.Get("Content-Type"); ct != "application/x-protobuf" {
		http.Error(w, "content type "+strconv.Quote(ct)+" is not supported: send OTLP http/protobuf (application/x-protobuf)",
			http.StatusUnsupportedMediaType)
		return
	}
	body := io.Reader(http.MaxBytesReader(w, req.Body, MaxBody))
	switch enc := req.Header.Get("Content-Encoding"); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			http.Error(w, "gzip body: "+err.Error(), http.StatusBadRequest)
			return
		}
		defer zr.Close()
		body = zr
	default:
		http.Error(w, "content encoding "+strconv.Quote(enc)+" is not supported: use gzip or none", http.StatusUnsupportedMediaType)
		return
	}
	raw, err := io.ReadAll(io.LimitReader(body, MaxBody+1))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge) || len(raw) > MaxBody:
		http.Error(w, fmt.Sprintf("export request larger than %d bytes", MaxBody), http.StatusRequestEntityTooLarge)
		return
	case err != nil:
		http.Error(w, "reading the body: "+err.Error(), http.StatusBadRequest)
		return
	}
	msg := &coltrace.ExportTraceServiceRequest{}
	if err := proto.Unmarshal(raw, msg); err != nil {
		http.Error(w, "not an OTLP ExportTraceServiceRequest: "+err.Error(), http.StatusBadRequest)
		return
	}
	if changed := r.store.Add(Decode(msg)); len(changed) > 0 && r.onSpans != nil {
		r.onSpans(changed)
	}
	out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{}) // an empty message always encodes
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

// Decode returns the spans of an OTLP export request.
func Decode(req *coltrace.ExportTraceServiceRequest) []Span {
	var out []Span
	for _, rs := range req.GetResourceSpans() {
		var service string
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.GetKey() == "service.name" {
				service = kv.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				out = append(out, decodeSpan(s, service))
			}
		}
	}
	return out
}

func decodeSpan(s *tracepb.Span, service string) Span {
	sp := Span{TraceID: hexID(s.GetTraceId()), SpanID: hexID(s.GetSpanId()), ParentID: hexID(s.GetParentSpanId()),
		Name: s.GetName(), Kind: kindName(s.GetKind()), Resource: service, Attrs: map[string]string{},
		Start: time.Unix(0, int64(s.GetStartTimeUnixNano())), End: time.Unix(0, int64(s.GetEndTimeUnixNano())),
		Error: s.GetStatus().GetCode() == tracepb.Status_STATUS_CODE_ERROR, Message: s.GetStatus().GetMessage()}
	for _, kv := range s.GetAttributes() {
		if v, ok := attrText(kv.GetValue()); ok {
			sp.Attrs[kv.GetKey()] = v
		}
	}
	return sp
}

// hexID is an id as lowercase hex; "" for an empty or all-zero id.
func hexID(b []byte) string {
	for _, c := range b {
		if c != 0 {
			return hex.EncodeToString(b)
		}
	}
	return ""
}

// kindName is the lower-case kind without prefix ("server"), "" when unspecified.
func kindName(k tracepb.Span_SpanKind) string {
	if k == tracepb.Span_SPAN_KIND_UNSPECIFIED {
		return ""
	}
	return strings.ToLower(strings.TrimPrefix(k.String(), "SPAN_KIND_"))
}

// attrText is a scalar attribute value as text.
func attrText(v *commonpb.AnyValue) (string, bool) {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue, true
	case *commonpb.AnyValue_IntValue:
		return strconv.FormatInt(x.IntValue, 10), true
	case *commonpb.AnyValue_BoolValue:
		return strconv.FormatBool(x.BoolValue), true
	case *commonpb.AnyValue_DoubleValue:
		return strconv.FormatFloat(x.DoubleValue, 'g', -1, 64), true
	}
	return "", false
}
