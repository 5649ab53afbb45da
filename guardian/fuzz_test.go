package guardian_test

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/batos-dev/batos/guardian"
)

// FuzzAudit checks that the guardian never panics nor fails itself, that
// whatever it accepts is instrumented into source that parses and audits
// to itself, and that instrumenting valid Go never breaks it.
func FuzzAudit(f *testing.F) {
	for _, tc := range loadCatalogue(f) {
		f.Add(tc.src, tc.selector)
	}
	f.Fuzz(func(t *testing.T, src []byte, selector string) {
		start := time.Now()
		rep, err := guardian.Audit(src, selector, guardian.Options{})
		d := time.Since(start)
		require.LessOrEqual(t, d, 2*time.Second, "audit took %v\nsource:\n%s", d, src)
		require.NotErrorIs(t, err, guardian.ErrInternal, "source:\n%s", src)
		if err != nil {
			var rej *guardian.Rejection
			require.True(t, errors.As(err, &rej) || errors.Is(err, guardian.ErrSelector), "unexpected error type %T: %v", err, err)
			return
		}
		_, err = parser.ParseFile(token.NewFileSet(), "", rep.Source, parser.ParseComments)
		require.NoError(t, err, "instrumented source does not parse:\n%s", rep.Source)
		again, err := guardian.Audit(rep.Source, selector, guardian.Options{})
		require.NoError(t, err, "instrumented source rejected on a second audit\nsource:\n%s\ninstrumented:\n%s", src, rep.Source)
		require.Equal(t, string(rep.Source), string(again.Source), "second audit changed the source:\n--- source\n%s", src)
		if checkGo(src, "go1.22") == nil {
			require.NoError(t, checkGo(rep.Source, "go1.22"), "valid Go became invalid:\n--- source\n%s\n--- instrumented\n%s", src, rep.Source)
		}
	})
}

// checkGo type-checks a source file as a package at a Go version.
func checkGo(src []byte, version string) error {
	imp, err := sharedImporter()
	if err != nil {
		return err
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "method.go", src, 0)
	if err != nil {
		return err
	}
	conf := types.Config{Importer: imp, GoVersion: version}
	_, err = conf.Check("method", fset, []*ast.File{f}, nil)
	return err
}
