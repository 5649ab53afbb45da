package psmtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm/live"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tmc/langchaingo/llms"
)

// Options configure a test mind. The zero value is a mind on an
// in-memory image whose model has no replies (any cycle fails in
// DECOMPOSING with an exhausted script).
type Options struct {
	// Script is what the model answers, in order (a persona.Scripted).
	Script []persona.Reply
	// ScriptFile names a JSONL script, such as a recording, answered in
	// order as the model spec "scripted:"+ScriptFile would. It wins over
	// Script.
	ScriptFile string
	// Model is any model; it wins over Script and ScriptFile.
	Model llms.Model
	// RecordTo, when set, receives every prompt and reply as a script
	// (see persona.Recording) that ScriptFile replays. The harness does
	// not close it.
	RecordTo io.Writer
	// Dir is the image's directory; "" means an in-memory image.
	Dir string
	// Mind holds the other options of the mind (MaxAttempts, Live, an
	// AuditLog, …). Its Model and InMemory are the harness's, and so is
	// the default model of Mind.Personas.Models (its key ""); models and
	// specs it routes personas to are not recorded or counted.
	Mind psm.Options
	// VerifyScript makes New's cleanup fail the test when replies of a
	// script are left unused.
	VerifyScript bool
}

// Mind is a psm.Mind opened for a test, with what a test asserts on: the
// cycles, the model calls and the image's fingerprint. Its model is
// wrapped in a persona.Recording, so every call is counted and can be
// saved as a script.
type Mind struct {
	*psm.Mind
	script *persona.Scripted
	rec    *persona.Recording

	mu     sync.Mutex
	record bytes.Buffer // the recording's script
	extra  io.Writer
}

// write receives the recording's script.
func (h *Mind) write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.record.Write(p)
	if h.extra != nil {
		return h.extra.Write(p)
	}
	return len(p), nil
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// Open opens a test mind with opts. The caller closes it. Tests use
// [New], which also closes it when the test ends.
func Open(ctx context.Context, opts Options) (*Mind, error) {
	h := &Mind{extra: opts.RecordTo}
	model := opts.Model
	switch {
	case model != nil:
	case opts.ScriptFile != "":
		m, err := persona.NewModel("scripted:"+opts.ScriptFile, persona.Options{})
		if err != nil {
			return nil, fmt.Errorf("psmtest: %w", err)
		}
		model = m
	default:
		model = persona.NewScripted(opts.Script)
	}
	h.script, _ = model.(*persona.Scripted)
	h.rec = persona.NewRecording(model, writerFunc(h.write))
	mo := opts.Mind
	mo.Model, mo.InMemory = h.rec, opts.Dir == ""
	if mo.Personas.Models != nil {
		// The harness's model answers for every persona the options do
		// not route elsewhere.
		models := make(map[string]llms.Model, len(mo.Personas.Models))
		for k, v := range mo.Personas.Models {
			if k != "" {
				models[k] = v
			}
		}
		mo.Personas.Models = models
	}
	m, err := psm.Open(ctx, opts.Dir, mo)
	if err != nil {
		return nil, fmt.Errorf("psmtest: %w", err)
	}
	h.Mind = m
	return h, nil
}

// New opens a test mind with opts and closes it when the test ends (and
// fails the test if closing takes longer than ten seconds, or, with
// VerifyScript, if script replies are left unused). A failure to open
// fails the test at once.
//
// Generated methods run in worker processes, which re-execute the test
// binary: the package's TestMain must call live.ServeIfWorker first, as
// [Main] does.
func New(t testing.TB, opts Options) *Mind {
	t.Helper()
	h, err := Open(context.Background(), opts)
	require.NoError(t, err, "psmtest: open a mind")
	t.Cleanup(func() {
		done := make(chan error, 1)
		go func() { done <- h.Close() }()
		select {
		case err := <-done:
			assert.NoError(t, err, "psmtest: close the mind")
		case <-time.After(10 * time.Second):
			assert.Fail(t, "psmtest: Mind.Close still blocked after 10s")
		}
		if opts.VerifyScript && h.script != nil {
			assert.NoError(t, h.script.Verify(), "psmtest: the script")
		}
	})
	return h
}

// Main is a TestMain for packages that use a test mind: it serves as a
// worker when the test binary was started as one (live.ServeIfWorker),
// and otherwise runs the tests and exits.
//
//	func TestMain(m *testing.M) { psmtest.Main(m) }
func Main(m *testing.M) {
	live.ServeIfWorker()
	os.Exit(m.Run())
}

// Script returns the scripted model (from Options.Script or ScriptFile),
// or nil when Options.Model is the host's.
func (h *Mind) Script() *persona.Scripted { return h.script }

// ModelCalls reports how many calls the model received (every attempt,
// across all personas and cycles).
func (h *Mind) ModelCalls() int { return len(h.rec.Calls()) }

// Calls returns every call the model received, in order: the persona,
// the whole prompt, the reply or the error.
func (h *Mind) Calls() []persona.RecordedCall { return h.rec.Calls() }

// Recorded returns what the model said so far as a script: JSON lines
// that Options.ScriptFile (or a "scripted:FILE" spec) replays.
func (h *Mind) Recorded() []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return bytes.Clone(h.record.Bytes())
}

// SaveRecording writes the recorded script to path.
func (h *Mind) SaveRecording(path string) error {
	if err := os.WriteFile(path, h.Recorded(), 0o644); err != nil {
		return fmt.Errorf("psmtest: %w", err)
	}
	return nil
}

// LastCycle returns the record of the cycle that started last; an
// error wrapping psm.ErrNoSuchCycle when none has.
func (h *Mind) LastCycle(ctx context.Context) (psm.Record, error) {
	recs, err := h.Cycles(ctx)
	if err != nil {
		return psm.Record{}, err
	}
	if len(recs) == 0 {
		return psm.Record{}, fmt.Errorf("%w: no cycle has run", psm.ErrNoSuchCycle)
	}
	last := recs[0]
	for _, r := range recs[1:] {
		if r.Started.After(last.Started) {
			last = r
		}
	}
	return last, nil
}

// Fingerprint returns the image's fingerprint, cycle records included
// (see uvm.Image.Fingerprint): equal fingerprints, equal images.
func (h *Mind) Fingerprint(ctx context.Context) (string, error) {
	return h.Image().Fingerprint(ctx)
}

// StateFingerprint returns the image's fingerprint without the cycle
// records: what a failed cycle must leave unchanged.
func (h *Mind) StateFingerprint(ctx context.Context) (string, error) {
	return h.Image().Fingerprint(ctx, psm.RecordNamespace)
}
