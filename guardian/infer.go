package guardian

import (
	"go/ast"
	"go/token"
)

// typeOf infers the type of an expression from the syntax alone, as far as
// that is certain: literals, conversions, declared types of variables and
// parameters, results of a few standard functions. It returns nil when it
// does not know. untyped reports an untyped constant (whose default type is
// returned).
func (u *unit) typeOf(e ast.Expr, depth int) (t ast.Expr, untyped bool) {
	if depth > 12 || e == nil {
		return nil, false
	}
	d := depth + 1
	switch e := e.(type) {
	case *ast.BasicLit:
		switch e.Kind {
		case token.INT:
			return tname("int"), true
		case token.FLOAT:
			return tname("float64"), true
		case token.CHAR:
			return tname("rune"), true
		case token.STRING:
			return tname("string"), true
		case token.IMAG:
			return tname("complex128"), true
		}
	case *ast.Ident:
		o := u.obj(e)
		if o == nil {
			if e.Name == "true" || e.Name == "false" {
				return tname("bool"), true
			}
			return nil, false
		}
		switch o.kind {
		case objVar:
			return u.declType(e, d), false
		case objCon:
			if vs, ok := o.decl.(*ast.ValueSpec); ok {
				if vs.Type != nil {
					return vs.Type, false
				}
				for i, n := range vs.Names {
					if n.Name == e.Name && i < len(vs.Values) && len(vs.Values) == len(vs.Names) {
						return u.typeOf(vs.Values[i], d)
					}
				}
			}
		}
	case *ast.ParenExpr:
		return u.typeOf(e.X, d)
	case *ast.CallExpr:
		return u.callType(e, 0, d), false
	case *ast.BinaryExpr:
		switch e.Op {
		case token.EQL, token.NEQ, token.LSS, token.LEQ, token.GTR, token.GEQ, token.LAND, token.LOR:
			return tname("bool"), true
		case token.SHL, token.SHR:
			return u.typeOf(e.X, d)
		}
		tx, ux := u.typeOf(e.X, d)
		ty, uy := u.typeOf(e.Y, d)
		switch {
		case tx != nil && !ux:
			return tx, false
		case ty != nil && !uy:
			return ty, false
		case tx != nil && ty != nil:
			if rank(u.typeName(ty)) > rank(u.typeName(tx)) {
				return ty, true
			}
			return tx, true
		}
	case *ast.UnaryExpr:
		switch e.Op {
		case token.SUB, token.ADD, token.XOR:
			return u.typeOf(e.X, d)
		case token.NOT:
			return tname("bool"), true
		}
	case *ast.IndexExpr:
		t, _ := u.typeOf(e.X, d)
		switch t := t.(type) {
		case *ast.MapType:
			return t.Value, false
		case *ast.ArrayType:
			return t.Elt, false
		case *ast.Ident:
			if u.typeName(t) == "string" {
				return tname("byte"), false
			}
		}
	case *ast.SliceExpr:
		t, _ := u.typeOf(e.X, d)
		if at, ok := t.(*ast.ArrayType); ok && at.Len != nil {
			return &ast.ArrayType{Elt: at.Elt}, false
		}
		return t, false
	case *ast.TypeAssertExpr:
		return e.Type, false
	case *ast.CompositeLit:
		return e.Type, false
	case *ast.FuncLit:
		return e.Type, false
	case *ast.StarExpr:
		if t, _ := u.typeOf(e.X, d); t != nil {
			if st, ok := t.(*ast.StarExpr); ok {
				return st.X, false
			}
		}
	}
	return nil, false
}

// declType is the type of a variable from its declaration.
func (u *unit) declType(id *ast.Ident, depth int) ast.Expr {
	o := u.obj(id)
	if o == nil {
		return nil
	}
	switch decl := o.decl.(type) {
	case *ast.Field:
		if el, ok := decl.Type.(*ast.Ellipsis); ok {
			return &ast.ArrayType{Elt: el.Elt}
		}
		return decl.Type
	case *ast.ValueSpec:
		if decl.Type != nil {
			return decl.Type
		}
		i := identIndex(decl.Names, id.Name)
		if i < 0 {
			return nil
		}
		if len(decl.Values) == len(decl.Names) {
			t, _ := u.typeOf(decl.Values[i], depth) // an untyped constant's default type
			return t
		}
		if len(decl.Values) == 1 {
			return u.tupleType(decl.Values[0], i, depth)
		}
	case *ast.RangeStmt:
		var vars []*ast.Ident
		for _, x := range []ast.Expr{decl.Key, decl.Value} {
			if x != nil {
				v, _ := x.(*ast.Ident)
				vars = append(vars, v)
			}
		}
		if i := identIndex(vars, id.Name); i >= 0 {
			return u.rangeType(decl.X, i, depth)
		}
	case *ast.AssignStmt:
		var lhs []*ast.Ident
		for _, l := range decl.Lhs {
			li, _ := l.(*ast.Ident)
			lhs = append(lhs, li)
		}
		i := identIndex(lhs, id.Name)
		if i < 0 {
			return nil
		}
		if len(decl.Rhs) == len(decl.Lhs) {
			t, _ := u.typeOf(decl.Rhs[i], depth)
			return t
		}
		if len(decl.Rhs) == 1 {
			return u.tupleType(decl.Rhs[0], i, depth)
		}
	}
	return nil
}

func identIndex(ids []*ast.Ident, name string) int {
	for i, n := range ids {
		if n != nil && n.Name == name {
			return i
		}
	}
	return -1
}

// tupleType is the type of the i-th value of a multi-valued expression.
func (u *unit) tupleType(e ast.Expr, i, depth int) ast.Expr {
	switch e := ast.Unparen(e).(type) {
	case *ast.IndexExpr:
		if i == 1 {
			return tname("bool")
		}
		t, _ := u.typeOf(e, depth)
		return t
	case *ast.TypeAssertExpr:
		if i == 1 {
			return tname("bool")
		}
		return e.Type
	case *ast.CallExpr:
		return u.callType(e, i, depth)
	}
	return nil
}

// rangeType is the type of the i-th iteration variable of range x.
func (u *unit) rangeType(x ast.Expr, i, depth int) ast.Expr {
	t, _ := u.typeOf(x, depth)
	switch t := t.(type) {
	case *ast.ArrayType:
		if i == 0 {
			return tname("int")
		}
		return t.Elt
	case *ast.MapType:
		if i == 0 {
			return t.Key
		}
		return t.Value
	case *ast.Ident:
		switch n := u.typeName(t); {
		case n == "string":
			if i == 0 {
				return tname("int")
			}
			return tname("rune")
		case isIntegerName(n) && i == 0:
			return t
		}
	}
	return nil
}

// callType is the type of the i-th result of a call.
func (u *unit) callType(c *ast.CallExpr, i, depth int) ast.Expr {
	fun := ast.Unparen(c.Fun)
	if u.isTypeExpr(fun) && i == 0 {
		return fun
	}
	switch f := fun.(type) {
	case *ast.Ident:
		o := u.obj(f)
		if o == nil {
			switch f.Name {
			case "len", "cap", "copy":
				return tname("int")
			case "append":
				if len(c.Args) > 0 {
					t, _ := u.typeOf(c.Args[0], depth)
					return t
				}
			case "make":
				if len(c.Args) > 0 {
					return c.Args[0]
				}
			case "min", "max":
				return u.commonType(c.Args, depth)
			}
			return nil
		}
		switch o.kind {
		case objTyp:
			if i == 0 {
				return f
			}
		case objFun:
			if fd, ok := o.decl.(*ast.FuncDecl); ok {
				return nthResult(fd.Type, i)
			}
		}
	case *ast.FuncLit:
		return nthResult(f.Type, i)
	case *ast.SelectorExpr:
		if path := u.pkgOf(f.X); path != "" {
			if rs := pkgResults(path, f.Sel.Name); i < len(rs) {
				return typeFromName(rs[i])
			}
		}
	}
	return nil
}

// commonType is the type of min or max over args, or nil if unsure.
func (u *unit) commonType(args []ast.Expr, depth int) ast.Expr {
	var typed, def ast.Expr
	for _, a := range args {
		t, untyped := u.typeOf(a, depth)
		switch {
		case t == nil:
			return nil
		case untyped:
			if def == nil || rank(u.typeName(t)) > rank(u.typeName(def)) {
				def = t
			}
		case typed == nil:
			typed = t
		case u.typeName(typed) == "" || u.typeName(typed) != u.typeName(t):
			return nil
		}
	}
	if typed != nil {
		if def != nil && u.typeName(typed) == "string" != (u.typeName(def) == "string") {
			return nil
		}
		return typed
	}
	return nil
}

func nthResult(ft *ast.FuncType, i int) ast.Expr {
	rs := flatFields(ft.Results)
	if i < len(rs) {
		return rs[i]
	}
	return nil
}

// isTypeExpr reports whether e is certainly a type (so a call of it is a
// conversion).
func (u *unit) isTypeExpr(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.ArrayType, *ast.MapType, *ast.FuncType, *ast.InterfaceType, *ast.StructType, *ast.ChanType:
		return true
	case *ast.Ident:
		o := u.obj(e)
		if o == nil {
			return isBuiltinTypeName(e.Name)
		}
		return o.kind == objTyp
	case *ast.ParenExpr:
		return u.isTypeExpr(e.X)
	case *ast.StarExpr:
		return u.isTypeExpr(e.X)
	}
	return false
}

func isBuiltinTypeName(n string) bool {
	switch n {
	case "any", "bool", "byte", "complex64", "complex128", "error", "float32", "float64", "rune", "string":
		return true
	}
	return isIntegerName(n)
}

func isIntegerName(n string) bool {
	switch n {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "uintptr", "byte", "rune":
		return true
	}
	return false
}

// typeName is the name of a predeclared type, or "".
func (u *unit) typeName(t ast.Expr) string {
	if id, ok := t.(*ast.Ident); ok && u.obj(id) == nil && isBuiltinTypeName(id.Name) {
		return id.Name
	}
	return ""
}

// rank orders the default types of untyped constants.
func rank(n string) int {
	switch n {
	case "int":
		return 1
	case "rune":
		return 2
	case "float64":
		return 3
	case "complex128":
		return 4
	}
	return 0
}

func tname(n string) ast.Expr { return &ast.Ident{Name: n} }

// typeFromName builds "T" or "[]T".
func typeFromName(n string) ast.Expr {
	if len(n) > 2 && n[:2] == "[]" {
		return &ast.ArrayType{Elt: tname(n[2:])}
	}
	return tname(n)
}

// pkgResults lists the result types of a few standard functions.
func pkgResults(path, name string) []string {
	switch path {
	case "strings":
		switch name {
		case "Index", "IndexByte", "IndexRune", "IndexAny", "LastIndex", "LastIndexByte", "LastIndexAny", "Count", "Compare", "IndexFunc", "LastIndexFunc":
			return []string{"int"}
		case "ToUpper", "ToLower", "TrimSpace", "Trim", "TrimLeft", "TrimRight", "TrimPrefix", "TrimSuffix",
			"Replace", "ReplaceAll", "Repeat", "Join", "Title", "ToTitle", "Map", "TrimFunc", "TrimLeftFunc", "TrimRightFunc", "ToValidUTF8", "Clone":
			return []string{"string"}
		case "Contains", "ContainsRune", "ContainsAny", "HasPrefix", "HasSuffix", "EqualFold", "ContainsFunc":
			return []string{"bool"}
		case "Split", "SplitN", "SplitAfter", "SplitAfterN", "Fields", "FieldsFunc":
			return []string{"[]string"}
		case "Cut":
			return []string{"string", "string", "bool"}
		case "CutPrefix", "CutSuffix":
			return []string{"string", "bool"}
		}
	case "strconv":
		switch name {
		case "Itoa", "Quote", "QuoteToASCII", "QuoteRune", "FormatInt", "FormatUint", "FormatFloat", "FormatBool":
			return []string{"string"}
		case "Atoi":
			return []string{"int", "error"}
		case "ParseInt":
			return []string{"int64", "error"}
		case "ParseUint":
			return []string{"uint64", "error"}
		case "ParseFloat":
			return []string{"float64", "error"}
		case "ParseBool":
			return []string{"bool", "error"}
		case "Unquote":
			return []string{"string", "error"}
		}
	case "fmt":
		switch name {
		case "Sprint", "Sprintf", "Sprintln":
			return []string{"string"}
		case "Errorf":
			return []string{"error"}
		}
	case "unicode/utf8":
		switch name {
		case "RuneCountInString", "RuneCount", "RuneLen":
			return []string{"int"}
		case "DecodeRuneInString", "DecodeLastRuneInString", "DecodeRune", "DecodeLastRune":
			return []string{"rune", "int"}
		case "ValidString", "Valid", "ValidRune":
			return []string{"bool"}
		}
	case "unicode":
		switch name {
		case "ToUpper", "ToLower", "ToTitle", "SimpleFold":
			return []string{"rune"}
		case "IsLetter", "IsDigit", "IsSpace", "IsUpper", "IsLower", "IsPunct", "IsNumber", "IsPrint", "IsControl", "IsGraphic", "IsMark", "IsSymbol", "IsTitle":
			return []string{"bool"}
		}
	case "math":
		switch name {
		case "Sqrt", "Floor", "Ceil", "Abs", "Pow", "Max", "Min", "Round", "RoundToEven", "Trunc", "Log", "Log2", "Log10", "Log1p",
			"Exp", "Exp2", "Mod", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Atan2", "Hypot", "Inf", "NaN", "Cbrt", "Copysign", "Dim", "Remainder":
			return []string{"float64"}
		case "IsNaN", "IsInf", "Signbit":
			return []string{"bool"}
		}
	case "sort":
		switch name {
		case "SearchInts", "SearchStrings", "SearchFloat64s", "Search":
			return []string{"int"}
		}
	case "math/bits":
		switch name {
		case "OnesCount", "LeadingZeros", "TrailingZeros", "Len", "OnesCount64", "LeadingZeros64", "TrailingZeros64", "Len64":
			return []string{"int"}
		}
	}
	return nil
}
