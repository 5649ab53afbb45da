package guardian

import (
	"go/ast"
	"go/token"
)

// The instrumentation API (batos.Enter, batos.Meter and the meter's Fuel,
// Enter, Leave, Refuel and Alloc) belongs to the guardian: a method that
// got hold of its meter could refill its own budget. Rule
// instrument.meter refuses every reference to it in the audited source.
// The guardian's own instrumentation never reaches these checks: Audit
// strips what it recognises as its own before the audit (see strip), and
// adds it again afterwards.

// meterAdvice ends every instrument.meter message.
const meterAdvice = "the guardian adds metering itself; remove it (loops, calls and allocations are budgeted without any code in the method)"

// isHostInstrument reports whether name is one of the host package's
// identifiers that only the instrumentation may use.
func isHostInstrument(name string) bool {
	return name == EnterFunc || name == MeterType
}

// isMeterMember reports whether name is an exported field or method of
// batos.Meter.
func isMeterMember(name string) bool {
	switch name {
	case FuelField, EnterFunc, LeaveMethod, RefuelMethod, AllocMethod:
		return true
	}
	return false
}

// hostQualifier reports whether e, the qualifier of a selector, names the
// host package: under its own name (imported or not) or under an alias.
// A local declaration named batos hides it (and is refused itself).
func (u *unit) hostQualifier(e ast.Expr) bool {
	id, ok := ast.Unparen(e).(*ast.Ident)
	if !ok || u.obj(id) != nil {
		return false
	}
	return id.Name == HostPackage || u.hostAlias[id.Name]
}

// hostMember returns the host package's identifier that e names (batos.X,
// b.X under an alias, X under a dot import), or "".
func (u *unit) hostMember(e ast.Expr) string {
	switch e := ast.Unparen(e).(type) {
	case *ast.SelectorExpr:
		if u.hostQualifier(e.X) {
			return e.Sel.Name
		}
	case *ast.Ident:
		if u.hostDot && u.obj(e) == nil {
			return e.Name
		}
	}
	return ""
}

// isMeterType reports whether t is batos.Meter or *batos.Meter.
func (u *unit) isMeterType(t ast.Expr) bool {
	if t == nil {
		return false
	}
	t = ast.Unparen(t)
	if st, ok := t.(*ast.StarExpr); ok {
		t = st.X
	}
	return u.hostMember(t) == MeterType
}

// checkMeterSelector refuses a selector that reaches the instrumentation
// API: batos.Enter or batos.Meter through the host package (any import
// name), or a field or method of a value the guardian can see is a meter.
func (u *unit) checkMeterSelector(n *ast.SelectorExpr) {
	if u.hostQualifier(n.X) {
		if !isHostInstrument(n.Sel.Name) {
			return
		}
		name := HostPackage + "." + n.Sel.Name
		if written := u.text(n); written != name {
			name = written + ", that is " + name
		}
		u.reject(RuleMeter, n.Pos(), "methods may not use the instrumentation API (%s): %s", name, meterAdvice)
		return
	}
	if isMeterMember(n.Sel.Name) && u.meterValue(n.X, 0) {
		u.reject(RuleMeter, n.Sel.Pos(), "methods may not use the instrumentation API (%s of a %s.%s): %s", n.Sel.Name, HostPackage, MeterType, meterAdvice)
	}
}

// checkMeterDot refuses Enter and Meter used unqualified while the host
// package is dot-imported (the import itself is refused too).
func (u *unit) checkMeterDot() {
	for _, id := range u.res.unresolved {
		if isHostInstrument(id.Name) {
			u.reject(RuleMeter, id.Pos(), "methods may not use the instrumentation API (%s, that is %s.%s through the dot import): %s", id.Name, HostPackage, id.Name, meterAdvice)
		}
	}
}

// meterValue reports whether e is certainly a meter (batos.Meter or
// *batos.Meter): a call of batos.Enter, new, a conversion, a composite
// literal or type assertion of the type, a variable declared with it or
// initialised from one, a function declared to return one.
func (u *unit) meterValue(e ast.Expr, depth int) bool {
	if depth > 12 || e == nil {
		return false
	}
	d := depth + 1
	switch e := ast.Unparen(e).(type) {
	case *ast.CallExpr:
		fun := ast.Unparen(e.Fun)
		switch {
		case u.hostMember(fun) == EnterFunc, u.isMeterType(fun):
			return true
		case u.isBuiltin(fun, "new"):
			return len(e.Args) == 1 && u.isMeterType(e.Args[0])
		}
		return u.isMeterType(u.callType(e, 0, d))
	case *ast.UnaryExpr:
		return e.Op == token.AND && u.meterValue(e.X, d)
	case *ast.StarExpr:
		return u.meterValue(e.X, d)
	case *ast.CompositeLit:
		return u.isMeterType(e.Type)
	case *ast.TypeAssertExpr:
		return u.isMeterType(e.Type)
	case *ast.Ident:
		o := u.obj(e)
		if o == nil || o.kind != objVar {
			return false
		}
		if u.isMeterType(u.declType(e, d)) {
			return true
		}
		switch decl := o.decl.(type) {
		case *ast.AssignStmt:
			if len(decl.Lhs) != len(decl.Rhs) {
				return false
			}
			for i, l := range decl.Lhs {
				if isName(l, e.Name) {
					return u.meterValue(decl.Rhs[i], d)
				}
			}
		case *ast.ValueSpec:
			if decl.Type != nil || len(decl.Names) != len(decl.Values) {
				return false
			}
			if i := identIndex(decl.Names, e.Name); i >= 0 {
				return u.meterValue(decl.Values[i], d)
			}
		}
	}
	return false
}
