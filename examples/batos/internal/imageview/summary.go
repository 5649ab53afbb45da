package imageview

import (
	"sort"

	"github.com/batos-dev/batos/uvm"
)

// Root is one named root with the counts of its own slots.
type Root struct {
	Name    string  `json:"name"`
	OID     uvm.OID `json:"oid"`
	Slots   int     `json:"slots"`   // own slots that are not methods (parents included)
	Methods int     `json:"methods"` // own behaviour slots: methods and primitives
}

// Summary is an image at a glance: its roots and how many cycles it has
// recorded.
type Summary struct {
	Roots  []Root `json:"roots"`
	Cycles int    `json:"cycles"`
}

// Summarize lists the roots, sorted by name, with their counts, and counts
// the cycle records.
func Summarize(tx *uvm.Tx) (Summary, error) {
	roots, err := tx.Roots()
	if err != nil {
		return Summary{}, err
	}
	out := Summary{Roots: make([]Root, 0, len(roots))}
	for name, oid := range roots {
		r := Root{Name: name, OID: oid}
		o, err := tx.Object(oid)
		if err != nil {
			return Summary{}, err
		}
		for _, s := range o.Slots() {
			if o.IsBehaviour(s) {
				r.Methods++
			} else {
				r.Slots++
			}
		}
		out.Roots = append(out.Roots, r)
	}
	sort.Slice(out.Roots, func(i, j int) bool { return out.Roots[i].Name < out.Roots[j].Name })
	out.Cycles, err = countCycles(tx)
	return out, err
}
