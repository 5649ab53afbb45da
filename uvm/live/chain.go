package live

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/batos-dev/batos/uvm/live/batos"
)

// A method that returns the error of a send it made nests that error's
// text in its own: "live: method "x" v1: method "x" v1: … exhausted its
// depth budget". A method that sends its own selector, or a cycle of
// methods that send each other, nests it once per level, so the text
// grows with the depth and, clipped, loses the one thing that matters, the
// root cause at its end. So a MethodError whose text is such a chain
// prints it compressed, with the root cause kept whole:
//
//	live: method "x" v1 → "x" v1 (×85): method "x" v1 exhausted its depth budget (limit 4000 frames)
//
// and the text the next level nests is the compressed one, which the next
// level compresses again, so the text stays short at any depth.

// chainLink is one method of a chain and how many times in a row it
// appears.
type chainLink struct {
	name  string // `"x" v1` or `"x" (candidate)`
	count int
}

// chainSegment matches the start of a method's error text: the method's
// name, and a repeat count where the text is already compressed.
var chainSegment = regexp.MustCompile(`^method ("(?:[^"\\]|\\.)*" (?:v\d+|\(candidate\)))(?: \(×(\d+)\))?`)

// chainText returns the text of a MethodError of method name whose own
// text is text: "live: method NAME: TEXT", with a chain of methods that
// repeat compressed.
func chainText(name, text string) string {
	links := []chainLink{{name: name, count: 1}}
	add := func(l chainLink) {
		if last := &links[len(links)-1]; last.name == l.name {
			last.count += l.count
			return
		}
		links = append(links, l)
	}
	rest := text
	for {
		m := chainSegment.FindStringSubmatchIndex(rest)
		if m == nil {
			break
		}
		l := chainLink{name: rest[m[2]:m[3]], count: 1}
		if m[4] >= 0 {
			n, err := strconv.Atoi(rest[m[4]:m[5]])
			if err != nil || n < 1 {
				break
			}
			l.count = n
		}
		after := rest[m[1]:]
		if s, ok := strings.CutPrefix(after, ": "); ok {
			add(l)
			rest = s
			continue
		}
		if s, ok := strings.CutPrefix(after, " → "); ok {
			add(l)
			rest = "method " + s
			continue
		}
		break // the method's own failure: the root cause
	}
	repeated := false
	for _, l := range links {
		repeated = repeated || l.count > 1
	}
	if !repeated {
		return "live: method " + name + ": " + text
	}
	var b strings.Builder
	b.WriteString("live: method ")
	for i, l := range links {
		if i > 0 {
			b.WriteString(" → ")
		}
		b.WriteString(l.name)
		if l.count > 1 {
			b.WriteString(" (×" + strconv.Itoa(l.count) + ")")
		}
	}
	b.WriteString(": ")
	b.WriteString(rest)
	return b.String()
}

// panicText describes a method's panic as Go would. The interpreter runs
// interpreted code through package reflect, so a nil dereference or an
// index out of range panics with reflect's words ("reflect: call of
// reflect.Value.Field on zero Value", "reflect: slice index out of
// range"), and its own runtime errors start with a position in the
// instrumented source; a model reading those would look for a bug in the
// wrong place. The common ones become the Go runtime's words; what the
// interpreter does not say (the index and the length) is not invented.
func panicText(r any) string {
	d := describePanic(r)
	raw := d
	if u, err := strconv.Unquote(d); err == nil {
		raw = u
	}
	if pos := yaegiPosition.FindString(raw); pos != "" {
		raw = raw[len(pos):]
		d = raw
	}
	switch {
	case strings.HasPrefix(raw, "reflect: call of reflect.Value.") && strings.Contains(raw, " on zero Value"):
		return "runtime error: invalid memory address or nil pointer dereference"
	case raw == "reflect: slice index out of range", raw == "reflect: array index out of range",
		raw == "reflect: string index out of range":
		return "runtime error: index out of range"
	case strings.HasPrefix(raw, "reflect.Value.Slice") && strings.HasSuffix(raw, "index out of bounds"):
		return "runtime error: slice bounds out of range"
	case strings.HasPrefix(raw, "reflect: Field index out of range"):
		return "runtime error: invalid memory address or nil pointer dereference"
	}
	return batos.Names(d)
}

// yaegiPosition matches the position the interpreter puts before its own
// runtime errors ("9:9: interface conversion: …").
var yaegiPosition = regexp.MustCompile(`^\d+:\d+: `)
