package psmtest_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/psm/psmtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { psmtest.Main(m) }

var ctx = context.Background()

func greetReplies() []persona.Reply {
	return []persona.Reply{
		{Persona: "BRICK", Text: `{"queries": ["greeting"]}`},
		{Persona: "ALFRED", Expect: `"greet"`, Text: "```go\n" + greetSrc + "\n```"},
	}
}

// A recorded session replays from its script file on a disk image, with
// the same record, and the script is verified at cleanup.
func TestRecordThenReplayFromFile(t *testing.T) {
	script := filepath.Join(t.TempDir(), "greet.jsonl")
	f, err := os.Create(script)
	require.NoError(t, err)
	first := psmtest.New(t, psmtest.Options{Script: greetReplies(), RecordTo: f, VerifyScript: true})
	v, err := first.Send(ctx, first.Genesis(), "greet", "Architect")
	require.NoError(t, err)
	require.Equal(t, "Hello, Architect.", v)
	require.NoError(t, f.Close())
	written, err := os.ReadFile(script)
	require.NoError(t, err)
	require.Equal(t, first.Recorded(), written, "RecordTo gets the script as recorded")
	calls := first.Calls()
	require.Len(t, calls, 2)
	assert.Equal(t, "BRICK", calls[0].Persona)
	want, err := first.LastCycle(ctx)
	require.NoError(t, err)

	again := psmtest.New(t, psmtest.Options{ScriptFile: script, Dir: t.TempDir(), VerifyScript: true})
	require.NotNil(t, again.Script())
	v, err = again.Send(ctx, again.Genesis(), "greet", "Architect")
	require.NoError(t, err)
	require.Equal(t, "Hello, Architect.", v)
	got, err := again.LastCycle(ctx)
	require.NoError(t, err)
	require.Empty(t, psm.CompareRecords(want, got))
	assert.Equal(t, 2, again.ModelCalls())
	assert.Equal(t, first.Recorded(), again.Recorded(), "replaying records the same script")
}

// A failed cycle leaves the image's state unchanged; only its record is
// added.
func TestFingerprints(t *testing.T) {
	h := psmtest.New(t, psmtest.Options{}) // no replies: the cycle fails at once
	state, err := h.StateFingerprint(ctx)
	require.NoError(t, err)
	all, err := h.Fingerprint(ctx)
	require.NoError(t, err)
	_, err = h.Send(ctx, h.Genesis(), "greet")
	require.ErrorIs(t, err, psm.ErrCycleFailed)
	require.ErrorIs(t, err, persona.ErrExhausted)
	after, err := h.StateFingerprint(ctx)
	require.NoError(t, err)
	assert.Equal(t, state, after)
	allAfter, err := h.Fingerprint(ctx)
	require.NoError(t, err)
	assert.NotEqual(t, all, allAfter, "the record was added")
	rec, err := h.LastCycle(ctx)
	require.NoError(t, err)
	assert.Equal(t, psm.Failed, rec.Outcome)
	assert.Equal(t, 1, h.ModelCalls())
	require.Error(t, h.Calls()[0].Err)
}

func TestNoCycleYet(t *testing.T) {
	h := psmtest.New(t, psmtest.Options{})
	_, err := h.LastCycle(ctx)
	require.ErrorIs(t, err, psm.ErrNoSuchCycle)
}

func TestBadScriptFile(t *testing.T) {
	_, err := psmtest.Open(ctx, psmtest.Options{ScriptFile: filepath.Join(t.TempDir(), "missing.jsonl")})
	require.ErrorIs(t, err, persona.ErrScript)
}
