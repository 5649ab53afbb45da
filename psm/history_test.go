package psm_test

import (
	"strings"
	"testing"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/psm"
	"github.com/stretchr/testify/require"
)

// History tells who wrote each version and why, Diff shows what changed,
// and Revert restores an old source as a new version that says so.
func TestMindHistoryDiffRevert(t *testing.T) {
	model := persona.NewScripted([]persona.Reply{plan("greeting"), {Persona: "ALFRED", Text: code(greetSrc)}})
	m := memMind(t, model, nil)
	_, err := m.Send(ctx, m.Genesis(), "greet")
	require.NoError(t, err)
	recs, err := m.Cycles(ctx)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	require.Equal(t, "host model *persona.Scripted", recs[0].Model, "the record names the model")

	_, err = m.Install(ctx, m.Genesis(), "greet", greetNamed+"\n", psm.By("ada"), psm.Because("greet by name"), psm.WithArgs("Ada"))
	require.NoError(t, err)

	h, err := m.History(ctx, m.Genesis(), "greet")
	require.NoError(t, err)
	require.Len(t, h, 2)
	v1, v2 := h[0], h[1]
	require.Equal(t, 1, v1.Version)
	require.Equal(t, "ALFRED", v1.Author)
	require.Equal(t, "host model *persona.Scripted", v1.Model)
	require.Equal(t, recs[0].ID, v1.CycleID)
	require.Equal(t, `object 3 did not understand "greet"`, v1.Why)
	require.False(t, v1.Current)
	require.Equal(t, greetSrc+"\n", v1.Source, "as the reply held it")
	require.Equal(t, psm.Version{
		Object: m.Genesis(), Selector: "greet", Version: 2, Source: greetNamed + "\n", Current: true,
		Author: "ada", Why: "greet by name", Args: []any{"Ada"}, Created: v2.Created,
	}, v2)
	require.False(t, v2.Created.Before(v1.Created))

	d, err := m.Diff(ctx, m.Genesis(), "greet", 1, 2)
	require.NoError(t, err)
	require.Equal(t, `--- greet v1 (object 3)
+++ greet v2 (object 3)
@@ -2,7 +2,8 @@
 
 import "batos"
 
-// greet answers a greeting.
+// greet greets whoever is named.
 func greet(self batos.Self, args []any) (any, error) {
-	return "hello, architect", nil
+	name, _ := args[0].(string)
+	return "hello, " + name, nil
 }
`, d)
	same, err := m.Diff(ctx, m.Genesis(), "greet", 2, 2)
	require.NoError(t, err)
	require.Empty(t, same)
	_, err = m.Diff(ctx, m.Genesis(), "greet", 1, 7)
	require.ErrorIs(t, err, psm.ErrNoSuchVersion)
	require.Contains(t, err.Error(), `"greet" v7 on object 3`)

	// Revert: v3 restores v1's source; its dry run uses v1's arguments
	// (none: the message was sent without).
	v3, err := m.Revert(ctx, m.Genesis(), "greet", 1, psm.By("grace"))
	require.NoError(t, err)
	require.Equal(t, 3, v3.Version)
	require.Equal(t, 1, v3.Restores)
	require.Equal(t, "grace", v3.Author)
	require.Equal(t, "revert to v1", v3.Why)
	require.Equal(t, v1.Source, v3.Source)
	require.True(t, v3.Current)
	got, err := m.Send(ctx, m.Genesis(), "greet")
	require.NoError(t, err)
	require.Equal(t, "hello, architect", got)
	d, err = m.Diff(ctx, m.Genesis(), "greet", 1, 3)
	require.NoError(t, err)
	require.Empty(t, d)

	h, err = m.History(ctx, m.Genesis(), "greet")
	require.NoError(t, err)
	require.Len(t, h, 3, "every version is kept")
	require.Equal(t, []bool{false, false, true}, []bool{h[0].Current, h[1].Current, h[2].Current})

	_, err = m.Revert(ctx, m.Genesis(), "greet", 9)
	require.ErrorIs(t, err, psm.ErrNoSuchVersion)
	none, err := m.History(ctx, m.Genesis(), "never_written")
	require.NoError(t, err)
	require.Empty(t, none)
	require.Equal(t, 2, len(model.Calls()), "one cycle: a plan and a method")
}

// Reverting to a version whose arguments the method needs reuses them.
func TestMindRevertUsesTheVersionsArguments(t *testing.T) {
	m := memMind(t, persona.NewScripted(nil), nil)
	_, err := m.Install(ctx, m.Genesis(), "greet", greetNamed, psm.WithArgs("Ada"))
	require.NoError(t, err)
	_, err = m.Install(ctx, m.Genesis(), "greet", strings.ReplaceAll(greetNamed, `"hello, "`, `"hi, "`), psm.WithArgs("Ada"))
	require.NoError(t, err)
	v, err := m.Revert(ctx, m.Genesis(), "greet", 1)
	require.NoError(t, err)
	require.Equal(t, []any{"Ada"}, v.Args)
	got, err := m.Send(ctx, m.Genesis(), "greet", "Grace")
	require.NoError(t, err)
	require.Equal(t, "hello, Grace", got)
}

// Mind.Fingerprint leaves the audit trail out: a failed cycle changes
// the image's records, not its fingerprint.
func TestMindFingerprintLeavesTheAuditTrailOut(t *testing.T) {
	m := memMind(t, persona.NewScripted(nil), nil) // every model call fails
	before, err := m.Fingerprint(ctx)
	require.NoError(t, err)
	all, err := m.Image().Fingerprint(ctx)
	require.NoError(t, err)
	_, err = m.Send(ctx, m.Genesis(), "greet")
	require.ErrorIs(t, err, psm.ErrCycleFailed)
	after, err := m.Fingerprint(ctx)
	require.NoError(t, err)
	require.Equal(t, before, after)
	allAfter, err := m.Image().Fingerprint(ctx)
	require.NoError(t, err)
	require.NotEqual(t, all, allAfter, "the record is in the image")
}
