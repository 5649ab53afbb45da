package psm_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
	"github.com/stretchr/testify/require"
)

// GenerateNever refuses at once: a not-understood error, no model call,
// no cycle, no change to the image.
func TestGenerateNeverCostsNoModelCall(t *testing.T) {
	model := persona.NewScripted(nil)
	m := memMind(t, model, func(o *psm.Options) { o.Policy = psm.Policy{Generation: psm.GenerateNever} })
	before, err := m.Image().Fingerprint(ctx)
	require.NoError(t, err)

	_, err = m.Send(ctx, m.Genesis(), "greet_the_architect")
	var nu *psm.NotUnderstoodError
	require.ErrorAs(t, err, &nu)
	require.Equal(t, psm.NotUnderstoodError{Receiver: m.Genesis(), Selector: "greet_the_architect", Policy: psm.GenerateNever}, *nu)
	require.ErrorIs(t, err, uvm.ErrNotUnderstood)
	require.ErrorIs(t, err, psm.ErrGenerationOff)
	var unu *uvm.NotUnderstoodError
	require.ErrorAs(t, err, &unu, "uvm's error is in the chain")
	require.Contains(t, err.Error(), `object 3 does not understand "greet_the_architect"`)
	require.Contains(t, err.Error(), `"never"`)

	// Through the explicit doesNotUnderstand send too.
	_, err = m.Send(ctx, m.Genesis(), "doesNotUnderstand", "another_one")
	require.ErrorIs(t, err, psm.ErrGenerationOff)

	require.Empty(t, model.Calls(), "no model call")
	recs, err := m.Cycles(ctx)
	require.NoError(t, err)
	require.Empty(t, recs, "no cycle")
	after, err := m.Image().Fingerprint(ctx)
	require.NoError(t, err)
	require.Equal(t, before, after, "not even a record")
}

// A policy is a slot: set on an object, it holds for its descendants
// and not for the rest of the image.
func TestPolicyIsInherited(t *testing.T) {
	model := persona.NewScripted([]persona.Reply{plan("greeting"), {Persona: "ALFRED", Text: code(greetSrc)}})
	m := memMind(t, model, nil)
	locked, err := m.New(ctx)
	require.NoError(t, err)
	require.NoError(t, m.SetPolicy(ctx, locked, psm.Policy{Generation: psm.GenerateNever}))
	child, err := m.New(ctx, locked)
	require.NoError(t, err)

	p, err := m.Policy(ctx, child)
	require.NoError(t, err)
	require.Equal(t, psm.Policy{Generation: psm.GenerateNever}, p)
	_, err = m.Send(ctx, child, "greet")
	require.ErrorIs(t, err, psm.ErrGenerationOff)
	require.Empty(t, model.Calls())

	p, err = m.Policy(ctx, m.Genesis())
	require.NoError(t, err)
	require.Equal(t, psm.Policy{Generation: psm.GenerateAuto}, p, "the image-wide default")
	v, err := m.Send(ctx, m.Genesis(), "greet")
	require.NoError(t, err)
	require.Equal(t, "hello, architect", v)

	// The child answers what its policy's holder answers; a method
	// installed by a person still runs.
	_, err = m.Install(ctx, locked, "greet", greetSrc)
	require.NoError(t, err)
	v, err = m.Send(ctx, child, "greet")
	require.NoError(t, err)
	require.Equal(t, "hello, architect", v)

	// An object outside traits' reach gets the image-wide policy.
	var plain uvm.OID
	require.NoError(t, m.Image().Update(ctx, func(tx *uvm.Tx) error {
		o, err := tx.New()
		plain = o.OID()
		return err
	}))
	tr, err := m.Root(ctx, psm.RootTraits)
	require.NoError(t, err)
	require.NoError(t, m.SetPolicy(ctx, tr, psm.Policy{Generation: psm.GenerateNever, AllowNearMisses: true}))
	p, err = m.Policy(ctx, plain)
	require.NoError(t, err)
	require.Equal(t, psm.Policy{Generation: psm.GenerateNever, AllowNearMisses: true}, p)
}

// A policy slot holding something else is an error naming the object
// and the slot; a bad policy in Options fails Open.
func TestInvalidPolicy(t *testing.T) {
	m := memMind(t, persona.NewScripted(nil), nil)
	oid, err := m.New(ctx)
	require.NoError(t, err)
	setSlots(t, m, oid, psm.SlotGeneration, "sometimes")
	_, err = m.Send(ctx, oid, "greet")
	require.ErrorIs(t, err, psm.ErrPolicy)
	require.Contains(t, err.Error(), `slot "generation" of object`)
	require.Contains(t, err.Error(), `"sometimes"`)
	_, err = m.Policy(ctx, oid)
	require.ErrorIs(t, err, psm.ErrPolicy)

	require.ErrorIs(t, m.SetPolicy(ctx, oid, psm.Policy{Generation: "maybe"}), psm.ErrPolicy)
	_, err = psm.Open(ctx, "", psm.Options{InMemory: true, Model: persona.NewScripted(nil), Policy: psm.Policy{Generation: "maybe"}})
	require.ErrorIs(t, err, psm.ErrPolicy)
}

// Options.Policy is recorded at the awakening; a later open with a
// non-zero Policy replaces it, with the zero value keeps it.
func TestOptionsPolicyAcrossOpens(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "image")
	approve := func(o *psm.Options) { o.Policy = psm.Policy{Generation: psm.GenerateApprove} }
	m, _ := openMind(t, dir, persona.NewScripted(nil), approve)
	p, err := m.Policy(ctx, m.Genesis())
	require.NoError(t, err)
	require.Equal(t, psm.GenerateApprove, p.Generation)
	require.NoError(t, m.Close())

	m, _ = openMind(t, dir, persona.NewScripted(nil), nil)
	p, err = m.Policy(ctx, m.Genesis())
	require.NoError(t, err)
	require.Equal(t, psm.GenerateApprove, p.Generation, "the zero value keeps the image's")
	require.NoError(t, m.Close())

	m, _ = openMind(t, dir, persona.NewScripted(nil), func(o *psm.Options) { o.Policy = psm.Policy{AllowNearMisses: true} })
	p, err = m.Policy(ctx, m.Genesis())
	require.NoError(t, err)
	require.Equal(t, psm.Policy{Generation: psm.GenerateAuto, AllowNearMisses: true}, p)
}

// A selector a typo away from one the object answers is refused with
// "did you mean", without a model call, unless the policy allows near
// misses.
func TestTypoGuard(t *testing.T) {
	model := persona.NewScripted([]persona.Reply{plan("greeting"), {Persona: "ALFRED", Expect: `"gret"`, Text: code(strings.ReplaceAll(greetSrc, "greet", "gret"))}})
	m := memMind(t, model, nil)
	oid, err := m.New(ctx)
	require.NoError(t, err)
	_, err = m.Install(ctx, oid, "greet", greetSrc)
	require.NoError(t, err)
	setSlots(t, m, oid, "greeting_count", 1)

	for _, tc := range []struct {
		sel  string
		want []string
	}{
		{"gret", []string{"greet"}},                    // a letter left out
		{"greeet", []string{"greet"}},                  // one doubled
		{"grete", []string{"greet"}},                   // two swapped
		{"Greet", []string{"greet"}},                   // the case of one
		{"greer", []string{"greet"}},                   // the key next to it
		{"nmae", []string{"name"}},                     // traits' name, through delegation
		{"clnoe", []string{"clone"}},                   // traits' clone
		{"greetign_count", []string{"greeting_count"}}, // a data slot, two edits for a long selector
	} {
		t.Run(tc.sel, func(t *testing.T) {
			_, err := m.Send(ctx, oid, tc.sel)
			var nu *psm.NotUnderstoodError
			require.ErrorAs(t, err, &nu)
			require.ErrorIs(t, err, psm.ErrNearMiss)
			require.ErrorIs(t, err, uvm.ErrNotUnderstood)
			require.Equal(t, tc.want, nu.DidYouMean)
			require.Contains(t, err.Error(), "did you mean")
		})
	}
	require.Empty(t, model.Calls(), "no model call for a typo")

	// Not typos: another word, a short selector, a number.
	for _, sel := range []string{"inner", "close", "greet_2", "gre", "greeting"} {
		require.False(t, isNearMissOf(t, m, oid, sel), sel)
	}

	// Allowed near misses go to a cycle.
	require.NoError(t, m.SetPolicy(ctx, oid, psm.Policy{AllowNearMisses: true}))
	v, err := m.Send(ctx, oid, "gret")
	require.NoError(t, err)
	require.Equal(t, "hello, architect", v)
	require.Len(t, model.Calls(), 2, "a cycle wrote it")
}

// isNearMissOf reports whether sending sel to a child of oid under
// GenerateNever is refused as a near miss (the guard speaks first)
// rather than for the policy.
func isNearMissOf(t *testing.T, m *psm.Mind, oid uvm.OID, sel string) bool {
	t.Helper()
	probe, err := m.New(ctx, oid)
	require.NoError(t, err)
	require.NoError(t, m.SetPolicy(ctx, probe, psm.Policy{Generation: psm.GenerateNever}))
	_, err = m.Send(ctx, probe, sel)
	require.ErrorIs(t, err, uvm.ErrNotUnderstood)
	return errors.Is(err, psm.ErrNearMiss)
}

// A persona facet is meant, not a typo: its selector goes to a cycle
// even when the object answers one near it.
func TestTypoGuardLetsFacetsThrough(t *testing.T) {
	script := persona.NewScripted([]persona.Reply{
		plan("weather"),
		{Expect: "say something about the weather", Text: code(`package m

import "batos"

func small_talk(self batos.Self, args []any) (any, error) {
	return "lovely weather", nil
}`)},
	})
	m := memMind(t, script, nil)
	var target uvm.OID
	require.NoError(t, m.Image().Update(ctx, func(tx *uvm.Tx) error {
		robin, err := persona.Prototype(tx, persona.ROBIN)
		if err != nil {
			return err
		}
		if err := robin.Set("facets", map[string]any{"small_talk": "say something about the weather"}); err != nil {
			return err
		}
		o, err := tx.New()
		if err != nil {
			return err
		}
		target = o.OID()
		if err := o.Set("small_tall", "a near miss"); err != nil {
			return err
		}
		return o.SetParents(robin)
	}))
	require.True(t, isNearMissOf(t, m, target, "small_tal"), "the guard is on")
	v, err := m.Send(ctx, target, "small_talk")
	require.NoError(t, err)
	require.Equal(t, "lovely weather", v)
}
