package framework

import (
	"encoding/json"
	"testing"
)

func TestFunctionAddedPayloadExposesHTTP(t *testing.T) {
	type param struct {
		ID   string `json:"id"`
		Page int    `json:"page,omitempty"`
	}
	type in struct {
		Name string `json:"name"`
	}
	declared := Command[in, in](NewContract("Shop", "2"), "rename", WithDescription("renames"), WithParameter[param](),
		WithHTTP(Endpoint{Method: "patch", Path: "/items/{id}", Query: []string{"page"}, Consumes: []string{"application/merge-patch+json"},
			Summary: "Rename an item", Deprecated: true}))
	plain := Command[in, in](NewContract("Shop", "2"), "plain")
	for _, ref := range []CommandRef[in, in]{declared, plain} {
		if err := ref.def.schemas(); err != nil {
			t.Fatal(err)
		}
	}
	var got struct {
		Expose struct {
			ContentTypeRequest string          `json:"contentTypeRequest"`
			Deprecated         bool            `json:"deprecated"`
			HTTP               json.RawMessage `json:"http"`
		} `json:"expose"`
	}
	if err := json.Unmarshal(functionAddedPayload(declared.def), &got); err != nil {
		t.Fatal(err)
	}
	want := `{"method":"PATCH","openApi":{"description":"renames","isSecure":true,"operationId":"Shop_v2_rename","query":[{"name":"page","required":false}],"summary":"Rename an item","tags":["Shop"]},"path":"/items/{id}"}`
	if string(got.Expose.HTTP) != want || !got.Expose.Deprecated || got.Expose.ContentTypeRequest != "application/merge-patch+json" {
		t.Fatalf("expose %+v\nhttp %s\nwant %s", got.Expose, got.Expose.HTTP, want)
	}
	got.Expose.HTTP = nil
	if err := json.Unmarshal(functionAddedPayload(plain.def), &got); err != nil || got.Expose.HTTP != nil || got.Expose.Deprecated {
		t.Fatalf("an undeclared command exposes %s (%v)", got.Expose.HTTP, err)
	}
}
