package mission

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/batos-dev/batos/examples/batos/internal/imageview"
	"github.com/batos-dev/batos/uvm"
)

var (
	// ErrUnreadable is returned when a model's reply holds no usable brief.
	ErrUnreadable = errors.New("mission: the reply holds no usable brief")
	// ErrNoRule is returned when no rule reads a request.
	ErrNoRule = errors.New("mission: no rule reads this request")
)

// Brief is a mission brief: one message for one object, as POST /api/send
// takes it, and the intent it serves.
type Brief struct {
	Object   string            `json:"object"` // a root name or an OID
	Selector string            `json:"selector"`
	Args     []json.RawMessage `json:"args"` // JSON values, as imageview.Decode reads them
	Intent   string            `json:"intent,omitempty"`
}

// String is the brief as a command line: object, selector, arguments.
func (b Brief) String() string {
	parts := []string{b.Object, b.Selector}
	for _, a := range b.Args {
		parts = append(parts, string(a))
	}
	return strings.Join(parts, " ")
}

// Values decodes the arguments (see imageview.Decode).
func (b Brief) Values() ([]any, error) {
	out := make([]any, len(b.Args))
	for i, a := range b.Args {
		v, err := imageview.Decode(a)
		if err != nil {
			return nil, fmt.Errorf("mission: argument %d: %w", i, err)
		}
		out[i] = v
	}
	return out, nil
}

// Prompt asks a persona for a mission brief: the request, the roots it
// may name, and the JSON wanted back.
func Prompt(text string, roots []string) string {
	var b strings.Builder
	b.WriteString("Turn the request below into a mission brief for the batos kernel: one message sent to one object.\n")
	b.WriteString("If the object lacks the method, the kernel writes it from the selector and the arguments, so choose a clear snake_case selector and, when the method needs input, example arguments that show it working.\n\n")
	b.WriteString("Objects you may name (root names; an OID also works): ")
	b.WriteString(strings.Join(roots, ", "))
	b.WriteString("\n\nAnswer with one JSON object and nothing else:\n")
	b.WriteString(`{"object": "genesis", "selector": "count_words", "args": ["the quick brown fox"], "intent": "count the words of a text"}`)
	b.WriteString("\n\nRequest: ")
	b.WriteString(text)
	b.WriteString("\n")
	return b.String()
}

// FromReply reads a brief from a model's reply: the first JSON object in
// it, in a code fence or not. A selector written in words ("count words",
// "countWords") becomes snake_case; a selector that still is no valid
// name, a missing object or an argument that is no JSON value is an error
// wrapping ErrUnreadable.
func FromReply(reply string) (Brief, error) {
	var raw struct {
		Object   json.RawMessage   `json:"object"`
		Selector string            `json:"selector"`
		Args     []json.RawMessage `json:"args"`
		Intent   string            `json:"intent"`
	}
	found := false
	for i := strings.IndexByte(reply, '{'); i >= 0; {
		if json.NewDecoder(strings.NewReader(reply[i:])).Decode(&raw) == nil {
			found = true
			break
		}
		next := strings.IndexByte(reply[i+1:], '{')
		if next < 0 {
			break
		}
		i += next + 1
	}
	if !found {
		return Brief{}, fmt.Errorf("%w: no JSON object in the reply", ErrUnreadable)
	}
	obj := objectRef(raw.Object)
	if obj == "" {
		return Brief{}, fmt.Errorf("%w: no object", ErrUnreadable)
	}
	sel := Selector(raw.Selector)
	if err := checkSelector(sel); err != nil {
		return Brief{}, fmt.Errorf("%w: %w", ErrUnreadable, err)
	}
	b := Brief{Object: obj, Selector: sel, Args: []json.RawMessage{}, Intent: strings.TrimSpace(raw.Intent)}
	for i, a := range raw.Args {
		if _, err := imageview.Decode(a); err != nil {
			return Brief{}, fmt.Errorf("%w: argument %d: %w", ErrUnreadable, i, err)
		}
		b.Args = append(b.Args, compact(a))
	}
	return b, nil
}

// objectRef reads an object written as a JSON number or string.
func objectRef(raw json.RawMessage) string {
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return string(n)
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.TrimSpace(s)
	}
	return ""
}

// Selector turns words into a selector: "Count Words", "count-words" and
// "countWords" become "count_words"; snake_case is kept.
func Selector(words string) string {
	var b strings.Builder
	prev := '_'
	for _, r := range strings.TrimSpace(words) {
		switch {
		case unicode.IsUpper(r):
			if prev != '_' && !unicode.IsUpper(prev) {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(r))
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_':
			b.WriteRune(r)
		default:
			if prev == '_' {
				continue
			}
			r = '_'
			b.WriteRune(r)
		}
		prev = r
	}
	return strings.Trim(b.String(), "_")
}

// checkSelector accepts what a generated method can be named: a Go
// identifier (the method is a Go function of that name) that is also a
// valid slot name.
func checkSelector(s string) error {
	for i, r := range s {
		if !(r == '_' || unicode.IsLetter(r) || (i > 0 && unicode.IsDigit(r))) {
			return fmt.Errorf("selector %q: want a name such as count_words", s)
		}
	}
	if err := uvm.CheckName(s); err != nil {
		return fmt.Errorf("selector %q: %w", s, err)
	}
	return nil
}

func compact(raw json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return raw
	}
	return b.Bytes()
}
