package psm_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/persona/personatest"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/psm/psmtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// replayChildEnv, in a re-executed test binary, names the files of a
// replay: the script to replay and where to write what happened.
const replayChildEnv = "BATOS_PSM_REPLAY_CHILD"

type replayChild struct {
	Script string `json:"script"`
	Out    string `json:"out"`
}

// replayReport is what the child process reports.
type replayReport struct {
	Answer       any        `json:"answer"`
	Record       psm.Record `json:"record"`
	NetworkCalls int64      `json:"network_calls"`
}

// noNetwork fails and counts every HTTP request.
type noNetwork struct{ calls *atomic.Int64 }

func (n noNetwork) RoundTrip(*http.Request) (*http.Response, error) {
	n.calls.Add(1)
	return nil, errors.New("no network in a replay")
}

// The evidence of record and replay: a cycle recorded from langchaingo's
// Ollama client, against personatest's Ollama-protocol server, replays in
// a fresh process from its script (the model spec scripted:FILE), with no
// network call, and its record is the same step for step: prompts,
// replies byte for byte, verdicts, source, outcome.
func TestRecordedCycleReplaysInAFreshProcess(t *testing.T) {
	if env := os.Getenv(replayChildEnv); env != "" {
		replayInChild(t, env)
		return
	}
	srv := personatest.NewOllama(t, personatest.Replies(
		plan("absolute value"),
		persona.Reply{Text: code(absWrong)},
		persona.Reply{Expect: "want: 3", Text: code(absRight)},
	)...)
	client, err := persona.NewModel("ollama:qwen2.5-coder:7b@"+srv.URL, persona.Options{})
	require.NoError(t, err)
	dir := t.TempDir()
	script := filepath.Join(dir, "abs.jsonl")
	f, err := os.Create(script)
	require.NoError(t, err)
	h := psmtest.New(t, psmtest.Options{Model: client, RecordTo: f, Dir: filepath.Join(dir, "image")})
	v, err := h.SendWith(ctx, h.Genesis(), "abs", []any{-5}, psm.WithExamples(absExamples...))
	require.NoError(t, err)
	require.Equal(t, int64(5), v)
	require.NoError(t, f.Close())
	recorded, err := h.LastCycle(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, recorded.Attempts)
	require.Len(t, srv.Requests(), 3)
	require.Equal(t, 3, h.ModelCalls())

	out := filepath.Join(dir, "report.json")
	env, err := json.Marshal(replayChild{Script: script, Out: out})
	require.NoError(t, err)
	cmd := exec.Command(os.Args[0], "-test.run=^TestRecordedCycleReplaysInAFreshProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), replayChildEnv+"="+string(env))
	output, err := cmd.CombinedOutput()
	require.NoError(t, err, "the child process:\n%s", output)

	b, err := os.ReadFile(out)
	require.NoError(t, err, "the child's report; its output:\n%s", output)
	var rep replayReport
	require.NoError(t, json.Unmarshal(b, &rep))
	assert.Zero(t, rep.NetworkCalls, "network calls in the replay")
	assert.Len(t, srv.Requests(), 3, "the server heard nothing more")
	assert.EqualValues(t, 5, rep.Answer)
	require.Empty(t, psm.CompareRecords(recorded, rep.Record), "the replayed record differs")
	assert.Equal(t, recorded.Mission, rep.Record.Mission)
	assert.Equal(t, recorded.Source, rep.Record.Source)
	assert.Equal(t, recorded.Version, rep.Record.Version)
	assert.NotEqual(t, recorded.ID, rep.Record.ID, "a cycle of its own")
	var replies int
	for i, e := range recorded.Events {
		if e.Kind == psm.EventReply {
			replies++
			assert.Equal(t, e.Text, rep.Record.Events[i].Text, "reply %d byte for byte", replies)
		}
	}
	assert.Equal(t, 3, replies)
}

// replayInChild runs the recorded mission on a fresh image whose only
// model is the script, with every HTTP request refused and counted, and
// reports what happened.
func replayInChild(t *testing.T, env string) {
	var c replayChild
	require.NoError(t, json.Unmarshal([]byte(env), &c))
	var calls atomic.Int64
	http.DefaultTransport = noNetwork{&calls} // this process is the replay's own
	m, err := psm.Open(ctx, t.TempDir(), psm.Options{NoSync: true, Personas: persona.Options{
		Default:    "scripted:" + c.Script,
		HTTPClient: &http.Client{Transport: noNetwork{&calls}, Timeout: time.Second},
	}})
	require.NoError(t, err)
	defer m.Close()
	v, err := m.SendWith(ctx, m.Genesis(), "abs", []any{-5}, psm.WithExamples(absExamples...))
	require.NoError(t, err)
	recs, err := m.Cycles(ctx)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	b, err := json.Marshal(replayReport{Answer: v, Record: recs[0], NetworkCalls: calls.Load()})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(c.Out, b, 0o600))
}
