package memory_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/batos-dev/batos/memory"
	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/uvmtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// relevanceCases are questions a user or the cycle might ask, written for
// this test in words of their own (not the codex prompts), each with the
// prompt of the codex entry that answers it.
var relevanceCases = []struct{ question, want string }{
	{"What does an object do when it gets a message it cannot answer?", "What happens when an object does not understand a message?"},
	{"Which rule says a method must call MarkChanged after changing state?", "What is the persistence covenant?"},
	{"How does the guardian keep an infinite loop from hanging the host?", "How does the guardian stop runaway code?"},
	{"List the states a cognitive cycle goes through", "What are the states of the cognitive cycle?"},
	{"Which standard library packages may generated code import?", "Which imports does the guardian allow?"},
	{"How much memory does each interpreted method take in Yaegi?", "How much memory does a compiled method cost?"},
	{"What is done with the image when a cycle fails?", "What happens when a cycle FAILS?"},
	{"Does the image persist compiled function values?", "Are compiled methods stored in the image?"},
	{"How does BABS talk?", "How does BABS speak?"},
	{"What is ROBIN in charge of?", "What is ROBIN responsible for?"},
	{"What happens in the validating state before install?", "What happens during VALIDATING?"},
	{"What does Badger do when two transactions write the same key?", "What happens when two transactions conflict?"},
	{"How are corrupt values detected with checksums?", "How is a damaged value detected?"},
	{"Can an OID be handed out twice after a crash?", "Are OIDs ever reused?"},
	{"How is text split into chunks by meaning?", "How does memory chunk a document semantically?"},
	{"What if memory is reopened with another embedding model?", "What happens if memory is opened with a different embedder?"},
	{"Which persona does orchestration and keeps the audit?", "What is ALFRED responsible for?"},
	{"What is the function signature a generated method must have?", "What is the signature of a generated method?"},
	{"Can the cycle reuse an existing method instead of writing a new one?", "What is the skill index?"},
	{"How do delegation and parent lookup work for slots?", "How does message lookup and delegation work?"},
}

// TestRelevance is the evidence: with the offline embedder, the
// entry that answers each question is in the top 3 for at least 16 of 20.
func TestRelevance(t *testing.T) {
	require.Len(t, relevanceCases, 20, "questions")
	entries, bad, err := memory.ParseCodex(bytes.NewReader(memory.DefaultCodex()))
	require.NoError(t, err, "default codex")
	require.Empty(t, bad, "default codex: bad lines")
	prompts := map[string]bool{}
	for _, e := range entries {
		prompts[e.Prompt] = true
	}
	im := uvmtest.Mem(t, uvm.Options{})
	c := openCatalog(t, im, memory.Options{Codex: memory.DefaultCodex()})
	hits := 0
	for _, tc := range relevanceCases {
		require.True(t, prompts[tc.want], "no codex entry %q", tc.want)
		rs := search(t, c, tc.question, 3, map[string]string{"kind": "codex"})
		rank := 0
		for i, r := range rs {
			if strings.HasPrefix(r.Text, tc.want) {
				rank = i + 1
			}
		}
		if rank > 0 {
			hits++
		} else {
			var got []string
			for _, r := range rs {
				got = append(got, r.Text[:min(50, len(r.Text))])
			}
			t.Logf("miss: %q: got %q", tc.question, got)
		}
	}
	t.Logf("relevance: %d of %d in the top 3", hits, len(relevanceCases))
	assert.GreaterOrEqual(t, hits, 16, "questions of 20 answered in the top 3")
}
