package web

import (
	"mime"
	"net/http"
	"reflect"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
)

// requireJSON answers 415 unsupported_media_type to a request whose body is
// not JSON, on every operation that reads a body. A page on another site can
// send a body without a CORS preflight only as a form, as text/plain or with
// no type at all (a Blob), and huma would read the last as JSON: none of them
// reaches a handler. A request without a body passes, so that huma answers
// body_required where a body is needed; so does a form sent to an operation
// that takes one (addForms), whose handler must be safe to call from
// another site.
func (s *Server) requireJSON(ctx huma.Context, next func(huma.Context)) {
	r, _ := humago.Unwrap(ctx)
	forms, _ := ctx.Operation().Metadata[metaForms].(bool)
	if ctx.Operation().RequestBody == nil || r.ContentLength == 0 || isJSON(r.Header.Get("Content-Type")) || (forms && isForm(r.Header.Get("Content-Type"))) {
		next(ctx)
		return
	}
	_ = huma.WriteErr(s.api, ctx, http.StatusUnsupportedMediaType, "The body must be application/json.")
}

// isJSON reports whether a Content-Type names JSON: application/json or
// application/*+json, with any parameters.
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// isForm reports whether a Content-Type names a form:
// application/x-www-form-urlencoded or multipart/form-data.
func isForm(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/x-www-form-urlencoded" || mt == "multipart/form-data")
}

// documentJSONOnly adds the 415 answer of requireJSON to the OpenAPI
// document of each operation that reads a body; huma calls it as each
// operation is added.
func documentJSONOnly(oapi *huma.OpenAPI, op *huma.Operation) {
	if op.RequestBody == nil {
		return
	}
	op.Responses["415"] = &huma.Response{
		Description: http.StatusText(http.StatusUnsupportedMediaType) + ": the body is not application/json.",
		Content: map[string]*huma.MediaType{"application/problem+json": {
			Schema: oapi.Components.Schemas.Schema(reflect.TypeFor[Problem](), true, "")}},
	}
}
