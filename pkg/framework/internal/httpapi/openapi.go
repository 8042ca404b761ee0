package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/purista-go/purista/pkg/framework/httpauth"
)

// Info is the info object of an OpenAPI document.
type Info struct {
	Title, Version, Description string
}

// obj is a JSON object under construction; encoding/json writes its keys sorted, so a
// document renders the same bytes every time.
type obj = map[string]any

// problemRef is the schema reference of problem answers.
const problemRef = "#/components/schemas/Problem"

// Document renders the OpenAPI 3.1 document of the command routes among routes (as
// Compile returned them; tooling routes are left out). Protected operations require
// any one of auth's security schemes (the built-in bearer JWT and API key schemes when
// auth is nil or does not describe itself). The output is deterministic.
func Document(routes []*Route, info Info, auth httpauth.Authenticator) ([]byte, error) {
	schemes := describe(auth)
	secSchemes := obj{}
	var security []obj
	for _, s := range schemes {
		secSchemes[s.Name] = securityScheme(s)
		security = append(security, obj{s.Name: []string{}})
	}
	schemas := obj{"Problem": problemSchema()}
	paths := obj{}
	for _, r := range routes {
		if r.builtin != notBuiltin || r.Tooling {
			continue
		}
		item, _ := paths[r.Path].(obj)
		if item == nil {
			item = obj{}
			paths[r.Path] = item
		}
		item[strings.ToLower(r.Method)] = r.operation(schemas, security)
	}
	doc := obj{
		"openapi": "3.1.0",
		"info":    infoObject(info),
		"paths":   paths,
		"components": obj{
			"schemas":         schemas,
			"responses":       problemResponses(),
			"securitySchemes": secSchemes,
		},
	}
	raw, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("render OpenAPI document: %w", err)
	}
	return append(raw, '\n'), nil
}

func infoObject(i Info) obj {
	o := obj{"title": i.Title, "version": i.Version}
	if o["title"] == "" {
		o["title"] = "purista API"
	}
	if o["version"] == "" {
		o["version"] = "1"
	}
	if i.Description != "" {
		o["description"] = i.Description
	}
	return o
}

func securityScheme(s httpauth.SecurityScheme) obj {
	o := obj{"type": s.Type}
	if s.Description != "" {
		o["description"] = s.Description
	}
	switch s.Type {
	case "http":
		o["scheme"] = s.Scheme
		if s.BearerFormat != "" {
			o["bearerFormat"] = s.BearerFormat
		}
	case "apiKey":
		o["in"], o["name"] = s.In, s.ParamName
	}
	return o
}

// operation renders r as an operation object and adds its schemas to schemas.
func (r *Route) operation(schemas obj, security []obj) obj {
	base := fmt.Sprintf("%s_v%s_%s", r.Service, r.Version, r.Command)
	op := obj{"operationId": base, "tags": r.Tags}
	if len(r.Tags) == 0 {
		op["tags"] = []string{r.Service}
	}
	if r.Summary != "" {
		op["summary"] = r.Summary
	}
	if r.Description != "" {
		op["description"] = r.Description
	}
	if r.Deprecated {
		op["deprecated"] = true
	}
	if params := r.openAPIParameters(); len(params) > 0 {
		op["parameters"] = params
	}
	if hasBody(r.Method) {
		schemas[base+"_input"] = r.Input
		content := obj{}
		for _, ct := range r.Consumes {
			mt := obj{"schema": obj{"$ref": "#/components/schemas/" + base + "_input"}}
			if len(r.Example) > 0 {
				mt["example"] = r.Example
			}
			content[ct] = mt
		}
		op["requestBody"] = obj{"content": content}
	}
	success := obj{"description": http.StatusText(r.Status)}
	if r.Status != http.StatusNoContent {
		schemas[base+"_output"] = r.Output
		content := obj{}
		for _, ct := range r.Produces {
			content[ct] = obj{"schema": obj{"$ref": "#/components/schemas/" + base + "_output"}}
		}
		success["content"] = content
	}
	responses := obj{strconv.Itoa(r.Status): success,
		"400": ref("BadRequest"), "500": ref("InternalServerError"), "default": ref("Error")}
	if hasBody(r.Method) {
		responses["413"], responses["415"] = ref("ContentTooLarge"), ref("UnsupportedMediaType")
	}
	if !r.Public {
		responses["401"], responses["403"] = ref("Unauthorized"), ref("Forbidden")
		op["security"] = security
	}
	op["responses"] = responses
	return op
}

func ref(name string) obj { return obj{"$ref": "#/components/responses/" + name} }

// openAPIParameters are the path parameters (in path order) and the query parameters
// (in declaration order) of r.
func (r *Route) openAPIParameters() []obj {
	var out []obj
	for _, n := range r.pathParams {
		out = append(out, obj{"name": n, "in": "path", "required": true, "schema": r.params[n].schema})
	}
	for _, n := range r.Query {
		p := obj{"name": n, "in": "query", "schema": r.params[n].schema}
		if r.params[n].required {
			p["required"] = true
		}
		out = append(out, p)
	}
	return out
}

func problemSchema() obj {
	str := obj{"type": "string"}
	return obj{
		"type":        "object",
		"description": "An RFC 9457 problem details object.",
		"required":    []string{"type", "title", "status"},
		"properties": obj{
			"type":     obj{"type": "string", "format": "uri-reference"},
			"title":    str,
			"status":   obj{"type": "integer", "minimum": 400, "maximum": 599},
			"detail":   str,
			"instance": str,
			"traceId":  obj{"type": "string", "description": "The trace id of the request."},
			"errors": obj{"type": "array", "description": "The failed checks of a validation problem.",
				"items": obj{"type": "object", "required": []string{"field", "message"},
					"properties": obj{"field": obj{"type": "string", "description": "JSON pointer of the value."}, "message": str}}},
			"data": obj{"description": "The structured detail of a command's handled error."},
		},
	}
}

func problemResponses() obj {
	out := obj{}
	for name, desc := range map[string]string{
		"BadRequest":           "The request is malformed or fails validation (see errors).",
		"Unauthorized":         "The request carries no valid credentials.",
		"Forbidden":            "The credentials may not call this endpoint.",
		"ContentTooLarge":      "The request body is larger than the endpoint's limit.",
		"UnsupportedMediaType": "The request body has a content type the endpoint does not accept.",
		"InternalServerError":  "The command failed; the detail is not shown.",
		"Error":                "Any other error of the command, such as 404, 409, 503 or 504.",
	} {
		out[name] = obj{"description": desc,
			"content": obj{ProblemContentType: obj{"schema": obj{"$ref": problemRef}}}}
	}
	return out
}
