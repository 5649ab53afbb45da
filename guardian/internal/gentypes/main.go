// Command gentypes writes the type information of the standard-library
// packages that generated methods may import, for the guardian's type
// check, which must run without a Go toolchain:
//
//	go generate ./guardian
//
// runs it as `go run ./internal/gentypes -o stdtypes.bin` in the guardian's
// directory. It loads each package's export data with the Go toolchain
// (go/importer) and writes them all as one bundle
// (golang.org/x/tools/go/gcexportdata.WriteBundle); the guardian embeds the
// bundle and reads it back with gcexportdata.ReadBundle. Source positions
// in it are relative to $GOROOT, so the output depends only on the Go
// version and the package list.
//
// The list is guardian.DefaultImports (read from the guardian itself),
// unicode/utf8 (which the guardian's rewrites import), and the other pure
// packages a host may add to its allowlist (extra). A guardian test fails
// when the bundle differs from what this command writes now: run go
// generate again.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/importer"
	"go/token"
	"go/types"
	"os"
	"slices"

	"github.com/batos-dev/batos/guardian"
	"golang.org/x/tools/go/gcexportdata"
)

// packages are the import paths the bundle holds, sorted: the default
// allowlist, unicode/utf8, and the extra packages below.
func packages() []string {
	all := append(guardian.DefaultImports(), "unicode/utf8")
	all = append(all, extra...)
	slices.Sort(all)
	return slices.Compact(all)
}

// extra are the pure packages a host may allow besides the defaults.
var extra = []string{
	"container/heap",
	"container/ring",
	"crypto/hmac",
	"crypto/md5",
	"crypto/rand",
	"crypto/sha1",
	"crypto/sha256",
	"crypto/sha3",
	"crypto/sha512",
	"crypto/subtle",
	"encoding/base32",
	"encoding/binary",
	"encoding/csv",
	"hash",
	"hash/adler32",
	"hash/crc64",
	"hash/fnv",
	"hash/maphash",
	"math/cmplx",
	"text/tabwriter",
}

func main() {
	out := flag.String("o", "stdtypes.bin", "the file to write")
	flag.Parse()
	data, err := bundle(packages())
	if err != nil {
		fmt.Fprintln(os.Stderr, "gentypes:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gentypes:", err)
		os.Exit(1)
	}
}

// bundle imports the packages from the toolchain's export data and encodes
// them as one bundle.
func bundle(paths []string) ([]byte, error) {
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", nil)
	pkgs := make([]*types.Package, 0, len(paths))
	for _, p := range paths {
		pkg, err := imp.Import(p)
		if err != nil {
			return nil, fmt.Errorf("importing %s: %w", p, err)
		}
		pkgs = append(pkgs, pkg)
	}
	var buf bytes.Buffer
	if err := gcexportdata.WriteBundle(&buf, fset, pkgs); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
