package uvm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
	"unicode"
	"unicode/utf8"
)

// OID identifies an object. OIDs come from a Badger sequence and are never
// reused, not even after a crash.
type OID uint64

// Ref is a slot value that refers to another object.
type Ref struct{ OID OID }

// Primitive is a slot value naming a native Go method that the host program
// registers with [Image.RegisterPrimitive]. Only the name is stored, so an
// image survives restarts of the host.
type Primitive struct{ Name string }

// BlobRef is a slot value referring to a blob stored with [Image.PutBlob].
// ID is the SHA-256 of the content, in hex.
type BlobRef struct {
	ID   string
	Size int64
}

// Method is a slot value holding a method written as Go source, with its
// metadata. Every installed version is kept; see [Tx.InstallMethod].
type Method struct {
	Selector string
	Version  int
	Source   string
	Persona  string    // who wrote it, as the installer names it
	CycleID  string    // the installer's id for the work that produced it, if any
	Intent   string    // what it was written for
	Policy   string    // execution policy chosen by the host ("" = image default)
	Created  time.Time // when this version was installed
}

// MaxNameLen is the longest slot, root or selector name, in bytes.
const MaxNameLen = 256

// ParentsSlot is the ordinary slot that holds an object's parents, a []any of Ref.
const ParentsSlot = "parents"

// CheckName reports whether s is a valid slot, root or selector name: not
// empty, at most MaxNameLen bytes, valid UTF-8, no control characters.
func CheckName(s string) error {
	switch {
	case s == "":
		return &NameError{Name: s, Reason: "empty"}
	case len(s) > MaxNameLen:
		return &NameError{Name: s, Reason: fmt.Sprintf("%d bytes, over the limit of %d", len(s), MaxNameLen)}
	case !utf8.ValidString(s):
		return &NameError{Name: s, Reason: "not valid UTF-8"}
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return &NameError{Name: s, Reason: fmt.Sprintf("control character %U", r)}
		}
	}
	return nil
}

const maxDepth = 100

// Normalize returns v in the form a slot stores it, accepting and refusing
// exactly what [Object.Set] does: integers become int64, float32 float64,
// OID and *Object a Ref, []string a []any, *Method a Method; []byte, []any
// and map[string]any are copied all the way down, so the result never
// aliases v. A value that cannot be stored (or that nests more than 100
// levels) returns a *ValueError naming slot, which may also describe the
// value ("argument 0"). Normalize knows no transaction: unlike Set, it
// turns an *Object of any transaction into a Ref.
func Normalize(slot string, v any) (any, error) { return normalize(slot, v, 0, nil, "") }

// CloneValue returns a deep copy of a value in stored form (see
// [Normalize]): []byte, []any and map[string]any are copied all the way
// down; other values are returned as they are.
func CloneValue(v any) any { return deepCopy(v) }

// normalize converts v into the canonical slot representation, deep-copying
// containers so that the caller's value and the stored one never alias.
// With a non-nil owner, an *Object must belong to that transaction (op
// names the operation in the *ForeignObjectError).
func normalize(slot string, v any, depth int, owner *Tx, op string) (any, error) {
	if depth > maxDepth {
		return nil, &ValueError{Slot: slot, Type: fmt.Sprintf("%T", v), Reason: "nested more than 100 levels (a cycle?)"}
	}
	switch x := v.(type) {
	case nil, bool, int64, float64, string, Ref, Primitive, BlobRef:
		return x, nil
	case int:
		return int64(x), nil
	case int8:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case uint8:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case uint:
		if uint64(x) > math.MaxInt64 {
			return nil, &ValueError{Slot: slot, Type: "uint", Reason: "overflows int64"}
		}
		return int64(x), nil
	case uint64:
		if x > math.MaxInt64 {
			return nil, &ValueError{Slot: slot, Type: "uint64", Reason: "overflows int64"}
		}
		return int64(x), nil
	case float32:
		return float64(x), nil
	case OID:
		return Ref{OID: x}, nil
	case *Object:
		if x == nil {
			return nil, &ValueError{Slot: slot, Type: "*uvm.Object", Reason: "nil object"}
		}
		if owner != nil && x.tx != owner {
			return nil, &ForeignObjectError{OID: x.oid, Op: op, Ended: x.tx.done}
		}
		return Ref{OID: x.oid}, nil
	case Method:
		return x, nil
	case *Method:
		if x == nil {
			return nil, nil
		}
		return *x, nil
	case []byte:
		return slices.Clone(x), nil
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			n, err := normalize(slot, e, depth+1, owner, op)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			n, err := normalize(slot, e, depth+1, owner, op)
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	default:
		return nil, &ValueError{Slot: slot, Type: fmt.Sprintf("%T", v), Reason: "only nil, bool, integers, floats, string, []byte, []any, map[string]any, Ref, Primitive, BlobRef and Method can be stored"}
	}
}

// deepCopy copies a normalized value.
func deepCopy(v any) any {
	switch x := v.(type) {
	case []byte:
		return slices.Clone(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	default:
		return v
	}
}

func isContainer(v any) bool {
	switch v.(type) {
	case []any, map[string]any, []byte:
		return true
	}
	return false
}

// Value tags of the encoding.
const (
	tagNil byte = iota
	tagFalse
	tagTrue
	tagInt
	tagFloat
	tagString
	tagBytes
	tagList
	tagMap
	tagRef
	tagPrimitive
	tagBlob
	tagMethod
)

// encodeValue appends the encoding of a normalized value. Maps are encoded
// with sorted keys so equal values always encode to equal bytes.
func encodeValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, tagNil)
	case bool:
		if x {
			return append(b, tagTrue)
		}
		return append(b, tagFalse)
	case int64:
		return binary.AppendVarint(append(b, tagInt), x)
	case float64:
		return binary.LittleEndian.AppendUint64(append(b, tagFloat), math.Float64bits(x))
	case string:
		return appendString(append(b, tagString), x)
	case []byte:
		b = binary.AppendUvarint(append(b, tagBytes), uint64(len(x)))
		return append(b, x...)
	case []any:
		b = binary.AppendUvarint(append(b, tagList), uint64(len(x)))
		for _, e := range x {
			b = encodeValue(b, e)
		}
		return b
	case map[string]any:
		b = binary.AppendUvarint(append(b, tagMap), uint64(len(x)))
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			b = appendString(b, k)
			b = encodeValue(b, x[k])
		}
		return b
	case Ref:
		return binary.AppendUvarint(append(b, tagRef), uint64(x.OID))
	case Primitive:
		return appendString(append(b, tagPrimitive), x.Name)
	case BlobRef:
		b = appendString(append(b, tagBlob), x.ID)
		return binary.AppendVarint(b, x.Size)
	case lazyMethod:
		return append(b, x.enc...)
	case Method:
		// A method is encoded as a field map so that later versions can add
		// fields without breaking old images.
		return encodeValue(append(b, tagMethod), map[string]any{
			"selector": x.Selector,
			"version":  int64(x.Version),
			"source":   x.Source,
			"persona":  x.Persona,
			"cycle":    x.CycleID,
			"intent":   x.Intent,
			"policy":   x.Policy,
			"created":  x.Created.UnixNano(),
		})
	default:
		// normalize guarantees this cannot happen; encode nil rather than panic.
		return append(b, tagNil)
	}
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

var errShort = errors.New("truncated")

type decoder struct {
	b     []byte
	depth int
}

func (d *decoder) uvarint() (uint64, error) {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		return 0, errShort
	}
	d.b = d.b[n:]
	return v, nil
}

func (d *decoder) string() (string, error) {
	n, err := d.uvarint()
	if err != nil {
		return "", err
	}
	if n > uint64(len(d.b)) {
		return "", errShort
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s, nil
}

func (d *decoder) value() (any, error) {
	if len(d.b) == 0 {
		return nil, errShort
	}
	tag := d.b[0]
	d.b = d.b[1:]
	switch tag {
	case tagNil:
		return nil, nil
	case tagFalse:
		return false, nil
	case tagTrue:
		return true, nil
	case tagInt:
		v, n := binary.Varint(d.b)
		if n <= 0 {
			return nil, errShort
		}
		d.b = d.b[n:]
		return v, nil
	case tagFloat:
		if len(d.b) < 8 {
			return nil, errShort
		}
		v := math.Float64frombits(binary.LittleEndian.Uint64(d.b))
		d.b = d.b[8:]
		return v, nil
	case tagString:
		return d.string()
	case tagBytes:
		n, err := d.uvarint()
		if err != nil {
			return nil, err
		}
		if n > uint64(len(d.b)) {
			return nil, errShort
		}
		out := slices.Clone(d.b[:n])
		d.b = d.b[n:]
		return out, nil
	case tagList, tagMap:
		d.depth++
		defer func() { d.depth-- }()
		if d.depth > maxDepth {
			return nil, errors.New("nested too deep")
		}
		n, err := d.uvarint()
		if err != nil {
			return nil, err
		}
		if n > uint64(len(d.b)) { // each element takes at least one byte
			return nil, errShort
		}
		if tag == tagList {
			out := make([]any, n)
			for i := range out {
				if out[i], err = d.value(); err != nil {
					return nil, err
				}
			}
			return out, nil
		}
		out := make(map[string]any, n)
		for range n {
			k, err := d.string()
			if err != nil {
				return nil, err
			}
			if out[k], err = d.value(); err != nil {
				return nil, err
			}
		}
		return out, nil
	case tagRef:
		v, err := d.uvarint()
		return Ref{OID: OID(v)}, err
	case tagPrimitive:
		s, err := d.string()
		return Primitive{Name: s}, err
	case tagBlob:
		id, err := d.string()
		if err != nil {
			return nil, err
		}
		v, n := binary.Varint(d.b)
		if n <= 0 {
			return nil, errShort
		}
		d.b = d.b[n:]
		return BlobRef{ID: id, Size: v}, nil
	case tagMethod:
		f, err := d.value()
		if err != nil {
			return nil, err
		}
		m, ok := f.(map[string]any)
		if !ok {
			return nil, errors.New("method is not a field map")
		}
		str := func(k string) string { s, _ := m[k].(string); return s }
		num := func(k string) int64 { n, _ := m[k].(int64); return n }
		return Method{
			Selector: str("selector"),
			Version:  int(num("version")),
			Source:   str("source"),
			Persona:  str("persona"),
			CycleID:  str("cycle"),
			Intent:   str("intent"),
			Policy:   str("policy"),
			Created:  time.Unix(0, num("created")).UTC(),
		}, nil
	default:
		return nil, fmt.Errorf("unknown value tag %d", tag)
	}
}

// lazyMethod is a method slot as loaded, still encoded (tag included). The
// encoding was checked by skip when the object was decoded; the slot is
// decoded on first use and re-encodes to the same bytes untouched.
type lazyMethod struct{ enc []byte }

func (l lazyMethod) decode() (Method, error) {
	d := decoder{b: l.enc}
	v, err := d.value()
	if err != nil {
		return Method{}, err
	}
	m, ok := v.(Method)
	if !ok || len(d.b) != 0 {
		return Method{}, errors.New("not a method")
	}
	return m, nil
}

// skip checks one encoded value, as value would, without building it.
func (d *decoder) skip() error {
	if len(d.b) == 0 {
		return errShort
	}
	tag := d.b[0]
	d.b = d.b[1:]
	switch tag {
	case tagNil, tagFalse, tagTrue:
		return nil
	case tagInt, tagBlob:
		if tag == tagBlob {
			if err := d.skipBytes(); err != nil {
				return err
			}
		}
		_, n := binary.Varint(d.b)
		if n <= 0 {
			return errShort
		}
		d.b = d.b[n:]
		return nil
	case tagFloat:
		if len(d.b) < 8 {
			return errShort
		}
		d.b = d.b[8:]
		return nil
	case tagString, tagBytes, tagPrimitive:
		return d.skipBytes()
	case tagRef:
		_, err := d.uvarint()
		return err
	case tagMethod:
		if len(d.b) == 0 || d.b[0] != tagMap {
			return errors.New("method is not a field map")
		}
		return d.skip()
	case tagList, tagMap:
		d.depth++
		defer func() { d.depth-- }()
		if d.depth > maxDepth {
			return errors.New("nested too deep")
		}
		n, err := d.uvarint()
		if err != nil {
			return err
		}
		if n > uint64(len(d.b)) {
			return errShort
		}
		for range n {
			if tag == tagMap {
				if err := d.skipBytes(); err != nil {
					return err
				}
			}
			if err := d.skip(); err != nil {
				return err
			}
		}
		return nil
	default:
		return fmt.Errorf("unknown value tag %d", tag)
	}
}

func (d *decoder) skipBytes() error {
	n, err := d.uvarint()
	if err != nil {
		return err
	}
	if n > uint64(len(d.b)) {
		return errShort
	}
	d.b = d.b[n:]
	return nil
}
