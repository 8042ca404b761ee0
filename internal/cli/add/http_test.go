package add_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/purista-go/purista/internal/cli/cmdutil"
)

// TestAddCommandHTTP adds commands with endpoints through `purista add command --http`
// into one fresh project, checks the declarations written into the contracts, refuses
// invalid endpoints with exit 2 and no change, and then builds, vets and tests the
// project.
func TestAddCommandHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("builds, vets and tests a generated project: skipped with -short")
	}
	dir := newProject(t)
	if code, out, errOut := purista(t, "add", "service", "Orders", "--dir", dir); code != cmdutil.ExitOK {
		t.Fatalf("add service: exit %d\n%s%s", code, out, errOut)
	}

	accepted := []struct {
		args []string
		file string   // the contract file, under services/orders/v1
		want []string // parts of the file
	}{
		{args: []string{"placeOrder", "--http", "POST:/orders"}, file: "place_order.go",
			want: []string{`framework.WithHTTP(framework.Endpoint{Method: "POST", Path: "/orders"})`, "callers need credentials"}},
		{args: []string{"getOrder", "--http", "get:/orders/{id}", "--public"}, file: "get_order.go",
			want: []string{`framework.WithParameter[GetOrderParams]()`, `framework.WithHTTP(framework.Endpoint{Method: "GET", Path: "/orders/{id}", Public: true})`,
				"ID string `json:\"id\" jsonschema:\"minLength=1\"`", "HTTP callers send no input", "WithExample(GetOrderIn{})"}},
		{args: []string{"removeItem", "--http", "DELETE:/orders/{order-id}/items/{itemId}"}, file: "remove_item.go",
			want: []string{"type RemoveItemIn struct {", "OrderID string `json:\"order-id\""}},
		{args: []string{"moveItem", "--http", "PUT:/orders/{order-id}/items/{itemId}", "--event", "itemMoved"}, file: "move_item.go",
			want: []string{"OrderID string `json:\"order-id\"", "ItemID string `json:\"itemId\"", `WithSuccessEvent("itemMoved")`}},
		{args: []string{"cancelOrder", "--http", "DELETE"}, file: "cancel_order.go",
			want: []string{`framework.WithHTTP(framework.Endpoint{Method: "DELETE", Path: "/orders/cancel-order"})`}},
		{args: []string{"ping", "--http", "/ping", "--public"}, file: "ping.go",
			want: []string{`framework.WithHTTP(framework.Endpoint{Method: "POST", Path: "/ping", Public: true})`}},
		{args: []string{"plain"}, file: "plain.go", want: []string{"It is not on HTTP"}},
	}
	refused := []struct {
		args    []string
		wantErr string
	}{
		{args: []string{"bad1", "--http", "FETCH:/x"}, wantErr: `method "FETCH" is not supported`},
		{args: []string{"bad2", "--http", "GET:orders"}, wantErr: `does not start with '/'`},
		{args: []string{"bad3", "--http", "GET:/orders/"}, wantErr: "trailing '/'"},
		{args: []string{"bad4", "--http", "GET:/a/../b"}, wantErr: `".." segment`},
		{args: []string{"bad5", "--http", "GET:/a b"}, wantErr: `has ' '`},
		{args: []string{"bad6", "--http", "GET:/x/{1st}"}, wantErr: "{1st} is not a name"},
		{args: []string{"bad7", "--http", "GET:/x/{}"}, wantErr: "{} is not a name"},
		{args: []string{"bad8", "--http", "GET:/x/{a-b}/{a_b}"}, wantErr: "would both be the field AB"},
		{args: []string{"bad9", "--public"}, wantErr: "--public marks an HTTP endpoint public"},
		{args: []string{"bad10", "--http", " "}, wantErr: "--http needs a value"},
		{args: []string{"bad11", "--http", "GET:/orders/{id}?x=1"}, wantErr: "a query string (?x=1) does not belong in the path"},
		{args: []string{"spec", "--http", "GET:/openapi.json"}, wantErr: "GET:/openapi.json: the path is reserved"},
		{args: []string{"placeOrder", "--http", "POST:/other"}, wantErr: "pick another name"},
	}
	for _, tt := range accepted {
		full := append([]string{"add", "command", "Orders"}, append(tt.args, "--dir", dir)...)
		if code, out, errOut := purista(t, full...); code != cmdutil.ExitOK {
			t.Fatalf("purista %s: exit %d\n%s%s", strings.Join(full, " "), code, out, errOut)
		}
		src, err := os.ReadFile(filepath.Join(dir, "services", "orders", "v1", tt.file))
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tt.want {
			if !strings.Contains(string(src), w) {
				t.Errorf("%s (%s): no %q in\n%s", tt.file, strings.Join(tt.args, " "), w, src)
			}
		}
	}
	for _, tt := range refused {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			refuse(t, dir, append([]string{"add", "command", "Orders"}, tt.args...), tt.wantErr)
		})
	}
	for _, step := range [][]string{{"build", "./..."}, {"vet", "./..."}, {"test", "./..."}} {
		goCmd(t, dir, step...)
	}
}

// TestAddCommandHTTPClash refuses, with exit 2 and no change, endpoints that an endpoint
// already declared in the project (in any service) would also answer, and reserved
// paths; it accepts endpoints the framework tells apart.
func TestAddCommandHTTPClash(t *testing.T) {
	dir := newProject(t)
	for _, args := range [][]string{
		{"service", "Orders"},
		{"service", "Billing"},
		{"command", "Orders", "get", "--http", "GET:/orders/{id}"},
		{"command", "Orders", "place", "--http", "POST:/orders"},
		{"command", "Orders", "list", "--http", "GET:/orders/all"},       // a literal beats {id}
		{"command", "Orders", "update", "--http", "PUT:/orders/{id}"},    // another method
		{"command", "Billing", "pay", "--http", "POST:/orders/{id}/pay"}, // a longer path
	} {
		full := append([]string{"add"}, append(args, "--dir", dir)...)
		if code, out, errOut := purista(t, full...); code != cmdutil.ExitOK {
			t.Fatalf("purista %s: exit %d\n%s%s", strings.Join(full, " "), code, out, errOut)
		}
	}
	tests := []struct {
		args    []string
		wantErr []string
	}{
		{args: []string{"Orders", "fetch", "--http", "GET:/orders/{oid}"},
			wantErr: []string{"command Orders get is already served at GET /orders/{id}", "give command Orders fetch another path, e.g. --http GET:/orders/fetch"}},
		{args: []string{"Orders", "again", "--http", "POST:/orders"},
			wantErr: []string{"command Orders place is already served at POST /orders"}},
		{args: []string{"Billing", "show", "--http", "get:/orders/{key}"},
			wantErr: []string{"command Orders get is already served at GET /orders/{id}", "give command Billing show another path"}},
		{args: []string{"Orders", "payAgain", "--http", "POST:/orders/{n}/pay"},
			wantErr: []string{"command Billing pay is already served at POST /orders/{id}/pay"}},
		{args: []string{"Orders", "spec", "--http", "GET:/openapi.json"},
			wantErr: []string{"the path is reserved", "GET /api", "give command Orders spec another path"}},
		{args: []string{"Orders", "index", "--http", "GET:/api"},
			wantErr: []string{"the path is reserved"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			for _, w := range tt.wantErr {
				refuse(t, dir, append([]string{"add", "command"}, tt.args...), w)
			}
		})
	}
	if code, out, errOut := purista(t, "add", "command", "Billing", "list", "--http", "GET:/orders/{id}/items", "--dir", dir); code != cmdutil.ExitOK {
		t.Fatalf("an endpoint without a clash: exit %d\n%s%s", code, out, errOut)
	}
}
