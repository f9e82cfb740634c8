package web

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/danielgtaylor/huma/v2"
	gojson "github.com/goccy/go-json"
)

// The HTML forms run the API's operations with the API's input structs,
// but huma checks only the API's requests against the limits their
// fields declare (maxLength, pattern, enum, minimum, …). checkInput gives
// a form's input the very same checks, against the schemas the operation
// registered, so a form and the API refuse the same values with the same
// sentence — and a refused value never reaches the operation (a password
// too long to be one is never hashed).

// operations returns the registered API operations by ID.
func (s *Server) operations() map[string]*huma.Operation {
	s.opsOnce.Do(func() {
		s.ops = map[string]*huma.Operation{}
		for _, item := range s.api.OpenAPI().Paths {
			for _, op := range []*huma.Operation{item.Get, item.Put, item.Post, item.Delete, item.Patch} {
				if op != nil {
					s.ops[op.OperationID] = op
				}
			}
		}
	})
	return s.ops
}

// checkInput validates in, a pointer to the input struct of the API
// operation opID filled from a form, as huma validates that operation's
// requests: each path and query parameter that is set, then its JSON body
// as a whole, leaving out only what a form leaves null (the photos of a
// post not yet uploaded). It returns nil, or a 422 *Problem worded and
// ordered as the API's. An unknown operation is an internal error.
func (s *Server) checkInput(opID string, in any) error {
	op, ok := s.operations()[opID]
	if !ok {
		return fmt.Errorf("web: no API operation %q to check a form against", opID)
	}
	reg := s.api.OpenAPI().Components.Schemas
	res := &huma.ValidateResult{}
	pb := huma.NewPathBuffer(make([]byte, 0, 64), 0)
	params := map[string]any{}
	var body any
	collectInput(reflect.ValueOf(in), params, &body)
	for _, p := range op.Parameters {
		v, ok := params[p.In+"."+p.Name]
		if !ok || p.Schema == nil {
			continue
		}
		pb.Reset()
		pb.Push(p.In)
		pb.Push(p.Name)
		huma.Validate(reg, p.Schema, pb, huma.ModeWriteToServer, v, res)
	}
	if body == nil || op.RequestBody == nil || op.RequestBody.Content["application/json"] == nil {
		return validationProblem(res)
	}
	raw, err := gojson.Marshal(body)
	if err != nil {
		return err
	}
	var fields map[string]any
	if err := gojson.Unmarshal(raw, &fields); err != nil {
		return err
	}
	all := &huma.ValidateResult{}
	pb.Reset()
	pb.Push("body")
	huma.Validate(reg, op.RequestBody.Content["application/json"].Schema, pb, huma.ModeWriteToServer, fields, all)
	for _, e := range all.Errors {
		if d, ok := e.(*huma.ErrorDetail); ok && isNull(fields, d.Location) {
			continue
		}
		res.Errors = append(res.Errors, e)
	}
	return validationProblem(res)
}

// isNull reports whether the body field an error location names
// ("body.media_ids", "body.location.lat") is present and null.
func isNull(fields map[string]any, loc string) bool {
	name, ok := strings.CutPrefix(loc, "body.")
	if !ok {
		return false
	}
	if i := strings.IndexAny(name, ".["); i >= 0 {
		name = name[:i]
	}
	v, present := fields[name]
	return present && v == nil
}

// checkForm validates the fields of a multipart form (name → value) as
// the API operation opID validates the same fields of its multipart body.
func (s *Server) checkForm(opID string, fields map[string]any) error {
	op, ok := s.operations()[opID]
	if !ok || op.RequestBody == nil || op.RequestBody.Content["multipart/form-data"] == nil {
		return fmt.Errorf("web: no multipart API operation %q to check a form against", opID)
	}
	reg := s.api.OpenAPI().Components.Schemas
	schema := op.RequestBody.Content["multipart/form-data"].Schema
	for schema != nil && schema.Ref != "" {
		schema = reg.SchemaFromRef(schema.Ref)
	}
	if schema == nil {
		return fmt.Errorf("web: API operation %q has no multipart schema", opID)
	}
	res := &huma.ValidateResult{}
	pb := huma.NewPathBuffer(make([]byte, 0, 64), 0)
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		if prop := schema.Properties[name]; prop != nil && fields[name] != nil {
			pb.Reset()
			pb.Push("body")
			pb.Push(name)
			huma.Validate(reg, prop, pb, huma.ModeWriteToServer, fields[name], res)
		}
	}
	return validationProblem(res)
}

// validationProblem returns the API's 422 for the errors found, or nil.
func validationProblem(res *huma.ValidateResult) error {
	if len(res.Errors) == 0 {
		return nil
	}
	p, _ := newProblem(http.StatusUnprocessableEntity, "validation failed", res.Errors...)
	return p
}

// collectInput gathers the path and query parameters of an input struct
// (by their huma tags, embedded structs included) that are set, and its
// Body.
func collectInput(v reflect.Value, params map[string]any, body *any) {
	v = reflect.Indirect(v)
	if v.Kind() != reflect.Struct {
		return
	}
	t := v.Type()
	for i := range t.NumField() {
		f, fv := t.Field(i), v.Field(i)
		switch {
		case f.Anonymous:
			collectInput(fv, params, body)
		case f.Name == "Body":
			*body = fv.Interface()
		case !f.IsExported() || fv.IsZero():
		default:
			for _, in := range []string{"path", "query"} {
				if name := f.Tag.Get(in); name != "" {
					params[in+"."+name] = fv.Interface()
				}
			}
		}
	}
}

// asAPI runs an API operation for a form: in is checked as the API checks
// it (checkInput) before fn sees it.
func asAPI[I, O any](s *Server, ctx context.Context, opID string, fn func(context.Context, *I) (O, error), in *I) (O, error) {
	if err := s.checkInput(opID, in); err != nil {
		var zero O
		return zero, err
	}
	return fn(ctx, in)
}

// opsCache holds the registered operations by ID (see operations).
type opsCache struct {
	opsOnce sync.Once
	ops     map[string]*huma.Operation
}
