package web

import (
	"html/template"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

// docsPage renders the OpenAPI document as one self-contained HTML page: no
// script, no CDN, so it reads the same on a machine with no internet.
var docsPage = template.Must(template.New("docs").Funcs(template.FuncMap{
	"lower": strings.ToLower,
	"ref":   func(s string) string { return strings.TrimPrefix(s, "#/components/schemas/") },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} API reference</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222}
h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
.op{border:1px solid #e3e3e3;border-radius:6px;padding:.6em 1em;margin:1em 0}
.m{display:inline-block;min-width:4.5em;font-weight:700;font-family:monospace}
.get{color:#0a6}.post{color:#05a}.put,.patch{color:#a60}.delete{color:#c22}
code,.p{font-family:ui-monospace,monospace}table{border-collapse:collapse;width:100%}
td,th{text-align:left;border-bottom:1px solid #eee;padding:.2em .5em;vertical-align:top}
.lock{color:#888;font-size:.85em}
</style></head><body>
<h1>{{.Title}} <small>{{.Version}}</small></h1>
<p>{{.Description}}</p>
<p>The machine-readable document: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>
{{range .Tags}}<h2>{{.Name}}</h2>
{{range .Ops}}<div class="op" id="{{.ID}}"><span class="m {{lower .Method}}">{{.Method}}</span> <span class="p">{{.Path}}</span>
{{if eq .Needs "signed-in"}}<span class="lock">· needs a signed-in user</span>{{else if .Needs}}<span class="lock">· needs <code>{{.Needs}}</code></span>{{end}}
<div>{{.Summary}}</div>
{{if .Body}}<div>Body: <a href="#schema-{{ref .Body}}"><code>{{ref .Body}}</code></a></div>{{end}}
<div>Answers: {{range .Responses}}<code>{{.}}</code> {{end}}</div></div>
{{end}}{{end}}
<h2>Schemas</h2>
{{range .Schemas}}<h3 id="schema-{{.Name}}">{{.Name}}</h3>
<table><tr><th>field</th><th>type</th><th>about</th></tr>
{{range .Fields}}<tr><td><code>{{.Name}}</code>{{if .Required}} *{{end}}</td><td>{{.Type}}</td><td>{{.Doc}}</td></tr>{{end}}
</table>{{end}}
</body></html>`))

type docsOp struct {
	ID, Method, Path, Summary, Body string
	Needs                           string
	Responses                       []string
}

type docsField struct {
	Name, Type, Doc string
	Required        bool
}

func (s *Server) docs(w http.ResponseWriter, r *http.Request) {
	doc := s.api.OpenAPI()
	byTag := map[string][]docsOp{}
	var tags []string
	for path, item := range doc.Paths {
		for method, op := range map[string]*huma.Operation{"GET": item.Get, "POST": item.Post, "PUT": item.Put, "PATCH": item.Patch, "DELETE": item.Delete} {
			if op == nil {
				continue
			}
			d := docsOp{ID: op.OperationID, Method: method, Path: path, Summary: op.Summary, Needs: op.Metadata[metaPerm].(string)}
			if op.RequestBody != nil {
				if mt := op.RequestBody.Content["application/json"]; mt != nil && mt.Schema != nil {
					d.Body = mt.Schema.Ref
				}
			}
			for code := range op.Responses {
				d.Responses = append(d.Responses, code)
			}
			slices.Sort(d.Responses)
			tag := op.Tags[0]
			if _, ok := byTag[tag]; !ok {
				tags = append(tags, tag)
			}
			byTag[tag] = append(byTag[tag], d)
		}
	}
	slices.Sort(tags)
	type docsTag struct {
		Name string
		Ops  []docsOp
	}
	data := struct {
		Title, Version, Description string
		Tags                        []docsTag
		Schemas                     []struct {
			Name   string
			Fields []docsField
		}
	}{Title: doc.Info.Title, Version: doc.Info.Version, Description: doc.Info.Description}
	for _, t := range tags {
		ops := byTag[t]
		slices.SortFunc(ops, func(a, b docsOp) int { return strings.Compare(a.Path+a.Method, b.Path+b.Method) })
		data.Tags = append(data.Tags, docsTag{t, ops})
	}
	schemas := doc.Components.Schemas.Map()
	for _, name := range slices.Sorted(maps.Keys(schemas)) {
		sc := schemas[name]
		var fields []docsField
		for _, p := range slices.Sorted(maps.Keys(sc.Properties)) {
			prop := sc.Properties[p]
			typ := prop.Type
			if prop.Ref != "" {
				typ = strings.TrimPrefix(prop.Ref, "#/components/schemas/")
			}
			if prop.Format != "" {
				typ += " (" + prop.Format + ")"
			}
			fields = append(fields, docsField{Name: p, Type: typ, Doc: prop.Description, Required: slices.Contains(sc.Required, p)})
		}
		data.Schemas = append(data.Schemas, struct {
			Name   string
			Fields []docsField
		}{name, fields})
	}
	pageHeaders(w.Header(), docsPolicy)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := docsPage.Execute(w, data); err != nil {
		s.log.ErrorContext(r.Context(), "render docs", "err", err)
	}
}
