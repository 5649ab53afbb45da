package persona_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/uvmtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIncarnateIdempotent(t *testing.T) {
	ctx := context.Background()
	im := uvmtest.Mem(t, uvm.Options{})
	var first map[string]uvm.OID
	uvmtest.Update(t, im, func(tx *uvm.Tx) error {
		if err := persona.Incarnate(ctx, tx); err != nil {
			return err
		}
		var err error
		first, err = tx.Roots()
		return err
	})
	require.Len(t, first, 4, "roots: the four personas")
	// Edit at runtime, drop a slot, incarnate again.
	uvmtest.Update(t, im, func(tx *uvm.Tx) error {
		c, err := persona.ReadCodex(tx, persona.BRICK)
		if err != nil {
			return err
		}
		c.Identity = "BRICK, edited by the architect."
		if err := persona.WriteCodex(ctx, tx, c); err != nil {
			return err
		}
		robin, err := persona.Prototype(tx, persona.ROBIN)
		if err != nil {
			return err
		}
		return robin.Delete(persona.SlotVoice)
	})
	uvmtest.Update(t, im, func(tx *uvm.Tx) error {
		require.NoError(t, persona.Incarnate(ctx, tx))
		roots, err := tx.Roots()
		require.NoError(t, err)
		assert.Equal(t, first, roots, "roots after a second Incarnate")
		brick, err := persona.ReadCodex(tx, persona.BRICK)
		require.NoError(t, err)
		assert.Equal(t, "BRICK, edited by the architect.", brick.Identity, "the runtime edit kept")
		robin, err := persona.ReadCodex(tx, persona.ROBIN)
		require.NoError(t, err)
		assert.Equal(t, persona.DefaultCodices()[2].Voice, robin.Voice, "the missing slot restored")
		names, err := persona.Names(tx)
		require.NoError(t, err)
		assert.Equal(t, []string{"ALFRED", "BABS", "BRICK", "ROBIN"}, names)
		return nil
	})
}

// The codex is data in the image: it survives a reopen exactly.
func TestCodexPersists(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	im := uvmtest.Disk(t, dir, uvm.Options{})
	custom := persona.Codex{Name: "critic", Role: "review", Identity: "Reads everything twice.",
		Facets: map[string]string{"find_flaws": "List the flaws of the argument."}}
	uvmtest.Update(t, im, func(tx *uvm.Tx) error {
		if err := persona.Incarnate(ctx, tx); err != nil {
			return err
		}
		return persona.WriteCodex(ctx, tx, custom)
	})
	im = uvmtest.Reopen(t, im, dir, uvm.Options{})
	uvmtest.View(t, im, func(tx *uvm.Tx) error {
		for _, want := range append(persona.DefaultCodices(), persona.Codex{Name: "CRITIC", Role: "review",
			Identity: "Reads everything twice.", Facets: map[string]string{"find_flaws": "List the flaws of the argument."}}) {
			got, err := persona.ReadCodex(tx, want.Name)
			require.NoError(t, err)
			assert.Equal(t, want, got)
		}
		return nil
	})
}

func TestDefaultCodices(t *testing.T) {
	cs := persona.DefaultCodices()
	require.Len(t, cs, 4)
	require.Equal(t, persona.DefaultPersona, cs[0].Name, "the first codex")
	seen := map[string]bool{}
	for _, c := range cs {
		assert.NoError(t, c.Validate())
		assert.NotEmpty(t, c.Role, "%s: role", c.Name)
		assert.GreaterOrEqual(t, len(c.Identity), 80, "%s: identity too thin", c.Name)
		assert.GreaterOrEqual(t, len(c.Instructions), 80, "%s: instructions too thin", c.Name)
		assert.NotEmpty(t, c.Voice, "%s: voice", c.Name)
		assert.GreaterOrEqual(t, len(c.Facets), 2, "%s: facets", c.Name)
		for sel := range c.Facets {
			assert.False(t, seen[sel], "facet %q appears twice", sel)
			seen[sel] = true
		}
		sp := c.SystemPrompt()
		for _, part := range []string{"You are " + c.Name, c.Identity, c.Instructions, c.Voice} {
			assert.Contains(t, sp, part, "%s: system prompt", c.Name)
		}
	}
	cs[0].Facets["mutated"] = "x"
	assert.NotContains(t, persona.DefaultCodices()[0].Facets, "mutated", "DefaultCodices shares its maps between calls")
}

func TestCodexValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    persona.Codex
	}{
		{"EmptyName", persona.Codex{}},
		{"BadName", persona.Codex{Name: "bad name"}},
		{"DotName", persona.Codex{Name: "a.b"}},
		{"BadFacet", persona.Codex{Name: "X", Facets: map[string]string{"not-an-ident": "x"}}},
		{"DigitFacet", persona.Codex{Name: "X", Facets: map[string]string{"1st": "x"}}},
		{"EmptyIntent", persona.Codex{Name: "X", Facets: map[string]string{"ok_name": "  "}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorIs(t, tc.c.Validate(), persona.ErrBadCodex)
		})
	}
}

func TestOf(t *testing.T) {
	ctx := context.Background()
	im := uvmtest.Mem(t, uvm.Options{})
	uvmtest.Update(t, im, func(tx *uvm.Tx) error {
		require.NoError(t, persona.Incarnate(ctx, tx))
		brick, err := persona.Prototype(tx, persona.BRICK)
		require.NoError(t, err)
		robin, err := persona.Prototype(tx, persona.ROBIN)
		require.NoError(t, err)
		newObj := func(parents ...*uvm.Object) *uvm.Object {
			o, err := tx.New()
			require.NoError(t, err)
			if len(parents) > 0 {
				require.NoError(t, o.SetParents(parents...))
			}
			return o
		}
		plain := newObj()
		child := newObj(brick)
		grandchild := newObj(child)
		own := newObj(brick)
		require.NoError(t, own.Set(persona.SlotPersona, "robin"))
		unknown := newObj()
		require.NoError(t, unknown.Set(persona.SlotPersona, "NOBODY"))
		notString := newObj()
		require.NoError(t, notString.Set(persona.SlotPersona, int64(42)))
		ambiguous := newObj(brick, robin)
		diamond := newObj(newObj(brick), newObj(brick))
		for _, tc := range []struct {
			name string
			obj  *uvm.Object
			want string
			err  error
		}{
			{"Plain", plain, persona.ALFRED, nil},
			{"Prototype", brick, persona.BRICK, nil},
			{"Child", child, persona.BRICK, nil},
			{"Grandchild", grandchild, persona.BRICK, nil},
			{"OwnSlotWins", own, persona.ROBIN, nil},
			{"Diamond", diamond, persona.BRICK, nil},
			{"Unknown", unknown, "", persona.ErrUnknownPersona},
			{"NotString", notString, "", persona.ErrBadCodex},
			{"Ambiguous", ambiguous, "", uvm.ErrAmbiguous},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := persona.Of(tx, tc.obj)
				if tc.err != nil {
					require.ErrorIs(t, err, tc.err, "got %q", got)
					return
				}
				require.NoError(t, err)
				require.Equal(t, tc.want, got)
			})
		}
		return nil
	})
	// Without personas in the image, even the default is unknown.
	bare := uvmtest.Mem(t, uvm.Options{})
	uvmtest.Update(t, bare, func(tx *uvm.Tx) error {
		o, err := tx.New()
		require.NoError(t, err)
		_, err = persona.Of(tx, o)
		assert.ErrorIs(t, err, persona.ErrUnknownPersona, "before Incarnate")
		return nil
	})
}

// facetHook stands in for the cycle: it receives the messages nobody
// understands and reads the facet's intent, as psm will.
type facetHook struct {
	mu      sync.Mutex
	handed  []string // selector: intent
	refused []string
}

func (h *facetHook) DoesNotUnderstand(ctx context.Context, msg *uvm.Message) (any, error) {
	intent, ok, err := persona.FacetIntent(msg.Tx, msg.Receiver, msg.Selector)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !ok {
		h.refused = append(h.refused, msg.Selector)
		return nil, &uvm.NotUnderstoodError{Receiver: msg.Receiver.OID(), Selector: msg.Selector}
	}
	h.handed = append(h.handed, msg.Selector+": "+intent)
	// The cycle would write and install a method; a primitive stands in.
	if err := msg.Receiver.Set(msg.Selector, uvm.Primitive{Name: "installed"}); err != nil {
		return nil, err
	}
	return "written for: " + intent, nil
}

func TestFacetHandOff(t *testing.T) {
	ctx := context.Background()
	hook := &facetHook{}
	im := uvmtest.Mem(t, uvm.Options{DoesNotUnderstand: hook})
	require.NoError(t, im.RegisterPrimitive("installed", func(ctx context.Context, c *uvm.Call) (any, error) {
		return "installed method answers", nil
	}))
	brickIntent := persona.DefaultCodices()[1].Facets["tally_words"]
	uvmtest.Update(t, im, func(tx *uvm.Tx) error {
		require.NoError(t, persona.Incarnate(ctx, tx))
		brick, err := persona.Prototype(tx, persona.BRICK)
		require.NoError(t, err)
		obj, err := tx.New()
		require.NoError(t, err)
		require.NoError(t, obj.SetParents(brick))

		// A facet is not a slot: uvm does not understand it.
		_, err = tx.Lookup(obj, "tally_words")
		assert.ErrorIs(t, err, uvm.ErrNotUnderstood, "Lookup of a facet")
		// First send: through the hook, with the intent.
		got, err := tx.Send(ctx, obj, "tally_words", "a b a")
		if assert.NoError(t, err, "first send") {
			assert.Equal(t, "written for: "+brickIntent, got, "first send: the hook's answer with the intent")
		}
		// Second send: the installed method answers; the hook is not called.
		got, err = tx.Send(ctx, obj, "tally_words", "a b a")
		if assert.NoError(t, err, "second send") {
			assert.Equal(t, "installed method answers", got, "second send")
		}
		// Not a facet: the hook declines.
		_, err = tx.Send(ctx, obj, "no_such_facet")
		assert.ErrorIs(t, err, uvm.ErrNotUnderstood, "non-facet")
		// Another persona's facet is not BRICK's.
		_, ok, _ := persona.FacetIntent(tx, obj, "ask_why")
		assert.False(t, ok, "ROBIN's facet ask_why reachable from a BRICK object")
		// A facet of the object's own chain, and the persona's, both reachable.
		local, err := tx.New()
		require.NoError(t, err)
		require.NoError(t, local.SetParents(obj))
		require.NoError(t, local.Set(persona.SlotFacets, map[string]any{"local_facet": "Do the local thing."}))
		fs, err := persona.Facets(tx, local)
		require.NoError(t, err)
		assert.Equal(t, "Do the local thing.", fs["local_facet"], "local_facet")
		assert.NotEmpty(t, fs["deconstruct"], "BRICK's facets")
		assert.Empty(t, fs["audit_slots"], "not ALFRED's facets")
		// An object that names ROBIN in its own slot reaches ROBIN's facets.
		rob, err := tx.New()
		require.NoError(t, err)
		require.NoError(t, rob.Set(persona.SlotPersona, persona.ROBIN))
		intent, ok, err := persona.FacetIntent(tx, rob, "ask_why")
		if assert.NoError(t, err) && assert.True(t, ok, "ROBIN's ask_why") {
			assert.Contains(t, intent, "What is", "ROBIN's ask_why")
		}
		return nil
	})
	require.Len(t, hook.handed, 1, "one hand-off")
	require.True(t, strings.HasPrefix(hook.handed[0], "tally_words: "), "got handed %q, want tally_words", hook.handed)
	require.Equal(t, []string{"no_such_facet"}, hook.refused, "one refusal")
}

func TestFacetBadData(t *testing.T) {
	ctx := context.Background()
	im := uvmtest.Mem(t, uvm.Options{})
	discard := errors.New("discard")
	err := im.Update(ctx, func(tx *uvm.Tx) error {
		require.NoError(t, persona.Incarnate(ctx, tx))
		o, err := tx.New()
		require.NoError(t, err)
		require.NoError(t, o.Set(persona.SlotFacets, "not a map"))
		_, _, err = persona.FacetIntent(tx, o, "x")
		assert.ErrorIs(t, err, persona.ErrBadCodex, "facets not a map")
		require.NoError(t, o.Set(persona.SlotFacets, map[string]any{"x": int64(1)}))
		_, _, err = persona.FacetIntent(tx, o, "x")
		assert.ErrorIs(t, err, persona.ErrBadCodex, "intent not a string")
		brick, err := persona.Prototype(tx, persona.BRICK)
		require.NoError(t, err)
		require.NoError(t, brick.Set(persona.SlotIdentity, int64(7)))
		_, err = persona.ReadCodex(tx, persona.BRICK)
		assert.ErrorIs(t, err, persona.ErrBadCodex, "identity not a string")
		_, err = persona.ReadCodex(tx, "NOBODY")
		assert.ErrorIs(t, err, persona.ErrUnknownPersona, "unknown persona")
		return discard
	})
	require.ErrorIs(t, err, discard)
}
