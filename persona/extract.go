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
// false. What models write is looser than CommonMark, and fences reads it
// as they mean it:
//   - a closing fence may have text glued after it ("```### Instruction"),
//     as long as that text does not start like an info string (a letter
//     or digit);
//   - a closing fence may be glued to the last line of code ("}```");
//   - a fence without an info string that follows unfenced code (a line
//     starting with package, import or func, later a line starting with
//     "}") closes that code rather than opening a block: the model forgot
//     the opening fence;
//   - the indentation of an opening fence is removed from its body lines
//     (spaces only), as CommonMark does.
func fences(s string) []block {
	var out []block
	lines := strings.SplitAfter(s, "\n")
	after := 0 // the first line after the last block: where stray code may start
	for i := 0; i < len(lines); i++ {
		ch, n, indent, info, ok := openFence(lines[i])
		if !ok {
			continue
		}
		if closerInfo(info) {
			if code, ok := strayCode(lines[after:i]); ok {
				out = append(out, block{body: code, closed: true})
				after = i + 1
				continue
			}
		}
		b := block{lang: strings.ToLower(firstWord(info))}
		var body strings.Builder
		for i++; i < len(lines); i++ {
			line := dedent(lines[i], indent)
			if closeFence(line, ch, n) {
				b.closed = true
				break
			}
			// A closing fence glued to the last line of code ("}```").
			if t := strings.TrimRight(line, " \t\r\n"); strings.HasSuffix(t, strings.Repeat(string(ch), n)) &&
				!strings.HasSuffix(t, strings.Repeat(string(ch), n+1)) && strings.TrimSpace(t[:len(t)-n]) != "" &&
				!strings.Contains(t[:len(t)-n], string(ch)) {
				body.WriteString(t[:len(t)-n])
				body.WriteByte('\n')
				b.closed = true
				break
			}
			body.WriteString(line)
		}
		b.body = body.String()
		out = append(out, b)
		after = i + 1
	}
	return out
}

// openFence reports whether line opens a fence: its character, the length
// of its run, its indentation (spaces) and its info string.
func openFence(line string) (ch byte, n, indent int, info string, ok bool) {
	t := strings.TrimLeft(line, " \t")
	if len(t) < 3 || (t[0] != '`' && t[0] != '~') {
		return 0, 0, 0, "", false
	}
	ch = t[0]
	for n < len(t) && t[n] == ch {
		n++
	}
	if n < 3 {
		return 0, 0, 0, "", false
	}
	info = strings.TrimSpace(t[n:])
	if ch == '`' && strings.Contains(info, "`") {
		return 0, 0, 0, "", false // inline code, not a fence
	}
	return ch, n, len(line) - len(strings.TrimLeft(line, " ")), info, true
}

// closeFence reports whether line closes a fence of n characters ch: a
// run of at least n, followed by nothing or by text that does not start
// like an info string.
func closeFence(line string, ch byte, n int) bool {
	t := strings.TrimLeft(line, " \t")
	run := 0
	for run < len(t) && t[run] == ch {
		run++
	}
	return run >= n && closerInfo(strings.TrimSpace(t[run:]))
}

// closerInfo reports whether the text after a fence can follow a closing
// fence: none, or glued text that does not start with a letter or digit
// ("### Instruction", "<!-- end -->"), nor with "{" or "." (a pandoc-style
// info string such as {.go}).
func closerInfo(info string) bool {
	if info == "" {
		return true
	}
	c := info[0]
	return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '{' || c == '.' || c >= 0x80)
}

// strayCode finds unfenced Go code in lines that precede a fence without
// an info string: from the first line starting with package, import or
// func (indentation allowed), provided a later line starts with "}". It
// returns that code and true, or false when the fence opens a block.
func strayCode(lines []string) (string, bool) {
	start := -1
	for j, l := range lines {
		t := strings.TrimLeft(l, " \t")
		switch {
		case start < 0 && goStart(t):
			start = j
		case start >= 0 && strings.HasPrefix(t, "}"):
			return strings.Join(lines[start:], ""), true
		}
	}
	return "", false
}

// goStart reports whether a line (without its indentation) starts Go
// source: a package clause, an import or a function.
func goStart(t string) bool {
	for _, p := range []string{"package ", "import ", "import(", "func "} {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	return false
}

// dedent removes up to n spaces from the start of line.
func dedent(line string, n int) string {
	i := 0
	for i < n && i < len(line) && line[i] == ' ' {
		i++
	}
	return line[i:]
}

func firstWord(s string) string {
	s = strings.TrimLeft(s, "{.")
	if i := strings.IndexAny(s, " \t{},"); i >= 0 {
		return s[:i]
	}
	return s
}

// openFenceTruncated reports whether a reply ends inside a fenced block
// whose content is incomplete: the sign of a reply cut off in the middle
// of its code. An open block holding nothing, complete Go source or a
// complete JSON value is not a cut.
func openFenceTruncated(s string) bool {
	bs := fences(cleanReply(s))
	if len(bs) == 0 {
		return false
	}
	b := bs[len(bs)-1]
	if b.closed || strings.TrimSpace(b.body) == "" || completeGo(b.body, "") {
		return false
	}
	v, _ := decodeFirst(strings.TrimSpace(b.body))
	return v == nil
}

// cleanReply prepares a reply for extraction: \n line endings, no
// reasoning blocks (see [StripThinking]), no chat-template tokens.
func cleanReply(reply string) string {
	return stripChatTokens(StripThinking(strings.ReplaceAll(reply, "\r\n", "\n")))
}

// stripChatTokens removes the special tokens of chat templates that some
// servers leave in a reply: <|eot_id|>, <|im_end|>, <|im_start|>,
// <|endoftext|>, <|end|>, <|start_header_id|> and every other <|word|>;
// DeepSeek's <｜…｜>; <end_of_turn>, <start_of_turn>; and </s>, <eos> at
// the end of a line, <s>, <bos> at the start of the reply (elsewhere
// they may be HTML in a string literal). Role names that followed a
// start token go with it ("<|im_start|>user\n").
func stripChatTokens(s string) string {
	if !strings.Contains(s, "<") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	atStart := true // nothing but whitespace so far
	i := 0
	for i < len(s) {
		j := strings.IndexByte(s[i:], '<')
		if j < 0 {
			break
		}
		j += i
		b.WriteString(s[i:j])
		atStart = atStart && strings.TrimSpace(s[i:j]) == ""
		if n := chatToken(s[j:], atStart); n > 0 {
			i = j + n
			continue
		}
		b.WriteByte('<')
		atStart = false
		i = j + 1
	}
	b.WriteString(s[i:])
	return b.String()
}

// endsTurn reports whether what follows an end token says it is one: the
// end of the line (spaces allowed) or another token.
func endsTurn(rest string) bool {
	rest = strings.TrimLeft(rest, " \t")
	for _, p := range []string{"\n", "<|", "<｜", "</s>", "<eos>", "<end_of_turn>", "<start_of_turn>"} {
		if strings.HasPrefix(rest, p) {
			return true
		}
	}
	return rest == ""
}

// chatToken returns the length of the chat-template token at the start of
// s ('<' first), or 0. atStart says nothing but whitespace precedes it. A
// token that starts a turn takes the role after it along ("user",
// "<|end_header_id|>", the newline).
func chatToken(s string, atStart bool) int {
	n := 0
	switch {
	case strings.HasPrefix(s, "<end_of_turn>"):
		return len("<end_of_turn>")
	case strings.HasPrefix(s, "<start_of_turn>"):
		n = len("<start_of_turn>")
	case strings.HasPrefix(s, "</s>") && endsTurn(s[len("</s>"):]):
		return len("</s>")
	case strings.HasPrefix(s, "<eos>") && endsTurn(s[len("<eos>"):]):
		return len("<eos>")
	case atStart && strings.HasPrefix(s, "<s>"):
		return len("<s>")
	case atStart && strings.HasPrefix(s, "<bos>"):
		return len("<bos>")
	default:
		name, l := barToken(s)
		if l == 0 {
			return 0
		}
		if name != "im_start" && name != "start_header_id" {
			return l
		}
		n = l
	}
	// The role of a turn's start: a word, then Llama's end of header.
	for n < len(s) && (s[n] >= 'a' && s[n] <= 'z' || s[n] >= 'A' && s[n] <= 'Z') {
		n++
	}
	if name, l := barToken(s[n:]); name == "end_header_id" {
		n += l
	}
	if n < len(s) && s[n] == '\n' {
		n++
	}
	return n
}

// barToken reads a token like <|eot_id|> or DeepSeek's <｜end▁of▁sentence｜>
// at the start of s: its name and length, or length 0.
func barToken(s string) (name string, n int) {
	const maxName = 48
	for _, bar := range []string{"|", "｜"} {
		if !strings.HasPrefix(s, "<"+bar) {
			continue
		}
		rest := s[1+len(bar):]
		end := strings.Index(rest[:min(len(rest), maxName+len(bar)+1)], bar+">")
		if end <= 0 {
			return "", 0
		}
		for _, r := range rest[:end] {
			if !(r == '_' || r == '-' || r == '▁' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				return "", 0
			}
		}
		return rest[:end], 1 + len(bar) + end + len(bar) + 1
	}
	return "", 0
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
