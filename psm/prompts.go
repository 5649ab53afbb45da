package psm

import (
	"fmt"
	"strings"
	"unicode"
)

// contractText is what every synthesis prompt says about the shape of a
// method. It mirrors docs/contract.md.
const contractText = `Write ONE Go source file, in a fenced go code block, that defines the method.
Rules:
- package: any name except main.
- import "batos" for the Self interface; other imports only from: strings, strconv, math, sort, errors, fmt, unicode, unicode/utf8, bytes, time, regexp.
- the entry function is named exactly as the selector, with this signature:
    func SELECTOR(self batos.Self, args []any) (any, error)
- self.Get(slot) any reads a slot (through parents); self.Set(slot, value) error writes one;
  self.Delete(slot) error removes one; self.Send(selector, args...) (any, error) sends a message;
  self.MarkChanged() marks the object changed.
- values are plain data: nil, bool, int64, float64, string, []byte, []any, map[string]any.
  Integer arguments arrive as int64.
- helper functions and constants are fine; no package-level variables, no init, no goroutines,
  no timers, no os, no reflect, no unsafe.
- THE PERSISTENCE COVENANT: if the method changes state (Set, Delete, or changing a map or slice
  obtained from Get), it must call self.MarkChanged() on every path after the change;
  "defer self.MarkChanged()" as the first statement satisfies this.`

func planPrompt(m Mission) string {
	var b strings.Builder
	b.WriteString("You are BRICK. Deconstruct this mission into 1 to 3 search queries for the system's memory.\n")
	fmt.Fprintf(&b, "Mission: an object (OID %d) was sent the message %q", m.Target, m.Selector)
	if len(m.Args) > 0 {
		fmt.Fprintf(&b, " with arguments %v", m.Args)
	}
	b.WriteString(" and has no method for it.\n")
	if m.Intent != "" {
		fmt.Fprintf(&b, "Intent: %s\n", m.Intent)
	}
	b.WriteString(`Answer with a JSON object only: {"queries": ["...", "..."]}`)
	return b.String()
}

func repairPrompt(m Mission, reply string, err error) string {
	return fmt.Sprintf("Your previous answer could not be read as a plan (%v).\nIt was:\n%s\n\n%s\nAnswer with the JSON object only, no prose.",
		err, truncate(reply, 2000), planPrompt(m))
}

// fallbackQueries derives queries from the selector's words and the intent.
func fallbackQueries(m Mission) []string {
	words := strings.FieldsFunc(m.Selector, func(r rune) bool { return r == '_' || !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	q := []string{strings.Join(words, " ")}
	if m.Intent != "" {
		q = append(q, m.Intent)
	}
	return q
}

func synthesisPrompt(m Mission, persona string, snippets, skills []string, previous, feedback string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "You are %s. An object (OID %d) received the message %q", persona, m.Target, m.Selector)
	if len(m.Args) > 0 {
		fmt.Fprintf(&b, " with arguments %#v", m.Args)
	}
	b.WriteString(" and has no method for it. Write the method.\n")
	if m.Intent != "" {
		fmt.Fprintf(&b, "Intent: %s\n", m.Intent)
	}
	b.WriteString("\n")
	b.WriteString(strings.ReplaceAll(contractText, "SELECTOR", m.Selector))
	b.WriteString("\n")
	if len(m.Examples) > 0 {
		b.WriteString("\nThe method must meet these examples (arguments → answer); each is tried before it is installed:\n")
		for _, e := range m.Examples {
			fmt.Fprintf(&b, "- %s\n", exampleLine(m.Selector, e))
		}
	}
	if len(snippets) > 0 {
		b.WriteString("\nWhat the system's memory says:\n")
		for _, s := range snippets {
			fmt.Fprintf(&b, "- %s\n", truncate(s, 600))
		}
	}
	if len(skills) > 0 {
		b.WriteString("\nMethods the system already has that may help (send them with self.Send):\n")
		for _, s := range skills {
			fmt.Fprintf(&b, "- %s\n", truncate(s, 300))
		}
	}
	if feedback != "" {
		b.WriteString("\nYour previous attempt was rejected.\n")
		if previous != "" {
			fmt.Fprintf(&b, "It was:\n```go\n%s\n```\n", truncate(previous, 8000))
		}
		fmt.Fprintf(&b, "The error:\n%s\nFix exactly this and answer with the whole corrected file.\n", truncate(feedback, 4000))
	}
	return b.String()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
