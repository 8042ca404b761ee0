package framework

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/purista-go/purista/pkg/framework/wire"
)

// maxHTTPBody bounds the request body of the HTTP command endpoint.
const maxHTTPBody = 8 << 20

// HTTPHandler serves every command of the runtime's services over HTTP, for the
// serverless deployment model (an http.Handler in front of the in-memory bridge):
//
//	POST /api/<service>/v<version>/<command>   body: the input JSON
//	                                           query: the parameter (values typed by its schema)
//	GET  /api                                  the list of commands with their schemas
//
// Success answers 200 with the output JSON; errors answer the error's status with
// {"status":…,"message":…,"data":…,"traceId":…}. The X-Principal-Id and X-Tenant-Id
// headers set principal and tenant.
func (r *Runtime) HTTPHandler() http.Handler {
	mux := http.NewServeMux()
	var infos []CommandInfo
	for _, s := range r.services {
		infos = append(infos, s.Commands()...)
	}
	paramTypes := make([]map[string]string, len(infos)) // by index in infos, read once here
	for i, info := range infos {
		paramTypes[i] = parameterTypes(info.ParameterSchema)
	}
	writeJSON := func(w http.ResponseWriter, code int, v any) {
		w.Header().Set("Content-Type", wire.ContentTypeJSON)
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(v) // the client may have gone
	}
	mux.HandleFunc("GET /api", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, infos) })
	mux.HandleFunc("/api/{service}/{version}/{command}", func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, wire.ErrorPayload{Status: http.StatusMethodNotAllowed,
			Message: req.Method + " is not allowed: invoke a command with POST and its input as the JSON body"})
	})
	mux.HandleFunc("POST /api/{service}/{version}/{command}", func(w http.ResponseWriter, req *http.Request) {
		recv := wire.Address{ServiceName: req.PathValue("service"),
			ServiceVersion: strings.TrimPrefix(req.PathValue("version"), "v"), ServiceTarget: req.PathValue("command")}
		var info *CommandInfo
		var types map[string]string
		for i := range infos {
			if infos[i].Service == recv.ServiceName && infos[i].Version == recv.ServiceVersion && infos[i].Name == recv.ServiceTarget {
				info, types = &infos[i], paramTypes[i]
			}
		}
		if info == nil {
			writeJSON(w, http.StatusNotFound, wire.ErrorPayload{Status: http.StatusNotFound,
				Message: "no command " + recv.String() + " here: GET /api lists the commands"})
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxHTTPBody))
		if err != nil {
			writeJSON(w, http.StatusRequestEntityTooLarge, wire.ErrorPayload{Status: http.StatusRequestEntityTooLarge,
				Message: "request body unreadable or over 8 MiB: " + err.Error()})
			return
		}
		if len(body) == 0 {
			body = []byte("{}")
		}
		if !json.Valid(body) {
			writeJSON(w, http.StatusBadRequest, wire.ErrorPayload{Status: http.StatusBadRequest, Message: "request body is not valid JSON"})
			return
		}
		praw := queryParameter(req.URL.Query(), types)
		inv := &caller{rt: r, from: r.client}
		out, err := inv.Invoke(req.Context(), InvokeRequest{Receiver: recv, Payload: body, Parameter: praw,
			Timeout: info.Timeout, PrincipalID: req.Header.Get("X-Principal-Id"), TenantID: req.Header.Get("X-Tenant-Id")})
		if err != nil {
			ep := wire.ErrorPayload{Status: StatusOf(err)}
			var he *HandledError
			var ue *UnhandledError
			switch {
			case errors.As(err, &he):
				ep.Message, ep.TraceID = he.Message, he.TraceID
				if raw, ok := he.Data.(json.RawMessage); ok {
					ep.Data = raw
				}
			case errors.As(err, &ue):
				ep.Message, ep.TraceID = ue.Message, ue.TraceID
			default:
				ep.Message = http.StatusText(http.StatusInternalServerError)
			}
			writeJSON(w, ep.Status, ep)
			return
		}
		w.Header().Set("Content-Type", wire.ContentTypeJSON)
		_, _ = w.Write(out) // the client may have gone
	})
	return mux
}

// queryParameter turns a query string into a command parameter: each value becomes the
// JSON type its property has in the parameter schema (?page=2 is 2 for an integer page,
// true for a boolean, every value for an array), a string otherwise. Values that do not
// parse as that type stay strings, so that validation reports them.
func queryParameter(q url.Values, types map[string]string) json.RawMessage {
	params := make(map[string]any, len(q))
	for k, vs := range q {
		v := vs[0]
		switch types[k] {
		case "integer", "number":
			if json.Valid([]byte(v)) && v != "" && (v[0] == '-' || v[0] >= '0' && v[0] <= '9') {
				params[k] = json.RawMessage(v)
				continue
			}
		case "boolean":
			if b, err := strconv.ParseBool(v); err == nil {
				params[k] = b
				continue
			}
		case "array":
			params[k] = vs
			continue
		}
		params[k] = v
	}
	raw, _ := json.Marshal(params) // strings, bools, string slices and valid numbers always encode
	return raw
}

// parameterTypes returns the JSON type of each property of a parameter schema (the
// non-null one of a nullable property); nil without a schema.
func parameterTypes(schema json.RawMessage) map[string]string {
	var doc struct {
		Properties map[string]struct {
			Type  string `json:"type"`
			AnyOf []struct {
				Type string `json:"type"`
			} `json:"anyOf"`
		} `json:"properties"`
	}
	if json.Unmarshal(schema, &doc) != nil {
		return nil // no schema: every value is a string
	}
	types := make(map[string]string, len(doc.Properties))
	for name, p := range doc.Properties {
		typ := p.Type
		for _, a := range p.AnyOf {
			if typ == "" && a.Type != "null" {
				typ = a.Type
			}
		}
		types[name] = typ
	}
	return types
}
