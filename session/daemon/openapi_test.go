package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/uaaf/uaaf/hypervisor/kvmtest"
	"github.com/uaaf/uaaf/session/api"
)

// The parts of an OpenAPI 3 document the tests look at.
type (
	oaDoc struct {
		OpenAPI    string                      `json:"openapi"`
		Paths      map[string]map[string]oaRaw `json:"paths"` // path → method or "parameters"
		Components map[string]map[string]oaRaw `json:"components"`
	}
	oaRaw = json.RawMessage
	oaOp  struct {
		Parameters  []oaParam             `json:"parameters"`
		RequestBody *oaBody               `json:"requestBody"`
		Responses   map[string]oaResponse `json:"responses"`
	}
	oaParam struct {
		Ref  string `json:"$ref"`
		Name string `json:"name"`
		In   string `json:"in"`
	}
	oaBody struct {
		Ref     string                               `json:"$ref"`
		Content map[string]struct{ Schema oaSchema } `json:"content"`
	}
	oaResponse struct {
		Ref     string                               `json:"$ref"`
		Headers map[string]oaRaw                     `json:"headers"`
		Content map[string]struct{ Schema oaSchema } `json:"content"`
	}
	oaSchema struct {
		Ref        string              `json:"$ref"`
		Type       string              `json:"type"`
		Required   []string            `json:"required"`
		Properties map[string]oaSchema `json:"properties"`
		AllOf      []oaSchema          `json:"allOf"`
		Items      *oaSchema           `json:"items"`
	}
)

var httpMethods = []string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}

func readSpec(t *testing.T) *oaDoc {
	t.Helper()
	data, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc oaDoc
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	return &doc
}

// component returns the component a "#/components/KIND/NAME" reference
// names, decoded into v.
func (d *oaDoc) component(t *testing.T, ref, kind string, v any) {
	t.Helper()
	name, ok := strings.CutPrefix(ref, "#/components/"+kind+"/")
	raw, found := d.Components[kind][name]
	if !ok || !found {
		t.Fatalf("reference %q: no such %s", ref, kind)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", ref, err)
	}
}

func (d *oaDoc) param(t *testing.T, p oaParam) oaParam {
	if p.Ref != "" {
		d.component(t, p.Ref, "parameters", &p)
	}
	return p
}

func (d *oaDoc) response(t *testing.T, r oaResponse) oaResponse {
	if r.Ref != "" {
		d.component(t, r.Ref, "responses", &r)
	}
	return r
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

// TestOpenAPIRoutes checks openapi.json against Routes: the same (method,
// path) pairs both ways, every path parameter declared (and no other), the
// query parameters each route accepts and no more, a success response and
// an Error-shaped error response for each status, Retry-After on 429/503.
func TestOpenAPIRoutes(t *testing.T) {
	doc := readSpec(t)
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi = %q, want 3.x", doc.OpenAPI)
	}
	served := map[string]Route{}
	for _, rt := range Routes() {
		served[strings.ToLower(rt.Method)+" "+rt.Path] = rt
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths {
		for key := range item {
			if key != "parameters" && !slices.Contains(httpMethods, key) {
				t.Errorf("%s: unexpected key %q", path, key)
			}
			if slices.Contains(httpMethods, key) {
				documented[key+" "+path] = true
				if _, ok := served[key+" "+path]; !ok {
					t.Errorf("documented but not served: %s %s", strings.ToUpper(key), path)
				}
			}
		}
	}
	for k, rt := range served {
		if !documented[k] {
			t.Errorf("served but not documented: %s %s", rt.Method, rt.Path)
			continue
		}
		t.Run(rt.Method+" "+rt.Path, func(t *testing.T) {
			checkOperation(t, doc, rt)
		})
	}
}

func checkOperation(t *testing.T, doc *oaDoc, rt Route) {
	item := doc.Paths[rt.Path]
	var op oaOp
	if err := json.Unmarshal(item[strings.ToLower(rt.Method)], &op); err != nil {
		t.Fatal(err)
	}
	params := op.Parameters
	if raw, ok := item["parameters"]; ok {
		var shared []oaParam
		if err := json.Unmarshal(raw, &shared); err != nil {
			t.Fatal(err)
		}
		params = append(shared, params...)
	}
	var inPath, inQuery []string
	for _, p := range params {
		switch p = doc.param(t, p); p.In {
		case "path":
			inPath = append(inPath, p.Name)
		case "query":
			inQuery = append(inQuery, p.Name)
		default:
			t.Errorf("parameter %q in %q", p.Name, p.In)
		}
	}
	var want []string
	for _, m := range pathParam.FindAllStringSubmatch(rt.Path, -1) {
		want = append(want, m[1])
	}
	slices.Sort(inPath)
	slices.Sort(want)
	if !slices.Equal(inPath, want) {
		t.Errorf("path parameters declared %v, in the path %v", inPath, want)
	}
	slices.Sort(inQuery)
	accepted := slices.Clone(rt.query)
	slices.Sort(accepted)
	if !slices.Equal(inQuery, accepted) {
		t.Errorf("query parameters declared %v, accepted %v", inQuery, accepted)
	}

	if op.RequestBody != nil {
		for ct, c := range op.RequestBody.Content {
			if ct != "application/json" || c.Schema.Ref == "" {
				t.Errorf("request body %s: want application/json with a schema reference", ct)
			}
		}
	}
	ok := false
	for code, r := range op.Responses {
		r = doc.response(t, r)
		if strings.HasPrefix(code, "2") {
			ok = true
			continue
		}
		if rt.Path == "/healthz" && code == "503" { // a Health, by design
			continue
		}
		if s := r.Content["application/json"].Schema; s.Ref != "#/components/schemas/Error" || len(r.Content) != 1 {
			t.Errorf("response %s: want application/json with the Error schema", code)
		}
		if _, has := r.Headers["Retry-After"]; has != (code == "429" || code == "503") {
			t.Errorf("response %s: Retry-After header documented: %v", code, has)
		}
	}
	if !ok {
		t.Error("no 2xx response")
	}
	for _, code := range []string{"400", "401"} { // unknown query parameters; the TCP token
		if _, has := op.Responses[code]; !has {
			t.Errorf("no %s response", code)
		}
	}
}

// TestOpenAPIRefs checks that every $ref in the document resolves.
func TestOpenAPIRefs(t *testing.T) {
	doc := readSpec(t)
	data, _ := os.ReadFile("openapi.json")
	var tree any
	json.Unmarshal(data, &tree)
	n := 0
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				n++
				parts := strings.Split(strings.TrimPrefix(ref, "#/components/"), "/")
				if !strings.HasPrefix(ref, "#/components/") || len(parts) != 2 || doc.Components[parts[0]][parts[1]] == nil {
					t.Errorf("$ref %q resolves to nothing", ref)
				}
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(tree)
	if n == 0 {
		t.Error("no $ref at all")
	}
}

// TestOpenAPISchemas checks that components.schemas describes every type
// of package api with exactly its JSON fields, and, for what the daemon
// sends, every field it always sends as required.
func TestOpenAPISchemas(t *testing.T) {
	doc := readSpec(t)
	for _, tc := range []struct {
		v        any
		response bool
	}{
		{api.Error{}, true}, {api.VersionInfo{}, true}, {api.Health{}, true}, {api.LoadLibrary{}, false},
		{api.Library{}, true}, {api.AddImage{}, false}, {api.Image{}, true}, {api.Limits{}, false},
		{api.SessionSpec{}, false}, {api.View{}, true}, {api.Timings{}, true}, {api.Session{}, true},
		{api.Invoke{}, false}, {api.InvokeResult{}, true}, {api.Event{}, true},
		{api.LibraryUse{}, true}, {api.Residency{}, true}, {api.LibraryResidency{}, true}, {api.ResidencyInterval{}, true},
	} {
		typ := reflect.TypeOf(tc.v)
		t.Run(typ.Name(), func(t *testing.T) {
			var s oaSchema
			doc.component(t, "#/components/schemas/"+typ.Name(), "schemas", &s)
			props, required := flatten(t, doc, s)
			fields, always := jsonFields(typ)
			slices.Sort(props)
			if !slices.Equal(props, fields) {
				t.Errorf("schema properties %v, type's JSON fields %v", props, fields)
			}
			for _, r := range required {
				if !slices.Contains(fields, r) {
					t.Errorf("required %q is no field", r)
				}
			}
			if tc.response {
				slices.Sort(required)
				if !slices.Equal(required, always) {
					t.Errorf("required %v, always sent %v", required, always)
				}
			}
		})
	}
}

// flatten returns a schema's properties and required ones, through allOf
// and references.
func flatten(t *testing.T, doc *oaDoc, s oaSchema) (props, required []string) {
	if s.Ref != "" {
		var r oaSchema
		doc.component(t, s.Ref, "schemas", &r)
		return flatten(t, doc, r)
	}
	for _, sub := range s.AllOf {
		p, r := flatten(t, doc, sub)
		props, required = append(props, p...), append(required, r...)
	}
	for k := range s.Properties {
		props = append(props, k)
	}
	return props, append(required, s.Required...)
}

// jsonFields returns typ's JSON field names (embedded structs flattened),
// sorted, and those without omitempty or omitzero.
func jsonFields(typ reflect.Type) (all, always []string) {
	for f := range typ.Fields() {
		if f.Anonymous {
			a, b := jsonFields(f.Type)
			all, always = append(all, a...), append(always, b...)
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		all = append(all, name)
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			always = append(always, name)
		}
	}
	slices.Sort(all)
	slices.Sort(always)
	return all, always
}

// TestOpenAPIServed checks what a real daemon serves: GET /v1/openapi.json
// is the file, and every route refuses a query parameter the document does
// not declare while taking the ones it does.
func TestOpenAPIServed(t *testing.T) {
	kvmtest.Require(t)
	d, err := New(Options{Pool: "fixed=1"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	h := d.Handler("")
	file, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/v1/openapi.json", nil))
	if w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), file) || w.Header().Get("Content-Type") != "application/json" {
		t.Errorf("GET /v1/openapi.json: %d %s, %d bytes, want the file's %d", w.Code, w.Header().Get("Content-Type"), w.Body.Len(), len(file))
	}

	doc := readSpec(t)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel() // streams and long polls return at once
	for _, rt := range Routes() {
		path := pathParam.ReplaceAllStringFunc(rt.Path, func(p string) string {
			if p == "{id}" {
				return "424242"
			}
			return "nosuch"
		})
		var op oaOp
		var params []oaParam
		json.Unmarshal(doc.Paths[rt.Path][strings.ToLower(rt.Method)], &op)
		json.Unmarshal(doc.Paths[rt.Path]["parameters"], &params)
		query := []string{"bogus"}
		for _, p := range append(params, op.Parameters...) {
			if p = doc.param(t, p); p.In == "query" {
				query = append(query, p.Name)
			}
		}
		for _, q := range query {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(rt.Method, path+"?"+q+"=0", nil).WithContext(cancelled))
			refused := w.Code == http.StatusBadRequest && strings.Contains(w.Body.String(), "unknown query parameter")
			if refused != (q == "bogus") {
				t.Errorf("%s %s?%s=0: %d %s", rt.Method, path, q, w.Code, strings.TrimSpace(w.Body.String()))
			}
		}
	}
}
