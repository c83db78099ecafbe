package docs_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/docs"
	"github.com/messenger-go/messenger/docs/docstest"
)

// load decodes the documents.
func load(t *testing.T) *docstest.Documents {
	t.Helper()
	d, err := docstest.Load()
	require.NoError(t, err)
	return d
}

// example is a value a document gives as an example of the schema at ptr.
type example struct {
	doc, ptr, name string
	value          any
}

// examples finds every example of a document: a media type's, parameter's or
// header's example(s) against its schema, a schema's examples against
// itself, and an AsyncAPI message's examples against its payload.
func examples(doc string, node any) []example {
	var out []example
	var walk func(v any, ptr string)
	walk = func(v any, ptr string) {
		switch v := v.(type) {
		case []any:
			for i, item := range v {
				walk(item, ptr+"/"+strconv.Itoa(i))
			}
		case map[string]any:
			_, hasSchema := v["schema"].(map[string]any)
			_, hasPayload := v["payload"].(map[string]any)
			switch {
			case hasSchema:
				if ex, ok := v["example"]; ok {
					out = append(out, example{doc, ptr + "/schema", ptr + "/example", ex})
				}
				if exs, ok := v["examples"].(map[string]any); ok {
					for name, ex := range exs {
						out = append(out, example{doc, ptr + "/schema", ptr + "/examples/" + name, ex.(map[string]any)["value"]})
					}
				}
			case hasPayload:
				if exs, ok := v["examples"].([]any); ok {
					for i, ex := range exs {
						out = append(out, example{doc, ptr + "/payload", ptr + "/examples/" + strconv.Itoa(i), ex.(map[string]any)["payload"]})
					}
				}
			default:
				if exs, ok := v["examples"].([]any); ok {
					for i, ex := range exs {
						out = append(out, example{doc, ptr, ptr + "/examples/" + strconv.Itoa(i), ex})
					}
				}
			}
			for k, item := range v {
				walk(item, ptr+docstest.Pointer(k))
			}
		}
	}
	walk(node, "")
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func TestEveryExampleMatchesItsSchema(t *testing.T) {
	d := load(t)
	all := append(examples(docstest.OpenAPI, d.Doc(docstest.OpenAPI)), examples(docstest.AsyncAPI, d.Doc(docstest.AsyncAPI))...)
	counts := map[string]int{}
	for _, ex := range all {
		counts[ex.doc]++
		t.Run(ex.doc+ex.name, func(t *testing.T) {
			assert.NoError(t, d.Validate(ex.doc, ex.ptr, ex.value))
		})
	}
	assert.GreaterOrEqual(t, counts[docstest.OpenAPI], 40, "the REST examples are found")
	assert.GreaterOrEqual(t, counts[docstest.AsyncAPI], 13, "the WebSocket examples are found")
}

// TestSchemasRefuseWrongExamples shows that the check above can fail: each
// example, broken in one place, is refused by its schema.
func TestSchemasRefuseWrongExamples(t *testing.T) {
	d := load(t)
	tests := []struct {
		name, doc, ptr, value string
	}{
		{"session without user", "openapi.yaml", "/components/schemas/Session",
			`{"accessToken": "a", "refreshToken": "r", "expiresIn": 900}`},
		{"user id not a uuid", "openapi.yaml", "/components/schemas/User",
			`{"id": "42", "firstName": "A", "lastName": "B", "email": "a@example.com"}`},
		{"unknown message type", "openapi.yaml", "/components/schemas/MessageType", `"video"`},
		{"send status other than queued", "openapi.yaml", "/components/schemas/SendReceipt",
			`{"messageId": "5f1d7a2c-3b4e-5f60-8a1b-2c3d4e5f6a7b", "clientMessageId": "c", "conversationId": "0b8a5f8e-1c2d-4e3f-8a9b-0c1d2e3f4a5b_7c9e6679-7425-40de-944b-e07fc1f90ae7", "status": "stored"}`},
		{"conversation id of one user", "openapi.yaml", "/components/schemas/ConversationId", `"0b8a5f8e-1c2d-4e3f-8a9b-0c1d2e3f4a5b"`},
		{"error code outside the table", "openapi.yaml", "/components/schemas/Error", `{"error": {"code": "teapot", "message": "m"}}`},
		{"newMessage frame named otherwise", "asyncapi.yaml", "/components/messages/newMessage/payload",
			`{"event": "message", "data": {}}`},
		{"resume with a negative cursor", "asyncapi.yaml", "/components/messages/resume/payload",
			`{"event": "resume", "data": {"conversations": {"0b8a5f8e-1c2d-4e3f-8a9b-0c1d2e3f4a5b_7c9e6679-7425-40de-944b-e07fc1f90ae7": -1}}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := docstest.Decode([]byte(tc.value))
			require.NoError(t, err)
			assert.Error(t, d.Validate(tc.doc, tc.ptr, v))
		})
	}
}

// TestEveryOperationHasExamples keeps the examples complete: each request
// body and each JSON success answer of the REST API has one.
func TestEveryOperationHasExamples(t *testing.T) {
	openapi := load(t).Doc(docstest.OpenAPI)
	for path, item := range openapi["paths"].(map[string]any) {
		for method, op := range item.(map[string]any) {
			op := op.(map[string]any)
			where := strings.ToUpper(method) + " " + path
			if body, ok := op["requestBody"].(map[string]any); ok {
				for mt, media := range body["content"].(map[string]any) {
					assert.Contains(t, media, "example", "%s: request %s", where, mt)
				}
			}
			for status, resp := range op["responses"].(map[string]any) {
				resp := resp.(map[string]any)
				if !strings.HasPrefix(status, "2") || resp["content"] == nil {
					continue
				}
				for mt, media := range resp["content"].(map[string]any) {
					if mt == "application/json" {
						assert.Contains(t, media, "example", "%s: %s answer", where, status)
					}
				}
			}
		}
	}
}

// TestEveryEventIsDocumented compares the AsyncAPI messages with the event
// names the domain declares, and checks each message is used by an operation
// in the right direction.
func TestEveryEventIsDocumented(t *testing.T) {
	asyncapi := load(t).Doc(docstest.AsyncAPI)
	messages := asyncapi["components"].(map[string]any)["messages"].(map[string]any)
	var documented []string
	for name, m := range messages {
		documented = append(documented, name)
		assert.Equal(t, name, m.(map[string]any)["name"], "a message's key is its event name")
		assert.NotEmpty(t, m.(map[string]any)["examples"], "%s has an example", name)
	}
	assert.ElementsMatch(t, domainEvents(t), documented)

	channel := asyncapi["channels"].(map[string]any)["socket"].(map[string]any)["messages"].(map[string]any)
	used := map[string]bool{}
	for name, op := range asyncapi["operations"].(map[string]any) {
		op := op.(map[string]any)
		for _, m := range op["messages"].([]any) {
			ref := m.(map[string]any)["$ref"].(string)
			event := strings.TrimPrefix(ref, "#/channels/socket/messages/")
			require.Contains(t, channel, event, "%s refers to a message of the channel", name)
			used[event] = true
			wantAction := "receive"
			if strings.HasPrefix(name, "send") {
				wantAction = "send"
			}
			assert.Equal(t, wantAction, op["action"], name)
		}
		if reply, ok := op["reply"].(map[string]any); ok {
			for _, m := range reply["messages"].([]any) {
				used[strings.TrimPrefix(m.(map[string]any)["$ref"].(string), "#/channels/socket/messages/")] = true
			}
		}
	}
	for _, name := range documented {
		assert.True(t, used[name], "%s is sent or received by an operation", name)
	}
}

// domainEvents reads the values of the Event* string constants of
// domain/event.go, the wire names of the WebSocket events.
func domainEvents(t *testing.T) []string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	src := filepath.Join(filepath.Dir(file), "..", "domain", "event.go")
	f, err := parser.ParseFile(token.NewFileSet(), src, nil, 0)
	require.NoError(t, err)
	var out []string
	for _, decl := range f.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.CONST {
			continue
		}
		for _, spec := range gen.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !strings.HasPrefix(name.Name, "Event") || !ok || lit.Kind != token.STRING {
					continue
				}
				v, err := strconv.Unquote(lit.Value)
				require.NoError(t, err)
				out = append(out, v)
			}
		}
	}
	require.NotEmpty(t, out, "domain/event.go declares the events")
	slices.Sort(out)
	return out
}

func TestDocumentsAreServed(t *testing.T) {
	for name, doc := range map[string][]byte{"openapi.yaml": docs.OpenAPI(), "asyncapi.yaml": docs.AsyncAPI()} {
		t.Run(name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			docs.Handler(doc).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/"+name, nil))
			assert.Equal(t, http.StatusOK, rec.Code)
			assert.Equal(t, "application/yaml; charset=utf-8", rec.Header().Get("Content-Type"))
			assert.Equal(t, doc, rec.Body.Bytes())
			_, err := docstest.Decode(rec.Body.Bytes())
			assert.NoError(t, err)
		})
	}
}
