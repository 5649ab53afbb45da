package uvm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/dgraph-io/badger/v4"
)

// StoreParentsUnchecked writes oid's parents slot straight to the store,
// past every check, as an image written before parent cycles were refused
// may hold it.
func StoreParentsUnchecked(im *Image, oid OID, parents ...OID) error {
	return im.db.Update(func(txn *badger.Txn) error {
		key := objKey(oid)
		item, err := txn.Get(key)
		if err != nil {
			return err
		}
		raw, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		slots, err := decodeObject(oid, key, raw)
		if err != nil {
			return err
		}
		refs := make([]any, len(parents))
		for i, p := range parents {
			refs[i] = Ref{OID: p}
		}
		slots[ParentsSlot] = refs
		return txn.Set(key, encodeObject(slots, 0))
	})
}

// DamageSlot flips a byte of one slot's stored value and mends the frame's
// checksum, so that the slot fails its own checksum and nothing else does.
func DamageSlot(im *Image, oid OID, slot string) error {
	return im.db.Update(func(txn *badger.Txn) error {
		key := objKey(oid)
		if _, err := txn.Get(key); err != nil {
			return err
		}
		for _, k := range [][]byte{key, methKey(oid, bucketOf(slot))} {
			item, err := txn.Get(k)
			if errors.Is(err, badger.ErrKeyNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			raw, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			d := decoder{b: raw[5:]}
			n, _ := d.uvarint()
			for range n {
				name, _ := d.string()
				size, _ := d.uvarint()
				val := d.b[4 : 4+size]
				if name == slot {
					val[len(val)/2] ^= 0xff
					binary.LittleEndian.PutUint32(raw[1:5], crc32.Checksum(raw[5:], castagnoli))
					return txn.Set(k, raw)
				}
				d.b = d.b[4+size:]
			}
		}
		return fmt.Errorf("object %d has no slot %q", oid, slot)
	})
}

// DamageRecord flips the last byte of a record as stored, so that it
// fails its checksum.
func DamageRecord(im *Image, ns, key string) error {
	return im.db.Update(func(txn *badger.Txn) error {
		k := recordKey(ns, key)
		item, err := txn.Get(k)
		if err != nil {
			return err
		}
		raw, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		raw[len(raw)-1] ^= 0xff
		return txn.Set(k, raw)
	})
}
