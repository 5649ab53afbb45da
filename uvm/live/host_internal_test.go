package live

import (
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/batos-dev/batos/guardian"
)

// TestHostDeclarationMatchesRuntime keeps the guardian's declaration of
// the host package, which its type check uses, in step with the symbols
// this package exports to interpreted code: the same names, the same
// methods with the same signatures.
func TestHostDeclarationMatchesRuntime(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "batos.go", guardian.HostSource(), 0)
	require.NoError(t, err)
	pkg, err := (&types.Config{}).Check(guardian.HostPackage, fset, []*ast.File{f}, nil)
	require.NoError(t, err)

	syms := hostSymbols()
	var exported []string
	for _, name := range pkg.Scope().Names() {
		if ast.IsExported(name) {
			exported = append(exported, name)
		}
	}
	var runtime []string
	for name := range syms {
		runtime = append(runtime, name)
	}
	sort.Strings(runtime)
	require.Equal(t, runtime, exported, "the guardian declares other host names than the runtime exports")

	for name, v := range syms {
		obj := pkg.Scope().Lookup(name)
		rt := v.Type()
		if _, isType := obj.(*types.TypeName); isType {
			rt = rt.Elem() // types are exported as nil pointers to them
			assert.Equal(t, methodsOf(reflect.PointerTo(rt)), typeMethods(types.NewPointer(obj.Type())), "methods of %s", name)
			if rt.Kind() == reflect.Struct {
				assert.Equal(t, exportedFields(rt), structFields(obj.Type().Underlying().(*types.Struct)), "fields of %s", name)
			} else {
				assert.Equal(t, rt.Kind().String(), kindOf(obj.Type().Underlying()), "kind of %s", name)
			}
			continue
		}
		assert.Equal(t, hostNamed(rt.String()), reflectLike(obj.Type()), "signature of %s", name)
	}
}

// methodsOf lists a reflect type's exported methods as "Name func(...)".
func methodsOf(t reflect.Type) []string {
	var out []string
	if t.Elem().Kind() == reflect.Interface {
		t = t.Elem()
	}
	for i := range t.NumMethod() {
		m := t.Method(i)
		ft := m.Type
		if t.Kind() != reflect.Interface {
			// Drop the receiver.
			in := make([]reflect.Type, 0, ft.NumIn()-1)
			for j := 1; j < ft.NumIn(); j++ {
				in = append(in, ft.In(j))
			}
			outs := make([]reflect.Type, 0, ft.NumOut())
			for j := range ft.NumOut() {
				outs = append(outs, ft.Out(j))
			}
			ft = reflect.FuncOf(in, outs, ft.IsVariadic())
		}
		out = append(out, m.Name+" "+hostNamed(ft.String()))
	}
	return out
}

// typeMethods lists a go/types type's exported methods like methodsOf.
func typeMethods(t types.Type) []string {
	if it, ok := t.(*types.Pointer).Elem().Underlying().(*types.Interface); ok {
		t = it
	}
	ms := types.NewMethodSet(t)
	var out []string
	for i := range ms.Len() {
		if m := ms.At(i).Obj(); m.Exported() {
			out = append(out, m.Name()+" "+reflectLike(m.Type()))
		}
	}
	sort.Strings(out)
	return out
}

func exportedFields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		if f := t.Field(i); f.IsExported() {
			out = append(out, f.Name+" "+f.Type.Kind().String())
		}
	}
	return out
}

func structFields(s *types.Struct) []string {
	var out []string
	for i := range s.NumFields() {
		if f := s.Field(i); f.Exported() {
			out = append(out, f.Name()+" "+kindOf(f.Type().Underlying()))
		}
	}
	return out
}

func kindOf(t types.Type) string {
	switch t := t.(type) {
	case *types.Basic:
		return t.Name()
	case *types.Interface:
		return "interface"
	case *types.Struct:
		return "struct"
	}
	return reflectLike(t)
}

// hostNamed names the host types of a reflect type string as interpreted
// code sees them: uvm.Self is batos.Self, live.Meter is batos.Meter.
func hostNamed(s string) string {
	// live.Self is an alias of batos.Object (uvm/live/batos), which
	// reflect prints under its own name.
	return strings.NewReplacer("batos.Object", "batos.Self", "uvm.", "batos.", "live.", "batos.").Replace(s)
}

// reflectLike prints a go/types type as reflect prints the matching type
// (without package paths on named host types).
func reflectLike(t types.Type) string {
	s := types.TypeString(t, func(p *types.Package) string { return p.Name() })
	if sig, ok := t.(*types.Signature); ok {
		var in, out []string
		for i := range sig.Params().Len() {
			p := reflectLike(sig.Params().At(i).Type())
			if sig.Variadic() && i == sig.Params().Len()-1 {
				p = "..." + strings.TrimPrefix(p, "[]")
			}
			in = append(in, p)
		}
		for i := range sig.Results().Len() {
			out = append(out, reflectLike(sig.Results().At(i).Type()))
		}
		s = "func(" + strings.Join(in, ", ") + ")"
		switch len(out) {
		case 0:
		case 1:
			s += " " + out[0]
		default:
			s += " (" + strings.Join(out, ", ") + ")"
		}
		return s
	}
	return strings.ReplaceAll(s, "any", "interface {}")
}
