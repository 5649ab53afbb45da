package live

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/live/batos"
)

// Values cross between interpreted code and the host as plain data only.
// Everything here reads values with type switches and reflect getters: it
// never calls a method that interpreted code could have written (String,
// Error, MarshalJSON, ...), because one that loops would hang the host.

const maxNesting = 100

// plainer converts a result into plain data, counting its size.
type plainer struct {
	limit int64 // bytes
	used  int64
	over  bool
}

type notPlain struct{ path, typ string }

func (e *notPlain) Error() string { return e.path + " is " + e.typ }

var errTooBig = errors.New("too big")

func (p *plainer) charge(n int64) error {
	p.used += n
	if p.used > p.limit {
		p.over = true
		return errTooBig
	}
	return nil
}

// convert turns v into nil, bool, int64, float64, string, []byte, []any,
// map[string]any, uvm.Ref, uvm.BlobRef, uvm.Primitive or uvm.Method.
// Slices and maps of other element types are converted element by element;
// named scalar types become their underlying kind. Structs (other than the
// uvm value types), pointers, funcs, channels and maps with non-string keys
// are refused with a *notPlain.
func (p *plainer) convert(path string, v any, depth int) (any, error) {
	if depth > maxNesting {
		return nil, &notPlain{path, "nested more than 100 levels (a cycle?)"}
	}
	if err := p.charge(8); err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case nil:
		return nil, nil
	case bool, int64, float64, uvm.Ref, uvm.Primitive:
		return x, nil
	case int:
		return int64(x), nil
	case string:
		return x, p.charge(int64(len(x)))
	case []byte:
		if err := p.charge(int64(len(x))); err != nil {
			return nil, err
		}
		return append([]byte(nil), x...), nil
	case uvm.BlobRef:
		return x, nil
	case uvm.Method:
		return x, p.charge(int64(len(x.Source)))
	case uvm.OID:
		return uvm.Ref{OID: x}, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			c, err := p.convert(path+"["+strconv.Itoa(i)+"]", e, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if err := p.charge(int64(len(k))); err != nil {
				return nil, err
			}
			c, err := p.convert(path+"["+strconv.Quote(k)+"]", e, depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			if err := p.charge(int64(len(s)) + 8); err != nil {
				return nil, err
			}
			out[i] = s
		}
		return out, nil
	}
	return p.reflectConvert(path, reflect.ValueOf(v), depth)
}

func (p *plainer) reflectConvert(path string, rv reflect.Value, depth int) (any, error) {
	switch rv.Kind() {
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := rv.Uint()
		if u > math.MaxInt64 {
			return nil, &notPlain{path, rv.Type().String() + " overflowing int64"}
		}
		return int64(u), nil
	case reflect.Float32, reflect.Float64:
		return rv.Float(), nil
	case reflect.String:
		s := rv.String()
		return s, p.charge(int64(len(s)))
	case reflect.Interface:
		if rv.IsNil() {
			return nil, nil
		}
		return p.convert(path, rv.Elem().Interface(), depth)
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return nil, nil
		}
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			n := rv.Len()
			if err := p.charge(int64(n)); err != nil {
				return nil, err
			}
			b := make([]byte, n)
			for i := range n {
				b[i] = byte(rv.Index(i).Uint())
			}
			return b, nil
		}
		out := make([]any, rv.Len())
		for i := range out {
			c, err := p.convertValue(path+"["+strconv.Itoa(i)+"]", rv.Index(i), depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return nil, &notPlain{path, typeName(rv.Type()) + " (map keys must be strings)"}
		}
		out := make(map[string]any, rv.Len())
		it := rv.MapRange()
		for it.Next() {
			k := it.Key().String()
			if err := p.charge(int64(len(k))); err != nil {
				return nil, err
			}
			c, err := p.convertValue(path+"["+strconv.Quote(k)+"]", it.Value(), depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	}
	return nil, &notPlain{path, typeName(rv.Type())}
}

func (p *plainer) convertValue(path string, rv reflect.Value, depth int) (any, error) {
	if !rv.IsValid() {
		return nil, nil
	}
	if rv.CanInterface() {
		return p.convert(path, rv.Interface(), depth)
	}
	return p.reflectConvert(path, rv, depth)
}

// typeName describes a type for an error message. Types the interpreter
// builds for model-written declarations have no name; describe their kind.
func typeName(t reflect.Type) string {
	if t == nil {
		return "nil"
	}
	return clipTypeName(t.String())
}

func clipTypeName(s string) string {
	s = batos.Names(s)
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}

// toResult converts a method's result, or reports why it cannot.
func toResult(v any, limit int64, sel string, version int) (out any, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, &ResultError{Selector: sel, Version: version, Path: "the result", Type: "a value that could not be read (" + describePanicPlain(r) + ")"}
		}
	}()
	p := &plainer{limit: limit}
	out, err = p.convert("the result", v, 0)
	if err == nil {
		return out, nil
	}
	if p.over {
		return nil, &BudgetError{Selector: sel, Version: version, Resource: "result", Limit: limit, Unit: "bytes"}
	}
	var np *notPlain
	if errors.As(err, &np) {
		return nil, &ResultError{Selector: sel, Version: version, Path: np.path, Type: np.typ}
	}
	return nil, err
}

// hostType reports whether values of t run only host code when their
// methods are called: a named type declared in a compiled Go package.
// Types the interpreter builds for model-written declarations are unnamed
// (reflect.StructOf and friends); the interpreter's wrappers, which call
// back into interpreted code, are named with a leading underscore; and
// interp.Panic formats a value that may be interpreted.
func hostType(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		if t.Name() != "" {
			break
		}
		t = t.Elem()
	}
	if t.Name() == "" || t.PkgPath() == "" || strings.HasPrefix(t.Name(), "_") {
		return false
	}
	return !(t.PkgPath() == "github.com/traefik/yaegi/interp" && t.Name() == "Panic")
}

// errorText returns err's message, calling Error only when every error
// reachable through Unwrap is of a host type. Otherwise it describes the
// chain without running model-written code. safe reports whether err may
// be handed on (see MethodError).
func errorText(err error) (text string, safe bool) {
	if err == nil {
		return "", true
	}
	defer func() {
		if r := recover(); r != nil {
			text, safe = "an error whose Error method panicked", false
		}
	}()
	seen := 0
	var walk func(e error, depth int) bool
	walk = func(e error, depth int) bool {
		if e == nil {
			return true
		}
		seen++
		if seen > 64 || depth > 16 || !hostType(reflect.TypeOf(e)) {
			return false
		}
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			return walk(u.Unwrap(), depth+1)
		case interface{ Unwrap() []error }:
			for _, c := range u.Unwrap() {
				if !walk(c, depth+1) {
					return false
				}
			}
		}
		return true
	}
	if walk(err, 0) {
		return batos.Clip(err.Error(), 4096), true
	}
	return "an error of a type declared by the method (its Error method is not called by the host)", false
}

// describePanic renders a recovered panic value as text without calling
// methods of model-written types. The interpreter hands over a panic of
// interpreted code as a reflect.Value.
func describePanic(r any) string {
	switch x := r.(type) {
	case reflect.Value:
		if !x.IsValid() {
			return "nil"
		}
		switch x.Kind() {
		case reflect.String:
			return strconv.Quote(clip(x.String(), 1024))
		case reflect.Bool:
			return strconv.FormatBool(x.Bool())
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			return strconv.FormatInt(x.Int(), 10)
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			return strconv.FormatUint(x.Uint(), 10)
		case reflect.Float32, reflect.Float64:
			return strconv.FormatFloat(x.Float(), 'g', -1, 64)
		case reflect.Interface:
			if x.IsNil() {
				return "nil"
			}
			return describePanic(x.Elem())
		}
		if x.CanInterface() {
			if e, ok := x.Interface().(error); ok {
				t, _ := errorText(e)
				return t
			}
		}
		return "a value of type " + typeName(x.Type())
	case nil:
		return "nil"
	case string:
		return strconv.Quote(clip(x, 1024))
	case error:
		t, _ := errorText(x)
		return t
	case bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		return fmt.Sprint(x)
	}
	return describePanic(reflect.ValueOf(r))
}

// describePanicPlain describes a panic value that arose in the host's own
// reading of a value, without calling methods of unknown types.
func describePanicPlain(r any) string {
	if s, ok := r.(string); ok {
		return s
	}
	return "panic of type " + typeName(reflect.TypeOf(r))
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// normalizeSlot converts a value for a slot with uvm.Normalize, so that a
// method accepts and refuses exactly the same values in a worker and in
// the host; containers are copied. A refused type's name is clipped in the
// *uvm.ValueError, as typeName does (the interpreter's types can have very
// long names).
func normalizeSlot(slot string, v any) (any, error) {
	n, err := uvm.Normalize(slot, v)
	var ve *uvm.ValueError
	if errors.As(err, &ve) {
		ve.Type = clipTypeName(ve.Type)
	}
	return n, err
}

// plainEqual compares two plain values.
func plainEqual(a, b any) bool {
	switch x := a.(type) {
	case []byte:
		y, ok := b.([]byte)
		return ok && string(x) == string(y)
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !plainEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, e := range x {
			f, ok := y[k]
			if !ok || !plainEqual(e, f) {
				return false
			}
		}
		return true
	case uvm.Method:
		y, ok := b.(uvm.Method)
		return ok && x.Selector == y.Selector && x.Version == y.Version && x.Source == y.Source &&
			x.Persona == y.Persona && x.CycleID == y.CycleID && x.Intent == y.Intent &&
			x.Policy == y.Policy && x.Created.Equal(y.Created)
	case nil, bool, int64, float64, string, uvm.Ref, uvm.Primitive, uvm.BlobRef:
		return a == b
	}
	return false
}

func reflectType(v any) reflect.Type { return reflect.TypeOf(v) }
