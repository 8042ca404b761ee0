package framework_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/httpauth"
	"github.com/purista-go/purista/pkg/framework/memory"
)

type orderParam struct {
	ID      string `json:"id"`
	Page    int    `json:"page,omitempty"`
	Verbose bool   `json:"verbose,omitempty"`
}

type orderIn struct {
	Item string `json:"item" jsonschema:"minLength=1"`
	Qty  int    `json:"qty" jsonschema:"minimum=1"`
}

type orderOut struct {
	ID        string `json:"id"`
	Item      string `json:"item,omitempty"`
	Qty       int    `json:"qty,omitempty"`
	Page      int    `json:"page,omitempty"`
	Principal string `json:"principal,omitempty"`
	Tenant    string `json:"tenant,omitempty"`
}

var (
	createOrder = framework.Command[orderIn, orderOut](framework.NewContract("Orders", "1"), "createOrder",
		framework.WithDescription("Creates an order."), framework.WithParameter[orderParam](),
		framework.WithExample(orderIn{Item: "book", Qty: 1}),
		framework.WithHTTP(framework.Endpoint{Method: http.MethodPost, Path: "/orders/{id}", Query: []string{"page"},
			Status: http.StatusCreated, Tags: []string{"orders"}, Summary: "Create an order", BodyLimit: 256}))
	getOrder = framework.Command[struct{}, orderOut](framework.NewContract("Orders", "1"), "getOrder", framework.WithParameter[orderParam](),
		framework.WithHTTP(framework.Endpoint{Method: http.MethodGet, Path: "/orders/{id}", Public: true, Query: []string{"page", "verbose"}}))
	deleteOrder = framework.Command[struct{}, struct{}](framework.NewContract("Orders", "1"), "deleteOrder", framework.WithParameter[orderParam](),
		framework.WithHTTP(framework.Endpoint{Method: http.MethodDelete, Path: "/orders/{id}", Status: http.StatusNoContent, Deprecated: true}))
	failOrder = framework.Command[orderIn, orderOut](framework.NewContract("Orders", "1"), "failOrder",
		framework.WithHTTP(framework.Endpoint{Path: "/orders/fail", Public: true, Consumes: []string{"application/merge-patch+json", "application/json"}}))
	hiddenOrder = framework.Command[orderIn, orderOut](framework.NewContract("Orders", "1"), "hiddenOrder", framework.WithParameter[orderParam]())
)

func ordersService() *framework.Service {
	svc := framework.NewService(framework.NewContract("Orders", "1"), "orders")
	h := func(c *framework.Context, in orderIn) (orderOut, error) {
		var p orderParam
		if err := c.Parameter(&p); err != nil {
			return orderOut{}, err
		}
		return orderOut{ID: p.ID, Item: in.Item, Qty: in.Qty, Page: p.Page, Principal: c.PrincipalID(), Tenant: c.TenantID()}, nil
	}
	framework.Handle(svc, createOrder, h)
	framework.Handle(svc, hiddenOrder, h)
	framework.Handle(svc, getOrder, func(c *framework.Context, _ struct{}) (orderOut, error) {
		var p orderParam
		if err := c.Parameter(&p); err != nil {
			return orderOut{}, err
		}
		if p.ID == "missing" {
			return orderOut{}, framework.NewHandledError(404, "no order missing", map[string]string{"id": p.ID})
		}
		return orderOut{ID: p.ID, Page: p.Page, Principal: c.PrincipalID()}, nil
	})
	framework.Handle(svc, deleteOrder, func(*framework.Context, struct{}) (struct{}, error) { return struct{}{}, nil })
	framework.Handle(svc, failOrder, func(*framework.Context, orderIn) (orderOut, error) {
		return orderOut{}, errors.New("database password is hunter2")
	})
	return svc
}

// testAuth accepts "Bearer good" (alice in tenant t1) and "Bearer other" (bob), refuses
// "Bearer forbidden" and fails on "Bearer broken".
var testAuth = httpauth.AuthenticatorFunc(func(r *http.Request) (httpauth.Identity, error) {
	switch r.Header.Get("Authorization") {
	case "":
		return httpauth.Identity{}, httpauth.ErrNoCredentials
	case "Bearer good":
		return httpauth.Identity{PrincipalID: "alice", TenantID: "t1", Method: "test"}, nil
	case "Bearer forbidden":
		return httpauth.Identity{}, httpauth.ErrForbidden
	case "Bearer broken":
		return httpauth.Identity{}, errors.New("key store at 10.0.0.7 unreachable")
	}
	return httpauth.Identity{}, httpauth.ErrInvalidCredentials
})

func startOrders(t testing.TB) (*framework.Runtime, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	rt, err := framework.Start(context.Background(), memory.New(), []*framework.Service{ordersService()},
		framework.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Shutdown(context.Background()) })
	return rt, logs
}

func ordersHandler(t testing.TB, opts ...framework.HTTPOption) http.Handler {
	t.Helper()
	rt, _ := startOrders(t)
	h, err := rt.HTTPHandler(append([]framework.HTTPOption{framework.WithAuthenticator(testAuth)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// problem is an RFC 9457 answer as the tests read it.
type problem struct {
	Type, Title, Detail, Instance, TraceID string
	Status                                 int
	Errors                                 []struct{ Field, Message string }
	Data                                   json.RawMessage
}

type httpCase struct {
	name, method, target, contentType, body string
	header                                  map[string]string
	wantStatus                              int
	wantBody                                string // a substring of the answer
}

func serve(h http.Handler, c httpCase) *httptest.ResponseRecorder {
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req := httptest.NewRequest(c.method, c.target, body) // the target as sent, never cleaned
	if c.contentType != "" {
		req.Header.Set("Content-Type", c.contentType)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func checkCase(t *testing.T, h http.Handler, c httpCase) *httptest.ResponseRecorder {
	t.Helper()
	rec := serve(h, c)
	body := rec.Body.String()
	if rec.Code != c.wantStatus || !strings.Contains(body, c.wantBody) {
		t.Fatalf("%s %s: %d %s, want %d containing %q", c.method, c.target, rec.Code, body, c.wantStatus, c.wantBody)
	}
	if rec.Code >= 400 {
		checkProblem(t, rec)
	}
	return rec
}

// checkProblem checks that rec is an RFC 9457 problem of its status with a trace id.
func checkProblem(t *testing.T, rec *httptest.ResponseRecorder) problem {
	t.Helper()
	var p problem
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("%d answered as %q, want application/problem+json: %s", rec.Code, ct, rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("problem %s: %v", rec.Body, err)
	}
	if p.Status != rec.Code || p.Type != "about:blank" || p.Title != http.StatusText(rec.Code) || len(p.TraceID) != 32 {
		t.Fatalf("problem %+v does not match status %d, or lacks a trace id", p, rec.Code)
	}
	return p
}

func TestHTTPEndpoints(t *testing.T) {
	h := ordersHandler(t)
	good := map[string]string{"Authorization": "Bearer good"}
	tests := []httpCase{
		{"created", "POST", "/orders/42?page=3", "application/json", `{"item":"tea","qty":2}`, good, 201,
			`{"id":"42","item":"tea","qty":2,"page":3,"principal":"alice","tenant":"t1"}`},
		{"json with charset", "POST", "/orders/42", "application/json; charset=utf-8", `{"item":"tea","qty":2}`, good, 201, `"id":"42"`},
		{"escaped segment", "POST", "/orders/a%2Fb", "application/json", `{"item":"tea","qty":2}`, good, 201, `"id":"a/b"`},
		{"forged identity headers are ignored", "POST", "/orders/42", "application/json", `{"item":"tea","qty":2}`,
			map[string]string{"Authorization": "Bearer good", "X-Principal-Id": "admin", "X-Tenant-Id": "other"}, 201, `"principal":"alice","tenant":"t1"`},
		{"anonymous", "POST", "/orders/42", "application/json", `{"item":"tea","qty":2}`, nil, 401, "needs credentials"},
		{"forged identity alone", "POST", "/orders/42", "application/json", `{"item":"tea","qty":2}`,
			map[string]string{"X-Principal-Id": "admin", "X-Tenant-Id": "other"}, 401, "needs credentials"},
		{"invalid credentials", "POST", "/orders/42", "application/json", `{}`, map[string]string{"Authorization": "Bearer forged"}, 401, "not valid"},
		{"forbidden", "POST", "/orders/42", "application/json", `{}`, map[string]string{"Authorization": "Bearer forbidden"}, 403, "may not"},
		{"authenticator failure is masked", "POST", "/orders/42", "application/json", `{}`, map[string]string{"Authorization": "Bearer broken"}, 500, `"status":500`},
		{"text/plain", "POST", "/orders/42", "text/plain", `{"item":"tea","qty":2}`, good, 415, "application/json"},
		{"form post", "POST", "/orders/42", "application/x-www-form-urlencoded", `item=tea`, good, 415, "Content-Type"},
		{"no content type", "POST", "/orders/42", "", `{"item":"tea","qty":2}`, good, 415, "Content-Type"},
		{"latin1", "POST", "/orders/42", "application/json; charset=latin1", `{"item":"tea","qty":2}`, good, 415, "UTF-8"},
		{"validation", "POST", "/orders/42", "application/json", `{"item":"","qty":0}`, good, 400, `"field":"/qty"`},
		{"parameter validation", "POST", "/orders/42?page=two", "application/json", `{"item":"tea","qty":1}`, good, 400, `"field":"/page"`},
		{"not json", "POST", "/orders/42", "application/json", `{`, good, 400, "not valid JSON"},
		{"too large", "POST", "/orders/42", "application/json", `{"item":"` + strings.Repeat("x", 300) + `","qty":1}`, good, 413, "256 bytes"},
		{"public anonymous", "GET", "/orders/7?page=2", "", "", nil, 200, `{"id":"7","page":2}`},
		{"public with identity", "GET", "/orders/7", "", "", good, 200, `"principal":"alice"`},
		{"public with bad credentials", "GET", "/orders/7", "", "", map[string]string{"Authorization": "Bearer forged"}, 401, "not valid"},
		{"handled error with data", "GET", "/orders/missing", "", "", nil, 404, `"data":{"id":"missing"}`},
		{"GET with a body", "GET", "/orders/7", "application/json", `{}`, nil, 400, "no request body"},
		{"no content", "DELETE", "/orders/7", "", "", good, 204, ""},
		{"unhandled failure is masked", "POST", "/orders/fail", "application/merge-patch+json", `{"item":"tea","qty":1}`, nil, 500, `"title":"Internal Server Error"`},
		{"method not allowed", "PUT", "/orders/7", "application/json", `{}`, good, 405, "DELETE, GET or POST"},
		{"unknown path", "GET", "/nope", "", "", good, 404, "no endpoint"},
		{"undeclared command", "POST", "/api/Orders/v1/hiddenOrder", "application/json", `{"item":"tea","qty":1}`, good, 404, "no endpoint"},
		{"trailing slash", "GET", "/orders/7/", "", "", nil, 404, "trailing"},
		{"dot-dot", "GET", "/orders/../orders/7", "", "", nil, 400, "'..'"},
		{"escaped dot-dot", "GET", "/orders/%2e%2e", "", "", nil, 400, "'..'"},
		{"double slash", "GET", "//orders/7", "", "", nil, 400, "empty"},
		{"index needs credentials", "GET", "/api", "", "", nil, 401, "credentials"},
		{"OpenAPI needs credentials", "GET", "/openapi.json", "", "", nil, 401, "credentials"},
		{"index", "GET", "/api", "", "", good, 200, `"path":"/orders/{id}"`},
		{"OpenAPI", "GET", "/openapi.json", "", "", good, 200, `"openapi": "3.1.0"`},
	}
	for _, c := range tests {
		t.Run(c.name, func(t *testing.T) {
			rec := checkCase(t, h, c)
			switch rec.Code {
			case 401:
				if rec.Header().Get("WWW-Authenticate") == "" {
					t.Fatal("401 without WWW-Authenticate")
				}
			case 405:
				if rec.Header().Get("Allow") != "DELETE, GET, POST" {
					t.Fatalf("Allow %q", rec.Header().Get("Allow"))
				}
			case 500:
				if strings.Contains(rec.Body.String(), "hunter2") || strings.Contains(rec.Body.String(), "10.0.0.7") {
					t.Fatalf("500 shows an internal message: %s", rec.Body)
				}
			case 204:
				if rec.Body.Len() != 0 {
					t.Fatalf("204 with a body %q", rec.Body)
				}
			}
		})
	}
}

func TestHTTPIndexListsDeclaredEndpointsOnly(t *testing.T) {
	h := ordersHandler(t, framework.WithPublicIndex())
	rec := checkCase(t, h, httpCase{method: "GET", target: "/api", wantStatus: 200, wantBody: "["})
	var list []struct{ Name, Method, Path string }
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range list {
		got = append(got, e.Method+" "+e.Path+" "+e.Name)
	}
	want := []string{"POST /orders/{id} createOrder", "GET /orders/{id} getOrder", "DELETE /orders/{id} deleteOrder", "POST /orders/fail failOrder"}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("GET /api lists %v, want %v", got, want)
	}
	checkCase(t, h, httpCase{method: "GET", target: "/openapi.json", wantStatus: 200, wantBody: "createOrder"})
	if e := createOrder.Info().HTTP; e == nil || e.Path != "/orders/{id}" || e.Status != 201 {
		t.Fatalf("CommandInfo.HTTP of createOrder = %+v", e)
	}
	createOrder.Info().HTTP.Query[0] = "changed"
	if q := createOrder.Info().HTTP.Query; q[0] != "page" {
		t.Fatalf("CommandInfo.HTTP shares the definition's slices: %v", q)
	}
	if e := hiddenOrder.Info().HTTP; e != nil {
		t.Fatalf("CommandInfo.HTTP of an undeclared command = %+v, want nil", e)
	}
}

func TestHTTPCommandRoutes(t *testing.T) {
	h := ordersHandler(t, framework.WithCommandRoutes())
	good := map[string]string{"Authorization": "Bearer good"}
	checkCase(t, h, httpCase{method: "POST", target: "/api/Orders/v1/hiddenOrder?id=9&page=2", contentType: "application/json",
		body: `{"item":"tea","qty":1}`, header: good, wantStatus: 200, wantBody: `"id":"9","item":"tea","qty":1,"page":2,"principal":"alice"`})
	checkCase(t, h, httpCase{method: "POST", target: "/api/Orders/v1/hiddenOrder", contentType: "application/json",
		body: `{"item":"tea","qty":1}`, wantStatus: 401, wantBody: "credentials"})
}

func TestHTTPTraceIDFromTraceparent(t *testing.T) {
	h := ordersHandler(t)
	const tid = "4bf92f3577b34da6a3ce929d0e0e4736"
	rec := checkCase(t, h, httpCase{method: "GET", target: "/nope", wantStatus: 404, wantBody: tid,
		header: map[string]string{"traceparent": "00-" + tid + "-00f067aa0ba902b7-01"}})
	if p := checkProblem(t, rec); p.TraceID != tid || p.Instance != "/nope" {
		t.Fatalf("problem %+v, want trace id %s and instance /nope", p, tid)
	}
}

func TestHTTPHandlerNeedsAuthenticator(t *testing.T) {
	rt, _ := startOrders(t)
	_, err := rt.HTTPHandler()
	if !errors.Is(err, framework.ErrNoAuthenticator) || !errors.Is(err, framework.ErrConfig) || !strings.Contains(err.Error(), "POST /orders/{id}") {
		t.Fatalf("HTTPHandler without authenticator: %v, want ErrNoAuthenticator naming POST /orders/{id}", err)
	}
	// Only public endpoints: no authenticator needed; the index stays closed.
	pub := framework.NewService(framework.NewContract("Pub", "1"), "")
	framework.Handle(pub, framework.Command[struct{}, struct{}](framework.NewContract("Pub", "1"), "ping",
		framework.WithHTTP(framework.Endpoint{Method: "GET", Path: "/ping", Public: true})),
		func(*framework.Context, struct{}) (struct{}, error) { return struct{}{}, nil })
	prt, err := framework.Start(context.Background(), memory.New(), []*framework.Service{pub})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = prt.Shutdown(context.Background()) })
	h, err := prt.HTTPHandler()
	if err != nil {
		t.Fatal(err)
	}
	checkCase(t, h, httpCase{method: "GET", target: "/ping", wantStatus: 200, wantBody: "{}"})
	checkCase(t, h, httpCase{method: "GET", target: "/api", wantStatus: 401, wantBody: "no authenticator"})
}

// TestHTTPOverTheNetwork runs one call through a real server, so that the client's own
// request building (Content-Length, chunking) is covered too.
func TestHTTPOverTheNetwork(t *testing.T) {
	srv := httptest.NewServer(ordersHandler(t))
	t.Cleanup(srv.Close)
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/orders/5", io.NopCloser(strings.NewReader(`{"item":"tea","qty":1}`)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer good")
	resp, err := srv.Client().Do(req) // a body of unknown length: sent chunked
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 201 || !strings.Contains(string(body), `"id":"5"`) {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}
