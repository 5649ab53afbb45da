package guardian_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/batos-dev/batos/guardian"
)

// TestLineMutants audits every accepted source of the catalogue with one
// line removed, or doubled, at a time: odd but often valid programs.
// Whatever is accepted must audit to itself, and must still type-check if
// the mutant did.
func TestLineMutants(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	n, accepted := 0, 0
	for _, tc := range loadCatalogue(t) {
		if !tc.pass {
			continue
		}
		lines := strings.Split(string(tc.src), "\n")
		var mutants [][]byte
		for i := range lines {
			del := append(append([]string(nil), lines[:i]...), lines[i+1:]...)
			dup := append(append(append([]string(nil), lines[:i+1]...), lines[i]), lines[i+1:]...)
			mutants = append(mutants, []byte(strings.Join(del, "\n")), []byte(strings.Join(dup, "\n")))
		}
		for k, mutant := range mutants {
			n++
			rep, err := guardian.Audit(mutant, tc.selector, guardian.Options{})
			if errors.Is(err, guardian.ErrInternal) {
				t.Fatalf("%s, mutant %d: %v", tc.name, k, err)
			}
			if err != nil {
				continue
			}
			accepted++
			again, err := guardian.Audit(rep.Source, tc.selector, guardian.Options{})
			if err != nil || !bytes.Equal(again.Source, rep.Source) {
				t.Fatalf("%s, mutant %d: second audit: %v\n%s", tc.name, k, err, rep.Source)
			}
			if checkGo(mutant, "go1.22") == nil {
				if err := checkGo(rep.Source, "go1.22"); err != nil {
					t.Fatalf("%s, mutant %d: valid Go became invalid: %v\n%s", tc.name, k, err, rep.Source)
				}
			}
		}
	}
	t.Logf("%d mutants, %d accepted", n, accepted)
}
