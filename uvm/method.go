package uvm

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"
)

// InstallMethod stores m as the next version of its selector on o: the
// version number is one past the highest kept, Created is set if zero, the
// version is added to o's method history, and o's slot of that name holds
// it. It returns the installed method.
//
// InstallMethod is the low-level escape hatch, and it is unaudited: it
// stores m's source as it is, without auditing, compiling or trying it,
// and records no one's decision. A runner may still refuse the source
// when it is sent (batos's uvm/live audits every source before it runs),
// but nothing stops broken or unwanted source from being installed here.
// Host programs install through psm.Mind.Install, which validates source
// as a cognitive cycle does and records who installed it and why.
func (tx *Tx) InstallMethod(o *Object, m Method) (Method, error) {
	if err := o.usableIn(tx, "Tx.InstallMethod"); err != nil {
		return Method{}, err
	}
	if err := tx.check(true); err != nil {
		return Method{}, err
	}
	if err := CheckName(m.Selector); err != nil {
		return Method{}, err
	}
	versions, err := tx.MethodVersions(o, m.Selector)
	if err != nil {
		return Method{}, err
	}
	m.Version = 1
	if n := len(versions); n > 0 {
		m.Version = versions[n-1].Version + 1
	}
	if m.Created.IsZero() {
		m.Created = time.Now().UTC()
	}
	if err := tx.set(historyKey(o.oid, m.Selector, m.Version), frame(encodeValue(nil, m))); err != nil {
		return Method{}, err
	}
	if err := o.Set(m.Selector, m); err != nil {
		return Method{}, err
	}
	return m, nil
}

// MethodVersions lists every kept version of selector on o, oldest first.
func (tx *Tx) MethodVersions(o *Object, selector string) ([]Method, error) {
	if err := o.usableIn(tx, "Tx.MethodVersions"); err != nil {
		return nil, err
	}
	prefix := historyPrefix(o.oid, selector)
	var out []Method
	err := tx.txn.Scan(prefix, true, func(key, raw []byte) error {
		if len(key) != len(prefix)+4 {
			return nil // another selector sharing the prefix bytes cannot occur (0 terminator), but be strict
		}
		m, err := decodeMethod(bytes.Clone(key), raw)
		if err != nil {
			return err
		}
		out = append(out, m)
		return nil
	})
	if err != nil {
		return nil, scanErr(err)
	}
	return out, nil
}

// MethodVersion reads one kept version of selector on o.
func (tx *Tx) MethodVersion(o *Object, selector string, version int) (Method, error) {
	if err := o.usableIn(tx, "Tx.MethodVersion"); err != nil {
		return Method{}, err
	}
	key := historyKey(o.oid, selector, version)
	raw, err := tx.get(key)
	if err != nil {
		return Method{}, err
	}
	if raw == nil {
		return Method{}, &NotFoundError{Kind: "method version", Name: fmt.Sprintf("%q v%d of object %d", selector, version, o.oid)}
	}
	return decodeMethod(key, raw)
}

// RevertMethod makes a kept version the current one: o's slot holds that
// version again. The history is unchanged; the next install still gets a
// new, higher version number.
func (tx *Tx) RevertMethod(o *Object, selector string, version int) (Method, error) {
	if err := o.usableIn(tx, "Tx.RevertMethod"); err != nil {
		return Method{}, err
	}
	m, err := tx.MethodVersion(o, selector, version)
	if err != nil {
		return Method{}, err
	}
	return m, o.Set(selector, m)
}

func decodeMethod(key, raw []byte) (Method, error) {
	p, cerr := unframe(key, raw)
	if cerr != nil {
		cerr.OID = OID(binary.BigEndian.Uint64(key[1:9]))
		return Method{}, cerr
	}
	d := decoder{b: p}
	v, err := d.value()
	m, ok := v.(Method)
	if err != nil || !ok || len(d.b) != 0 {
		return Method{}, &CorruptError{Key: printableKey(key), OID: OID(binary.BigEndian.Uint64(key[1:9])), Reason: "undecodable method version"}
	}
	return m, nil
}
