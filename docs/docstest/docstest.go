// Package docstest validates JSON values against the schemas of the API
// documents in package docs, for tests: the documents' own examples, and
// the answers and frames a real node sends.
package docstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/messenger-go/messenger/docs"
)

// Names of the documents, as the server serves them.
const (
	OpenAPI  = "openapi.yaml"
	AsyncAPI = "asyncapi.yaml"
)

// base is where the documents live for the validator: asyncapi.yaml refers
// to openapi.yaml's schemas relative to it, as a client that fetched both
// from the server resolves them.
const base = "https://messenger.invalid/"

// Documents are the two API documents, decoded, and a compiler of their
// schemas (JSON Schema 2020-12, formats asserted).
type Documents struct {
	byName map[string]map[string]any
	c      *jsonschema.Compiler
}

// Load decodes the embedded documents.
func Load() (*Documents, error) {
	d := &Documents{byName: map[string]map[string]any{}, c: jsonschema.NewCompiler()}
	d.c.DefaultDraft(jsonschema.Draft2020)
	d.c.AssertFormat()
	for name, data := range map[string][]byte{OpenAPI: docs.OpenAPI(), AsyncAPI: docs.AsyncAPI()} {
		v, err := Decode(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		doc, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s is not a mapping", name)
		}
		d.byName[name] = doc
		if err := d.c.AddResource(base+name, doc); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// Decode reads YAML (or JSON) into the values encoding/json gives, with
// numbers as json.Number, as the validator wants them.
func Decode(data []byte) (any, error) {
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	js, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("not JSON values: %w", err)
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(js))
}

// Doc returns the decoded document named name.
func (d *Documents) Doc(name string) map[string]any { return d.byName[name] }

// Schema compiles the schema at the JSON pointer ptr of document name.
func (d *Documents) Schema(name, ptr string) (*jsonschema.Schema, error) {
	return d.c.Compile(base + name + "#" + (&url.URL{Fragment: ptr}).EscapedFragment())
}

// Validate checks v against the schema at ptr of document name.
func (d *Documents) Validate(name, ptr string, v any) error {
	sch, err := d.Schema(name, ptr)
	if err != nil {
		return err
	}
	return sch.Validate(v)
}

// Pointer joins JSON pointer tokens, escaping each.
func Pointer(tokens ...string) string {
	var b strings.Builder
	esc := strings.NewReplacer("~", "~0", "/", "~1")
	for _, t := range tokens {
		b.WriteString("/" + esc.Replace(t))
	}
	return b.String()
}

// ResponseSchema returns the pointer of the JSON schema of the answer with
// status to method path in openapi.yaml, following a reference to a shared
// response. It fails when the document has no such answer.
func (d *Documents) ResponseSchema(method, path string, status int) (string, error) {
	ptr := Pointer("paths", path, strings.ToLower(method), "responses", fmt.Sprint(status))
	resp, ok := d.at(OpenAPI, ptr).(map[string]any)
	if !ok {
		return "", fmt.Errorf("openapi.yaml does not document %d for %s %s", status, method, path)
	}
	if ref, ok := resp["$ref"].(string); ok {
		ptr = strings.TrimPrefix(ref, "#")
		if resp, ok = d.at(OpenAPI, ptr).(map[string]any); !ok {
			return "", fmt.Errorf("openapi.yaml: dangling reference %s", ref)
		}
	}
	content, _ := resp["content"].(map[string]any)
	if _, ok := content["application/json"]; !ok {
		return "", fmt.Errorf("openapi.yaml: %d for %s %s has no JSON body", status, method, path)
	}
	return ptr + Pointer("content", "application/json", "schema"), nil
}

// at resolves an escaped JSON pointer in document name.
func (d *Documents) at(name, ptr string) any {
	var v any = d.byName[name]
	unesc := strings.NewReplacer("~1", "/", "~0", "~")
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[unesc.Replace(tok)]
	}
	return v
}
