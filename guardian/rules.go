package guardian

// Rule identifiers. Each [Finding] carries one; they are stable and safe to
// match on. The package documentation explains every rule.
const (
	RuleSourceSize  = "source.size"  // the source is larger than Options.MaxSourceBytes
	RuleSourceParse = "source.parse" // the source is not valid Go

	RulePackageMain = "package.main" // package main

	RuleEntryMissing   = "entry.missing"   // no function named for the selector
	RuleEntryDuplicate = "entry.duplicate" // more than one
	RuleEntrySignature = "entry.signature" // wrong parameters or results

	RuleDeclInit      = "decl.init"      // func init
	RuleDeclMain      = "decl.main"      // func main
	RuleDeclVar       = "decl.var"       // package-level variable
	RuleDeclMethod    = "decl.method"    // method declaration (func with a receiver)
	RuleDeclExported  = "decl.exported"  // exported helper, constant or type
	RuleDeclDuplicate = "decl.duplicate" // two top-level declarations with one name
	RuleDeclBody      = "decl.body"      // function declared without a body

	RuleImportForbidden = "import.forbidden" // path not on the allowlist
	RuleImportRelative  = "import.relative"  // "./x", "../x", "/x"
	RuleImportDot       = "import.dot"       // import . "x"
	RuleImportBlank     = "import.blank"     // import _ "x"
	RuleImportAlias     = "import.alias"     // the host package under another name
	RuleImportMissing   = "import.missing"   // a package used without its import (added, see Report.Repairs, unless ambiguous)
	RuleImportUnused    = "import.unused"    // an allowed import that is not used (removed, see Report.Repairs)

	RulePackageMissing = "package.missing" // a bare function without package clause (wrapped, see Report.Repairs)

	RuleGoStatement     = "stmt.go"        // go statement
	RuleSelectStatement = "stmt.select"    // select statement
	RuleGotoStatement   = "stmt.goto"      // goto
	RuleChan            = "chan.forbidden" // channel types, sends, receives
	RuleCallForbidden   = "call.forbidden" // time.Sleep, timers, fmt.Print*, print, ...
	RuleArraySize       = "alloc.array"    // array type too large or of unknown length

	RuleIdentReserved = "ident.reserved" // identifier starting with "__"
	RuleIdentShadow   = "ident.shadow"   // a declaration named like the host package

	RuleGeneric     = "yaegi.generic"     // type parameters
	RuleRangeInt    = "yaegi.rangeint"    // range over an integer
	RuleRangeString = "yaegi.rangestring" // range over a string (rewritten, never rejected)
	RuleRangeFunc   = "yaegi.rangefunc"   // range over a function (iterator)
	RuleMinMax      = "yaegi.minmax"      // builtins min and max
	RuleClear       = "yaegi.clear"       // builtin clear
	RuleLoopVar     = "yaegi.loopvar"     // closure capturing a per-iteration loop variable
	RuleBoxing      = "yaegi.boxing"      // unary or comparison result stored into an interface (rewritten)

	RuleFuncValue = "instrument.funcvalue" // a helper used as a value where it cannot be wrapped
	RuleMeter     = "instrument.meter"     // the source uses the instrumentation API (batos.Enter, batos.Meter)

	RuleCovenant = "covenant.unmarked" // a write can reach a return without MarkChanged

	RuleTypes = "types.check" // the source is not valid Go: a type error, in the words of the Go compiler
)
