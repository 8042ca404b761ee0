package framework_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"

	"github.com/purista-go/purista/pkg/framework"
)

// openAPIModel renders the orders service's document, checks it against the OpenAPI 3.1
// specification with a real validator, and returns the model and a request validator.
func openAPIModel(t *testing.T, raw []byte) (*v3.Document, validator.Validator) {
	t.Helper()
	doc, err := libopenapi.NewDocument(raw)
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("validator: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("document invalid: %s: %s", e.Message, e.Reason)
		}
		t.FailNow()
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatal(err)
	}
	if model.Model.Version != "3.1.0" {
		t.Fatalf("openapi %q, want 3.1.0", model.Model.Version)
	}
	return &model.Model, v
}

func TestOpenAPIDocument(t *testing.T) {
	raw, err := framework.OpenAPIDocument([]*framework.Service{ordersService()}, framework.WithAPIInfo("Orders API", "2.0.0"))
	if err != nil {
		t.Fatal(err)
	}
	again, _ := framework.OpenAPIDocument([]*framework.Service{ordersService()}, framework.WithAPIInfo("Orders API", "2.0.0"))
	if string(again) != string(raw) {
		t.Fatal("the document is not the same on every rendering")
	}
	model, _ := openAPIModel(t, raw)
	if model.Info.Title != "Orders API" || model.Info.Version != "2.0.0" {
		t.Fatalf("info %+v", model.Info)
	}
	for _, name := range []string{"bearerAuth", "apiKeyAuth"} {
		if _, ok := model.Components.SecuritySchemes.Get(name); !ok {
			t.Fatalf("security scheme %s missing", name)
		}
	}
	type param struct {
		name, in string
		required bool
	}
	tests := []struct {
		path, method, opID string
		params             []param
		body               []string // required input properties; nil: no request body
		status             string
		secured            bool
		deprecated         bool
		tags               []string
	}{
		{"/orders/{id}", "post", "Orders_v1_createOrder", []param{{"id", "path", true}, {"page", "query", false}}, []string{"item", "qty"}, "201", true, false, []string{"orders"}},
		{"/orders/{id}", "get", "Orders_v1_getOrder", []param{{"id", "path", true}, {"page", "query", false}, {"verbose", "query", false}}, nil, "200", false, false, []string{"Orders"}},
		{"/orders/{id}", "delete", "Orders_v1_deleteOrder", []param{{"id", "path", true}}, nil, "204", true, true, []string{"Orders"}},
		{"/orders/fail", "post", "Orders_v1_failOrder", nil, []string{"item", "qty"}, "200", false, false, []string{"Orders"}},
	}
	if n := model.Paths.PathItems.Len(); n != 2 {
		t.Fatalf("%d paths, want 2 (the undeclared hiddenOrder must not appear)", n)
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			item, ok := model.Paths.PathItems.Get(tt.path)
			if !ok {
				t.Fatalf("path %s missing", tt.path)
			}
			op := item.GetOperations().GetOrZero(tt.method)
			if op == nil || op.OperationId != tt.opID {
				t.Fatalf("operation %s %s: %+v, want id %s", tt.method, tt.path, op, tt.opID)
			}
			var got []param
			for _, p := range op.Parameters {
				got = append(got, param{p.Name, p.In, p.Required != nil && *p.Required})
				if p.Schema == nil {
					t.Fatalf("parameter %s has no schema", p.Name)
				}
			}
			if !slices.Equal(got, tt.params) {
				t.Fatalf("parameters %v, want %v", got, tt.params)
			}
			if (op.RequestBody != nil) != (tt.body != nil) {
				t.Fatalf("request body %v, want one: %v", op.RequestBody, tt.body != nil)
			}
			if tt.body != nil {
				mt, ok := op.RequestBody.Content.Get("application/json")
				if !ok {
					t.Fatal("no application/json request body")
				}
				s := mt.Schema.Schema()
				if !slices.Equal(s.Required, tt.body) || s.Properties.Len() != len(tt.body) {
					t.Fatalf("input schema requires %v with %d properties, want %v", s.Required, s.Properties.Len(), tt.body)
				}
				if tt.opID == "Orders_v1_createOrder" && (mt.Example == nil || !strings.Contains(renderNode(mt), "book")) {
					t.Fatal("the WithExample input is not the request example")
				}
			}
			resp, ok := op.Responses.Codes.Get(tt.status)
			if !ok {
				t.Fatalf("no %s response", tt.status)
			}
			if tt.status == "204" {
				if resp.Content != nil && resp.Content.Len() > 0 {
					t.Fatal("204 with content")
				}
			} else if mt, ok := resp.Content.Get("application/json"); !ok || mt.Schema.Schema().Properties == nil {
				t.Fatal("no output schema")
			}
			for _, code := range []string{"400", "500"} {
				r, ok := op.Responses.Codes.Get(code)
				if !ok || r.Content.GetOrZero("application/problem+json") == nil {
					t.Fatalf("no problem+json %s response", code)
				}
			}
			_, has401 := op.Responses.Codes.Get("401")
			if (len(op.Security) > 0) != tt.secured || has401 != tt.secured {
				t.Fatalf("security %v (401: %v), want secured %v", op.Security, has401, tt.secured)
			}
			if tt.secured {
				var names []string
				for _, req := range op.Security {
					for k := range req.Requirements.KeysFromOldest() {
						names = append(names, k)
					}
				}
				if !slices.Equal(names, []string{"bearerAuth", "apiKeyAuth"}) {
					t.Fatalf("security %v, want bearerAuth or apiKeyAuth", names)
				}
			}
			if (op.Deprecated != nil && *op.Deprecated) != tt.deprecated || !slices.Equal(op.Tags, tt.tags) {
				t.Fatalf("deprecated %v tags %v", op.Deprecated, op.Tags)
			}
		})
	}
}

func renderNode(mt *v3.MediaType) string {
	raw, _ := mt.Render()
	return string(raw)
}

// TestOpenAPIDescribesAnswers validates real requests and answers of the handler against
// the document it serves: successes and problems alike.
func TestOpenAPIDescribesAnswers(t *testing.T) {
	h := ordersHandler(t)
	good := map[string]string{"Authorization": "Bearer good"}
	served := serve(h, httpCase{method: "GET", target: "/openapi.json", header: good})
	raw, err := framework.OpenAPIDocument([]*framework.Service{ordersService()})
	if err != nil {
		t.Fatal(err)
	}
	if served.Body.String() != string(raw) {
		t.Fatal("GET /openapi.json differs from OpenAPIDocument")
	}
	_, v := openAPIModel(t, raw)
	cases := []httpCase{
		{"created", "POST", "/orders/42?page=3", "application/json", `{"item":"tea","qty":2}`, good, 201, ""},
		{"validation", "POST", "/orders/42", "application/json", `{"item":"tea","qty":0}`, good, 400, ""},
		{"anonymous", "POST", "/orders/42", "application/json", `{"item":"tea","qty":2}`, nil, 401, ""},
		{"public", "GET", "/orders/7?verbose=true", "", "", nil, 200, ""},
		{"handled 404", "GET", "/orders/missing", "", "", nil, 404, ""},
		{"deleted", "DELETE", "/orders/7", "", "", good, 204, ""},
		{"masked 500", "POST", "/orders/fail", "application/json", `{"item":"tea","qty":1}`, nil, 500, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := checkCase(t, h, c)
			req := httptest.NewRequest(c.method, "http://example.test"+c.target, strings.NewReader(c.body))
			if c.contentType != "" {
				req.Header.Set("Content-Type", c.contentType)
			}
			for k, val := range c.header {
				req.Header.Set(k, val)
			}
			resp := rec.Result()
			var ok bool
			var verrs []string
			if rec.Code < 400 {
				good, errs := v.ValidateHttpRequestResponse(req, resp)
				ok = good
				for _, e := range errs {
					verrs = append(verrs, e.Message+": "+e.Reason)
				}
			} else { // the request may be what is wrong; the answer must still be described
				good, errs := v.ValidateHttpResponse(req, resp)
				ok = good
				for _, e := range errs {
					verrs = append(verrs, e.Message+": "+e.Reason)
				}
			}
			if !ok {
				t.Fatalf("%d %s not as documented: %v", rec.Code, rec.Body, verrs)
			}
		})
	}
	// The validator is live: an answer off the document fails.
	req := httptest.NewRequest("POST", "http://example.test/orders/42", strings.NewReader(`{"item":"tea","qty":2}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer good")
	bad := httptest.NewRecorder()
	bad.Header().Set("Content-Type", "application/json")
	bad.WriteHeader(http.StatusCreated)
	_, _ = bad.WriteString(`{"id":42}`)
	if ok, _ := v.ValidateHttpRequestResponse(req, bad.Result()); ok {
		t.Fatal("an answer with a number for the string id passes validation")
	}
}
