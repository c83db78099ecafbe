// Package docs holds the machine-readable descriptions of the wire contract,
// embedded so that the server can serve them: openapi.yaml (OpenAPI 3.1, the
// REST API) and asyncapi.yaml (AsyncAPI 3.0, the WebSocket events). The
// Markdown pages beside them are for people.
package docs

import (
	"bytes"
	_ "embed"
	"net/http"
)

var (
	//go:embed openapi.yaml
	openAPI []byte
	//go:embed asyncapi.yaml
	asyncAPI []byte
)

// OpenAPI returns the OpenAPI 3.1 document of the REST API.
func OpenAPI() []byte { return bytes.Clone(openAPI) }

// AsyncAPI returns the AsyncAPI 3.0 document of the WebSocket events. Its
// shared schemas are references into openapi.yaml, served beside it.
func AsyncAPI() []byte { return bytes.Clone(asyncAPI) }

// Handler serves doc as YAML.
func Handler(doc []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(doc)
	})
}
