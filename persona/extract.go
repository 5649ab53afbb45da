package persona

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Replies are untrusted text. The functions here find what the cycle needs
// in them — Go source, a JSON value, a plan — and fail with a typed error
// (ErrNoCode, ErrNoJSON, ErrEmptyPlan, ErrTruncated) rather than return an
// empty result.

// block is one fenced block of a markdown reply.
type block struct {
	lang   string // the first word of the info string, lower case
	body   string
	closed bool
}

// fences splits a reply into its fenced blocks (``` or ~~~, three or more,
// any indentation). A fence left open at the end is returned with closed
// false.
func fences(s string) []block {
	var out []block
	lines := strings.SplitAfter(s, "\n")
	for i := 0; i < len(lines); i++ {
		ch, n, info, ok := openFence(lines[i])
		if !ok {
			continue
		}
		b := block{lang: strings.ToLower(firstWord(info))}
		var body strings.Builder
		for i++; i < len(lines); i++ {
			if closeFence(lines[i], ch, n) {
				b.closed = true
				break
			}
			// A closing fence glued to the last line of code ("}```").
			if t := strings.TrimRight(lines[i], " \t\r\n"); strings.HasSuffix(t, strings.Repeat(string(ch), n)) &&
				!strings.HasSuffix(t, strings.Repeat(string(ch), n+1)) && strings.TrimSpace(t[:len(t)-n]) != "" &&
				!strings.Contains(t[:len(t)-n], string(ch)) {
				body.WriteString(t[:len(t)-n])
				body.WriteByte('\n')
				b.closed = true
				break
			}
			body.WriteString(lines[i])
		}
		b.body = body.String()
		out = append(out, b)
	}
	return out
}

func openFence(line string) (ch byte, n int, info string, ok bool) {
	t := strings.TrimLeft(line, " \t")
	if len(t) < 3 || (t[0] != '`' && t[0] != '~') {
		return 0, 0, "", false
	}
	ch = t[0]
	for n < len(t) && t[n] == ch {
		n++
	}
	if n < 3 {
		return 0, 0, "", false
	}
	info = strings.TrimSpace(t[n:])
	if ch == '`' && strings.Contains(info, "`") {
		return 0, 0, "", false // inline code, not a fence
	}
	return ch, n, info, true
}

func closeFence(line string, ch byte, n int) bool {
	t := strings.TrimSpace(line)
	if len(t) < n {
		return false
	}
	for i := 0; i < len(t); i++ {
		if t[i] != ch {
			return false
		}
	}
	return true
}

func firstWord(s string) string {
	s = strings.TrimLeft(s, "{.")
	if i := strings.IndexAny(s, " \t{},"); i >= 0 {
		return s[:i]
	}
	return s
}

// hasOpenFence reports whether a reply ends inside a fenced block: the
// sign of a reply cut off in the middle of its code.
func hasOpenFence(s string) bool {
	bs := fences(s)
	return len(bs) > 0 && !bs[len(bs)-1].closed
}

// StripThinking removes the reasoning that some models put before their
// answer between <think> and </think> (or <thinking> tags). A reasoning
// block that never closes takes the rest of the reply with it.
func StripThinking(s string) string {
	if !strings.Contains(s, "<") {
		return s
	}
	var b strings.Builder
	i := 0
	for i < len(s) {
		j := strings.IndexByte(s[i:], '<')
		if j < 0 {
			break
		}
		j += i
		tag := ""
		for _, t := range []string{"<think>", "<thinking>"} {
			if hasPrefixFold(s[j:], t) {
				tag = t
			}
		}
		if tag == "" {
			b.WriteString(s[i : j+1])
			i = j + 1
			continue
		}
		b.WriteString(s[i:j])
		end := "</" + tag[1:]
		k := indexFold(s[j+len(tag):], end)
		if k < 0 {
			return b.String()
		}
		i = j + len(tag) + k + len(end)
	}
	b.WriteString(s[i:])
	return b.String()
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// indexFold finds an ASCII tag starting with '<' in s, ignoring case.
func indexFold(s, tag string) int {
	for off := 0; off < len(s); {
		j := strings.IndexByte(s[off:], '<')
		if j < 0 {
			return -1
		}
		if hasPrefixFold(s[off+j:], tag) {
			return off + j
		}
		off += j + 1
	}
	return -1
}

var goLangs = map[string]bool{"go": true, "golang": true}

// notGo are fence languages whose blocks are never taken for Go source.
var notGo = map[string]bool{
	"json": true, "jsonc": true, "text": true, "txt": true, "bash": true, "sh": true, "shell": true,
	"console": true, "python": true, "py": true, "javascript": true, "js": true, "yaml": true, "diff": true,
	"output": true, "markdown": true, "md": true,
}

// ExtractCode finds the Go source in a model reply: a fenced block marked
// go or golang (preferring one with a package clause, then one with a
// func), else an unmarked block that looks like Go, else — with no fences
// at all — the text from the first line starting with "package" (or
// "import" or "func") to the last line starting with "}". Prose around the
// code and <think> blocks are dropped. A reply with no code returns
// ErrNoCode; a Go block left open, or unfenced code that never closes its
// brace, returns ErrTruncated. The code is returned with \n line endings
// and one final newline.
func ExtractCode(reply string) (string, error) {
	r := strings.ReplaceAll(StripThinking(reply), "\r\n", "\n")
	bs := fences(r)
	var marked, unmarked []block
	for _, b := range bs {
		switch {
		case goLangs[b.lang]:
			marked = append(marked, b)
		case !notGo[b.lang] && looksLikeGo(b.body):
			unmarked = append(unmarked, b)
		}
	}
	for _, cands := range [][]block{marked, unmarked} {
		if len(cands) == 0 {
			continue
		}
		b := pickGo(cands)
		if !b.closed {
			return "", fmt.Errorf("%w: the Go code block is never closed (%d bytes in it)", ErrTruncated, len(b.body))
		}
		code := strings.Trim(b.body, "\r\n")
		if strings.TrimSpace(code) == "" {
			continue
		}
		return code + "\n", nil
	}
	if len(bs) > 0 && !bs[len(bs)-1].closed && (bs[len(bs)-1].lang == "" || looksLikeGo(bs[len(bs)-1].body)) {
		return "", fmt.Errorf("%w: a code block is never closed", ErrTruncated)
	}
	return unfencedGo(r)
}

func pickGo(cands []block) block {
	for _, want := range []func(string) bool{hasPackageClause, hasFunc} {
		for _, b := range cands {
			if want(b.body) {
				return b
			}
		}
	}
	return cands[0]
}

func looksLikeGo(s string) bool { return hasPackageClause(s) || hasFunc(s) }

func hasPackageClause(s string) bool { return lineStartIndex(s, "package ") >= 0 }

func hasFunc(s string) bool { return lineStartIndex(s, "func ") >= 0 }

// lineStartIndex returns the offset of the first line that starts with
// prefix, or -1.
func lineStartIndex(s, prefix string) int {
	for off := 0; off < len(s); {
		if strings.HasPrefix(s[off:], prefix) {
			return off
		}
		nl := strings.IndexByte(s[off:], '\n')
		if nl < 0 {
			break
		}
		off += nl + 1
	}
	return -1
}

func unfencedGo(r string) (string, error) {
	start := lineStartIndex(r, "package ")
	if start < 0 {
		for _, p := range []string{"import ", "import(", "func "} {
			if i := lineStartIndex(r, p); i >= 0 && (start < 0 || i < start) {
				start = i
			}
		}
	}
	if start < 0 {
		return "", fmt.Errorf("%w (%d bytes of prose)", ErrNoCode, len(r))
	}
	code := r[start:]
	end := -1
	for off := 0; off < len(code); {
		nl := strings.IndexByte(code[off:], '\n')
		line := code[off:]
		if nl >= 0 {
			line = code[off : off+nl]
		}
		if strings.HasPrefix(line, "}") || strings.HasPrefix(line, ")") {
			end = off + len(line)
		}
		if nl < 0 {
			break
		}
		off += nl + 1
	}
	if end < 0 {
		if !hasFunc(code) {
			return "", fmt.Errorf("%w: a package clause but no function", ErrNoCode)
		}
		return "", fmt.Errorf("%w: the code never closes its last brace", ErrTruncated)
	}
	return strings.TrimRight(code[:end], " \t\r\n") + "\n", nil
}

// maxJSONCandidates bounds how many start positions are tried in prose.
const maxJSONCandidates = 64

// jsonCandidates returns the JSON values found in a reply, in order: the
// bodies of fenced blocks first (json-marked, then unmarked), then values
// starting at a '{' or '[' in the remaining text. truncated reports a value
// that starts but never ends.
func jsonCandidates(reply string) (vals []json.RawMessage, truncated bool) {
	r := StripThinking(reply)
	bs := fences(r)
	for _, marked := range []bool{true, false} {
		for _, b := range bs {
			isJSON := b.lang == "json" || b.lang == "jsonc" || b.lang == "json5"
			if isJSON != marked || (!marked && b.lang != "") {
				continue
			}
			v, trunc := decodeFirst(strings.TrimSpace(b.body))
			if v != nil {
				vals = append(vals, v)
			}
			truncated = truncated || trunc || (!b.closed && v == nil)
		}
	}
	tried := 0
	for i := 0; i < len(r) && tried < maxJSONCandidates; i++ {
		if r[i] != '{' && r[i] != '[' {
			continue
		}
		tried++
		v, trunc := decodeFirst(r[i:])
		if v == nil {
			truncated = truncated || trunc
			continue
		}
		vals = append(vals, v)
		i += len(v) - 1 // do not re-find the values nested in this one
	}
	return vals, truncated
}

// decodeFirst decodes the JSON value at the start of s, ignoring what
// follows it. trunc reports input that ended inside the value.
func decodeFirst(s string) (v json.RawMessage, trunc bool) {
	if s == "" {
		return nil, false
	}
	dec := json.NewDecoder(strings.NewReader(s))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, errors.Is(err, io.ErrUnexpectedEOF)
	}
	return raw, false
}

// ExtractJSON returns the first JSON value in a reply: in a fenced block
// (json-marked first) or starting at the first '{' or '[' that begins a
// valid value, ignoring prose before and after it. A reply without one
// returns ErrNoJSON; one whose value is cut off returns ErrTruncated.
func ExtractJSON(reply string) (json.RawMessage, error) {
	vals, trunc := jsonCandidates(reply)
	if len(vals) > 0 {
		return vals[0], nil
	}
	if trunc {
		return nil, fmt.Errorf("%w: a JSON value starts but never ends", ErrTruncated)
	}
	return nil, fmt.Errorf("%w (%d bytes)", ErrNoJSON, len(reply))
}

// DecodeJSON decodes into v the first JSON value of the reply that fits v
// (see [ExtractJSON] for where values are looked for). Unknown fields are
// refused, so that of several values the one meant for v is taken.
func DecodeJSON(reply string, v any) error {
	vals, trunc := jsonCandidates(reply)
	var last error
	for _, raw := range vals {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			last = err
			continue
		}
		return nil
	}
	switch {
	case last != nil:
		return fmt.Errorf("%w: no JSON value in the reply fits %T: %v", ErrNoJSON, v, last)
	case trunc:
		return fmt.Errorf("%w: a JSON value starts but never ends", ErrTruncated)
	}
	return fmt.Errorf("%w (%d bytes)", ErrNoJSON, len(reply))
}

// Plan is what BRICK answers when asked to decompose a mission: the search
// queries for memory.
type Plan struct {
	Queries []string `json:"queries"` // at least one, trimmed, without duplicates
}

// ParsePlan reads a plan of search queries from a reply. It accepts a JSON
// list of strings, a list of objects with a "query" field, or an object
// holding such a list under "queries", "search_queries", "searches",
// "plan" or "steps" — fenced or not, with prose around it. Queries are
// trimmed and de-duplicated (ignoring case), in order. A reply with no
// JSON returns ErrNoJSON, a cut-off one ErrTruncated, and JSON without a
// single non-empty query ErrEmptyPlan: never an empty plan.
func ParsePlan(reply string) (Plan, error) {
	vals, trunc := jsonCandidates(reply)
	for _, raw := range vals {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			continue
		}
		if qs := planQueries(v, 0); len(qs) > 0 {
			return Plan{Queries: qs}, nil
		}
	}
	switch {
	case trunc:
		return Plan{}, fmt.Errorf("%w: the plan's JSON starts but never ends", ErrTruncated)
	case len(vals) > 0:
		return Plan{}, fmt.Errorf("%w: %d JSON values, none with a query", ErrEmptyPlan, len(vals))
	}
	return Plan{}, fmt.Errorf("%w: no JSON plan (%d bytes)", ErrNoJSON, len(reply))
}

var planKeys = []string{"queries", "search_queries", "searches", "plan", "steps"}

func planQueries(v any, depth int) []string {
	if depth > 3 {
		return nil
	}
	var raw []string
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			switch y := e.(type) {
			case string:
				raw = append(raw, y)
			case map[string]any:
				for _, k := range []string{"query", "q", "text"} {
					if s, ok := y[k].(string); ok {
						raw = append(raw, s)
						break
					}
				}
			}
		}
	case map[string]any:
		for _, k := range planKeys {
			if e, ok := x[k]; ok {
				if qs := planQueries(e, depth+1); len(qs) > 0 {
					return qs
				}
			}
		}
		if s, ok := x["query"].(string); ok {
			raw = append(raw, s)
		}
	}
	seen := map[string]bool{}
	var out []string
	for _, q := range raw {
		q = strings.TrimSpace(q)
		if q == "" || seen[strings.ToLower(q)] {
			continue
		}
		seen[strings.ToLower(q)] = true
		out = append(out, q)
	}
	return out
}
