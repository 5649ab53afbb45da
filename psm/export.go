package psm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/format"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/batos-dev/batos/uvm"
)

// exportMarker opens the header comment of an exported method file.
const exportMarker = "// batos method export."

// Export writes the current methods of the object oid's own slots to dir
// (created if needed), one gofmt-ed Go file per selector, SELECTOR.go,
// and returns the files' paths, sorted. Each file starts with a header
// comment that says where the method came from:
//
//	// batos method export. Edit it, and import it back with psm.Mind.Import.
//	//
//	//	selector: greet
//	//	object:   3 (genesis)
//	//	version:  2 of 2
//	//	author:   ALFRED
//	//	model:    ollama:qwen2.5-coder:7b
//	//	cycle:    c1812…-1
//	//	created:  2025-01-02T03:04:05Z
//	//	why:      greets whoever is named
//	//	args:     ["Architect"]
//
// followed by a blank line and the method's source, gofmt-ed. Methods of
// the object's ancestors, primitives and data slots are not exported.
// Source that does not parse as Go (installed through the unaudited
// uvm.Tx.InstallMethod) is an error naming the selector.
func (m *Mind) Export(ctx context.Context, oid uvm.OID, dir string) ([]string, error) {
	if err := m.enter(); err != nil {
		return nil, err
	}
	defer m.leave()
	files := map[string][]byte{}
	err := m.im.View(ctx, func(tx *uvm.Tx) error {
		o, err := tx.Object(oid)
		if err != nil {
			return err
		}
		label := fmt.Sprint(oid)
		if name, ok := o.Get("name"); ok {
			if s, ok := name.(string); ok && s != "" {
				label = fmt.Sprintf("%d (%s)", oid, s)
			}
		}
		for _, sel := range o.Slots() {
			meth, ok := ownMethod(o, sel)
			if !ok {
				continue
			}
			if !token.IsIdentifier(sel) {
				return fmt.Errorf("selector %q is not a Go identifier; it cannot name a file", sel)
			}
			v, err := versionOf(tx, o, meth)
			if err != nil {
				return err
			}
			all, err := tx.MethodVersions(o, sel)
			if err != nil {
				return err
			}
			body, err := format.Source([]byte(meth.Source))
			if err != nil {
				return fmt.Errorf("selector %q: the source does not parse: %w", sel, err)
			}
			files[sel+".go"] = append(exportHeader(label, v, len(all)), body...)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("psm: export object %d: %w", oid, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("psm: export object %d: %w", oid, err)
	}
	var out []string
	for _, name := range slices.Sorted(maps.Keys(files)) {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, files[name], 0o644); err != nil {
			return nil, fmt.Errorf("psm: export object %d: %w", oid, err)
		}
		out = append(out, path)
	}
	return out, nil
}

// exportHeader renders the header comment of an exported method.
func exportHeader(object string, v Version, versions int) []byte {
	var b bytes.Buffer
	b.WriteString(exportMarker + " Edit it, and import it back with psm.Mind.Import.\n//\n")
	field := func(k, val string) {
		if val != "" {
			fmt.Fprintf(&b, "//\t%-9s %s\n", k+":", oneLine(val))
		}
	}
	field("selector", v.Selector)
	field("object", object)
	field("version", fmt.Sprintf("%d of %d", v.Version, versions))
	field("author", v.Author)
	field("model", v.Model)
	field("cycle", v.CycleID)
	if v.ApprovedBy != "" {
		field("approved", v.ApprovedBy)
	}
	if v.Restores != 0 {
		field("restores", fmt.Sprintf("v%d", v.Restores))
	}
	if !v.Created.IsZero() {
		field("created", v.Created.UTC().Format(time.RFC3339))
	}
	field("why", v.Why)
	if len(v.Args) > 0 {
		if a, err := json.Marshal(Args(v.Args)); err == nil {
			field("args", string(a))
		}
	}
	b.WriteString("\n")
	return b.Bytes()
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// exported is a method file read back: its selector, its source and the
// arguments its header names.
type exported struct {
	path     string
	selector string
	source   string
	args     []any
	hasArgs  bool
}

// readExported reads a method file: with an export header, the
// selector and arguments come from it; without one, the selector is the
// file's name and the whole file is the source.
func readExported(path string) (exported, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return exported{}, err
	}
	e := exported{path: path, selector: strings.TrimSuffix(filepath.Base(path), ".go"), source: string(b)}
	if !bytes.HasPrefix(b, []byte(exportMarker)) {
		return e, nil
	}
	head, body, ok := bytes.Cut(b, []byte("\n\n"))
	if !ok {
		return e, fmt.Errorf("%s: an export header without the source after it", path)
	}
	e.source = string(body)
	for _, line := range strings.Split(string(head), "\n") {
		k, val, ok := strings.Cut(strings.TrimPrefix(line, "//\t"), ":")
		if !ok || !strings.HasPrefix(line, "//\t") {
			continue
		}
		val = strings.TrimSpace(val)
		switch k {
		case "selector":
			e.selector = val
		case "args":
			var a Args
			if err := json.Unmarshal([]byte(val), &a); err != nil {
				return e, fmt.Errorf("%s: header args: %w", path, err)
			}
			e.args, e.hasArgs = a, true
		}
	}
	return e, nil
}

// Import installs the methods in the .go files of dir (as Export writes
// them, or written by hand: SELECTOR.go holding the method's source) on
// the object oid, each through the same validation as Install, its dry
// run with the arguments its header names (WithArgs overrides them). A
// file whose source is the object's current method, gofmt-ed, is
// skipped, so importing what Export wrote changes nothing, and exporting
// again writes the same bytes. It returns the versions it installed, in
// file order. Files are validated one by one: the first that fails stops
// the import with its *InstallError, and those installed before it stay.
func (m *Mind) Import(ctx context.Context, oid uvm.OID, dir string, opts ...Option) ([]Version, error) {
	if err := m.enter(); err != nil {
		return nil, err
	}
	defer m.leave()
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, fmt.Errorf("psm: import into object %d: %w", oid, err)
	}
	slices.Sort(paths)
	var out []Version
	for _, path := range paths {
		e, err := readExported(path)
		if err != nil {
			return out, fmt.Errorf("psm: import into object %d: %w", oid, err)
		}
		same := false
		err = m.im.View(ctx, func(tx *uvm.Tx) error {
			o, err := tx.Object(oid)
			if err != nil {
				return err
			}
			if cur, ok := ownMethod(o, e.selector); ok {
				f, err := format.Source([]byte(cur.Source))
				same = cur.Source == e.source || err == nil && string(f) == e.source
			}
			return nil
		})
		if err != nil {
			return out, fmt.Errorf("psm: import into object %d: %w", oid, err)
		}
		if same {
			continue
		}
		o := hostOpts(opts)
		if !o.hasArgs {
			o.args = e.args
		}
		if o.why == "" {
			o.why = "imported from " + filepath.Base(path)
		}
		v, err := m.installHost(ctx, oid, e.selector, e.source, o, versionNote{By: o.by, Why: o.why})
		if err != nil {
			return out, fmt.Errorf("psm: import %s: %w", filepath.Base(path), err)
		}
		out = append(out, v)
	}
	return out, nil
}
