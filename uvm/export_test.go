package uvm

import (
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
