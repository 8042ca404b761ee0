package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// ProblemContentType is the media type of RFC 9457 problem details.
const ProblemContentType = "application/problem+json"

// Problem is an RFC 9457 problem details object, with purista's extension members.
type Problem struct {
	// Type is a URI reference naming the problem type; "about:blank" when the status
	// says it all.
	Type string `json:"type"`
	// Title is the short summary of the type (the status text for about:blank).
	Title string `json:"title"`
	// Status is the HTTP status code.
	Status int `json:"status"`
	// Detail explains this occurrence, for the client to read. 5xx problems never carry
	// internal messages here.
	Detail string `json:"detail,omitempty"`
	// Instance is the request path.
	Instance string `json:"instance,omitempty"`
	// TraceID is the trace id of the request, to find it in logs and traces.
	TraceID string `json:"traceId,omitempty"`
	// Errors lists the failed checks of a validation problem.
	Errors []FieldError `json:"errors,omitempty"`
	// Data is the structured detail of a command's handled error.
	Data json.RawMessage `json:"data,omitempty"`

	// header holds headers to send with the problem (Allow, WWW-Authenticate).
	header http.Header
}

// FieldError is one failed validation check: the JSON pointer of the value ("/email";
// "" for the whole value) and what is wrong with it.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// NewProblem returns an about:blank problem of status with detail.
func NewProblem(status int, detail string) *Problem {
	return &Problem{Type: "about:blank", Title: statusTitle(status), Status: status, Detail: detail}
}

func statusTitle(status int) string {
	if t := http.StatusText(status); t != "" {
		return t
	}
	if status == 499 {
		return "Client Closed Request"
	}
	return "Error"
}

// CommandProblem is the problem for a command's error of status with message and the
// raw JSON data it carried. Data that is a list of validation issues (objects of field
// and message only) becomes Errors. A 5xx keeps only the status text and the given
// safe detail: pass "" unless message is known to be safe.
func CommandProblem(status int, message string, data json.RawMessage, traceID string) *Problem {
	if status < 400 || status > 599 {
		status = http.StatusInternalServerError
	}
	p := NewProblem(status, message)
	p.TraceID = traceID
	if len(data) == 0 || string(data) == "null" {
		return p
	}
	var issues []FieldError
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if status < 500 && dec.Decode(&issues) == nil && len(issues) > 0 && validIssues(issues) {
		p.Errors = issues
		return p
	}
	if status < 500 {
		p.Data = data
	}
	return p
}

func validIssues(is []FieldError) bool {
	for _, i := range is {
		if i.Message == "" {
			return false
		}
	}
	return true
}

// write sends p for request path, with its trace id unless it has one.
func (p *Problem) write(w http.ResponseWriter, instance, traceID string) {
	if p.Instance == "" {
		p.Instance = instance
	}
	if p.TraceID == "" {
		p.TraceID = traceID
	}
	if p.Type == "" {
		p.Type = "about:blank"
	}
	if p.Title == "" {
		p.Title = statusTitle(p.Status)
	}
	h := w.Header()
	for k, v := range p.header {
		h[k] = v
	}
	h.Set("Content-Type", ProblemContentType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	raw, err := json.Marshal(p)
	if err != nil { // Data is valid JSON from the bridge; drop it rather than fail
		p.Data = nil
		raw, _ = json.Marshal(p) // strings, ints and field lists always encode
	}
	w.WriteHeader(p.Status)
	_, _ = w.Write(append(raw, '\n')) // the client may have gone
}

// withHeader returns p with a header to send.
func (p *Problem) withHeader(key, value string) *Problem {
	if p.header == nil {
		p.header = http.Header{}
	}
	p.header.Add(key, value)
	return p
}
