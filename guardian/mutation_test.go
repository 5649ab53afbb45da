package guardian_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/batos-dev/batos/guardian"
)

// TestLineDeletions audits every accepted source of the catalogue with one
// line removed at a time: odd but often valid programs. Whatever is
// accepted must audit to itself, and must still type-check if the mutant
// did.
func TestLineDeletions(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	n, accepted := 0, 0
	for _, tc := range loadCatalogue(t) {
		if !tc.pass {
			continue
		}
		lines := strings.Split(string(tc.src), "\n")
		for i := range lines {
			mutant := []byte(strings.Join(append(append([]string(nil), lines[:i]...), lines[i+1:]...), "\n"))
			n++
			rep, err := guardian.Audit(mutant, tc.selector, guardian.Options{})
			if errors.Is(err, guardian.ErrInternal) {
				t.Fatalf("%s without line %d: %v", tc.name, i+1, err)
			}
			if err != nil {
				continue
			}
			accepted++
			again, err := guardian.Audit(rep.Source, tc.selector, guardian.Options{})
			if err != nil || !bytes.Equal(again.Source, rep.Source) {
				t.Fatalf("%s without line %d: second audit: %v\n%s", tc.name, i+1, err, rep.Source)
			}
			if checkGo(mutant, "go1.22") == nil {
				if err := checkGo(rep.Source, "go1.22"); err != nil {
					t.Fatalf("%s without line %d: valid Go became invalid: %v\n%s", tc.name, i+1, err, rep.Source)
				}
			}
		}
	}
	t.Logf("%d mutants, %d accepted", n, accepted)
}
