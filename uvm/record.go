package uvm

import (
	"strings"
)

// Records are byte values under (namespace, key), for layers above uvm that
// keep their own data in the image (an index, a log of their work): they
// commit and roll back with the transaction like objects, and are framed
// and checksummed like every stored value.

// PutRecord stores val under (ns, key). The namespace must be a valid name
// without NUL; keys may be any non-empty string.
func (tx *Tx) PutRecord(ns, key string, val []byte) error {
	if err := tx.check(true); err != nil {
		return err
	}
	if err := checkRecordKey(ns, key); err != nil {
		return err
	}
	return tx.set(recordKey(ns, key), frame(val))
}

// GetRecord reads the value under (ns, key); a missing one is a *NotFoundError.
func (tx *Tx) GetRecord(ns, key string) ([]byte, error) {
	if err := tx.check(false); err != nil {
		return nil, err
	}
	if err := checkRecordKey(ns, key); err != nil {
		return nil, err
	}
	k := recordKey(ns, key)
	raw, err := tx.get(k)
	if err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, &NotFoundError{Kind: "record", Name: ns + "/" + key}
	}
	p, cerr := unframe(k, raw)
	if cerr != nil {
		return nil, cerr
	}
	return p, nil
}

// DeleteRecord removes (ns, key); a missing record is not an error.
func (tx *Tx) DeleteRecord(ns, key string) error {
	if err := tx.check(true); err != nil {
		return err
	}
	if err := checkRecordKey(ns, key); err != nil {
		return err
	}
	return tx.del(recordKey(ns, key))
}

// ScanRecords calls fn for every record in ns whose key starts with prefix,
// in key order. val is valid only during the call. An error from fn stops
// the scan and is returned.
func (tx *Tx) ScanRecords(ns, prefix string, fn func(key string, val []byte) error) error {
	if err := tx.check(false); err != nil {
		return err
	}
	if err := CheckName(ns); err != nil {
		return err
	}
	base := recordKey(ns, "")
	return scanErr(tx.txn.Scan(recordKey(ns, prefix), true, func(k, raw []byte) error {
		p, cerr := unframe(k, raw)
		if cerr != nil {
			return cerr
		}
		return fn(string(k[len(base):]), p)
	}))
}

// RecordKeys calls fn with the key of every record in ns whose key starts
// with prefix, in key order, without reading the values: a damaged record
// is listed like any other (GetRecord then says it is damaged), so a layer
// that keeps derived data in records can find and drop what is damaged
// where ScanRecords would stop. An error from fn stops the scan and is
// returned.
func (tx *Tx) RecordKeys(ns, prefix string, fn func(key string) error) error {
	if err := tx.check(false); err != nil {
		return err
	}
	if err := CheckName(ns); err != nil {
		return err
	}
	base := len(recordKey(ns, ""))
	return tx.txn.Scan(recordKey(ns, prefix), false, func(k, _ []byte) error {
		return fn(string(k[base:]))
	})
}

func checkRecordKey(ns, key string) error {
	if err := CheckName(ns); err != nil {
		return err
	}
	if strings.IndexByte(ns, 0) >= 0 {
		return &NameError{Name: ns, Reason: "NUL in namespace"}
	}
	if key == "" {
		return &NameError{Name: key, Reason: "empty record key"}
	}
	return nil
}
