package guardian

import (
	"go/ast"
	"go/token"
	"strconv"
	"strings"
)

// checkSyntax walks the whole file for forbidden constructs, and notes
// every identifier spelled and declared.
func (u *unit) checkSyntax() {
	u.namesDone = true
	ast.Inspect(u.file, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.Ident:
			u.checkIdent(n)
		case *ast.GoStmt:
			u.reject(RuleGoStatement, n.Pos(), "go statements are not allowed: a method runs on its caller's goroutine; call the function directly")
		case *ast.SelectStmt:
			u.reject(RuleSelectStatement, n.Pos(), "select is not allowed: a method has no channels or goroutines to wait for")
		case *ast.BranchStmt:
			if n.Tok == token.GOTO {
				u.reject(RuleGotoStatement, n.Pos(), "goto is not allowed: write a for loop with break and continue")
			}
		case *ast.StructType:
			u.structs = append(u.structs, n)
		case *ast.ChanType:
			u.reject(RuleChan, n.Pos(), "channel types are not allowed: a method has no goroutines to talk to; use a slice")
		case *ast.SendStmt:
			u.reject(RuleChan, n.Pos(), "channel sends are not allowed: a method has no goroutines to talk to; use a slice")
		case *ast.UnaryExpr:
			if n.Op == token.ARROW {
				u.reject(RuleChan, n.Pos(), "channel receives are not allowed: a method has no goroutines to talk to; use a slice")
			}
		case *ast.SelectorExpr:
			if path := u.pkgOf(n.X); path != "" && path != HostPackage {
				if msg := forbiddenSelector(path, n.Sel.Name); msg != "" {
					u.reject(RuleCallForbidden, n.Pos(), "%s", msg)
				}
			}
			u.checkMeterSelector(n)
		case *ast.CallExpr:
			if u.isBuiltin(n.Fun, "print") || u.isBuiltin(n.Fun, "println") {
				u.reject(RuleCallForbidden, n.Pos(), "print and println write to the host's standard error: build the text (fmt.Sprintf) and return it")
			}
		case *ast.ArrayType:
			if n.Len != nil {
				if _, ok := n.Len.(*ast.Ellipsis); !ok {
					v, ok := u.constInt(n.Len, 0)
					if !ok || v < 0 || v > int64(u.opts.MaxArray) {
						u.reject(RuleArraySize, n.Pos(), "array length %s must be a constant no larger than %d (arrays are allocated whole, before any budget check): use a slice, make([]T, n)", u.text(n.Len), u.opts.MaxArray)
					}
				}
			}
		case *ast.IndexListExpr:
			u.reject(RuleGeneric, n.Pos(), "explicit instantiation %s is not supported: generics are not supported by the interpreter", u.text(n))
		case *ast.TypeSpec:
			if n.TypeParams != nil {
				u.reject(RuleGeneric, n.TypeParams.Pos(), "type %s has type parameters: generics are not supported by the interpreter (it mis-infers them); declare the type for the concrete element type you need", n.Name.Name)
			}
		case *ast.RangeStmt:
			u.checkRangeFunc(n)
		}
		return true
	})
	if u.hostDot {
		u.checkMeterDot()
	}
}

func (u *unit) checkIdent(id *ast.Ident) {
	u.names[id.Name] = true
	o := u.obj(id)
	declares := o != nil && o.kind != objLbl && o.pos() == id.Pos()
	if declares {
		u.declared[id.Name] = true
	}
	if strings.HasPrefix(id.Name, ReservedPrefix) {
		u.rejectOnce("reserved:"+id.Name, RuleIdentReserved, id.Pos(), "identifier %s is reserved: names starting with %q belong to the guardian's instrumentation; rename it", id.Name, ReservedPrefix)
		return
	}
	if id.Name == HostPackage && declares {
		u.rejectOnce("shadow:"+strconv.Itoa(int(id.Pos())), RuleIdentShadow, id.Pos(), "do not declare anything named %s: it hides the host package; pick another name", HostPackage)
	}
}

// forbiddenSelector returns why pkg.name may not be used, or "".
func forbiddenSelector(path, name string) string {
	switch path {
	case "time":
		switch name {
		case "Sleep":
			return "time.Sleep is not allowed: a method must not wait; compute the answer and return it"
		case "After", "AfterFunc", "NewTimer", "NewTicker", "Tick":
			return "time." + name + " is not allowed: timers and tickers outlive the call (use time.Now and time.Since to measure time)"
		}
	case "fmt":
		switch name {
		case "Print", "Printf", "Println":
			return "fmt." + name + " writes to the host's standard output: build the text with fmt.Sprintf and return it"
		case "Scan", "Scanf", "Scanln":
			return "fmt." + name + " reads the host's standard input: take the input from args (fmt.Sscan parses a string)"
		}
	case "math/rand":
		if name == "Seed" {
			return "rand.Seed changes the host's shared random source: use r := rand.New(rand.NewSource(seed)) for a private one"
		}
	}
	return ""
}

// iteratorFunc reports whether pkg.name returns an iterator function
// (Go 1.23 and later; the interpreter knows none of them).
func iteratorFunc(path, name string) bool {
	switch path {
	case "strings", "bytes":
		switch name {
		case "Lines", "SplitSeq", "SplitAfterSeq", "FieldsSeq", "FieldsFuncSeq":
			return true
		}
	case "maps":
		return name == "Keys" || name == "Values" || name == "All"
	case "slices":
		return name == "All" || name == "Values" || name == "Backward" || name == "Chunk"
	}
	return false
}

// checkRangeFunc rejects range over a function value.
func (u *unit) checkRangeFunc(rs *ast.RangeStmt) {
	isFunc := false
	switch x := ast.Unparen(rs.X).(type) {
	case *ast.FuncLit:
		isFunc = true
	case *ast.Ident:
		if o := u.obj(x); o != nil {
			switch o.kind {
			case objFun:
				isFunc = true
			case objVar:
				t, _ := u.typeOf(x, 0)
				_, isFunc = t.(*ast.FuncType)
			}
		}
	case *ast.CallExpr:
		if sel, ok := x.Fun.(*ast.SelectorExpr); ok {
			if path := u.pkgOf(sel.X); path != "" {
				isFunc = iteratorFunc(path, sel.Sel.Name)
			}
		}
	}
	if isFunc {
		u.reject(RuleRangeFunc, rs.Pos(), "range over a function (an iterator) is not supported by the interpreter (it follows Go 1.22): collect the values into a slice and range over the slice, or call the function directly")
	}
}

// constInt evaluates a small integer constant expression.
func (u *unit) constInt(e ast.Expr, depth int) (int64, bool) {
	if depth > 16 {
		return 0, false
	}
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind != token.INT {
			return 0, false
		}
		v, err := strconv.ParseInt(e.Value, 0, 64)
		return v, err == nil
	case *ast.ParenExpr:
		return u.constInt(e.X, depth+1)
	case *ast.UnaryExpr:
		v, ok := u.constInt(e.X, depth+1)
		if !ok {
			return 0, false
		}
		switch e.Op {
		case token.SUB:
			return -v, true
		case token.ADD:
			return v, true
		}
	case *ast.BinaryExpr:
		x, ok1 := u.constInt(e.X, depth+1)
		y, ok2 := u.constInt(e.Y, depth+1)
		if !ok1 || !ok2 {
			return 0, false
		}
		const lim = 1 << 40
		if x > lim || x < -lim || y > lim || y < -lim {
			return 0, false
		}
		switch e.Op {
		case token.ADD:
			return x + y, true
		case token.SUB:
			return x - y, true
		case token.MUL:
			if r := x * y; x == 0 || (r/x == y && r <= lim && r >= -lim) {
				return r, true
			}
		case token.QUO:
			if y != 0 {
				return x / y, true
			}
		case token.REM:
			if y != 0 {
				return x % y, true
			}
		case token.SHL:
			if y >= 0 && y < 40 && x >= -(1<<22) && x <= 1<<22 {
				return x << y, true
			}
		case token.SHR:
			if y >= 0 && y < 64 {
				return x >> y, true
			}
		}
	case *ast.Ident:
		o := u.obj(e)
		if o == nil || o.kind != objCon {
			return 0, false
		}
		vs, ok := o.decl.(*ast.ValueSpec)
		if !ok {
			return 0, false
		}
		for i, n := range vs.Names {
			if n.Name == e.Name && i < len(vs.Values) {
				return u.constInt(vs.Values[i], depth+1)
			}
		}
	case *ast.SelectorExpr:
		switch u.pkgOf(e.X) + "." + e.Sel.Name {
		case "unicode/utf8.UTFMax":
			return 4, true
		case "math.MaxInt8":
			return 127, true
		case "math.MaxUint8":
			return 255, true
		}
	}
	return 0, false
}
