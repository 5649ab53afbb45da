package imageview

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/batos-dev/batos/uvm"
)

// Slot kinds.
const (
	KindData      = "data"
	KindRef       = "ref"
	KindBlob      = "blob"
	KindPrimitive = "primitive"
	KindMethod    = "method"
)

// Preview bounds: a slot value larger than this is shown in part in an
// [Object] (the whole value comes from [SlotValue]).
const (
	previewItems = 50   // elements of a list or entries of a map
	previewBytes = 2048 // bytes of a string or []byte
)

// Link is a reference to another object, with its root name if it has one.
type Link struct {
	OID  uvm.OID `json:"oid"`
	Name string  `json:"name,omitempty"`
}

// Slot is one own slot of an object that is not a method.
type Slot struct {
	Name string `json:"name"`
	Kind string `json:"kind"` // KindData, KindRef, KindBlob or KindPrimitive
	// Type is the data's type: nil, bool, int, float, string, bytes, list
	// or map (for KindData).
	Type string `json:"type,omitempty"`
	// Value is the value in JSON form (see [Plain]); for a reference, the
	// Link; for a primitive, its name.
	Value any `json:"value"`
	// Len is the number of elements, entries or bytes of a container or
	// string.
	Len int `json:"len,omitempty"`
	// Truncated says Value shows only the first part of the slot.
	Truncated bool `json:"truncated,omitempty"`
}

// Method describes a method slot: its current version and how many are
// kept. Source is filled only where a method is asked for by name.
type Method struct {
	Selector string    `json:"selector"`
	Version  int       `json:"version"`
	Versions int       `json:"versions"` // how many versions are kept
	Persona  string    `json:"persona,omitempty"`
	CycleID  string    `json:"cycle,omitempty"`
	Intent   string    `json:"intent,omitempty"`
	Policy   string    `json:"policy,omitempty"`
	Created  time.Time `json:"created,omitzero"`
	Lines    int       `json:"lines"`
	Source   string    `json:"source,omitempty"`
}

// Object is one object as the inspector shows it.
type Object struct {
	OID     uvm.OID  `json:"oid"`
	Names   []string `json:"names,omitempty"` // root names it is registered under
	Parents []Link   `json:"parents"`
	Slots   []Slot   `json:"slots"`
	Methods []Method `json:"methods"`
}

// Resolve finds the object a reference names: an OID in decimal
// ("3", "#3") or a root name ("genesis").
func Resolve(tx *uvm.Tx, ref string) (*uvm.Object, error) {
	ref = strings.TrimSpace(ref)
	if n, ok := parseOID(ref); ok {
		o, err := tx.Object(n)
		if errors.Is(err, uvm.ErrNotFound) {
			return nil, &notFoundError{fmt.Sprintf("imageview: no object %d", n), ErrNoObject, err}
		}
		return o, err
	}
	if err := uvm.CheckName(ref); err != nil {
		return nil, fmt.Errorf("%w %q: want an OID or a root name", ErrBadRef, ref)
	}
	o, err := tx.Root(ref)
	if errors.Is(err, uvm.ErrNotFound) {
		return nil, &notFoundError{fmt.Sprintf("imageview: no root named %q (and it is not an OID)", ref), ErrNoObject, err}
	}
	return o, err
}

// notFoundError says what was not found in its own words, and matches
// both its sentinel and the image's error.
type notFoundError struct {
	msg      string
	sentinel error
	cause    error
}

func (e *notFoundError) Error() string   { return e.msg }
func (e *notFoundError) Unwrap() []error { return []error{e.sentinel, e.cause} }

func parseOID(s string) (uvm.OID, bool) {
	s = strings.TrimPrefix(s, "#")
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return uvm.OID(n), err == nil
}

// rootNames maps each rooted OID to its names, sorted.
func rootNames(tx *uvm.Tx) (map[uvm.OID][]string, error) {
	roots, err := tx.Roots()
	if err != nil {
		return nil, err
	}
	names := make(map[uvm.OID][]string, len(roots))
	for name, oid := range roots {
		names[oid] = append(names[oid], name)
	}
	for _, n := range names {
		sort.Strings(n)
	}
	return names, nil
}

func link(names map[uvm.OID][]string, oid uvm.OID) Link {
	l := Link{OID: oid}
	if n := names[oid]; len(n) > 0 {
		l.Name = n[0]
	}
	return l
}

// Inspect describes o: its root names, parents, slots and methods (with
// how many versions each keeps, without source).
func Inspect(tx *uvm.Tx, o *uvm.Object) (Object, error) {
	names, err := rootNames(tx)
	if err != nil {
		return Object{}, err
	}
	out := Object{OID: o.OID(), Names: names[o.OID()], Parents: []Link{}, Slots: []Slot{}, Methods: []Method{}}
	for _, p := range o.Parents() {
		out.Parents = append(out.Parents, link(names, p))
	}
	for _, name := range o.Slots() {
		if name == uvm.ParentsSlot {
			continue
		}
		v, _ := o.Get(name)
		if m, ok := v.(uvm.Method); ok {
			versions, err := tx.MethodVersions(o, name)
			if err != nil {
				return Object{}, fmt.Errorf("imageview: versions of %s on %d: %w", name, o.OID(), err)
			}
			out.Methods = append(out.Methods, describeMethod(m, len(versions), false))
			continue
		}
		out.Slots = append(out.Slots, describeSlot(names, name, v, true))
	}
	return out, nil
}

// SlotValue describes one own slot in full (no preview). A method slot is
// described as a [Slot] of KindMethod whose Value is the [Method] with its
// source.
func SlotValue(tx *uvm.Tx, o *uvm.Object, name string) (Slot, error) {
	v, ok := o.Get(name)
	if !ok {
		return Slot{}, fmt.Errorf("%w: object %d has no slot %q", ErrNoSlot, o.OID(), name)
	}
	if m, ok := v.(uvm.Method); ok {
		versions, err := tx.MethodVersions(o, name)
		if err != nil {
			return Slot{}, err
		}
		return Slot{Name: name, Kind: KindMethod, Value: describeMethod(m, len(versions), true)}, nil
	}
	names, err := rootNames(tx)
	if err != nil {
		return Slot{}, err
	}
	return describeSlot(names, name, v, false), nil
}

// Versions lists every kept version of a method of o, oldest first, with
// source; current is the version o's slot holds now.
func Versions(tx *uvm.Tx, o *uvm.Object, selector string) (versions []Method, current int, err error) {
	v, ok := o.Get(selector)
	m, isMethod := v.(uvm.Method)
	if !ok || !isMethod {
		return nil, 0, fmt.Errorf("%w: object %d has no method %q", ErrNoMethod, o.OID(), selector)
	}
	kept, err := tx.MethodVersions(o, selector)
	if err != nil {
		return nil, 0, err
	}
	for _, k := range kept {
		versions = append(versions, describeMethod(k, len(kept), true))
	}
	return versions, m.Version, nil
}

// Version reads one kept version of a method of o, with source.
func Version(tx *uvm.Tx, o *uvm.Object, selector string, version int) (Method, error) {
	m, err := tx.MethodVersion(o, selector, version)
	if errors.Is(err, uvm.ErrNotFound) {
		return Method{}, &notFoundError{fmt.Sprintf("imageview: object %d has no version %d of %q", o.OID(), version, selector), ErrNoMethod, err}
	}
	if err != nil {
		return Method{}, err
	}
	kept, err := tx.MethodVersions(o, selector)
	if err != nil {
		return Method{}, err
	}
	return describeMethod(m, len(kept), true), nil
}

func describeMethod(m uvm.Method, versions int, source bool) Method {
	out := Method{
		Selector: m.Selector, Version: m.Version, Versions: versions,
		Persona: m.Persona, CycleID: m.CycleID, Intent: m.Intent, Policy: m.Policy,
		Created: m.Created, Lines: strings.Count(strings.TrimRight(m.Source, "\n"), "\n") + 1,
	}
	if source {
		out.Source = m.Source
	}
	return out
}

func describeSlot(names map[uvm.OID][]string, name string, v any, preview bool) Slot {
	switch x := v.(type) {
	case uvm.Ref:
		return Slot{Name: name, Kind: KindRef, Value: link(names, x.OID)}
	case uvm.BlobRef:
		return Slot{Name: name, Kind: KindBlob, Value: map[string]any{"id": x.ID, "size": x.Size}}
	case uvm.Primitive:
		return Slot{Name: name, Kind: KindPrimitive, Value: x.Name}
	}
	s := Slot{Name: name, Kind: KindData, Type: typeName(v)}
	limit := -1
	if preview {
		limit = previewItems
	}
	switch x := v.(type) {
	case string:
		s.Len = len(x)
		if preview && len(x) > previewBytes {
			s.Value, s.Truncated = truncUTF8(x, previewBytes), true
			return s
		}
	case []byte:
		s.Len = len(x)
		if preview && len(x) > previewBytes {
			s.Value, s.Truncated = Plain(x[:previewBytes], -1), true
			return s
		}
	case []any:
		s.Len = len(x)
		s.Truncated = preview && len(x) > previewItems
	case map[string]any:
		s.Len = len(x)
		s.Truncated = preview && len(x) > previewItems
	}
	s.Value = Plain(v, limit)
	return s
}

func truncUTF8(s string, n int) string {
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "nil"
	case bool:
		return "bool"
	case int64:
		return "int"
	case float64:
		return "float"
	case string:
		return "string"
	case []byte:
		return "bytes"
	case []any:
		return "list"
	case map[string]any:
		return "map"
	}
	return fmt.Sprintf("%T", v)
}

// Plain turns a stored value into JSON-ready data: a reference becomes
// {"$ref": OID}, bytes {"$bytes": base64}, a blob {"$blob": id, "size": n},
// a non-finite float its name as a string. Lists and maps keep at most
// limit elements (the first ones; a map's in key order) when limit ≥ 0.
func Plain(v any, limit int) any {
	switch x := v.(type) {
	case uvm.Ref:
		return map[string]any{"$ref": x.OID}
	case uvm.BlobRef:
		return map[string]any{"$blob": x.ID, "size": x.Size}
	case uvm.Primitive:
		return map[string]any{"$primitive": x.Name}
	case []byte:
		return map[string]any{"$bytes": base64.StdEncoding.EncodeToString(x)}
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return strconv.FormatFloat(x, 'g', -1, 64)
		}
		return x
	case []any:
		n := len(x)
		if limit >= 0 && n > limit {
			n = limit
		}
		out := make([]any, n)
		for i := range n {
			out[i] = Plain(x[i], limit)
		}
		return out
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if limit >= 0 && len(keys) > limit {
			keys = keys[:limit]
		}
		out := make(map[string]any, len(keys))
		for _, k := range keys {
			out[k] = Plain(x[k], limit)
		}
		return out
	}
	return v
}
