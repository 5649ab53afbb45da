package psm_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// absWrong answers its argument as it is: wrong for negative numbers.
const absWrong = `package m

import "batos"

// abs answers the absolute value of an integer.
func abs(self batos.Self, args []any) (any, error) {
	n, _ := args[0].(int64)
	return n, nil
}`

const absRight = `package m

import (
	"errors"

	"batos"
)

// abs answers the absolute value of an integer.
func abs(self batos.Self, args []any) (any, error) {
	n, ok := args[0].(int64)
	if !ok {
		return nil, errors.New("abs wants an integer")
	}
	if n < 0 {
		return -n, nil
	}
	return n, nil
}`

var absExamples = []psm.Example{
	{Args: []any{4}, Want: 4},
	{Args: []any{-3}, Want: 3},
	{Args: []any{"x"}, WantErr: "wants an integer"},
}

// verdictsOf returns the verdict events of a record whose text starts
// with prefix, by attempt.
func verdictsOf(rec psm.Record, prefix string) map[int][]psm.Event {
	out := map[int][]psm.Event{}
	for _, e := range rec.Events {
		if e.Kind == psm.EventVerdict && strings.HasPrefix(e.Text, prefix) {
			out[e.Attempt] = append(out[e.Attempt], e)
		}
	}
	return out
}

// The evidence of examples as specifications: the first candidate fails
// one example, the difference (args, want, got) reaches the second
// prompt, the corrected method installs, and the record keeps every
// verdict.
func TestExampleFailureIsCorrected(t *testing.T) {
	script := persona.NewScripted([]persona.Reply{
		plan("absolute value"),
		{Persona: "ALFRED", Expect: "abs(-3) → 3", Text: code(absWrong)},
		{Persona: "ALFRED", Expect: "example 2 of 3: abs(-3)\n  args: [-3]\n  want: 3\n  got:  -3", Text: code(absRight)},
	})
	m := memMind(t, script, nil)
	v, err := m.SendWith(ctx, m.Genesis(), "abs", []any{-5}, psm.WithExamples(absExamples...))
	require.NoError(t, err)
	require.Equal(t, int64(5), v)
	require.NoError(t, script.Verify())

	recs, err := m.Cycles(ctx)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	rec := recs[0]
	require.Equal(t, psm.Complete, rec.Outcome)
	require.Equal(t, 2, rec.Attempts)
	require.Equal(t, []psm.Example{{Args: []any{int64(4)}, Want: int64(4)}, {Args: []any{int64(-3)}, Want: int64(3)},
		{Args: []any{"x"}, WantErr: "wants an integer"}}, rec.Mission.Examples, "the record keeps the examples, typed")

	v1 := verdictsOf(rec, "example")
	require.Len(t, v1[1], 3, "attempt 1 ran every example")
	assert.Equal(t, "example 1 of 3: ok", v1[1][0].Text)
	assert.Equal(t, "example 2 of 3", v1[1][1].Text)
	assert.Equal(t, "example 2 of 3: abs(-3)\n  args: [-3]\n  want: 3\n  got:  -3", v1[1][1].Error)
	assert.Equal(t, "example 3 of 3", v1[1][2].Text)
	assert.Contains(t, v1[1][2].Error, `want: an error containing "wants an integer"`)
	assert.Contains(t, v1[1][2].Error, "got:  0 (no error)")
	require.Len(t, v1[2], 3, "attempt 2 ran every example")
	for i, e := range v1[2] {
		assert.Empty(t, e.Error, "attempt 2, example %d", i+1)
		assert.True(t, strings.HasSuffix(e.Text, ": ok"), e.Text)
	}
	var second string
	for _, e := range rec.Events {
		if e.Kind == psm.EventPrompt && e.State == psm.Synthesizing && e.Attempt == 2 {
			second = e.Text
		}
	}
	assert.Contains(t, second, "psm: 2 of 3 examples failed", "the second prompt says what failed")

	// The examples held for that cycle only: nothing is stored.
	require.NoError(t, m.Image().View(ctx, func(tx *uvm.Tx) error {
		g, err := tx.Object(m.Genesis())
		require.NoError(t, err)
		exs, err := psm.ExamplesOf(tx, g, "abs")
		require.NoError(t, err)
		assert.Empty(t, exs)
		return nil
	}))
}

// Examples stored on a prototype hold for every object that delegates to
// it: a cycle for a child must meet them; a candidate that never does
// fails the cycle, and the image is as it was but for the record.
func TestStoredExamplesAreInherited(t *testing.T) {
	script := persona.NewScripted([]persona.Reply{
		plan("absolute value"),
		{Persona: "ALFRED", Expect: "abs(-3) → 3", Text: code(absWrong)},
		{Persona: "ALFRED", Expect: "want: 3", Text: code(absWrong)},
	})
	m := memMind(t, script, func(o *psm.Options) { o.MaxAttempts = 2 })
	require.NoError(t, m.SetExamples(ctx, m.Genesis(), "abs", absExamples[:2]...))
	var child uvm.OID
	require.NoError(t, m.Image().Update(ctx, func(tx *uvm.Tx) error {
		g, err := tx.Object(m.Genesis())
		if err != nil {
			return err
		}
		c, err := tx.New()
		if err != nil {
			return err
		}
		child = c.OID()
		return c.SetParents(g)
	}))
	require.NoError(t, m.Image().View(ctx, func(tx *uvm.Tx) error {
		c, err := tx.Object(child)
		require.NoError(t, err)
		exs, err := psm.ExamplesOf(tx, c, "abs")
		require.NoError(t, err)
		require.Equal(t, []psm.Example{{Args: []any{int64(4)}, Want: int64(4)}, {Args: []any{int64(-3)}, Want: int64(3)}}, exs)
		return nil
	}))
	before := unchanged(t, m)

	_, err := m.Send(ctx, child, "abs", 7) // the mission's own dry run passes
	require.ErrorIs(t, err, psm.ErrCycleFailed)
	require.ErrorIs(t, err, psm.ErrExampleFailed)
	var ee *psm.ExamplesError
	require.ErrorAs(t, err, &ee)
	require.Len(t, ee.Failed, 1)
	assert.Equal(t, 2, ee.Failed[0].Index)
	assert.Equal(t, int64(-3), ee.Failed[0].Got)
	require.Equal(t, before, unchanged(t, m), "nothing installed")
	recs, err := m.Cycles(ctx)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	requireFailedRecord(t, recs[0], psm.Validating)
	assert.Len(t, verdictsOf(recs[0], "example 2 of 2")[2], 1, "the last attempt's verdict is recorded")

	// Storing no examples removes the slot.
	require.NoError(t, m.SetExamples(ctx, m.Genesis(), "abs"))
	require.NoError(t, m.Image().View(ctx, func(tx *uvm.Tx) error {
		g, err := tx.Object(m.Genesis())
		require.NoError(t, err)
		assert.False(t, g.Has(psm.ExamplesSlot("abs")))
		return nil
	}))
}

func TestBadExamples(t *testing.T) {
	m := memMind(t, persona.NewScripted(nil), nil)
	_, err := m.SendWith(ctx, m.Genesis(), "abs", nil, psm.WithExamples(psm.Example{Args: []any{make(chan int)}}))
	require.ErrorIs(t, err, psm.ErrBadExamples)
	require.ErrorIs(t, err, uvm.ErrUnstorable)

	require.NoError(t, m.Image().Update(ctx, func(tx *uvm.Tx) error {
		g, err := tx.Object(m.Genesis())
		if err != nil {
			return err
		}
		return g.Set(psm.ExamplesSlot("abs"), "not a list")
	}))
	_, err = m.Send(ctx, m.Genesis(), "abs", 1)
	require.ErrorIs(t, err, psm.ErrBadExamples, "a cycle does not start on examples it cannot read")
	require.ErrorContains(t, err, `slot "examples.abs"`)
	assert.Zero(t, outcomes(t, m)[psm.Failed]+outcomes(t, m)[psm.Complete])
}

func TestSameAnswer(t *testing.T) {
	for _, tc := range []struct {
		name       string
		want, got  any
		same       bool
		symmetrics bool
	}{
		{"int64 and float64", int64(2), 2.0, true, true},
		{"int and int64", 2, int64(2), true, true},
		{"float fraction is not an int", 2.5, int64(2), false, true},
		{"big int64 and its rounded float", int64(1<<53 + 1), float64(1 << 53), false, true},
		{"big int64 exact", int64(1 << 60), float64(1 << 60), true, true},
		{"NaN", math.NaN(), math.NaN(), true, true},
		{"inf is no int", math.Inf(1), int64(math.MaxInt64), false, true},
		{"nil and empty list", nil, []any{}, true, true},
		{"nil and empty map", nil, map[string]any{}, true, true},
		{"nil and empty bytes", nil, []byte{}, true, true},
		{"nil is not empty string", nil, "", false, true},
		{"nil is not zero", nil, int64(0), false, true},
		{"nil is not false", nil, false, false, true},
		{"empty list and map", []any{}, map[string]any{}, false, true},
		{"string and bytes", "abc", []byte("abc"), true, true},
		{"string differs", "abc", "abd", false, true},
		{"number is not a string", int64(2), "2", false, true},
		{"lists in order", []any{1, "a"}, []any{int64(1), "a"}, true, true},
		{"lists out of order", []any{1, 2}, []any{2, 1}, false, true},
		{"list length", []any{1}, []any{1, 1}, false, true},
		{"maps in any order", map[string]any{"a": 1, "b": []any{2.0}}, map[string]any{"b": []any{int64(2)}, "a": 1.0}, true, true},
		{"map value differs", map[string]any{"a": 1}, map[string]any{"a": 2}, false, true},
		{"map keys differ", map[string]any{"a": 1}, map[string]any{"b": 1}, false, true},
		{"nested nil and empty", map[string]any{"xs": nil}, map[string]any{"xs": []any{}}, true, true},
		{"refs", uvm.Ref{OID: 3}, uvm.Ref{OID: 3}, true, true},
		{"refs differ", uvm.Ref{OID: 3}, uvm.Ref{OID: 4}, false, true},
		{"bools", true, true, true, true},
		{"[]string and []any", []string{"a"}, []any{"a"}, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.same, psm.SameAnswer(tc.want, tc.got), "SameAnswer(%#v, %#v)", tc.want, tc.got)
			if tc.symmetrics {
				assert.Equal(t, tc.same, psm.SameAnswer(tc.got, tc.want), "SameAnswer(%#v, %#v)", tc.got, tc.want)
			}
		})
	}
}

func TestLiteral(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{
		{nil, "nil"}, {int64(2), "2"}, {2.0, "2.0"}, {2.5, "2.5"}, {1e21, "1e+21"}, {math.NaN(), "NaN"},
		{"2", `"2"`}, {true, "true"}, {[]byte("hi"), `bytes("hi")`}, {uvm.Ref{OID: 12}, "ref(12)"},
		{[]any{int64(1), "a", nil}, `[1, "a", nil]`}, {map[string]any{"b": 1.5, "a": []any{}}, `{"a": [], "b": 1.5}`},
	} {
		assert.Equal(t, tc.want, psm.Literal(tc.v))
	}
}

// Records keep numbers typed: an int64 argument or example reads back as
// an int64, a float64 as a float64, also when it is whole.
func TestMissionJSONKeepsNumberTypes(t *testing.T) {
	in := psm.Mission{
		Selector: "f", Target: 7,
		Args: []any{int64(2), 2.0, 2.5, "s", []any{int64(1), 1.0}, map[string]any{"k": int64(-4)}, nil, true, int64(math.MaxInt64)},
		Examples: []psm.Example{
			{Args: []any{int64(1), 1.0}, Want: map[string]any{"n": 3.0}},
			{Args: nil, Want: nil, WantErr: "boom"},
		},
	}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	var out psm.Mission
	require.NoError(t, json.Unmarshal(b, &out))
	require.Equal(t, in, out, "round trip of %s", b)
}
