package live

import (
	"fmt"
	"path"
	"reflect"
	"sort"
	"strings"

	"github.com/traefik/yaegi/interp"
	"github.com/traefik/yaegi/stdlib"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/live/batos"
)

// HostPackage is the import path under which interpreted code finds the
// runtime: the Self interface, Ref and OID, and the budget checks that the
// guardian's instrumentation calls.
const HostPackage = "batos"

// refusedPackage reports packages (and their sub-packages) whose symbols
// interpreted code never gets, whatever the allowlist says: they reach the
// process, files, the network or reflection, or they block.
func refusedPackage(p string) bool {
	for _, n := range []string{
		"os", "syscall", "unsafe", "reflect", "runtime", "net", "plugin",
		"io/ioutil", "io/fs", "path/filepath", "sync", "log", "testing", "debug",
		"embed", "expvar", "context", "crypto/tls", "go/build", "go/importer",
		"archive", "compress", "database", "internal", "iter",
	} {
		if p == n || strings.HasPrefix(p, n+"/") {
			return true
		}
	}
	return false
}

// withheld lists the symbols removed from an allowed package: timers and
// sleeps outlive or stall a call.
func withheld(pkg string) []string {
	if pkg == "time" {
		return []string{"Sleep", "After", "AfterFunc", "NewTimer", "NewTicker", "Tick", "Timer", "Ticker"}
	}
	return nil
}

// sandboxSymbols builds the symbol table for an interpreter: the allowed
// standard-library packages (minus withheld symbols) and the host package.
// It never hands stdlib.Symbols over whole.
func sandboxSymbols(allowed []string, host map[string]reflect.Value) (interp.Exports, []string, error) {
	out := interp.Exports{}
	var used []string
	for _, p := range allowed {
		if p == HostPackage {
			continue
		}
		if refusedPackage(p) {
			return nil, nil, fmt.Errorf("live: package %q is on the import allowlist but the runtime never exports it", p)
		}
		key := p + "/" + path.Base(p)
		syms, ok := stdlib.Symbols[key]
		if !ok {
			// Generic packages (slices, maps, cmp) come from the
			// interpreter's own sources once fmt is loaded.
			continue
		}
		m := make(map[string]reflect.Value, len(syms))
		for name, v := range syms {
			m[name] = v
		}
		for _, name := range withheld(p) {
			delete(m, name)
		}
		out[key] = m
		used = append(used, p)
	}
	out[HostPackage+"/"+HostPackage] = host
	sort.Strings(used)
	return out, used, nil
}

// Self is the receiver as a generated method sees it: the interface
// exported to interpreted code as batos.Self (docs/contract.md). The value
// a method gets is a batos.Self of package uvm/live/batos, so that what the
// method prints of it names no host type.
type Self = batos.Object

// hostSymbols is the host package as interpreted code sees it.
func hostSymbols() map[string]reflect.Value {
	return map[string]reflect.Value{
		"Self": reflect.ValueOf((*Self)(nil)),
		"Ref":  reflect.ValueOf((*uvm.Ref)(nil)),
		"OID":  reflect.ValueOf((*uvm.OID)(nil)),

		"Meter": reflect.ValueOf((*Meter)(nil)),
		"Enter": reflect.ValueOf(Enter),
	}
}
