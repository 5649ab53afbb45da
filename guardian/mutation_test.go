package guardian_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

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
			require.NotErrorIs(t, err, guardian.ErrInternal, "%s, mutant %d", tc.name, k)
			if err != nil {
				continue
			}
			accepted++
			again, err := guardian.Audit(rep.Source, tc.selector, guardian.Options{})
			require.NoError(t, err, "%s, mutant %d: second audit:\n%s", tc.name, k, rep.Source)
			require.Equal(t, string(rep.Source), string(again.Source), "%s, mutant %d: second audit changed the source", tc.name, k)
			if checkGo(mutant, "go1.22") == nil {
				require.NoError(t, checkGo(rep.Source, "go1.22"), "%s, mutant %d: valid Go became invalid:\n%s", tc.name, k, rep.Source)
			}
		}
	}
	t.Logf("%d mutants, %d accepted", n, accepted)
}
