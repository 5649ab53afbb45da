package guardian

import (
	"go/ast"
	"math"
)

// The standard library's effects on memory, as the covenant sees them:
// which functions change the memory they are given, which return some of
// it, and (by method name) which methods of standard types leave their
// receiver or arguments alone. Every package a method may import by
// default, and the host package, has an entry in stdEffects; a package
// without one (a caller may allow more with Options.Imports) is taken to
// return what it is given and to change nothing through its functions.

// A pkgEffects is what the covenant knows of one package.
type pkgEffects struct {
	// fresh: the functions return values that share no memory with their
	// arguments, except those whose funcEffects say returnsFirst.
	fresh bool

	// sharedTypes: converting a value to one of the package's named types
	// may keep its memory (sort.StringSlice(s) is s); the named types of
	// other packages are values (time.Time).
	sharedTypes bool

	// funcs says what each function does, nil if none changes memory or
	// returns its first argument.
	funcs func(name string) funcEffects
}

// A funcEffects is what one function does with the memory it is given.
type funcEffects struct {
	// writes: the arguments, by index, whose memory the function may
	// change (none in the zero value).
	writes argRange

	// returnsFirst: the result is the first argument, extended
	// (strconv.AppendInt).
	returnsFirst bool
}

// An argRange is the arguments from index from up to, not including, to.
type argRange struct{ from, to int }

// stdEffects returns the entry of the package at path, and false for a
// package with none.
func stdEffects(path string) (pkgEffects, bool) {
	switch path {
	case "bytes":
		return pkgEffects{}, true // bytes.TrimSpace, bytes.Fields, ... return parts of their argument
	case "container/heap":
		return pkgEffects{funcs: heapFunc}, true
	case "container/list":
		return pkgEffects{fresh: true}, true
	case "crypto/md5", "crypto/sha1", "crypto/sha256", "crypto/sha512":
		return pkgEffects{fresh: true}, true // digests are fresh arrays; a hash's Write only reads
	case "encoding/base64":
		return pkgEffects{fresh: true}, true
	case "encoding/hex":
		return pkgEffects{fresh: true, funcs: hexFunc}, true
	case "encoding/json":
		return pkgEffects{fresh: true, funcs: jsonFunc}, true
	case "errors":
		return pkgEffects{fresh: true}, true
	case "fmt":
		return pkgEffects{fresh: true, funcs: fmtFunc}, true
	case "hash/adler32", "hash/crc32", "hash/fnv":
		return pkgEffects{fresh: true}, true
	case "html":
		return pkgEffects{fresh: true}, true
	case "math":
		return pkgEffects{fresh: true}, true
	case "math/bits":
		return pkgEffects{fresh: true}, true
	case "math/rand":
		return pkgEffects{fresh: true, funcs: randFunc}, true
	case "path":
		return pkgEffects{fresh: true}, true
	case "regexp":
		return pkgEffects{fresh: true}, true
	case "sort":
		return pkgEffects{sharedTypes: true, funcs: sortFunc}, true // sort.Reverse and sort.StringSlice wrap what they are given
	case "strconv":
		return pkgEffects{fresh: true, funcs: strconvFunc}, true
	case "strings":
		return pkgEffects{fresh: true}, true
	case "time":
		return pkgEffects{fresh: true}, true
	case "unicode":
		return pkgEffects{fresh: true}, true
	case "unicode/utf16":
		return pkgEffects{fresh: true}, true
	case "unicode/utf8":
		return pkgEffects{fresh: true, funcs: utf8Func}, true
	case HostPackage:
		return pkgEffects{fresh: true}, true
	}
	return pkgEffects{}, false
}

// stdFunc returns what the function name of the package at path does.
func stdFunc(path, name string) funcEffects {
	if e, _ := stdEffects(path); e.funcs != nil {
		return e.funcs(name)
	}
	return funcEffects{}
}

func heapFunc(name string) funcEffects {
	switch name {
	case "Init", "Push", "Pop", "Remove", "Fix":
		return funcEffects{writes: argRange{0, 1}}
	}
	return funcEffects{}
}

func hexFunc(name string) funcEffects {
	switch name {
	case "Encode", "Decode":
		return funcEffects{writes: argRange{0, 1}}
	}
	return funcEffects{}
}

func jsonFunc(name string) funcEffects {
	if name == "Unmarshal" {
		return funcEffects{writes: argRange{1, 2}}
	}
	return funcEffects{}
}

func fmtFunc(name string) funcEffects {
	switch name {
	case "Sscan", "Sscanf", "Sscanln", "Fscan", "Fscanf", "Fscanln":
		return funcEffects{writes: argRange{1, math.MaxInt}}
	}
	return funcEffects{}
}

func randFunc(name string) funcEffects {
	if name == "Read" {
		return funcEffects{writes: argRange{0, 1}}
	}
	return funcEffects{}
}

func sortFunc(name string) funcEffects {
	switch name {
	case "Sort", "Stable", "Slice", "SliceStable", "Strings", "Ints", "Float64s":
		return funcEffects{writes: argRange{0, 1}}
	}
	return funcEffects{}
}

func strconvFunc(name string) funcEffects {
	return funcEffects{returnsFirst: len(name) > len("Append") && name[:len("Append")] == "Append"}
}

func utf8Func(name string) funcEffects {
	switch name {
	case "EncodeRune":
		return funcEffects{writes: argRange{0, 1}}
	case "AppendRune":
		return funcEffects{returnsFirst: true}
	}
	return funcEffects{}
}

// stdWrites reports whether a call of a standard function changes memory
// of a slot through its arguments.
func (c *covenant) stdWrites(path, name string, e *ast.CallExpr, stored uint64) bool {
	w := stdFunc(path, name).writes
	for i := w.from; i < w.to && i < len(e.Args); i++ {
		if c.pointsToSlot(e.Args[i], stored) {
			return true
		}
	}
	return false
}

// readOnlyReceiver reports whether a method of a standard type with this
// name leaves its receiver alone.
func readOnlyReceiver(name string) bool {
	switch name {
	case "String", "Len", "Less", "Cap", "Bytes", "Error", "Format", "Equal", "Before", "After", "Compare", "Sub",
		"Unix", "UnixMilli", "UnixNano", "Year", "Month", "Day", "Hour", "Minute", "Second", "Nanosecond", "Weekday",
		"YearDay", "IsZero", "Add", "AddDate", "In", "UTC", "Local", "Truncate", "Round", "Seconds", "Milliseconds",
		"Hours", "Minutes", "Search":
		return true
	}
	return false
}

// readOnlyMethod reports whether a method of a standard type with this
// name only reads its arguments.
func readOnlyMethod(name string) bool {
	switch name {
	case "WriteString", "Write", "WriteByte", "WriteRune", "Encode", "EncodeToString",
		"MatchString", "Match", "FindString", "FindStringIndex", "FindStringSubmatch", "FindStringSubmatchIndex",
		"FindAllString", "FindAllStringIndex", "FindAllStringSubmatch", "FindAllStringSubmatchIndex",
		"Find", "FindIndex", "FindSubmatch", "FindAll", "FindAllIndex", "FindAllSubmatch",
		"ReplaceAllString", "ReplaceAllLiteralString", "ReplaceAllStringFunc", "ReplaceAll", "ReplaceAllLiteral", "ReplaceAllFunc",
		"Split", "Replace", "Format", "Equal", "Before", "After", "Compare", "Sub", "Add", "AddDate", "Contains":
		return true
	}
	return false
}
