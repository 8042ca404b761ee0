package framework

import (
	"errors"
	"strings"
	"testing"
)

type (
	tagsOK struct {
		Name  string   `json:"name" jsonschema:"minLength=1,maxLength=9,pattern=^a\\,b$,title=Name"`
		Age   int      `json:"age" jsonschema:"minimum=0,maximum=150,enum=1,enum=2"`
		Tags  []string `json:"tags" jsonschema:"minItems=1,uniqueItems=true"`
		Note  *string  `json:"note,omitempty" jsonschema:"nullable,format=email"`
		Inner tagsOKInner
	}
	tagsOKInner struct {
		Ratio float64 `json:"ratio" jsonschema:"exclusiveMinimum=0.5,required"`
	}
	tagsTypo struct {
		S string `json:"s" jsonschema:"minLenght=3"`
	}
	tagsBadNumber struct {
		N int `json:"n" jsonschema:"minimum=abc"`
	}
	tagsWrongType struct {
		N int `json:"n" jsonschema:"minLength=1"`
	}
	tagsBadLength struct {
		S string `json:"s" jsonschema:"maxLength=-1"`
	}
	tagsBareWord struct {
		S string `json:"s" jsonschema:"requird"`
	}
	tagsNested struct {
		Items []tagsTypo `json:"items"`
	}
)

func TestSchemaTags(t *testing.T) {
	tests := []struct {
		name    string
		schema  func() (*Schema, error)
		wantErr string // "" for none
	}{
		{"valid tags", SchemaFor[tagsOK], ""},
		{"misspelled key", SchemaFor[tagsTypo], `unknown key "minLenght"`},
		{"value that is not a number", SchemaFor[tagsBadNumber], "minimum=abc: want a number"},
		{"key for another type", SchemaFor[tagsWrongType], "minLength does not apply to a int field"},
		{"negative length", SchemaFor[tagsBadLength], "maxLength=-1: want a whole number"},
		{"misspelled word", SchemaFor[tagsBareWord], `"requird" is not a keyword`},
		{"inside a slice of structs", SchemaFor[tagsNested], "tagsTypo.S"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.schema()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("err = %v, want none", err)
			case tt.wantErr != "" && (err == nil || !errors.Is(err, ErrInvalidDefinition) || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("err = %v, want ErrInvalidDefinition saying %q", err, tt.wantErr)
			}
		})
	}
}
