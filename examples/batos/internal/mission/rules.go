package mission

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/batos-dev/batos/examples/batos/internal/imageview"
)

// FromRules reads a request written in one of the common forms:
//
//	send SELECTOR to OBJECT [with A, B, …]   send greet the architect to genesis with Ada
//	ask OBJECT to SELECTOR [A B …]            ask genesis to add 2 40   (tell works too)
//	OBJECT SELECTOR [A B …]                   genesis add 2 40
//
// SELECTOR in the first form may be words ("greet the architect" becomes
// greet_the_architect). isObject says whether a word names an object; the
// last form needs it (or an OID), so that prose is not read as a send.
// Each argument is a JSON value when it parses as one (42, true, "two
// words", [1, 2], {"$ref": 3}), else text; 'single quotes' hold text with
// spaces too. A request no rule reads is an error wrapping ErrNoRule.
func FromRules(text string, isObject func(string) bool) (Brief, error) {
	toks := tokenize(text)
	if len(toks) < 2 {
		return Brief{}, fmt.Errorf("%w: %q", ErrNoRule, strings.TrimSpace(text))
	}
	word := func(i int) string {
		if i < 0 || i >= len(toks) || toks[i].quoted {
			return ""
		}
		return strings.ToLower(toks[i].text)
	}
	switch word(0) {
	case "send":
		with := -1
		for i := 2; i < len(toks); i++ {
			if word(i) == "with" {
				with = i
				break
			}
		}
		end := len(toks)
		if with >= 0 {
			end = with
		}
		if end < 4 || word(end-2) != "to" {
			break
		}
		var words []string
		for _, t := range toks[1 : end-2] {
			words = append(words, t.text)
		}
		var args []string
		if with >= 0 {
			args = splitArgs(text[toks[with].end:])
		}
		return brief(toks[end-1].text, Selector(strings.Join(words, " ")), args)
	case "ask", "tell":
		if len(toks) < 4 || word(2) != "to" {
			break
		}
		return brief(toks[1].text, toks[3].text, tokenTexts(toks[4:]))
	}
	if obj := toks[0].text; !toks[0].quoted && (isOID(obj) || (isObject != nil && isObject(obj))) && checkSelector(toks[1].text) == nil {
		return brief(obj, toks[1].text, tokenTexts(toks[2:]))
	}
	return Brief{}, fmt.Errorf("%w: %q (try \"send SELECTOR to OBJECT with A, B\" or \"OBJECT SELECTOR A B\")", ErrNoRule, strings.TrimSpace(text))
}

func brief(object, selector string, args []string) (Brief, error) {
	if err := checkSelector(selector); err != nil {
		return Brief{}, fmt.Errorf("%w: %w", ErrNoRule, err)
	}
	b := Brief{Object: strings.TrimPrefix(object, "#"), Selector: selector, Args: []json.RawMessage{}}
	for _, a := range args {
		b.Args = append(b.Args, argJSON(a))
	}
	return b, nil
}

// argJSON reads one argument: a JSON value when it is one, a 'quoted'
// text without its quotes, else the text itself.
func argJSON(a string) json.RawMessage {
	if len(a) >= 2 && a[0] == '\'' && a[len(a)-1] == '\'' {
		b, _ := json.Marshal(a[1 : len(a)-1])
		return b
	}
	if _, err := imageview.Decode([]byte(a)); err == nil {
		return compact(json.RawMessage(a))
	}
	b, _ := json.Marshal(a)
	return b
}

func isOID(s string) bool {
	s = strings.TrimPrefix(s, "#")
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// token is one word of a request, with where it ends in the text.
type token struct {
	text   string
	quoted bool // in quotes or brackets: never a keyword
	end    int
}

// tokenize splits text at spaces, keeping "double quotes", 'single
// quotes', [brackets] and {braces} whole.
func tokenize(text string) []token {
	var toks []token
	i := 0
	for i < len(text) {
		for i < len(text) && isSpace(text[i]) {
			i++
		}
		if i >= len(text) {
			break
		}
		start := i
		quoted := true
		switch text[i] {
		case '"', '\'':
			i = skipString(text, i)
		case '[', '{':
			i = skipGroup(text, i)
		default:
			quoted = false
			for i < len(text) && !isSpace(text[i]) {
				i++
			}
		}
		t := text[start:i]
		if !quoted {
			t = strings.TrimRight(t, ",")
		}
		if t != "" {
			toks = append(toks, token{text: t, quoted: quoted, end: i})
		}
	}
	return toks
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// skipString returns the index after the string starting at text[i].
func skipString(text string, i int) int {
	q := text[i]
	for i++; i < len(text); i++ {
		switch text[i] {
		case '\\':
			if q == '"' {
				i++
			}
		case q:
			return i + 1
		}
	}
	return len(text)
}

// skipGroup returns the index after the bracketed group at text[i].
func skipGroup(text string, i int) int {
	depth := 0
	for i < len(text) {
		switch text[i] {
		case '"':
			i = skipString(text, i)
			continue
		case '[', '{':
			depth++
		case ']', '}':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
		i++
	}
	return len(text)
}

func tokenTexts(toks []token) []string {
	out := make([]string, len(toks))
	for i, t := range toks {
		out[i] = t.text
	}
	return out
}

// splitArgs splits "A, B, C" at the commas outside quotes and brackets.
func splitArgs(text string) []string {
	var out []string
	start, i := 0, 0
	for i < len(text) {
		switch text[i] {
		case '"', '\'':
			i = skipString(text, i)
			continue
		case '[', '{':
			i = skipGroup(text, i)
			continue
		case ',':
			out = append(out, text[start:i])
			start = i + 1
		}
		i++
	}
	out = append(out, text[start:])
	args := out[:0]
	for _, a := range out {
		if a = strings.TrimSpace(a); a != "" {
			args = append(args, a)
		}
	}
	return args
}
