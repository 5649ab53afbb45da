package guardian_test

import (
	"bytes"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"testing"
	"time"

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
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("audit took %v\nsource:\n%s", d, src)
		}
		if errors.Is(err, guardian.ErrInternal) {
			t.Fatalf("internal error: %v\nsource:\n%s", err, src)
		}
		if err != nil {
			var rej *guardian.Rejection
			if !errors.As(err, &rej) && !errors.Is(err, guardian.ErrSelector) {
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			return
		}
		if _, err := parser.ParseFile(token.NewFileSet(), "", rep.Source, parser.ParseComments); err != nil {
			t.Fatalf("instrumented source does not parse: %v\n%s", err, rep.Source)
		}
		again, err := guardian.Audit(rep.Source, selector, guardian.Options{})
		if err != nil {
			t.Fatalf("instrumented source rejected on a second audit: %v\nsource:\n%s\ninstrumented:\n%s", err, src, rep.Source)
		}
		if !bytes.Equal(again.Source, rep.Source) {
			t.Fatalf("second audit changed the source:\n--- source\n%s\n--- first\n%s\n--- second\n%s", src, rep.Source, again.Source)
		}
		if checkGo(src, "go1.22") == nil {
			if err := checkGo(rep.Source, "go1.22"); err != nil {
				t.Fatalf("valid Go became invalid: %v\n--- source\n%s\n--- instrumented\n%s", err, src, rep.Source)
			}
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
