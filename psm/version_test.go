package psm_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
	"github.com/stretchr/testify/require"
)

// rewrite opens the image of a closed mind directly and changes it.
func rewrite(t *testing.T, dir string, fn func(tx *uvm.Tx) error) {
	t.Helper()
	im, err := uvm.Open(dir, uvm.Options{})
	require.NoError(t, err)
	defer im.Close()
	require.NoError(t, im.Update(ctx, fn))
}

func orchestratorVersion(t *testing.T, m *psm.Mind) int64 {
	t.Helper()
	var v any
	require.NoError(t, m.Image().View(ctx, func(tx *uvm.Tx) error {
		o, err := tx.Root(psm.RootOrchestrator)
		if err != nil {
			return err
		}
		v, _ = o.Get("image_version")
		return nil
	}))
	n, _ := v.(int64)
	return n
}

// An image awakened by version 1 of the library (states without
// behaviour slots, no knowledge catalog) is upgraded when it opens, and
// its cycles run.
func TestOlderImageIsUpgraded(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "image")
	m, _ := openMind(t, dir, persona.NewScripted(nil), nil)
	require.Equal(t, int64(psm.ImageVersion), orchestratorVersion(t, m))
	require.NoError(t, m.Close())

	rewrite(t, dir, func(tx *uvm.Tx) error {
		for _, s := range psm.States() {
			o, err := tx.Root(psm.StateRoot(s))
			if err != nil {
				return err
			}
			for _, slot := range []string{psm.SlotBehaviour, psm.SlotRetry} {
				if o.Has(slot) {
					if err := o.Delete(slot); err != nil {
						return err
					}
				}
			}
		}
		k, err := tx.Root(psm.RootKnowledge)
		if err != nil {
			return err
		}
		if err := tx.Delete(k); err != nil {
			return err
		}
		orch, err := tx.Root(psm.RootOrchestrator)
		if err != nil {
			return err
		}
		return orch.Set("image_version", 1)
	})

	m, _ = openMind(t, dir, persona.NewScripted([]persona.Reply{plan("greeting"), {Text: code(greetSrc)}}), nil)
	require.Equal(t, int64(psm.ImageVersion), orchestratorVersion(t, m))
	require.NoError(t, m.Image().View(ctx, func(tx *uvm.Tx) error {
		for _, s := range psm.States() {
			o, err := tx.Root(psm.StateRoot(s))
			require.NoError(t, err)
			require.True(t, o.Has(psm.SlotBehaviour), "state %s got its behaviour back", s)
		}
		_, err := tx.Root(psm.RootKnowledge)
		return err
	}))
	v, err := m.Send(ctx, m.Genesis(), "greet")
	require.NoError(t, err)
	require.Equal(t, "hello, architect", v)
}

func TestNewerImageIsRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "image")
	m, _ := openMind(t, dir, persona.NewScripted(nil), nil)
	require.NoError(t, m.Close())
	rewrite(t, dir, func(tx *uvm.Tx) error {
		orch, err := tx.Root(psm.RootOrchestrator)
		if err != nil {
			return err
		}
		return orch.Set("image_version", psm.ImageVersion+1)
	})
	_, err := psm.Open(ctx, dir, psm.Options{Model: persona.NewScripted(nil)})
	require.ErrorIs(t, err, psm.ErrImageVersion)
	require.Contains(t, err.Error(), "knows up to")

	// And the refusal changed nothing: the directory still opens as it was.
	rewrite(t, dir, func(tx *uvm.Tx) error {
		orch, err := tx.Root(psm.RootOrchestrator)
		require.NoError(t, err)
		v, _ := orch.Get("image_version")
		require.Equal(t, int64(psm.ImageVersion+1), v)
		return nil
	})
}

// A state machine broken in the image is refused at Open, naming the
// object and the slot.
func TestOpenRefusesABrokenMachine(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "image")
	m, _ := openMind(t, dir, persona.NewScripted(nil), nil)
	require.NoError(t, m.Close())
	rewrite(t, dir, func(tx *uvm.Tx) error {
		o, err := tx.Root(psm.StateRoot(psm.Delegating))
		if err != nil {
			return err
		}
		return o.Set(psm.SlotBehaviour, "psm.guess")
	})
	_, err := psm.Open(ctx, dir, psm.Options{Model: persona.NewScripted(nil)})
	require.ErrorIs(t, err, psm.ErrStateMachine)
	for _, want := range []string{"DELEGATING", `"behaviour"`, "psm.guess"} {
		require.Contains(t, err.Error(), want)
	}
}

// The knowledge catalog answers searches of the codex ingested at the
// awakening, by meaning, through the real memory package.
func TestKnowledgeCatalogSearchesTheCodex(t *testing.T) {
	m, err := psm.Open(ctx, "", psm.Options{InMemory: true, Model: persona.NewScripted(nil)})
	require.NoError(t, err)
	defer m.Close()
	var oid uvm.OID
	require.NoError(t, m.Image().View(ctx, func(tx *uvm.Tx) error {
		k, err := tx.Root(psm.RootKnowledge)
		if err != nil {
			return err
		}
		oid = k.OID()
		return nil
	}))
	v, err := m.Send(ctx, oid, "search", "the persistence covenant: MarkChanged after a write", 3)
	require.NoError(t, err)
	hits, ok := v.([]any)
	require.True(t, ok, "got %T", v)
	require.Len(t, hits, 3)
	found := false
	for _, h := range hits {
		text, _ := h.(map[string]any)["text"].(string)
		found = found || strings.Contains(text, "MarkChanged")
	}
	require.True(t, found, "a hit about the covenant: %v", hits)
}
