package guardian

import (
	"bytes"
	"errors"
	"fmt"
	"go/token"
	"sort"
	"strings"
)

// HostPackage is the import path (and package name) under which the runtime
// exports the narrow Self interface and the budget meter to interpreted code.
const HostPackage = "batos"

// Identifiers of the instrumentation contract. Instrumented source refers to
// the runtime only through these names; the runtime must export matching
// symbols under [HostPackage]. See "Instrumentation" in the package
// documentation for their semantics.
const (
	// ReservedPrefix starts every identifier the guardian adds. A model's
	// source may not declare or use such identifiers (rule ident.reserved).
	ReservedPrefix = "__"

	// MeterVar is the local variable (in the entry function) and the first
	// parameter (in helpers that need it) holding the call's *batos.Meter.
	MeterVar = "__meter"

	// MeterType is the host type: instrumented helpers declare their extra
	// parameter as `__meter *batos.Meter`.
	MeterType = "Meter"

	// EnterFunc names both the host function `batos.Enter(self) *batos.Meter`
	// called first in the entry function, and the method
	// `(*batos.Meter).Enter()` called first in helpers and function
	// literals that may recurse.
	EnterFunc = "Enter"

	// LeaveMethod is `(*batos.Meter).Leave()`, deferred right after every
	// Enter.
	LeaveMethod = "Leave"

	// FuelField is the exported int field `Fuel` of batos.Meter that every
	// loop iteration decrements.
	FuelField = "Fuel"

	// RefuelMethod is `(*batos.Meter).Refuel()`, called when Fuel drops
	// below zero.
	RefuelMethod = "Refuel"

	// AllocMethod is `(*batos.Meter).Alloc(n int) int`, wrapped around the
	// size of make, strings.Repeat, bytes.Repeat and Grow calls and called
	// before an append that spreads one slice into another.
	AllocMethod = "Alloc"

	// WrapperParamPrefix names the parameters (__a0, __a1, ...) of the
	// function literal that replaces a helper used as a value, so that the
	// helper still receives the meter.
	WrapperParamPrefix = "__a"
)

// Options tunes [Audit]. The zero value means the defaults that
// [DefaultOptions] spells out.
type Options struct {
	// MaxSourceBytes caps the size of the source. 0 means 64 KiB.
	MaxSourceBytes int

	// Imports lists the import paths a method may use besides
	// [HostPackage], which is always allowed. nil means [DefaultImports];
	// an empty, non-nil slice allows the host package only.
	Imports []string

	// MaxFindings caps the findings of one [Rejection]. 0 means 20.
	MaxFindings int

	// SmallAlloc is the largest constant size passed to make,
	// strings.Repeat, bytes.Repeat or Grow that is not wrapped in a
	// budget check. 0 means 1024.
	SmallAlloc int

	// MaxArray is the largest constant array length a method may declare
	// (arrays are allocated whole, before any check can run). 0 means 65536.
	MaxArray int
}

// DefaultOptions returns the options the zero [Options] stands for.
func DefaultOptions() Options {
	return Options{
		MaxSourceBytes: 64 << 10,
		Imports:        DefaultImports(),
		MaxFindings:    20,
		SmallAlloc:     1024,
		MaxArray:       1 << 16,
	}
}

// DefaultImports returns a new copy of the default import allowlist: pure
// standard-library packages with no access to the file system, network,
// processes, reflection or unsafe memory. Callers may extend or trim the
// copy and pass it in [Options.Imports].
//
// Generic packages (slices, maps, cmp, iter) are left out on purpose: the
// interpreter (Yaegi v0.16.1) mis-infers generic code.
func DefaultImports() []string {
	return []string{
		"bytes",
		"container/list",
		"crypto/md5",
		"crypto/sha1",
		"crypto/sha256",
		"crypto/sha512",
		"encoding/base64",
		"encoding/hex",
		"encoding/json",
		"errors",
		"fmt",
		"hash/adler32",
		"hash/crc32",
		"hash/fnv",
		"html",
		"math",
		"math/bits",
		"math/rand",
		"path",
		"regexp",
		"sort",
		"strconv",
		"strings",
		"time",
		"unicode",
		"unicode/utf16",
		"unicode/utf8",
	}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.MaxSourceBytes <= 0 {
		o.MaxSourceBytes = d.MaxSourceBytes
	}
	if o.Imports == nil {
		o.Imports = d.Imports
	}
	if o.MaxFindings <= 0 {
		o.MaxFindings = d.MaxFindings
	}
	if o.SmallAlloc <= 0 {
		o.SmallAlloc = d.SmallAlloc
	}
	if o.MaxArray <= 0 {
		o.MaxArray = d.MaxArray
	}
	return o
}

// A Finding is one broken rule, or (in [Report.Rewrites]) one change the
// guardian made itself.
type Finding struct {
	Rule    string         // stable rule id, one of the Rule constants
	Pos     token.Position // line and column in the audited source (Filename is empty)
	Message string         // what is wrong and how to fix it, for a model to act on
}

// String formats the finding as "line:col: rule: message".
func (f Finding) String() string {
	return fmt.Sprintf("%d:%d: %s: %s", f.Pos.Line, f.Pos.Column, f.Rule, f.Message)
}

// A Rejection is the error [Audit] returns when the source breaks rules. It
// unwraps to [ErrRejected].
type Rejection struct {
	Selector string    // the audited selector
	Findings []Finding // in source order, at most Options.MaxFindings
	Omitted  int       // findings left out beyond Options.MaxFindings
}

// Error lists the findings, one per line after a summary line.
func (r *Rejection) Error() string {
	var b strings.Builder
	n := len(r.Findings) + r.Omitted
	fmt.Fprintf(&b, "guardian: method %s rejected (%d finding", r.Selector, n)
	if n != 1 {
		b.WriteByte('s')
	}
	b.WriteString(")")
	for _, f := range r.Findings {
		b.WriteString("\n\t")
		b.WriteString(f.String())
	}
	if r.Omitted > 0 {
		fmt.Fprintf(&b, "\n\t(%d more)", r.Omitted)
	}
	return b.String()
}

// Unwrap returns [ErrRejected].
func (r *Rejection) Unwrap() error { return ErrRejected }

// Has reports whether some finding carries the rule id.
func (r *Rejection) Has(rule string) bool {
	for _, f := range r.Findings {
		if f.Rule == rule {
			return true
		}
	}
	return false
}

// A Report describes accepted source.
type Report struct {
	// Selector is the name of the entry function.
	Selector string

	// Package is the package name of the source.
	Package string

	// Source is the source to compile: the audited source with the
	// compatibility rewrites listed in Rewrites and the budget
	// instrumentation applied, formatted by go/format. Auditing Source
	// again accepts it and returns it unchanged.
	Source []byte

	// Imports are the import paths Source uses, sorted.
	Imports []string

	// Helpers are the names of the other top-level functions, in source
	// order (including those a rewrite added).
	Helpers []string

	// Writes reports whether the method may write state. If so, the
	// guardian has proved that it marks the object changed on every path.
	Writes bool

	// Rewrites lists the changes made so that the interpreter runs the
	// code as Go would (range over an integer, min, max, loop variables,
	// ...), each with the position of the rewritten code in the audited
	// source.
	Rewrites []Finding

	// Repairs lists the mechanical fixes made to the source as written,
	// instead of a rejection: a package clause added to a bare function
	// (rule package.missing), an import added for a package used without
	// one (import.missing), an unused import removed (import.unused).
	// Each keeps the lines of the source where they were.
	Repairs []Finding
}

// Audit checks that src is a well-formed generated method for selector and
// returns it instrumented with budget checks.
//
// The error is a [*Rejection] (which wraps [ErrRejected]) when the source
// breaks rules, [ErrSelector] when the selector itself is invalid, and
// [ErrInternal] (never expected) when the guardian fails itself. Audit
// never panics and keeps no state between calls; it is safe for concurrent
// use.
func Audit(src []byte, selector string, opts Options) (rep *Report, err error) {
	if err := checkSelector(selector); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	defer func() {
		if r := recover(); r != nil {
			rep, err = nil, fmt.Errorf("%w: %v", ErrInternal, r)
		}
	}()
	if len(src) > opts.MaxSourceBytes {
		return nil, &Rejection{Selector: selector, Findings: []Finding{{
			Rule:    RuleSourceSize,
			Pos:     token.Position{Line: 1, Column: 1},
			Message: fmt.Sprintf("the source is %d bytes; the limit is %d: write a shorter method: only the method and the helpers it needs", len(src), opts.MaxSourceBytes),
		}}}
	}
	if bytes.Contains(src, []byte(ReservedPrefix)) {
		src = strip(src)
	}
	var repairs []Finding
	var wrapAt token.Position // where the package clause was added
	if wrapped, f := wrapBare(src); wrapped != nil {
		src, repairs, wrapAt = wrapped, append(repairs, *f), f.Pos
	}
	u := newUnit(src, selector, opts)
	if u.parse() {
		ir := u.repairImports()
		if len(ir.edits) > 0 {
			fixed, err := applyEdits(src, ir.edits)
			if err != nil {
				return nil, fmt.Errorf("%w: repairing imports: %v", ErrInternal, err)
			}
			r := newUnit(fixed, selector, opts)
			if r.parse() {
				r.findings = u.findings
				u = r
				repairs = append(repairs, ir.repairs...)
			}
			// Else (never expected) the source is audited as written, and
			// the type check names the imports.
		}
		u.missing = ir.missing
		u.audit()
	}
	u.repairs = repairs
	if wrapAt.Line > 0 {
		// Columns after the added clause point where the model wrote.
		defer func() {
			if rep != nil {
				unshift(rep.Rewrites, wrapAt)
				unshift(rep.Repairs[1:], wrapAt)
			}
			var rej *Rejection
			if errors.As(err, &rej) {
				unshift(rej.Findings, wrapAt)
			}
		}()
	}
	if len(u.findings) > 0 {
		return nil, u.rejection()
	}
	return u.report()
}

// unshift moves the columns of findings on the line where wrapBare added
// the package clause back to the source as written.
func unshift(fs []Finding, at token.Position) {
	for i := range fs {
		if p := &fs[i].Pos; p.Line == at.Line && p.Column > at.Column {
			p.Column = max(p.Column-len(barePackage), at.Column)
		}
	}
}

// checkSelector validates the selector.
func checkSelector(s string) error {
	if !token.IsIdentifier(s) || s == "_" || s == "init" || s == "main" || strings.HasPrefix(s, ReservedPrefix) {
		return fmt.Errorf("%w: %q", ErrSelector, s)
	}
	return nil
}

func (u *unit) rejection() *Rejection {
	fs := u.findings
	sort.SliceStable(fs, func(i, j int) bool {
		if fs[i].Pos.Line != fs[j].Pos.Line {
			return fs[i].Pos.Line < fs[j].Pos.Line
		}
		return fs[i].Pos.Column < fs[j].Pos.Column
	})
	// Drop exact duplicates (same rule and place).
	out := fs[:0]
	for i, f := range fs {
		if i > 0 && f.Rule == fs[i-1].Rule && f.Pos == fs[i-1].Pos {
			continue
		}
		out = append(out, f)
	}
	r := &Rejection{Selector: u.selector, Findings: out}
	if len(out) > u.opts.MaxFindings {
		r.Omitted = len(out) - u.opts.MaxFindings
		r.Findings = out[:u.opts.MaxFindings]
	}
	return r
}
