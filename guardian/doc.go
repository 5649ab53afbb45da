// Package guardian audits the Go source of generated methods before
// anything runs it, and instruments the accepted source with budget checks.
//
// A language model writes each missing method of a batos object as one Go
// file. The guardian is the gate between the model and the interpreter:
// [Audit] parses the file, checks it against the contract below, proves the
// persistence covenant, rewrites what the interpreter (Yaegi v0.16.1) would
// run differently from Go, and returns the source to compile, with a call
// to the runtime's budget meter at function entries and loop iterations. It
// is a pure function of the source text: it imports nothing of this module
// and keeps no state, so it can be fuzzed alone and called from any number
// of goroutines at once.
//
//	rep, err := guardian.Audit(src, "greet", guardian.Options{})
//	var rej *guardian.Rejection
//	if errors.As(err, &rej) {
//		// rej.Findings: rule id, line:col, and a message the model can act on
//	}
//	// compile rep.Source; rep.Repairs and rep.Rewrites say what the guardian changed
//
// The passes, in order:
//
//	src ─► repairs ─► parse ─► shape, imports, syntax ─► type check ─► interpreter rewrites ─► covenant ─► instrumentation ─► gofmt ─► Report
//	                     │               │                     │                 │                    │
//	                     └───────────────┴─────────────────────┴─────────────────┴────────────────────┴──► *Rejection{Findings}
//
// A rejection lists every finding of every pass at once (up to
// Options.MaxFindings), so that one round with the model can fix them all.
//
// The guardian edits the text, never a reprinted tree, so comments and
// layout survive; the result goes through go/format. Auditing the output
// again accepts it and returns it unchanged: the guardian recognises its
// own instrumentation, takes it out, and puts it back.
//
// # The contract
//
// A generated method is one Go source file:
//
//	package greeting // any name but main
//
//	import (
//		"strings"
//
//		"batos" // the host package, imported under its own name
//	)
//
//	// greet_the_architect answers the architect by name.
//	func greet_the_architect(self batos.Self, args []any) (any, error) {
//		name, _ := self.Get("architect").(string)
//		return "Hello, " + strings.TrimSpace(name), nil
//	}
//
// The entry function is named exactly as the selector and has the
// signature func(self batos.Self, args []any) (any, error) (interface{} for
// any is fine, as are named results; an unnamed or blank Self parameter is
// named self). Beside it the file may declare unexported helper functions,
// constants and types. It may not declare package-level variables (a
// method keeps its state in its object), methods (use plain functions, and
// sort.Slice rather than sort.Interface), init or main.
//
// # Rules
//
// Every broken rule is a [Finding] with a stable rule id:
//
//	source.size        the source is larger than Options.MaxSourceBytes (64 KiB)
//	source.parse       the source is not valid Go
//	package.main       package main
//	entry.missing      no function named for the selector (a helper with the entry signature is named in the message)
//	entry.duplicate    two of them
//	entry.signature    the entry's signature is not func(self batos.Self, args []any) (any, error)
//	decl.init          func init
//	decl.main          func main
//	decl.var           a package-level variable
//	decl.method        a method (a func with a receiver)
//	decl.exported      an exported helper, constant or type
//	decl.duplicate     two top-level declarations with one name
//	decl.body          a function without a body
//	import.forbidden   an import not on the allowlist (os, os/exec, syscall, unsafe, reflect, runtime, net/..., io/fs, plugin, C, slices, ...), under any name
//	import.relative    "./x", "../x", "/x"
//	import.dot         import . "x"
//	import.blank       import _ "x"
//	import.alias       the host package under another name
//	import.missing     a name that more than one allowed package bears is used without an import
//	                   (with one, the import is added: see Repairs); in source that does not
//	                   parse, every allowed package used without an import
//	stmt.go            a go statement
//	stmt.select        a select statement (there are no channels to wait on)
//	stmt.goto          goto (a loop the meter would not see)
//	chan.forbidden     channel types, sends and receives
//	call.forbidden     time.Sleep, time.After, time.AfterFunc, time.NewTimer, time.NewTicker, time.Tick,
//	                   fmt.Print, Printf, Println, fmt.Scan, Scanf, Scanln, rand.Seed, print, println
//	                   (any reference, not only calls)
//	alloc.array        an array type longer than Options.MaxArray (65536) or of unknown length
//	ident.reserved     an identifier starting with "__" (the instrumentation's namespace)
//	ident.shadow       a declaration named batos (hiding the host package), or len where an append needs the builtin
//	yaegi.generic      type parameters or explicit instantiation
//	yaegi.rangeint     range over an integer the guardian cannot rewrite
//	yaegi.rangefunc    range over a function (an iterator)
//	yaegi.minmax       min or max over values of uncertain type
//	yaegi.clear        clear of a value of uncertain type
//	yaegi.loopvar      a closure captures a loop variable that the loop body also changes
//	instrument.funcvalue a helper used as a value cannot be wrapped (a local name shadows a type of its signature)
//	instrument.meter   a use of the instrumentation API: batos.Enter or batos.Meter (under any import
//	                   name, in any position: call, value, type, conversion, assertion, embedding,
//	                   method expression), or a field or method of a value known to be a meter
//	covenant.unmarked  a write can reach a return without MarkChanged
//	types.check        the source is not valid Go: a type error, in the Go compiler's words
//	                   ("missing return", "cannot use n (variable of type int) as bool value
//	                   in return statement")
//
// The default allowlist is [DefaultImports]: bytes, container/list,
// crypto/md5, crypto/sha1, crypto/sha256, crypto/sha512, encoding/base64,
// encoding/hex, encoding/json, errors, fmt, hash/adler32, hash/crc32,
// hash/fnv, html, math, math/bits, math/rand, path, regexp, sort, strconv,
// strings, time, unicode, unicode/utf16 and unicode/utf8, plus the host
// package. The hashes are pure functions of their input (checksums, ids).
// Generic packages (slices, maps, cmp, iter) are left out: the interpreter
// mis-infers generic code. time is allowed without its timers and without
// Sleep: a sleeping method cannot be stopped by its budget, and a timer's
// callback outlives the call.
//
// # Repairs
//
// What is mechanical is repaired, not sent back to the model, and listed
// in [Report.Repairs] (each keeps the lines of the source where they
// were, so findings still point at the lines the model wrote):
//
//	package.missing    a bare function (the source starts with func, import, type, const or
//	                   var) gets the package clause `package method`
//	import.missing     a name the file uses but does not declare, that one allowed package
//	                   (or the host package) bears, gets its import: sort.Ints without
//	                   import "sort"; when several bear it, the members used choose
//	import.unused      an import of an allowed package whose name the file never uses goes
//
// Source that does not parse is not repaired, but its rejection names,
// beside the syntax errors, a missing entry function and every allowed
// package used without an import ("add import \"sort\""), so that one
// round fixes them all.
//
// # Type check
//
// The interpreter runs much that Go rejects (an int returned as a bool,
// a comparison of an int with true, an assignment to a string index that
// does nothing, a missing return whose zero value comes back), so the
// guardian type-checks the source with go/types before it rewrites or
// instruments anything, and reports each error as a finding of rule
// types.check at its line and column, in go/types' words, which are the
// Go compiler's. The check needs no Go toolchain at run time: the type
// information of the standard-library packages a method may import is
// embedded in the binary (stdtypes.bin, export data written by
// `go generate ./guardian`, see internal/gentypes, and read with
// golang.org/x/tools/go/gcexportdata), and the host package is declared
// from source ([HostSource]). [TypedPackages] lists the embedded
// packages; a test fails when the default allowlist holds a package
// missing from them, or when the file is stale.
//
// A covenant finding whose write stands on a line with a type error is
// left out: the type error is the real problem (`max(max, x)` with a
// local max is a call of an int, not a write).
//
// # Interpreter rewrites
//
// Yaegi v0.16.1 follows Go 1.21/1.22 with gaps. When the meaning is
// certain the guardian rewrites the source and lists the change in
// [Report.Rewrites]; otherwise it rejects with a message naming the
// Go 1.20 form. Types are inferred from the syntax alone (literals,
// declarations, conversions, type assertions, a table of standard
// functions); an unknown type means no rewrite.
//
//	yaegi.rangeint     for i := range n → for i := 0; i < n; i++ (typed counters keep their type;
//	                   a bound that the body may change is copied first)
//	yaegi.rangestring  for i, c := range s → a loop over utf8.DecodeRuneInString, because the
//	                   interpreter's range over a string is quadratic (the import is added)
//	yaegi.minmax       min and max of ints or strings → generated helpers (minInt, ...);
//	                   of float64 → math.Min and math.Max; of one value → the value
//	yaegi.clear        clear(m) of a map → a delete loop; of a slice → a loop storing zero
//	yaegi.loopvar      a per-iteration copy (v := v) of each loop variable a closure captures:
//	                   the interpreter shares one variable across iterations, as Go did before 1.22
//	yaegi.boxing       parentheses around a unary or comparison expression returned or assigned
//	                   into a possibly-interface destination: the interpreter loses the value of
//	                   `return -n, nil` (nil) and panics on `return a == b, nil`
//	entry.signature    a blank or unnamed Self parameter is named self
//
// # The persistence covenant
//
// A method that writes state must mark its object changed after the write
// on every path that returns. The guardian proves it:
//
// Writes are calls of Set or Delete (on any receiver, through any alias or
// method value), and changes in place of memory a slot owns: an assignment
// to an element or field, ++, delete, copy into, sort.*, json.Unmarshal
// into, append to a reslice, a pointer into it. Slot memory is found by an
// alias analysis over the whole file: everything Get or Send returns, what
// type assertions, indexing, slicing, ranging, closures, helper parameters
// and results, containers and struct fields make of it, and, from the
// point of the call on, values given to Set or to Send. Passing slot memory
// to Send (another method may change it) or to a function the guardian
// cannot follow is a write too. Values of scalar types (string, numbers,
// bool, batos.Ref) are never slot memory.
//
// A mark is a call of MarkChanged on self itself: the entry's parameter, a
// variable or helper parameter that only ever holds it, or a method value
// of it. A MarkChanged on anything else (a struct with a func field) does
// not count.
//
// The path analysis follows each function with one bit, "a write happened
// that no mark has followed", and the composed effect of the deferred
// calls registered so far. if, switch (with fallthrough), for and range
// (to a fixpoint), labeled break and continue, return and panic are
// followed; calls apply the summary of the function called (helpers,
// literals, values that may flow to the callee, function values passed to
// the callee). A return where the bit, after the deferred calls have run,
// is set is a finding. So `defer self.MarkChanged()` anywhere before the
// return covers every write, also later ones; a deferred write registered
// after the deferred mark runs before it and is a finding. Two refinements
// keep honest code passing: the branch of `if err := self.Set(...); err !=
// nil` (or err := ... followed by that if) starts from the state before
// the Set, which failed; and a path that ends in panic needs no mark (the
// runtime discards a call that panics). In a function that defers a
// recover, every write is checked as if a panic could follow it.
//
// # Instrumentation
//
// The instrumented source reaches the runtime through identifiers the
// runtime exports under [HostPackage] (the names are also exported here as
// constants, [MeterVar], [MeterType], [EnterFunc], [LeaveMethod],
// [FuelField], [RefuelMethod], [AllocMethod], [WrapperParamPrefix]):
//
//	type Meter struct {
//		Fuel int // loop iterations left before Refuel must be called
//		// unexported fields
//	}
//	func Enter(self Self) *Meter     // the meter of the call self belongs to; counts a frame
//	func (m *Meter) Enter()          // counts a nested frame and a step
//	func (m *Meter) Leave()          // ends a frame (always deferred)
//	func (m *Meter) Refuel()         // called when Fuel < 0: charge, check, refill Fuel
//	func (m *Meter) Alloc(n int) int // approve an allocation of n elements; returns n
//
// The guardian inserts:
//
//	func greet(self batos.Self, args []any) (any, error) {
//		__meter := batos.Enter(self) // always, first, in the entry
//		defer __meter.Leave()
//		for _, x := range xs {
//			if __meter.Fuel--; __meter.Fuel < 0 { // first in every for and range body
//				__meter.Refuel()
//			}
//			...
//		}
//		buf := make([]byte, __meter.Alloc(n))  // make sizes, strings/bytes.Repeat counts, Grow
//		__meter.Alloc(len(all) + len(more))    // before all = append(all, more...)
//		all = append(all, more...)
//		return walk(__meter, buf), nil         // a helper that needs the meter gets it first
//	}
//
//	func walk(__meter *batos.Meter, b []byte) int {
//		__meter.Enter() // in helpers and literals that may recurse
//		defer __meter.Leave()
//		sort.Slice(b, func(i, j int) bool {
//			if __meter.Fuel--; __meter.Fuel < 0 { // first in other literals
//				__meter.Refuel()
//			}
//			return b[i] < b[j]
//		})
//		...
//	}
//
// A function (helper or literal) calls Enter and Leave if it may take part
// in recursion: it lies on a cycle of the call graph (direct calls,
// references as values, literals it defines), or it calls a function value
// the guardian cannot follow. Every other function literal, and every
// helper used as a value, starts with the fuel check instead, because a
// standard function such as sort.Slice may call it any number of times.
// A helper takes the meter as its first parameter only if it needs it: it
// loops, allocates, may recurse, is used as a value, or calls (or defines
// a literal that calls) something that needs it; where such a helper is
// used as a value, it is replaced by func(__a0 T0, ...) R { return
// h(__meter, __a0, ...) }. A helper that is only called directly, without
// loops or such calls, runs in bounded time, cannot recurse, and is left
// as written.
//
// The instrumentation API is the guardian's alone: a method that held its
// meter could refill its own budget. Rule instrument.meter refuses every
// reference to batos.Enter and batos.Meter in the audited source, and
// every use of Fuel, Enter, Leave, Refuel or Alloc on a value the guardian
// can see is a meter; identifiers starting with "__" are refused by
// ident.reserved. The instrumentation in source the guardian produced
// itself is recognised and taken out before the audit (see above), so
// auditing instrumented output again still accepts it.
//
// The runtime must:
//
//   - give every call its own meter (Enter finds it from self; a Send from
//     the call shares it), used only on the call's goroutine: the
//     interpreter runs on the caller's goroutine and go statements are
//     refused, so a meter needs no locking and there is no package-level
//     counter;
//   - count depth in Enter and undo it in Leave (Leave runs deferred, also
//     while a panic unwinds);
//   - grant Fuel in allotments: the instrumented code decrements it once per
//     loop iteration and calls Refuel when it drops below zero, so the
//     runtime's context, deadline and step count are consulted at least
//     every allotment of iterations and at every frame;
//   - refuse an Alloc above its limit, and return n otherwise (n may be zero
//     or negative: make panics on its own);
//   - stop a call by panicking from a check, and recover at its boundary.
//     Interpreted code can recover that panic, so exhaustion must be sticky
//     (every later check fails again) and the runtime must treat a call
//     whose meter is exhausted as failed, whatever the call returned.
//
// A loop iteration or a call of a literal costs a field decrement and a
// comparison (about 25 ns in the interpreter, against about 90 ns for a
// host call per iteration); a recursion-capable call costs two host calls.
//
// # Caveats
//
//   - Types are inferred from the syntax only. A range over an integer or a
//     string whose type the guardian cannot see stays as written: range
//     over an integer then fails to compile in the interpreter, whose error
//     goes back to the model, and range over a string stays slow.
//   - The covenant analysis is conservative: code that passes slot memory
//     to other methods or to function values the guardian cannot follow,
//     or that recovers panics, may be refused although it marks correctly.
//     `defer self.MarkChanged()` as the first statement always satisfies it.
//   - It assumes what uvm guarantees: a Set or Delete that returns an error
//     changed nothing, and changing the args of a call is no write (they
//     belong to the caller).
//   - Fuel counts loop iterations and frames, not statements or the work of
//     standard functions; memory grown by string concatenation, fmt widths
//     or encoders is not checked. The isolated worker's limits are the last
//     line of defence.
//   - The rewrites and the list of refused constructs describe Yaegi v0.16.1;
//     a new interpreter version needs them revisited.
//   - When the input already carries instrumentation, findings point into
//     the source with that instrumentation removed.
//   - A package on Options.Imports without embedded type information is
//     imported unchecked: the uses of its names are not type-checked (the
//     rest of the file is). The type information is read once per process
//     (a few milliseconds) and shared, read-only, by every audit.
//   - Type errors are go/types' (Go 1.22 rules); the compiler words them
//     alike, but may place an error on another column of the same
//     expression (an operator rather than its operand).
package guardian
