package persona_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/uvm"
)

func openImage(t testing.TB, dir string, opts uvm.Options) *uvm.Image {
	t.Helper()
	if dir == "" {
		opts.InMemory = true
	}
	im, err := uvm.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { im.Close() })
	return im
}

func update(t *testing.T, im *uvm.Image, fn func(tx *uvm.Tx) error) {
	t.Helper()
	if err := im.Update(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func TestIncarnateIdempotent(t *testing.T) {
	ctx := context.Background()
	im := openImage(t, "", uvm.Options{})
	var first map[string]uvm.OID
	update(t, im, func(tx *uvm.Tx) error {
		if err := persona.Incarnate(ctx, tx); err != nil {
			return err
		}
		var err error
		first, err = tx.Roots()
		return err
	})
	if len(first) != 4 {
		t.Fatalf("got roots %v, want the four personas", first)
	}
	// Edit at runtime, drop a slot, incarnate again.
	update(t, im, func(tx *uvm.Tx) error {
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
	update(t, im, func(tx *uvm.Tx) error {
		if err := persona.Incarnate(ctx, tx); err != nil {
			return err
		}
		roots, err := tx.Roots()
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(roots, first) {
			t.Errorf("got roots %v after a second Incarnate, want %v", roots, first)
		}
		brick, err := persona.ReadCodex(tx, persona.BRICK)
		if err != nil {
			return err
		}
		if brick.Identity != "BRICK, edited by the architect." {
			t.Errorf("got identity %q, want the runtime edit kept", brick.Identity)
		}
		robin, err := persona.ReadCodex(tx, persona.ROBIN)
		if err != nil {
			return err
		}
		if robin.Voice != persona.DefaultCodices()[2].Voice {
			t.Errorf("got voice %q, want the missing slot restored", robin.Voice)
		}
		names, err := persona.Names(tx)
		if err != nil {
			return err
		}
		if want := []string{"ALFRED", "BABS", "BRICK", "ROBIN"}; !slices.Equal(names, want) {
			t.Errorf("got names %v, want %v", names, want)
		}
		return nil
	})
}

// The codex is data in the image: it survives a reopen exactly.
func TestCodexPersists(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	im, err := uvm.Open(dir, uvm.Options{})
	if err != nil {
		t.Fatal(err)
	}
	custom := persona.Codex{Name: "critic", Role: "review", Identity: "Reads everything twice.",
		Facets: map[string]string{"find_flaws": "List the flaws of the argument."}}
	if err := im.Update(ctx, func(tx *uvm.Tx) error {
		if err := persona.Incarnate(ctx, tx); err != nil {
			return err
		}
		return persona.WriteCodex(ctx, tx, custom)
	}); err != nil {
		t.Fatal(err)
	}
	im.Close()
	im = openImage(t, dir, uvm.Options{})
	if err := im.View(ctx, func(tx *uvm.Tx) error {
		for _, want := range append(persona.DefaultCodices(), persona.Codex{Name: "CRITIC", Role: "review",
			Identity: "Reads everything twice.", Facets: map[string]string{"find_flaws": "List the flaws of the argument."}}) {
			got, err := persona.ReadCodex(tx, want.Name)
			if err != nil {
				return err
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v, want %+v", got, want)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestDefaultCodices(t *testing.T) {
	cs := persona.DefaultCodices()
	if len(cs) != 4 || cs[0].Name != persona.DefaultPersona {
		t.Fatalf("got %d codices starting with %q, want 4 starting with ALFRED", len(cs), cs[0].Name)
	}
	seen := map[string]bool{}
	for _, c := range cs {
		if err := c.Validate(); err != nil {
			t.Error(err)
		}
		if c.Role == "" || len(c.Identity) < 80 || len(c.Instructions) < 80 || c.Voice == "" || len(c.Facets) < 2 {
			t.Errorf("%s: codex too thin: %+v", c.Name, c)
		}
		for _, sel := range c.FacetSelectors() {
			if seen[sel] {
				t.Errorf("facet %q appears twice", sel)
			}
			seen[sel] = true
		}
		sp := c.SystemPrompt()
		for _, part := range []string{"You are " + c.Name, c.Identity, c.Instructions, c.Voice} {
			if !strings.Contains(sp, part) {
				t.Errorf("%s: system prompt lacks %q", c.Name, part)
			}
		}
	}
	cs[0].Facets["mutated"] = "x"
	if _, ok := persona.DefaultCodices()[0].Facets["mutated"]; ok {
		t.Error("DefaultCodices shares its maps between calls")
	}
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
			if err := tc.c.Validate(); !errors.Is(err, persona.ErrBadCodex) {
				t.Fatalf("got %v, want ErrBadCodex", err)
			}
		})
	}
}

func TestOf(t *testing.T) {
	ctx := context.Background()
	im := openImage(t, "", uvm.Options{})
	update(t, im, func(tx *uvm.Tx) error {
		if err := persona.Incarnate(ctx, tx); err != nil {
			return err
		}
		brick, _ := persona.Prototype(tx, persona.BRICK)
		robin, _ := persona.Prototype(tx, persona.ROBIN)
		newObj := func(parents ...*uvm.Object) *uvm.Object {
			o, err := tx.New()
			if err != nil {
				t.Fatal(err)
			}
			if len(parents) > 0 {
				if err := o.SetParents(parents...); err != nil {
					t.Fatal(err)
				}
			}
			return o
		}
		plain := newObj()
		child := newObj(brick)
		grandchild := newObj(child)
		own := newObj(brick)
		own.Set(persona.SlotPersona, "robin")
		unknown := newObj()
		unknown.Set(persona.SlotPersona, "NOBODY")
		notString := newObj()
		notString.Set(persona.SlotPersona, int64(42))
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
					if !errors.Is(err, tc.err) {
						t.Fatalf("got %q, %v; want error %v", got, err, tc.err)
					}
					return
				}
				if err != nil || got != tc.want {
					t.Fatalf("got %q, %v; want %q", got, err, tc.want)
				}
			})
		}
		return nil
	})
	// Without personas in the image, even the default is unknown.
	bare := openImage(t, "", uvm.Options{})
	update(t, bare, func(tx *uvm.Tx) error {
		o, _ := tx.New()
		if _, err := persona.Of(tx, o); !errors.Is(err, persona.ErrUnknownPersona) {
			t.Errorf("got %v, want ErrUnknownPersona before Incarnate", err)
		}
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
	im := openImage(t, "", uvm.Options{DoesNotUnderstand: hook})
	if err := im.RegisterPrimitive("installed", func(ctx context.Context, c *uvm.Call) (any, error) {
		return "installed method answers", nil
	}); err != nil {
		t.Fatal(err)
	}
	brickIntent := persona.DefaultCodices()[1].Facets["tally_words"]
	update(t, im, func(tx *uvm.Tx) error {
		if err := persona.Incarnate(ctx, tx); err != nil {
			return err
		}
		brick, _ := persona.Prototype(tx, persona.BRICK)
		obj, _ := tx.New()
		obj.SetParents(brick)

		// A facet is not a slot: uvm does not understand it.
		if _, err := tx.Lookup(obj, "tally_words"); !errors.Is(err, uvm.ErrNotUnderstood) {
			t.Errorf("Lookup of a facet: got %v, want not understood", err)
		}
		// First send: through the hook, with the intent.
		got, err := tx.Send(ctx, obj, "tally_words", "a b a")
		if err != nil || got != "written for: "+brickIntent {
			t.Errorf("first send: got %v, %v; want the hook's answer with the intent", got, err)
		}
		// Second send: the installed method answers; the hook is not called.
		got, err = tx.Send(ctx, obj, "tally_words", "a b a")
		if err != nil || got != "installed method answers" {
			t.Errorf("second send: got %v, %v", got, err)
		}
		// Not a facet: the hook declines.
		if _, err := tx.Send(ctx, obj, "no_such_facet"); !errors.Is(err, uvm.ErrNotUnderstood) {
			t.Errorf("non-facet: got %v, want not understood", err)
		}
		// Another persona's facet is not BRICK's.
		if _, ok, _ := persona.FacetIntent(tx, obj, "ask_why"); ok {
			t.Error("ROBIN's facet ask_why reachable from a BRICK object")
		}
		// A facet of the object's own chain, and the persona's, both reachable.
		local, _ := tx.New()
		local.SetParents(obj)
		local.Set(persona.SlotFacets, map[string]any{"local_facet": "Do the local thing."})
		fs, err := persona.Facets(tx, local)
		if err != nil {
			return err
		}
		if fs["local_facet"] != "Do the local thing." || fs["deconstruct"] == "" || fs["audit_slots"] != "" {
			t.Errorf("got facets %v, want local_facet and BRICK's, not ALFRED's", fs)
		}
		// An object that names ROBIN in its own slot reaches ROBIN's facets.
		rob, _ := tx.New()
		rob.Set(persona.SlotPersona, persona.ROBIN)
		if intent, ok, err := persona.FacetIntent(tx, rob, "ask_why"); err != nil || !ok || !strings.Contains(intent, "What is") {
			t.Errorf("got %q, %v, %v; want ROBIN's ask_why", intent, ok, err)
		}
		return nil
	})
	if len(hook.handed) != 1 || !strings.HasPrefix(hook.handed[0], "tally_words: ") || !slices.Equal(hook.refused, []string{"no_such_facet"}) {
		t.Fatalf("got handed %q refused %q, want one tally_words hand-off and one refusal", hook.handed, hook.refused)
	}
}

func TestFacetBadData(t *testing.T) {
	ctx := context.Background()
	im := openImage(t, "", uvm.Options{})
	_ = im.Update(ctx, func(tx *uvm.Tx) error {
		if err := persona.Incarnate(ctx, tx); err != nil {
			return err
		}
		o, _ := tx.New()
		o.Set(persona.SlotFacets, "not a map")
		if _, _, err := persona.FacetIntent(tx, o, "x"); !errors.Is(err, persona.ErrBadCodex) {
			t.Errorf("facets not a map: got %v, want ErrBadCodex", err)
		}
		o.Set(persona.SlotFacets, map[string]any{"x": int64(1)})
		if _, _, err := persona.FacetIntent(tx, o, "x"); !errors.Is(err, persona.ErrBadCodex) {
			t.Errorf("intent not a string: got %v, want ErrBadCodex", err)
		}
		brick, _ := persona.Prototype(tx, persona.BRICK)
		brick.Set(persona.SlotIdentity, int64(7))
		if _, err := persona.ReadCodex(tx, persona.BRICK); !errors.Is(err, persona.ErrBadCodex) {
			t.Errorf("identity not a string: got %v, want ErrBadCodex", err)
		}
		if _, err := persona.ReadCodex(tx, "NOBODY"); !errors.Is(err, persona.ErrUnknownPersona) {
			t.Errorf("unknown persona: got %v, want ErrUnknownPersona", err)
		}
		return errors.New("discard")
	})
}
