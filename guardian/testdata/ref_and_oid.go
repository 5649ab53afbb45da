package method

import "batos"

func ref_and_oid(self batos.Self, args []any) (any, error) {
	friend, ok := self.Get("friend").(batos.Ref)
	if !ok {
		return self.OID(), nil
	}
	return friend, nil
}

// verdict: pass
// writes: false
