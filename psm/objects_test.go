package psm_test

import (
	"path/filepath"
	"testing"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
	"github.com/stretchr/testify/require"
)

// parentsOf reads an object's parents.
func parentsOf(t *testing.T, m *psm.Mind, oid uvm.OID) []uvm.OID {
	t.Helper()
	var out []uvm.OID
	require.NoError(t, m.Image().View(ctx, func(tx *uvm.Tx) error {
		o, err := tx.Object(oid)
		if err != nil {
			return err
		}
		out = o.Parents()
		return nil
	}))
	return out
}

// setSlots sets data slots on an object.
func setSlots(t *testing.T, m *psm.Mind, oid uvm.OID, kv ...any) {
	t.Helper()
	require.NoError(t, m.Image().Update(ctx, func(tx *uvm.Tx) error {
		o, err := tx.Object(oid)
		if err != nil {
			return err
		}
		for i := 0; i < len(kv); i += 2 {
			if err := o.Set(kv[i].(string), kv[i+1]); err != nil {
				return err
			}
		}
		return nil
	}))
}

func TestMindNew(t *testing.T) {
	model := persona.NewScripted(nil)
	m := memMind(t, model, nil)
	traits, err := m.Root(ctx, psm.RootTraits)
	require.NoError(t, err)

	t.Run("no parents: a child of traits", func(t *testing.T) {
		oid, err := m.New(ctx)
		require.NoError(t, err)
		require.Equal(t, []uvm.OID{traits}, parentsOf(t, m, oid))
	})
	t.Run("a parent that reaches traits is enough", func(t *testing.T) {
		oid, err := m.New(ctx, m.Genesis())
		require.NoError(t, err)
		require.Equal(t, []uvm.OID{m.Genesis()}, parentsOf(t, m, oid))
	})
	t.Run("parents that do not reach traits get it last", func(t *testing.T) {
		var plain uvm.OID
		require.NoError(t, m.Image().Update(ctx, func(tx *uvm.Tx) error {
			o, err := tx.New()
			plain = o.OID()
			return err
		}))
		oid, err := m.New(ctx, plain)
		require.NoError(t, err)
		require.Equal(t, []uvm.OID{plain, traits}, parentsOf(t, m, oid))
	})
	t.Run("a missing parent is named", func(t *testing.T) {
		_, err := m.New(ctx, 99999)
		require.ErrorIs(t, err, uvm.ErrNotFound)
		require.Contains(t, err.Error(), "parent 99999")
	})
	require.Empty(t, model.Calls(), "no model was asked")
}

func TestMindClone(t *testing.T) {
	model := persona.NewScripted(nil)
	m := memMind(t, model, nil)
	proto, err := m.New(ctx)
	require.NoError(t, err)
	setSlots(t, m, proto, "greeting", "hello", "list", []any{int64(1), int64(2)})

	c, err := m.Clone(ctx, proto)
	require.NoError(t, err)
	require.NotEqual(t, proto, c)
	v, err := m.Send(ctx, c, "greeting")
	require.NoError(t, err)
	require.Equal(t, "hello", v)
	require.Equal(t, parentsOf(t, m, proto), parentsOf(t, m, c))

	// A deep copy: changing the clone leaves the prototype alone.
	setSlots(t, m, c, "list", []any{int64(3)})
	v, err = m.Send(ctx, proto, "list")
	require.NoError(t, err)
	require.Equal(t, []any{int64(1), int64(2)}, v)

	_, err = m.Clone(ctx, 99999)
	require.ErrorIs(t, err, uvm.ErrNotFound)
	require.Contains(t, err.Error(), "object 99999")
	require.Empty(t, model.Calls(), "no model was asked")
}

func TestMindRoot(t *testing.T) {
	m := memMind(t, persona.NewScripted(nil), nil)
	g, err := m.Root(ctx, psm.RootGenesis)
	require.NoError(t, err)
	require.Equal(t, m.Genesis(), g)
	for _, name := range []string{psm.RootTraits, psm.RootKnowledge, psm.RootOrchestrator, psm.StateRoot(psm.Idle), persona.RootName(persona.BRICK)} {
		_, err := m.Root(ctx, name)
		require.NoError(t, err, name)
	}
	_, err = m.Root(ctx, "no.such.root")
	require.ErrorIs(t, err, uvm.ErrNotFound)
	require.Contains(t, err.Error(), `"no.such.root"`)
}

// An ambiguous send names its holders; SendVia settles it through either.
func TestMindSendVia(t *testing.T) {
	model := persona.NewScripted(nil)
	m := memMind(t, model, nil)
	a, err := m.New(ctx)
	require.NoError(t, err)
	b, err := m.New(ctx)
	require.NoError(t, err)
	setSlots(t, m, a, "greeting", "hello from a")
	setSlots(t, m, b, "greeting", "hello from b")
	child, err := m.New(ctx, a, b)
	require.NoError(t, err)

	_, err = m.Send(ctx, child, "greeting")
	var amb *uvm.AmbiguousError
	require.ErrorAs(t, err, &amb)
	require.Equal(t, []uvm.OID{a, b}, amb.Holders)

	for via, want := range map[uvm.OID]string{a: "hello from a", b: "hello from b"} {
		v, err := m.SendVia(ctx, child, via, "greeting")
		require.NoError(t, err)
		require.Equal(t, want, v)
	}
	// clone, through traits, whichever branch: not ambiguous (one holder).
	v, err := m.Send(ctx, child, "clone")
	require.NoError(t, err)
	require.IsType(t, uvm.Ref{}, v)

	_, err = m.SendVia(ctx, child, m.Genesis(), "greeting")
	require.ErrorIs(t, err, uvm.ErrNotParent)
	require.Empty(t, model.Calls(), "no model was asked")
}

// Every primordial object a user can send to answers clone through
// traits, without asking a model.
func TestPrimordialObjectsDelegateToTraits(t *testing.T) {
	model := persona.NewScripted(nil)
	m := memMind(t, model, nil)
	roots := []string{psm.RootGenesis, psm.RootLLM, psm.RootOrchestrator, psm.RootKnowledge}
	for _, s := range psm.States() {
		roots = append(roots, psm.StateRoot(s))
	}
	for _, p := range []string{persona.ALFRED, persona.BRICK, persona.ROBIN, persona.BABS} {
		roots = append(roots, persona.RootName(p))
	}
	for _, name := range roots {
		oid, err := m.Root(ctx, name)
		require.NoError(t, err, name)
		v, err := m.Send(ctx, oid, "clone")
		require.NoError(t, err, "clone on %s", name)
		ref, ok := v.(uvm.Ref)
		require.True(t, ok, "clone on %s answered %T", name, v)
		require.NotEqual(t, oid, ref.OID)
	}
	require.Empty(t, model.Calls(), "clone asked a model")
	recs, err := m.Cycles(ctx)
	require.NoError(t, err)
	require.Empty(t, recs, "clone started a cycle")
}

// An image of version 2 (primordial objects without traits, traits
// without a generation policy) is upgraded when it opens.
func TestVersion2ImageIsUpgraded(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "image")
	m, _ := openMind(t, dir, persona.NewScripted(nil), nil)
	require.NoError(t, m.Close())
	brick := persona.RootName(persona.BRICK)
	rewrite(t, dir, func(tx *uvm.Tx) error {
		for _, name := range []string{brick, psm.RootKnowledge, psm.RootOrchestrator, psm.StateRoot(psm.Idle)} {
			o, err := tx.Root(name)
			if err != nil {
				return err
			}
			if err := o.Delete(uvm.ParentsSlot); err != nil {
				return err
			}
		}
		traits, err := tx.Root(psm.RootTraits)
		if err != nil {
			return err
		}
		for _, s := range []string{psm.SlotGeneration, psm.SlotAllowNearMisses} {
			if err := traits.Delete(s); err != nil {
				return err
			}
		}
		orch, err := tx.Root(psm.RootOrchestrator)
		if err != nil {
			return err
		}
		return orch.Set("image_version", 2)
	})

	model := persona.NewScripted(nil)
	m, _ = openMind(t, dir, model, nil)
	require.Equal(t, int64(psm.ImageVersion), orchestratorVersion(t, m))
	oid, err := m.Root(ctx, brick)
	require.NoError(t, err)
	_, err = m.Send(ctx, oid, "clone")
	require.NoError(t, err)
	p, err := m.Policy(ctx, oid)
	require.NoError(t, err)
	require.Equal(t, psm.Policy{Generation: psm.GenerateAuto}, p)
	require.Empty(t, model.Calls())
}
