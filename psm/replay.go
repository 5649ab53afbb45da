package psm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/batos-dev/batos/persona"
	"github.com/tmc/langchaingo/llms"
)

// Replay is a stored cycle run again (see [Mind.Replay] and [Mind.Fork]).
// Recorded holds the stored cycle and the cycles nested in it, in the
// order they started; Replayed the cycles of the rerun, in the same
// order. The rerun's records are not saved, and it installs nothing.
type Replay struct {
	Recorded []Record
	Replayed []Record
	// Err is the rerun cycle's error (a *CycleError), nil when it
	// validated a method.
	Err error
	// Differences are the steps where the rerun did not do what the
	// record says, first difference first; none means the same prompts,
	// replies, verdicts, source and outcome.
	Differences []Difference
}

// Same reports whether the rerun matched the record step for step.
func (r *Replay) Same() bool { return len(r.Differences) == 0 }

// Outcomes summarises the recorded cycle and its rerun, for comparing a
// fork with the original.
func (r *Replay) Outcomes() (recorded, rerun Outcome) {
	return outcomeOf(r.Recorded), outcomeOf(r.Replayed)
}

// Outcome is how a cycle ended, in brief.
type Outcome struct {
	Outcome    State  // COMPLETE or FAILED
	FailedIn   State  // when FAILED
	Attempts   int    // synthesis attempts
	ModelCalls int    // prompts sent, nested cycles included
	Source     string // the source validated (or last rejected)
	Error      string
}

func outcomeOf(recs []Record) Outcome {
	if len(recs) == 0 {
		return Outcome{}
	}
	top := recs[0]
	o := Outcome{Outcome: top.Outcome, FailedIn: top.FailedIn, Attempts: top.Attempts, Source: top.Source, Error: top.Error}
	for _, rec := range recs {
		for _, e := range rec.Events {
			if e.Kind == EventPrompt {
				o.ModelCalls++
			}
		}
	}
	return o
}

// Difference is one step where a rerun differs from its record.
type Difference struct {
	Cycle string // the recorded cycle's id ("" for a cycle the record lacks)
	Step  int    // the step's Seq in the recorded cycle (0: the cycle as a whole)
	State State  // the recorded step's state (the rerun's, if the record lacks it)
	Kind  string // the event kind, or "source", "cycle"
	Want  string // the recorded step, "" when the record lacks it
	Got   string // the rerun's, "" when the rerun lacks it
}

func (d Difference) String() string {
	return fmt.Sprintf("cycle %s, step %d (%s %s): recorded %s, rerun %s", orNone(d.Cycle), d.Step, d.State, d.Kind, quoteOrNone(d.Want), quoteOrNone(d.Got))
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func quoteOrNone(s string) string {
	if s == "" {
		return "nothing"
	}
	return fmt.Sprintf("%q", truncate(s, 300))
}

// ForkOptions say what a fork changes (see [Mind.Fork]). The zero value
// reruns with the mind's own models.
type ForkOptions struct {
	// Model answers every persona of the fork.
	Model llms.Model
	// Spec names a model that answers every persona of the fork (a
	// persona.ParseSpec string), when Model is nil.
	Spec string
	// Personas routes the fork's personas when neither Model nor Spec is
	// set and it names a model (specs, per-persona models, limits).
	Personas persona.Options
	// Persona writes the method ("" means the persona that wrote it in
	// the recorded cycle).
	Persona string
}

// replayKey carries, in the context of a rerun's top-level cycle, the
// rerun that runs it.
type replayKey struct{}

// replaying is one rerun of a stored cycle. Its cycles ask it instead of
// the personas, take what DELEGATING found from the record, save
// nothing and install nothing. Everything it holds is touched on the
// goroutine that runs the rerun (nested cycles run on it too).
type replaying struct {
	recorded []Record // the stored cycle and its nested ones, by start
	asks     []recordedAsk
	next     int
	model    func(ctx context.Context, persona, prompt string) (string, error) // a fork's, or nil
	bus      *bus
	cycles   []*cycle // the rerun's, by start
	used     map[int]bool
}

// recordedAsk is one prompt of a record and what came back.
type recordedAsk struct {
	at             time.Time
	persona        string
	prompt         string
	reply, failure string
}

// adoptReplay makes c part of the rerun its outer cycle, or its context,
// belongs to.
func (c *cycle) adoptReplay(ctx context.Context) {
	r, _ := ctx.Value(replayKey{}).(*replaying)
	if c.parent != nil {
		r = c.parent.replay
	}
	if r == nil {
		return
	}
	c.replay, c.bus = r, r.bus
	r.cycles = append(r.cycles, c)
}

// ask answers a rerun's prompt: a fork asks its model, a replay gives
// the next recorded reply (or failure).
func (r *replaying) ask(ctx context.Context, persona, prompt string) (string, error) {
	if r.model != nil {
		return r.model(ctx, persona, prompt)
	}
	if r.next >= len(r.asks) {
		return "", fmt.Errorf("%w: the record holds %d replies, and this is prompt %d", ErrReplayExhausted, len(r.asks), r.next+1)
	}
	a := r.asks[r.next]
	r.next++
	if a.failure != "" {
		return "", errors.New(a.failure)
	}
	return a.reply, nil
}

// context returns what DELEGATING found in the recorded cycle that c
// reruns: the first recorded cycle of the same mission not yet matched;
// of the similar methods, only the one it reused, if it reused one.
func (r *replaying) context(c *cycle) (snippets, skills []string, similar []skill) {
	for i, rec := range r.recorded {
		if r.used[i] || rec.Mission.Selector != c.mission.Selector || rec.Mission.Target != c.mission.Target || (i == 0) != (c.parent == nil) {
			continue
		}
		r.used[i] = true
		return rec.Snippets, rec.Skills, recordedReuse(rec)
	}
	return nil, nil, nil
}

// complete ends a rerun cycle that validated its method (and the nested
// ones validated under it) without installing anything.
func (r *replaying) complete(ctx context.Context, c *cycle) (step, error) {
	ended := time.Now().UTC()
	for _, x := range append(c.work.pending, c) {
		x.update(func(rec *Record) { rec.Outcome, rec.Ended = Complete, ended })
		x.event(ctx, Event{Kind: EventOutcome, State: Complete,
			Text: fmt.Sprintf("rerun: %s validated on object %d; not installed", x.mission.Selector, x.mission.Target)})
	}
	c.work.pending = nil
	return stepNext, nil
}

// Replay runs the stored cycle id again with its recorded replies and no
// model: the same mission, the same memory snippets and skills (as
// recorded), the recorded reply to each prompt in turn, and the real
// guardian, compiler and dry runs on the image as it is now. It returns
// the rerun with the steps where it differs from the record: none when
// the prompts, replies, verdicts, source and outcome are the same. A
// changed image (or a changed batos) shows as the first step that
// differs, a dry run that answers otherwise, say.
//
// The rerun saves no record and installs nothing: the image is left as
// it was. Its error is the rerun's failure, in Replay.Err; Replay returns
// an error only when it cannot rerun at all (no such cycle, a closed
// mind).
//
// The dry runs see the image as it is: a method installed since the
// recorded cycle (one its nested cycles wrote, say) answers a send that
// started a nested cycle then, and the rerun says so as a difference.
func (m *Mind) Replay(ctx context.Context, id string) (*Replay, error) {
	return m.rerun(ctx, id, nil, "")
}

// Fork runs the mission of the stored cycle id again with other models
// or another persona, as a rerun like [Mind.Replay] (same memory
// snippets and skills, nothing saved or installed), and returns it with
// the differences; [Replay.Outcomes] compares how each ended.
func (m *Mind) Fork(ctx context.Context, id string, opts ForkOptions) (*Replay, error) {
	po := opts.Personas
	switch {
	case opts.Model != nil:
		po = persona.Options{Models: map[string]llms.Model{"": opts.Model}, Limits: m.opts.Personas.Limits, Logger: m.opts.Logger}
	case opts.Spec != "":
		po = m.opts.Personas
		po.Default, po.Specs, po.Models, po.Adapters = opts.Spec, nil, nil, nil
	}
	asker := m.personas
	if opts.Model != nil || opts.Spec != "" || po.Default != "" || len(po.Specs) > 0 || len(po.Models) > 0 {
		router, err := persona.NewRouter(po)
		if err != nil {
			return nil, fmt.Errorf("psm: fork: %w", err)
		}
		asker = personaModels{im: m.im, router: router}
	}
	ask := func(ctx context.Context, name, prompt string) (string, error) { return asker.Ask(ctx, name, prompt) }
	return m.rerun(ctx, id, ask, opts.Persona)
}

// rerun runs the stored cycle id again under a replaying.
func (m *Mind) rerun(ctx context.Context, id string, model func(ctx context.Context, persona, prompt string) (string, error), writer string) (*Replay, error) {
	if err := m.enter(); err != nil {
		return nil, err
	}
	defer m.leave()
	top, err := m.Cycle(ctx, id)
	if err != nil {
		return nil, err
	}
	all, err := m.Cycles(ctx)
	if err != nil {
		return nil, err
	}
	tree := []Record{top}
	in := map[string]bool{top.ID: true}
	for grew := true; grew; {
		grew = false
		for _, rec := range all {
			if !in[rec.ID] && in[rec.Parent] {
				in[rec.ID], grew = true, true
				tree = append(tree, rec)
			}
		}
	}
	slices.SortStableFunc(tree[1:], func(a, b Record) int { return a.Started.Compare(b.Started) })

	r := &replaying{recorded: tree, model: model, bus: newBus(slog.New(slog.DiscardHandler)), used: map[int]bool{}}
	for _, rec := range tree {
		r.asks = append(r.asks, asksOf(rec)...)
	}
	slices.SortStableFunc(r.asks, func(a, b recordedAsk) int { return a.at.Compare(b.at) })
	if writer == "" {
		writer = top.Persona
	}
	rctx := context.WithValue(ctx, replayKey{}, r)
	_, cerr := m.runCycle(rctx, top.Mission, writer, nil, flightKey{oid: top.Mission.Target, sel: top.Mission.Selector}, nil)

	out := &Replay{Recorded: tree, Err: cerr}
	for _, c := range r.cycles {
		c.mu.Lock()
		rec := c.rec
		rec.Events = slices.Clone(c.rec.Events)
		c.mu.Unlock()
		out.Replayed = append(out.Replayed, rec)
	}
	out.Differences = compareTrees(tree, out.Replayed, true)
	return out, nil
}

// asksOf pairs each prompt of a record with the reply (or failure) that
// followed it.
func asksOf(rec Record) []recordedAsk {
	var out []recordedAsk
	for i, e := range rec.Events {
		if e.Kind != EventPrompt {
			continue
		}
		a := recordedAsk{at: e.Time, persona: e.Persona, prompt: e.Text}
		for _, f := range rec.Events[i+1:] {
			if f.Kind == EventReply && f.Persona == e.Persona && f.Attempt == e.Attempt {
				a.reply, a.failure = f.Text, f.Error
				break
			}
		}
		out = append(out, a)
	}
	return out
}

// CompareRecords returns the steps where the cycle got differs from the
// cycle want: the events in order (state, kind, persona, attempt, text,
// error), the source and the outcome. Cycle ids, sequence numbers and
// times are not compared; want's and got's own ids are treated as equal
// where a text mentions them. A record of the same mission run twice on
// equal images with the same replies (a recording replayed in a fresh
// process, say) compares equal.
func CompareRecords(want, got Record) []Difference {
	return compareTrees([]Record{want}, []Record{got}, false)
}

// compareTrees compares recorded cycles with their reruns, paired in
// order. In a rerun (rerun true) the outcome's text is not compared: a
// rerun installs nothing, so its outcome cannot name a version.
func compareTrees(want, got []Record, rerun bool) []Difference {
	var out []Difference
	ids := strings.NewReplacer()
	var pairs []string
	for i := range min(len(want), len(got)) {
		if want[i].ID != "" && got[i].ID != "" {
			pairs = append(pairs, got[i].ID, want[i].ID)
		}
	}
	if len(pairs) > 0 {
		ids = strings.NewReplacer(pairs...)
	}
	for i := range max(len(want), len(got)) {
		switch {
		case i >= len(got):
			out = append(out, Difference{Cycle: want[i].ID, State: want[i].State, Kind: "cycle",
				Want: fmt.Sprintf("a nested cycle for %q", want[i].Mission.Selector)})
			continue
		case i >= len(want):
			out = append(out, Difference{State: got[i].State, Kind: "cycle",
				Got: fmt.Sprintf("a nested cycle for %q", got[i].Mission.Selector)})
			continue
		}
		out = append(out, compareRecord(want[i], got[i], ids, rerun)...)
	}
	return out
}

func compareRecord(want, got Record, ids *strings.Replacer, rerun bool) []Difference {
	var out []Difference
	step := func(e Event, outcome bool) string {
		s := fmt.Sprintf("%s %s", e.Kind, e.State)
		if e.Persona != "" {
			s += " by " + e.Persona
		}
		if e.Attempt != 0 {
			s += fmt.Sprintf(" (attempt %d)", e.Attempt)
		}
		if e.Text != "" && !outcome {
			s += ": " + ids.Replace(e.Text)
		}
		if e.Error != "" {
			s += " — error: " + ids.Replace(e.Error)
		}
		return s
	}
	for i := range max(len(want.Events), len(got.Events)) {
		d := Difference{Cycle: want.ID, Step: i + 1}
		var w, g string
		if i < len(want.Events) {
			e := want.Events[i]
			d.State, d.Kind = e.State, e.Kind
			w = step(e, rerun && e.Kind == EventOutcome)
		}
		if i < len(got.Events) {
			e := got.Events[i]
			if d.Kind == "" {
				d.State, d.Kind = e.State, e.Kind
			}
			g = step(e, rerun && e.Kind == EventOutcome)
		}
		if w != g {
			d.Want, d.Got = w, g
			out = append(out, d)
		}
	}
	if want.Source != got.Source {
		out = append(out, Difference{Cycle: want.ID, State: got.State, Kind: "source", Want: want.Source, Got: got.Source})
	}
	if want.Outcome != got.Outcome {
		out = append(out, Difference{Cycle: want.ID, State: got.State, Kind: "outcome", Want: string(want.Outcome), Got: string(got.Outcome)})
	}
	return out
}

// Script returns the replies of cycle records (a cycle and those nested
// in it, say) as a script, in the order they were given, each for the
// persona and the whole prompt it answered: what a [persona.Scripted]
// model needs to run the same conversation again elsewhere, in a fresh
// image or process. Failed calls are left out.
func Script(recs ...Record) []persona.Reply {
	var asks []recordedAsk
	for _, rec := range recs {
		asks = append(asks, asksOf(rec)...)
	}
	slices.SortStableFunc(asks, func(a, b recordedAsk) int { return a.at.Compare(b.at) })
	var out []persona.Reply
	for _, a := range asks {
		if a.failure == "" {
			out = append(out, persona.Reply{Persona: a.persona, Expect: a.prompt, Text: a.reply})
		}
	}
	return out
}
