package framework_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzHTTPHandler sends arbitrary request lines, content types and bodies (as the server
// would parse them) to the HTTP surface and checks what must always hold: no panic, no
// redirect, every error an RFC 9457 problem of the answered status with a trace id, and
// no internal message in a 5xx. The seed corpus is below and in
// testdata/fuzz/FuzzHTTPHandler.
func FuzzHTTPHandler(f *testing.F) {
	seeds := []struct{ method, target, auth, contentType, body string }{
		{"POST", "/orders/42?page=3", "Bearer good", "application/json", `{"item":"tea","qty":2}`},
		{"POST", "/orders/42", "", "application/json", `{"item":"tea","qty":2}`},
		{"POST", "/orders/42", "Bearer good", "text/plain", `{}`},
		{"POST", "/orders/%2e%2e/x", "Bearer good", "application/json", `{}`},
		{"GET", "/orders/../../etc/passwd", "", "", ""},
		{"GET", "//orders//7", "", "", ""},
		{"GET", "/orders/7/", "", "", ""},
		{"GET", "/orders/7?page=%ff&verbose=maybe", "", "", ""},
		{"DELETE", "/orders/7", "Bearer good", "", ""},
		{"PUT", "/orders/7", "Bearer good", "application/json", `[]`},
		{"POST", "/orders/fail", "", "application/merge-patch+json", `{"item":"\u0000","qty":1e999}`},
		{"POST", "/orders/42", "Bearer good", "application/json; charset=utf-16", `{"item":"tea"}`},
		{"GET", "/api", "Bearer good", "", ""},
		{"GET", "/openapi.json", "Bearer broken", "", ""},
		{"OPTIONS", "*", "", "", ""},
		{"POST", "/orders/42", "Bearer good", "application/json", `{"item":"` + strings.Repeat("x", 300) + `","qty":1}`},
	}
	for _, s := range seeds {
		f.Add(s.method, s.target, s.auth, s.contentType, s.body)
	}
	h := ordersHandler(f)
	f.Fuzz(func(t *testing.T, method, target, auth, contentType, body string) {
		raw := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: example.test\r\nAuthorization: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s",
			method, target, auth, contentType, len(body), body)
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return // the server refuses it before any handler runs
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 300 && rec.Code < 400 {
			t.Fatalf("%s %s: redirect %d", method, target, rec.Code)
		}
		if rec.Code < 400 {
			return
		}
		var p problem
		if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("%s %s: %d as %q", method, target, rec.Code, ct)
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != rec.Code || len(p.TraceID) != 32 {
			t.Fatalf("%s %s: %d with problem %s (%v)", method, target, rec.Code, rec.Body, err)
		}
		if rec.Code >= 500 && (p.Detail != "" && !strings.Contains(p.Detail, "try again") || strings.Contains(rec.Body.String(), "hunter2")) {
			t.Fatalf("%s %s: %d shows %q", method, target, rec.Code, p.Detail)
		}
	})
}
