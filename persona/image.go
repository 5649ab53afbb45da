package persona

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/batos-dev/batos/uvm"
)

// Incarnate makes sure the image holds a prototype for each codex (the
// four [DefaultCodices] when none is given), registered under [RootName],
// inside the caller's transaction. It is idempotent: an existing prototype
// is kept as it is, except that codex slots it lacks are added, so edits
// made at runtime survive. It does not commit; the caller's Update does.
func Incarnate(ctx context.Context, tx *uvm.Tx, codices ...Codex) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("persona: incarnate: %w", err)
	}
	if len(codices) == 0 {
		codices = DefaultCodices()
	}
	for _, c := range codices {
		if err := c.Validate(); err != nil {
			return err
		}
		proto, err := tx.Root(RootName(c.Name))
		switch {
		case errors.Is(err, uvm.ErrNotFound):
			if proto, err = tx.New(); err != nil {
				return fmt.Errorf("persona: incarnate %s: %w", canon(c.Name), err)
			}
			if err := tx.SetRoot(RootName(c.Name), proto); err != nil {
				return fmt.Errorf("persona: incarnate %s: %w", canon(c.Name), err)
			}
		case err != nil:
			return fmt.Errorf("persona: incarnate %s: %w", canon(c.Name), err)
		}
		for slot, v := range codexSlots(c) {
			if proto.Has(slot) {
				continue
			}
			if err := proto.Set(slot, v); err != nil {
				return fmt.Errorf("persona: incarnate %s: slot %q: %w", canon(c.Name), slot, err)
			}
		}
	}
	return nil
}

func codexSlots(c Codex) map[string]any {
	facets := make(map[string]any, len(c.Facets))
	for k, v := range c.Facets {
		facets[k] = v
	}
	return map[string]any{
		SlotPersona:      canon(c.Name),
		SlotRole:         c.Role,
		SlotIdentity:     c.Identity,
		SlotInstructions: c.Instructions,
		SlotVoice:        c.Voice,
		SlotFacets:       facets,
	}
}

// Prototype returns the prototype object of the named persona. A persona
// that was never incarnated returns an error wrapping ErrUnknownPersona.
func Prototype(tx *uvm.Tx, name string) (*uvm.Object, error) {
	if canon(name) == "" {
		return nil, fmt.Errorf("%w: empty name", ErrUnknownPersona)
	}
	o, err := tx.Root(RootName(name))
	if errors.Is(err, uvm.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s (no root %q; call persona.Incarnate)", ErrUnknownPersona, canon(name), RootName(name))
	}
	if err != nil {
		return nil, fmt.Errorf("persona: prototype %s: %w", canon(name), err)
	}
	return o, nil
}

// Names lists the personas incarnated in the image, sorted.
func Names(tx *uvm.Tx) ([]string, error) {
	roots, err := tx.Roots()
	if err != nil {
		return nil, fmt.Errorf("persona: list personas: %w", err)
	}
	var out []string
	for name := range roots {
		if n, ok := strings.CutPrefix(name, rootPrefix); ok && n != "" {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

// Of returns the name of the persona that governs obj: the string in the
// first [SlotPersona] slot found through obj's delegation chain (see
// [uvm.Tx.Lookup]), or [DefaultPersona] when the chain names none. An
// object becomes BRICK's by delegating to BRICK's prototype, or by holding
// its own "persona" slot. The persona must be incarnated: a name without a
// prototype returns ErrUnknownPersona, a non-string slot ErrBadCodex, and a
// chain that reaches two different personas through two parents the
// *uvm.AmbiguousError.
func Of(tx *uvm.Tx, obj *uvm.Object) (string, error) {
	name := DefaultPersona
	f, err := tx.Lookup(obj, SlotPersona)
	switch {
	case errors.Is(err, uvm.ErrNotUnderstood):
	case err != nil:
		return "", fmt.Errorf("persona: persona of object %d: %w", obj.OID(), err)
	default:
		s, ok := f.Value.(string)
		if !ok || canon(s) == "" {
			return "", fmt.Errorf("%w: slot %q of object %d holds %T, want a persona name", ErrBadCodex, SlotPersona, f.Holder.OID(), f.Value)
		}
		name = canon(s)
	}
	if _, err := Prototype(tx, name); err != nil {
		return "", err
	}
	return name, nil
}

// ReadCodex reads the codex of the named persona from its prototype's slots.
func ReadCodex(tx *uvm.Tx, name string) (Codex, error) {
	proto, err := Prototype(tx, name)
	if err != nil {
		return Codex{}, err
	}
	c := Codex{Name: canon(name)}
	for slot, dst := range map[string]*string{
		SlotRole: &c.Role, SlotIdentity: &c.Identity, SlotInstructions: &c.Instructions, SlotVoice: &c.Voice,
	} {
		v, ok := proto.Get(slot)
		if !ok || v == nil {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return Codex{}, fmt.Errorf("%w: persona %s: slot %q holds %T, want string", ErrBadCodex, c.Name, slot, v)
		}
		*dst = s
	}
	if c.Facets, err = facetsOf(proto); err != nil {
		return Codex{}, err
	}
	return c, nil
}

// WriteCodex stores c in its persona's prototype, creating the prototype if
// needed, replacing the codex slots (facets included) and leaving every
// other slot alone. Changing a persona at runtime is this call inside an
// Update.
func WriteCodex(ctx context.Context, tx *uvm.Tx, c Codex) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if err := Incarnate(ctx, tx, c); err != nil {
		return err
	}
	proto, err := Prototype(tx, c.Name)
	if err != nil {
		return err
	}
	for slot, v := range codexSlots(c) {
		if err := proto.Set(slot, v); err != nil {
			return fmt.Errorf("persona: write codex %s: slot %q: %w", canon(c.Name), slot, err)
		}
	}
	return nil
}

// SystemPrompt reads the named persona's codex and composes its system
// message (see [Codex.SystemPrompt]).
func SystemPrompt(tx *uvm.Tx, name string) (string, error) {
	c, err := ReadCodex(tx, name)
	if err != nil {
		return "", err
	}
	return c.SystemPrompt(), nil
}

func facetsOf(o *uvm.Object) (map[string]string, error) {
	v, ok := o.Get(SlotFacets)
	if !ok || v == nil {
		return map[string]string{}, nil
	}
	return facetMap(o.OID(), v)
}

func facetMap(oid uvm.OID, v any) (map[string]string, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: slot %q of object %d holds %T, want a map of intents", ErrBadCodex, SlotFacets, oid, v)
	}
	out := make(map[string]string, len(m))
	for k, e := range m {
		s, ok := e.(string)
		if !ok {
			return nil, fmt.Errorf("%w: facet %q of object %d holds %T, want an intent string", ErrBadCodex, k, oid, e)
		}
		out[k] = s
	}
	return out, nil
}

// FacetIntent reports the intent of a cognitive facet that obj can reach:
// first in the [SlotFacets] map found through obj's delegation chain, then
// in the facets of the persona that governs obj (see [Of]). Facets are kept
// in a map, not in slots named after their selectors, so sending a facet's
// selector is not understood by uvm and reaches the DoesNotUnderstand hook,
// which asks FacetIntent for the mission's description. ok is false when
// selector is no facet of obj.
func FacetIntent(tx *uvm.Tx, obj *uvm.Object, selector string) (intent string, ok bool, err error) {
	f, err := tx.Lookup(obj, SlotFacets)
	switch {
	case errors.Is(err, uvm.ErrNotUnderstood):
	case err != nil:
		return "", false, fmt.Errorf("persona: facets of object %d: %w", obj.OID(), err)
	default:
		m, err := facetMap(f.Holder.OID(), f.Value)
		if err != nil {
			return "", false, err
		}
		if s, ok := m[selector]; ok {
			return s, true, nil
		}
	}
	name, err := Of(tx, obj)
	if errors.Is(err, ErrUnknownPersona) {
		return "", false, nil // no personas in this image: no facets either
	}
	if err != nil {
		return "", false, err
	}
	proto, err := Prototype(tx, name)
	if err != nil {
		return "", false, err
	}
	m, err := facetsOf(proto)
	if err != nil {
		return "", false, err
	}
	s, ok := m[selector]
	return s, ok, nil
}

// Facets lists every facet obj can reach (its delegation chain's facets
// over its persona's), selector → intent.
func Facets(tx *uvm.Tx, obj *uvm.Object) (map[string]string, error) {
	out := map[string]string{}
	name, err := Of(tx, obj)
	switch {
	case errors.Is(err, ErrUnknownPersona):
	case err != nil:
		return nil, err
	default:
		proto, err := Prototype(tx, name)
		if err != nil {
			return nil, err
		}
		m, err := facetsOf(proto)
		if err != nil {
			return nil, err
		}
		maps.Copy(out, m)
	}
	f, err := tx.Lookup(obj, SlotFacets)
	switch {
	case errors.Is(err, uvm.ErrNotUnderstood):
	case err != nil:
		return nil, fmt.Errorf("persona: facets of object %d: %w", obj.OID(), err)
	default:
		m, err := facetMap(f.Holder.OID(), f.Value)
		if err != nil {
			return nil, err
		}
		maps.Copy(out, m)
	}
	return out, nil
}
