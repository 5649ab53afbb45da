package guardian

import "go/ast"

// The standard-library effect tables of the covenant: which functions and
// methods of the allowed packages change memory they are given, and which
// return memory they were given.

// freshResults reports whether the functions of a standard package return
// values that share no memory with their arguments.
func freshResults(path string) bool {
	switch path {
	case "strings", "strconv", "fmt", "math", "math/bits", "math/rand", "unicode", "unicode/utf8", "unicode/utf16",
		"errors", "time", "regexp", "encoding/json", "encoding/hex", "encoding/base64", "hash/crc32", "html", "path",
		"container/list", HostPackage:
		return true
	}
	return false
}

// mutates reports whether a standard function changes memory reachable
// from a slot through its arguments.
func mutates(path, name string, e *ast.CallExpr, c *covenant, stored uint64) bool {
	arg := func(i int) bool { return i < len(e.Args) && c.pointsToSlot(e.Args[i], stored) }
	switch path + "." + name {
	case "sort.Sort", "sort.Stable", "sort.Slice", "sort.SliceStable", "sort.Strings", "sort.Ints", "sort.Float64s",
		"unicode/utf8.EncodeRune", "encoding/hex.Encode", "encoding/hex.Decode", "math/rand.Read",
		"container/heap.Init", "container/heap.Push", "container/heap.Pop", "container/heap.Remove", "container/heap.Fix":
		return arg(0)
	case "encoding/json.Unmarshal":
		return arg(1)
	case "fmt.Sscan", "fmt.Sscanf", "fmt.Sscanln", "fmt.Fscan", "fmt.Fscanf", "fmt.Fscanln":
		for i := 1; i < len(e.Args); i++ {
			if arg(i) {
				return true
			}
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
