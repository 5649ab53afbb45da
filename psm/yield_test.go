package psm_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tmc/langchaingo/llms"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
)

// A yieldCase is one model-like reply of testdata/replies: a reply with a
// fault of its kind, and the reply a model would send once told what was
// wrong.
//
//	selector: word_count
//	kind: import                  clean, import, bare, fence or types
//	--- reply
//	...
//	--- fixed
//	...
type yieldCase struct {
	name, selector, kind string
	reply, fixed         string
}

func loadYieldCases(t *testing.T) []yieldCase {
	t.Helper()
	files, err := filepath.Glob("testdata/replies/*.txt")
	require.NoError(t, err)
	var out []yieldCase
	for _, file := range files {
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		head, rest, ok := strings.Cut(string(data), "--- reply\n")
		require.True(t, ok, "%s: no reply", file)
		reply, fixed, ok := strings.Cut(rest, "\n--- fixed\n")
		require.True(t, ok, "%s: no fixed reply", file)
		c := yieldCase{name: strings.TrimSuffix(filepath.Base(file), ".txt"), reply: reply, fixed: fixed}
		for _, line := range strings.Split(head, "\n") {
			if k, v, ok := strings.Cut(line, ": "); ok {
				switch k {
				case "selector":
					c.selector = v
				case "kind":
					c.kind = v
				}
			}
		}
		require.NotEmpty(t, c.selector, "%s: no selector", file)
		require.NotEmpty(t, c.kind, "%s: no kind", file)
		out = append(out, c)
	}
	return out
}

// replyBook is a scripted model for many cycles at once: it answers a
// plan with one query, and the first request for a method of an object
// with the case's faulty reply, every later one with its fixed reply. It
// counts the requests for methods by object.
type replyBook struct {
	mu    sync.Mutex
	cases map[uvm.OID]yieldCase
	calls map[uvm.OID]int
}

var synthesisRE = regexp.MustCompile(`An object \(OID (\d+)\) received the message "(\w+)"`)

func (b *replyBook) GenerateContent(ctx context.Context, msgs []llms.MessageContent, options ...llms.CallOption) (*llms.ContentResponse, error) {
	prompt := persona.PromptText(msgs)
	text := `{"queries": ["method"]}`
	if m := synthesisRE.FindStringSubmatch(prompt); m != nil {
		oid, _ := strconv.ParseUint(m[1], 10, 64)
		b.mu.Lock()
		c, ok := b.cases[uvm.OID(oid)]
		b.calls[uvm.OID(oid)]++
		n := b.calls[uvm.OID(oid)]
		b.mu.Unlock()
		if !ok || c.selector != m[2] {
			return nil, fmt.Errorf("no case for object %s and %s", m[1], m[2])
		}
		text = c.fixed
		if n == 1 {
			text = c.reply
		}
	}
	return &llms.ContentResponse{Choices: []*llms.ContentChoice{{Content: text, StopReason: "stop"}}}, nil
}

func (b *replyBook) Call(ctx context.Context, prompt string, options ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, b, prompt, options...)
}

// TestYield measures attempts per valid method (model calls in
// SYNTHESIZING until a method is installed; a cycle that fails counts all
// the attempts it could have made) on the corpus of model-like replies in
// testdata/replies, each sent to an object of its own. Replies
// whose code is correct apart from imports, a missing package clause or
// the text around it must take at most 1.2 attempts on average: the
// guardian repairs them instead of asking again. Replies that are not
// valid Go (kind types) must take two: the first is refused, however the
// interpreter would have run it.
func TestYield(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a cycle per reply")
	}
	cases := loadYieldCases(t)
	require.GreaterOrEqual(t, len(cases), 50, "the corpus has %d replies", len(cases))
	const maxAttempts = 3
	book := &replyBook{cases: map[uvm.OID]yieldCase{}, calls: map[uvm.OID]int{}}
	m := memMind(t, book, func(o *psm.Options) {
		o.MaxAttempts = maxAttempts
		o.Live.Policy = psm.PolicyInProcess // the dry run is isolated all the same
		o.ReuseThreshold = -1               // every case is a synthesis, not a reuse of a similar one
	})
	oids := make([]uvm.OID, len(cases))
	require.NoError(t, m.Image().Update(ctx, func(tx *uvm.Tx) error {
		for i, c := range cases {
			o, err := tx.New()
			if err != nil {
				return err
			}
			oids[i] = o.OID()
			book.cases[o.OID()] = c
		}
		return nil
	}))

	type tally struct{ cases, attempts, failed int }
	byKind := map[string]*tally{}
	for i, c := range cases {
		_, err := m.Send(ctx, oids[i], c.selector)
		k := byKind[c.kind]
		if k == nil {
			k = &tally{}
			byKind[c.kind] = k
		}
		k.cases++
		book.mu.Lock()
		n := book.calls[oids[i]]
		book.mu.Unlock()
		k.attempts += n
		if err != nil {
			// A failed cycle yields no method for all the calls it made:
			// count it as if every attempt had been spent.
			k.failed++
			k.attempts += maxAttempts - n
			t.Logf("%s: failed after %d attempt(s): %v", c.name, n, err)
			continue
		}
		t.Logf("%s: %d attempt(s)", c.name, n)
		if c.kind == "types" {
			assert.Equal(t, 2, n, "%s: a reply that is not valid Go must be refused", c.name)
		}
	}

	kinds := make([]string, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var correct, correctAttempts int
	for _, k := range kinds {
		v := byKind[k]
		t.Logf("%-6s %2d replies, %.2f attempts per method, %d failed", k, v.cases, float64(v.attempts)/float64(v.cases), v.failed)
		if k != "types" {
			correct += v.cases
			correctAttempts += v.attempts
		}
	}
	avg := float64(correctAttempts) / float64(correct)
	t.Logf("replies correct apart from imports, package clause and fences: %d, %.2f attempts per method", correct, avg)
	for _, k := range kinds {
		if k != "fence" { // the fences are the extraction's (package persona)
			assert.Zero(t, byKind[k].failed, "%s: cycles failed", k)
		}
	}
	assert.LessOrEqual(t, avg, 1.2, "attempts per method on replies correct apart from imports and fences")
}
