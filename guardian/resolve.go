package guardian

import (
	"go/ast"
	"go/token"
)

// Names are resolved once, right after parsing, by one walk over the file
// (resolveFile): each identifier that names something the file declares
// maps to one object, which the passes find with u.obj. Identifiers of
// the universe (len, string, nil), of imported packages, selectors and
// fields in selectors map to nothing.
//
// The walk keeps the scope rules go/parser applied when it filled the
// deprecated ast.Ident.Obj field, which the guardian used before, quirks
// included, so that every verdict stays what it was:
//
//   - function parameters and results, :=, range variables, a type
//     switch's guard (one object for all its clauses), block-scoped
//     declarations, and function literals each open or fill a scope as in
//     Go; := declares only the names new in its scope and resolves the
//     others to the objects they redeclare;
//   - labels belong to the body of the function (or literal) they are
//     declared in, wherever they stand in it;
//   - struct fields, interface methods and the parameters of function
//     types get objects too, in scopes of their own;
//   - top-level names are found from anywhere in the file, whatever their
//     order, except as the key of a composite literal, which resolves only
//     to names declared before it;
//   - more than maxScopeDepth nested scopes is a syntax error.

// maxScopeDepth is the deepest nesting of scopes the resolver accepts (as
// go/parser did).
const maxScopeDepth = 1000

// scopeDepthMessage is the syntax error for too deep a nesting of scopes.
const scopeDepthMessage = "exceeded max scope depth during object resolution"

// An objKind says what an object is.
type objKind uint8

const (
	objCon objKind = iota + 1 // a constant
	objTyp                    // a type (or a type parameter)
	objVar                    // a variable, parameter, result or struct field
	objFun                    // a top-level function or an interface method
	objLbl                    // a label
)

// An object is one constant, type, variable, function or label that the
// file declares.
type object struct {
	kind objKind
	name string

	// decl is the node that declares the object: *ast.Field (parameters,
	// results, fields, interface methods, type parameters),
	// *ast.ValueSpec, *ast.TypeSpec, *ast.FuncDecl, *ast.LabeledStmt,
	// *ast.AssignStmt (:= and a type switch's guard) or *ast.RangeStmt.
	decl ast.Node

	// While resolving: the depth of the scope holding the object, the
	// object of the same name it hides, and whether it is hidden: in
	// scope, but no identifier resolves to it (a receiver's type
	// parameter, as go/parser had it).
	depth   int
	shadows *object
	hidden  bool

	index int32 // 1 + its index in resolution.objs
}

// pos returns the position of the first identifier named like the object
// in its declaration: an identifier declares the object it denotes if it
// stands at that position.
func (o *object) pos() token.Pos {
	switch d := o.decl.(type) {
	case *ast.Field:
		return firstNamed(d.Names, o.name)
	case *ast.ValueSpec:
		return firstNamed(d.Names, o.name)
	case *ast.TypeSpec:
		if d.Name.Name == o.name {
			return d.Name.Pos()
		}
	case *ast.FuncDecl:
		if d.Name.Name == o.name {
			return d.Name.Pos()
		}
	case *ast.LabeledStmt:
		if d.Label.Name == o.name {
			return d.Label.Pos()
		}
	case *ast.AssignStmt:
		for _, x := range d.Lhs {
			if id, ok := x.(*ast.Ident); ok && id.Name == o.name {
				return id.Pos()
			}
		}
	case *ast.RangeStmt:
		for _, x := range []ast.Expr{d.Key, d.Value} {
			if id, ok := x.(*ast.Ident); ok && id.Name == o.name {
				return id.Pos()
			}
		}
	}
	return token.NoPos
}

func firstNamed(ids []*ast.Ident, name string) token.Pos {
	for _, id := range ids {
		if id.Name == name {
			return id.Pos()
		}
	}
	return token.NoPos
}

// obj returns the object id denotes, or nil: a predeclared or imported
// name, a selector, or an identifier the guardian made itself.
func (u *unit) obj(id *ast.Ident) *object {
	return u.res.obj(id)
}

// A resolution is what resolveFile found.
type resolution struct {
	base int

	// at holds, at half the offset of each identifier in the file, 1 +
	// the index in objs of the object it denotes (0 for none). Two
	// identifiers start at least two bytes apart: each is one byte or
	// more, and a byte that is no part of an identifier separates them.
	at   []int32
	objs []*object

	// unresolved lists the identifiers that denote nothing the file
	// declares, in walk order (keys of composite literals left out).
	unresolved []*ast.Ident
}

func (rs *resolution) obj(id *ast.Ident) *object {
	if off := int(id.NamePos) - rs.base; off >= 0 && off/2 < len(rs.at) {
		if i := rs.at[off/2]; i > 0 {
			return rs.objs[i-1]
		}
	}
	return nil
}

// A depthError is the syntax error for too deep a nesting of scopes.
type depthError struct{ pos token.Pos }

// resolveFile resolves the identifiers of f, parsed into tf. If the scopes
// nest deeper than maxScopeDepth it reports where instead, with ok false.
func resolveFile(f *ast.File, tf *token.File) (rs resolution, ok bool, deep token.Pos) {
	r := &resolver{
		resolution: resolution{
			base: tf.Base(),
			at:   make([]int32, tf.Size()/2+1),
			objs: make([]*object, 0, tf.Size()/32+8),
		},
		scope: make(map[string]*object),
		open:  make([]*object, 0, 32),
		depth: 1,
	}
	defer func() {
		if e := recover(); e != nil {
			d, isDepth := e.(depthError)
			if !isDepth {
				panic(e)
			}
			rs, ok, deep = resolution{}, false, d.pos
		}
	}()
	for _, d := range f.Decls {
		ast.Walk(r, d)
	}
	// Top-level names resolve wherever they are declared.
	n := 0
	for _, id := range r.unresolved {
		if o := r.scope[id.Name]; o != nil {
			r.set(id, o)
		} else {
			r.unresolved[n] = id
			n++
		}
	}
	r.unresolved = r.unresolved[:n]
	return r.resolution, true, token.NoPos
}

// A resolver is the state of resolveFile's walk.
type resolver struct {
	resolution

	// scope holds, by name, the innermost object in scope (nil for none);
	// each object links to the one it hides, down to the package scope's.
	scope map[string]*object
	open  []*object // the local objects in scope, innermost scope last
	depth int       // of the innermost scope; 1 is the package scope

	labels  [][]*object    // for each function body being walked, its labels
	targets [][]*ast.Ident // and the labels its break and continue statements name

	slab []object // objects are allocated from here
}

func (r *resolver) set(id *ast.Ident, o *object) {
	r.at[(int(id.NamePos)-r.base)/2] = o.index
}

func (r *resolver) newObj(kind objKind, name string, decl ast.Node) *object {
	if len(r.slab) == 0 {
		r.slab = make([]object, max(cap(r.objs)-len(r.objs), 16))
	}
	o := &r.slab[0]
	r.slab = r.slab[1:]
	r.objs = append(r.objs, o)
	o.kind, o.name, o.decl, o.index = kind, name, decl, int32(len(r.objs))
	return o
}

func (r *resolver) openScope(pos token.Pos) {
	r.depth++
	if r.depth > maxScopeDepth {
		panic(depthError{pos})
	}
}

func (r *resolver) closeScope() {
	i := len(r.open)
	for i > 0 && r.open[i-1].depth == r.depth {
		i--
		o := r.open[i]
		r.scope[o.name] = o.shadows
	}
	r.open = r.open[:i]
	r.depth--
}

// insert puts o in the innermost scope, unless that scope already holds an
// object of the same name, which it returns.
func (r *resolver) insert(o *object) *object {
	top := r.scope[o.name]
	if top != nil && top.depth == r.depth {
		return top
	}
	o.depth, o.shadows = r.depth, top
	r.scope[o.name] = o
	if r.depth > 1 {
		r.open = append(r.open, o)
	}
	return nil
}

// insertPkg puts o in the package scope, beneath the local objects that
// hide it, unless the package scope already holds an object of the same
// name.
func (r *resolver) insertPkg(o *object) {
	var last *object
	for x := r.scope[o.name]; x != nil; x = x.shadows {
		last = x
	}
	if last != nil && last.depth == 1 {
		return
	}
	o.depth = 1
	if last == nil {
		r.scope[o.name] = o
	} else {
		last.shadows = o
	}
}

// declare declares each identifier as an object of kind in the innermost
// scope (the package scope if pkg).
func (r *resolver) declare(decl ast.Node, kind objKind, pkg bool, ids ...*ast.Ident) {
	for _, id := range ids {
		o := r.newObj(kind, id.Name, decl)
		r.set(id, o)
		if id.Name == "_" {
			continue
		}
		if pkg {
			r.insertPkg(o)
		} else {
			r.insert(o)
		}
	}
}

// shortVarDecl declares the new identifiers of lhs and resolves the others
// to the objects of the innermost scope they redeclare.
func (r *resolver) shortVarDecl(decl ast.Node, lhs []ast.Expr) {
	for _, x := range lhs {
		id, ok := x.(*ast.Ident)
		if !ok {
			continue
		}
		if top := r.scope[id.Name]; id.Name != "_" && top != nil && top.depth == r.depth {
			r.set(id, top)
			continue
		}
		o := r.newObj(objVar, id.Name, decl)
		r.set(id, o)
		if id.Name != "_" {
			r.insert(o)
		}
	}
}

// resolve finds the object id denotes in the scopes open now. If there is
// none and collect is set, id waits for the package scope to be complete.
func (r *resolver) resolve(id *ast.Ident, collect bool) {
	if id.Name == "_" {
		return
	}
	if o := r.scope[id.Name]; o != nil {
		if !o.hidden {
			r.set(id, o)
		}
		return
	}
	if collect {
		r.unresolved = append(r.unresolved, id)
	}
}

func (r *resolver) walkExprs(list []ast.Expr) {
	for _, e := range list {
		ast.Walk(r, e)
	}
}

// walkLHS walks the targets of a range := that are not identifiers.
func (r *resolver) walkLHS(list []ast.Expr) {
	for _, e := range list {
		e := ast.Unparen(e)
		if _, ok := e.(*ast.Ident); !ok && e != nil {
			ast.Walk(r, e)
		}
	}
}

func (r *resolver) walkStmts(list []ast.Stmt) {
	for _, s := range list {
		ast.Walk(r, s)
	}
}

// Visit resolves one node; it walks the children itself where they open
// scopes or declare names.
func (r *resolver) Visit(node ast.Node) ast.Visitor {
	switch n := node.(type) {
	case *ast.Ident:
		r.resolve(n, true)

	case *ast.FuncLit:
		r.openScope(n.Pos())
		r.walkFuncType(n.Type)
		r.walkBody(n.Body)
		r.closeScope()

	case *ast.SelectorExpr:
		ast.Walk(r, n.X)

	case *ast.StructType:
		r.openScope(n.Pos())
		r.walkFieldList(n.Fields, objVar)
		r.closeScope()

	case *ast.FuncType:
		r.openScope(n.Pos())
		r.walkFuncType(n)
		r.closeScope()

	case *ast.CompositeLit:
		if n.Type != nil {
			ast.Walk(r, n.Type)
		}
		for _, e := range n.Elts {
			kv, _ := e.(*ast.KeyValueExpr)
			if kv == nil {
				ast.Walk(r, e)
				continue
			}
			// A key may be a field name: it resolves only to what is in
			// scope now, and is never looked up later.
			if id, _ := kv.Key.(*ast.Ident); id != nil {
				r.resolve(id, false)
			} else {
				ast.Walk(r, kv.Key)
			}
			ast.Walk(r, kv.Value)
		}

	case *ast.InterfaceType:
		r.openScope(n.Pos())
		r.walkFieldList(n.Methods, objFun)
		r.closeScope()

	case *ast.LabeledStmt:
		r.declareLabel(n)
		ast.Walk(r, n.Stmt)

	case *ast.AssignStmt:
		r.walkExprs(n.Rhs)
		if n.Tok == token.DEFINE {
			r.shortVarDecl(n, n.Lhs)
		} else {
			r.walkExprs(n.Lhs)
		}

	case *ast.BranchStmt:
		if n.Tok != token.FALLTHROUGH && n.Label != nil {
			i := len(r.targets) - 1
			r.targets[i] = append(r.targets[i], n.Label)
		}

	case *ast.BlockStmt:
		r.openScope(n.Pos())
		r.walkStmts(n.List)
		r.closeScope()

	case *ast.IfStmt:
		r.openScope(n.Pos())
		if n.Init != nil {
			ast.Walk(r, n.Init)
		}
		ast.Walk(r, n.Cond)
		ast.Walk(r, n.Body)
		if n.Else != nil {
			ast.Walk(r, n.Else)
		}
		r.closeScope()

	case *ast.CaseClause:
		r.walkExprs(n.List)
		r.openScope(n.Pos())
		r.walkStmts(n.Body)
		r.closeScope()

	case *ast.SwitchStmt:
		r.openScope(n.Pos())
		if n.Init != nil {
			ast.Walk(r, n.Init)
		}
		extra := false
		if n.Tag != nil {
			// go/parser opened one more scope here, as if for a type
			// switch; it counts towards maxScopeDepth.
			if n.Init != nil {
				r.openScope(n.Tag.Pos())
				extra = true
			}
			ast.Walk(r, n.Tag)
		}
		if n.Body != nil {
			r.walkStmts(n.Body.List)
		}
		if extra {
			r.closeScope()
		}
		r.closeScope()

	case *ast.TypeSwitchStmt:
		if n.Init != nil {
			r.openScope(n.Pos())
			ast.Walk(r, n.Init)
		}
		r.openScope(n.Assign.Pos())
		ast.Walk(r, n.Assign)
		if n.Body != nil {
			r.walkStmts(n.Body.List) // the clauses share the guard's scope
		}
		r.closeScope()
		if n.Init != nil {
			r.closeScope()
		}

	case *ast.CommClause:
		r.openScope(n.Pos())
		if n.Comm != nil {
			ast.Walk(r, n.Comm)
		}
		r.walkStmts(n.Body)
		r.closeScope()

	case *ast.SelectStmt:
		if n.Body != nil {
			r.walkStmts(n.Body.List)
		}

	case *ast.ForStmt:
		r.openScope(n.Pos())
		if n.Init != nil {
			ast.Walk(r, n.Init)
		}
		if n.Cond != nil {
			ast.Walk(r, n.Cond)
		}
		if n.Post != nil {
			ast.Walk(r, n.Post)
		}
		ast.Walk(r, n.Body)
		r.closeScope()

	case *ast.RangeStmt:
		r.openScope(n.Pos())
		ast.Walk(r, n.X)
		var lhs []ast.Expr
		if n.Key != nil {
			lhs = append(lhs, n.Key)
		}
		if n.Value != nil {
			lhs = append(lhs, n.Value)
		}
		if len(lhs) > 0 {
			if n.Tok == token.DEFINE {
				r.walkLHS(lhs)
				r.shortVarDecl(n, lhs)
			} else {
				r.walkExprs(lhs)
			}
		}
		ast.Walk(r, n.Body)
		r.closeScope()

	case *ast.GenDecl:
		switch n.Tok {
		case token.CONST, token.VAR:
			kind := objCon
			if n.Tok == token.VAR {
				kind = objVar
			}
			for _, spec := range n.Specs {
				spec := spec.(*ast.ValueSpec)
				r.walkExprs(spec.Values)
				if spec.Type != nil {
					ast.Walk(r, spec.Type)
				}
				r.declare(spec, kind, false, spec.Names...)
			}
		case token.TYPE:
			// A type's name is in scope in its own declaration. The scope
			// of a type's parameters stays open to the end of the
			// declaration group (as go/parser had it).
			opened := 0
			for _, spec := range n.Specs {
				spec := spec.(*ast.TypeSpec)
				r.declare(spec, objTyp, false, spec.Name)
				if spec.TypeParams != nil {
					r.openScope(spec.Pos())
					opened++
					r.walkTParams(spec.TypeParams)
				}
				ast.Walk(r, spec.Type)
			}
			for ; opened > 0; opened-- {
				r.closeScope()
			}
		}

	case *ast.FuncDecl:
		r.openScope(n.Pos())
		r.walkRecv(n.Recv)
		if n.Type.TypeParams != nil {
			r.walkTParams(n.Type.TypeParams)
		}
		r.resolveList(n.Type.Params)
		r.resolveList(n.Type.Results)
		r.declareList(n.Recv, objVar)
		r.declareList(n.Type.Params, objVar)
		r.declareList(n.Type.Results, objVar)
		r.walkBody(n.Body)
		if n.Recv == nil && n.Name.Name != "init" {
			r.declare(n, objFun, true, n.Name)
		}
		r.closeScope()

	default:
		return r
	}
	return nil
}

func (r *resolver) walkFuncType(t *ast.FuncType) {
	r.resolveList(t.Params)
	r.resolveList(t.Results)
	r.declareList(t.Params, objVar)
	r.declareList(t.Results, objVar)
}

// resolveList walks the types of a field list.
func (r *resolver) resolveList(list *ast.FieldList) {
	if list == nil {
		return
	}
	for _, f := range list.List {
		if f.Type != nil {
			ast.Walk(r, f.Type)
		}
	}
}

// declareList declares the names of a field list.
func (r *resolver) declareList(list *ast.FieldList, kind objKind) {
	if list == nil {
		return
	}
	for _, f := range list.List {
		r.declare(f, kind, false, f.Names...)
	}
}

func (r *resolver) walkFieldList(list *ast.FieldList, kind objKind) {
	if list == nil {
		return
	}
	r.resolveList(list)
	r.declareList(list, kind)
}

// walkTParams declares type parameters before walking their constraints,
// which may refer to them.
func (r *resolver) walkTParams(list *ast.FieldList) {
	r.declareList(list, objTyp)
	r.resolveList(list)
}

// walkRecv declares a receiver's type parameters (in scope, but no
// identifier resolves to them) and walks the receiver's type.
func (r *resolver) walkRecv(recv *ast.FieldList) {
	if recv == nil || len(recv.List) == 0 {
		return
	}
	typ := recv.List[0].Type
	if ptr, ok := typ.(*ast.StarExpr); ok {
		typ = ptr.X
	}
	var params, walk []ast.Expr
	switch t := typ.(type) {
	case *ast.IndexExpr:
		params, walk = []ast.Expr{t.Index}, []ast.Expr{t.X}
	case *ast.IndexListExpr:
		params, walk = t.Indices, []ast.Expr{t.X}
	default:
		walk = []ast.Expr{typ}
	}
	for _, e := range params {
		if id, ok := e.(*ast.Ident); ok {
			if id.Name != "_" {
				o := r.newObj(objTyp, id.Name, nil)
				o.hidden = true
				r.insert(o)
			}
		} else {
			walk = append(walk, e)
		}
	}
	for _, e := range walk {
		if e != nil {
			ast.Walk(r, e)
		}
	}
	for _, f := range recv.List[1:] {
		if f.Type != nil {
			ast.Walk(r, f.Type)
		}
	}
}

// walkBody walks a function body with its own labels.
func (r *resolver) walkBody(body *ast.BlockStmt) {
	if body == nil {
		return
	}
	r.labels = append(r.labels, nil)
	r.targets = append(r.targets, nil)
	r.walkStmts(body.List)
	i := len(r.labels) - 1
	for _, id := range r.targets[i] {
		for _, l := range r.labels[i] {
			if l.name == id.Name {
				r.set(id, l)
				break
			}
		}
	}
	r.labels, r.targets = r.labels[:i], r.targets[:i]
}

// declareLabel declares a label in the innermost function body; the first
// of two labels with one name is the one break and continue find.
func (r *resolver) declareLabel(s *ast.LabeledStmt) {
	o := r.newObj(objLbl, s.Label.Name, s)
	r.set(s.Label, o)
	if s.Label.Name == "_" || len(r.labels) == 0 {
		return
	}
	i := len(r.labels) - 1
	for _, l := range r.labels[i] {
		if l.name == o.name {
			return
		}
	}
	r.labels[i] = append(r.labels[i], o)
}
