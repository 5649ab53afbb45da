package adapter

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/uvm"
)

// Ext is the extension of the adapter files [Absorb] takes.
const Ext = ".safetensors"

// Slot is the slot of a persona prototype that holds its adapters: a
// map[string]any from adapter name to the adapter's record.
const Slot = "adapters"

// Adapter is a LoRA adapter absorbed into the image: its weights (and
// optional PEFT config) are blobs, and its record sits in its persona's
// prototype, in the [Slot] map under its name.
type Adapter struct {
	Name     string      // lower case; the name the serving engine knows it by
	Persona  string      // the persona it belongs to
	Blob     uvm.BlobRef // the .safetensors weights
	Config   uvm.BlobRef // the adapter_config.json, if one was staged (zero ID otherwise)
	Source   string      // the staged file, relative to the staging folder
	ModTime  time.Time   // the staged file's modification time when absorbed
	Absorbed time.Time   // when it was absorbed
}

// Size is the adapter's size in bytes: weights plus config.
func (a Adapter) Size() int64 { return a.Blob.Size + a.Config.Size }

func (a Adapter) record() map[string]any {
	m := map[string]any{
		"blob":     a.Blob,
		"source":   a.Source,
		"mtime":    a.ModTime.UnixNano(),
		"absorbed": a.Absorbed.UnixNano(),
	}
	if a.Config.ID != "" {
		m["config"] = a.Config
	}
	return m
}

func fromRecord(owner, name string, v any) (Adapter, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return Adapter{}, fmt.Errorf("%w: adapter %q of %s holds %T, want a record", ErrBadRecord, name, owner, v)
	}
	a := Adapter{Name: name, Persona: owner}
	if a.Blob, ok = m["blob"].(uvm.BlobRef); !ok || a.Blob.ID == "" {
		return Adapter{}, fmt.Errorf("%w: adapter %q of %s has no blob", ErrBadRecord, name, owner)
	}
	a.Config, _ = m["config"].(uvm.BlobRef)
	a.Source, _ = m["source"].(string)
	if n, ok := m["mtime"].(int64); ok {
		a.ModTime = time.Unix(0, n).UTC()
	}
	if n, ok := m["absorbed"].(int64); ok {
		a.Absorbed = time.Unix(0, n).UTC()
	}
	return a, nil
}

// List lists the adapters of the named persona, or of every persona when
// name is "", sorted by name.
func List(tx *uvm.Tx, name string) ([]Adapter, error) {
	names := []string{strings.ToUpper(strings.TrimSpace(name))}
	if name == "" {
		var err error
		if names, err = persona.Names(tx); err != nil {
			return nil, err
		}
	}
	var out []Adapter
	for _, p := range names {
		proto, err := persona.Prototype(tx, p)
		if err != nil {
			return nil, err
		}
		v, ok := proto.Get(Slot)
		if !ok || v == nil {
			continue
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%w: slot %q of %s holds %T, want a map", ErrBadRecord, Slot, p, v)
		}
		for _, n := range slices.Sorted(maps.Keys(m)) {
			a, err := fromRecord(p, n, m[n])
			if err != nil {
				return nil, err
			}
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b Adapter) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Find returns the adapter of that name, whichever persona holds it, or
// an error wrapping [ErrNotFound].
func Find(tx *uvm.Tx, name string) (Adapter, error) {
	all, err := List(tx, "")
	if err != nil {
		return Adapter{}, err
	}
	for _, a := range all {
		if a.Name == name {
			return a, nil
		}
	}
	return Adapter{}, fmt.Errorf("%w: %q", ErrNotFound, name)
}

// Read writes the adapter's weights to w, checking every chunk's checksum
// and the content's SHA-256.
func Read(tx *uvm.Tx, a Adapter, w io.Writer) error {
	if err := tx.ReadBlob(a.Blob, w); err != nil {
		return fmt.Errorf("adapter: read %q: %w", a.Name, err)
	}
	return nil
}

// Report says what [Absorb] did with each staged file.
type Report struct {
	Absorbed  []Adapter // stored now (new, or changed since the last absorption)
	Unchanged []Adapter // already in the image from the same file: not read again
	Skipped   []Skipped // files that are not adapters of any persona
}

// Skipped is a staged file [Absorb] left alone, and why.
type Skipped struct {
	Path   string // relative to the staging folder
	Reason string // why it is no adapter of any persona
}

type staged struct {
	path, rel, persona, name, config string
	mod                              time.Time
	size                             int64
}

// Absorb takes the LoRA adapters staged in dir into the image, once:
//
//	dir/brick.safetensors               adapter "brick" of BRICK
//	dir/brick-refactor.safetensors      adapter "brick-refactor" of BRICK (persona name, then - _ or .)
//	dir/ROBIN/adapter_model.safetensors adapter "robin" of ROBIN (a PEFT folder)
//	dir/ROBIN/gentle.safetensors        adapter "gentle" of ROBIN
//
// A sidecar config — X.json next to X.safetensors, or adapter_config.json
// next to adapter_model.safetensors — is absorbed with it. Each file is
// stored as a content-addressed blob ([uvm.Image.PutBlob]: chunked,
// checksummed) and recorded in its persona's prototype. A file already
// absorbed (same name, size and modification time) is not read again, so
// calling Absorb at every start costs a directory listing. The
// persona prototypes are incarnated if needed. Files matching no persona
// are reported in Skipped; an adapter name claimed by two personas is an
// error, and nothing is recorded then.
func Absorb(ctx context.Context, im *uvm.Image, dir string) (Report, error) {
	var names []string
	known := map[string]Adapter{}
	if err := im.Update(ctx, func(tx *uvm.Tx) error {
		var err error
		names, err = incarnated(ctx, tx, known)
		return err
	}); err != nil {
		return Report{}, err
	}
	rep, todo, err := store(ctx, im, dir, names, known)
	if err != nil || len(todo) == 0 {
		return rep, err
	}
	if err := im.Update(ctx, func(tx *uvm.Tx) error { return record(tx, todo) }); err != nil {
		return Report{}, err
	}
	return rep, nil
}

// AbsorbIn is [Absorb] with the records written in the caller's
// transaction tx, which also incarnates the persona prototypes if needed
// and reads what is absorbed already: the adapters become part of the
// image when tx commits, with whatever else it does (batos's awakening
// absorbs them this way). The blobs are stored before, in transactions of
// their own (see [uvm.Image.PutBlob]); a blob of a tx that is discarded is
// stored but unreferenced, and found again, not read twice, by the next
// absorption of the same file. AbsorbIn may run again when tx's Update
// retries.
func AbsorbIn(ctx context.Context, tx *uvm.Tx, dir string) (Report, error) {
	known := map[string]Adapter{}
	names, err := incarnated(ctx, tx, known)
	if err != nil {
		return Report{}, err
	}
	rep, todo, err := store(ctx, tx.Image(), dir, names, known)
	if err != nil {
		return Report{}, err
	}
	if err := record(tx, todo); err != nil {
		return Report{}, err
	}
	return rep, nil
}

// incarnated incarnates the persona prototypes if needed, fills known
// with the adapters absorbed already, and returns the personas' names.
func incarnated(ctx context.Context, tx *uvm.Tx, known map[string]Adapter) ([]string, error) {
	if err := persona.Incarnate(ctx, tx); err != nil {
		return nil, err
	}
	names, err := persona.Names(tx)
	if err != nil {
		return nil, err
	}
	all, err := List(tx, "")
	if err != nil {
		return nil, err
	}
	clear(known)
	for _, a := range all {
		known[a.Name] = a
	}
	return names, nil
}

// store scans dir and stores the blobs of the adapters that are new or
// changed, returning the report and the adapters to record.
func store(ctx context.Context, im *uvm.Image, dir string, names []string, known map[string]Adapter) (Report, []Adapter, error) {
	var rep Report
	files, skipped, err := scanStaging(dir, names)
	if err != nil {
		return rep, nil, err
	}
	rep.Skipped = skipped
	var todo []Adapter
	for _, f := range files {
		if old, ok := known[f.name]; ok && old.Persona != f.persona {
			return Report{}, nil, fmt.Errorf("adapter: absorb %s: adapter name %q already belongs to %s", f.rel, f.name, old.Persona)
		}
		if old, ok := known[f.name]; ok && old.Source == f.rel && old.Blob.Size == f.size && old.ModTime.Equal(f.mod) {
			rep.Unchanged = append(rep.Unchanged, old)
			continue
		}
		a := Adapter{Name: f.name, Persona: f.persona, Source: f.rel, ModTime: f.mod, Absorbed: time.Now().UTC()}
		if a.Blob, err = putFile(ctx, im, f.path); err != nil {
			return Report{}, nil, err
		}
		if f.config != "" {
			if a.Config, err = putFile(ctx, im, f.config); err != nil {
				return Report{}, nil, err
			}
		}
		if old, ok := known[f.name]; ok && old.Blob == a.Blob && old.Config == a.Config {
			a.Absorbed = old.Absorbed
			rep.Unchanged = append(rep.Unchanged, a) // touched, same content
		} else {
			rep.Absorbed = append(rep.Absorbed, a)
		}
		todo = append(todo, a)
	}
	return rep, todo, nil
}

// record writes the adapters' records into their personas' prototypes.
func record(tx *uvm.Tx, todo []Adapter) error {
	for _, a := range todo {
		proto, err := persona.Prototype(tx, a.Persona)
		if err != nil {
			return err
		}
		m := map[string]any{}
		if v, ok := proto.Get(Slot); ok && v != nil {
			old, ok := v.(map[string]any)
			if !ok {
				return fmt.Errorf("%w: slot %q of %s holds %T, want a map", ErrBadRecord, Slot, a.Persona, v)
			}
			maps.Copy(m, old)
		}
		m[a.Name] = a.record()
		if err := proto.Set(Slot, m); err != nil {
			return fmt.Errorf("adapter: record %q: %w", a.Name, err)
		}
	}
	return nil
}

func putFile(ctx context.Context, im *uvm.Image, path string) (uvm.BlobRef, error) {
	f, err := os.Open(path)
	if err != nil {
		return uvm.BlobRef{}, fmt.Errorf("adapter: absorb: %w", err)
	}
	defer f.Close()
	ref, err := im.PutBlob(ctx, f)
	if err != nil {
		return uvm.BlobRef{}, fmt.Errorf("adapter: absorb %s: %w", path, err)
	}
	return ref, nil
}

func scanStaging(dir string, names []string) ([]staged, []Skipped, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("adapter: staging folder: %w", err)
	}
	byLower := map[string]string{}
	for _, p := range names {
		byLower[strings.ToLower(p)] = p
	}
	var out []staged
	var skipped []Skipped
	add := func(path, rel, owner, name string) {
		fi, err := os.Stat(path)
		if err != nil || !fi.Mode().IsRegular() {
			skipped = append(skipped, Skipped{Path: rel, Reason: "not a regular file"})
			return
		}
		if !validAdapterName(name) {
			skipped = append(skipped, Skipped{Path: rel, Reason: fmt.Sprintf("adapter name %q: use letters, digits, . _ and -", name)})
			return
		}
		s := staged{path: path, rel: rel, persona: owner, name: name, mod: fi.ModTime().UTC(), size: fi.Size()}
		stem := path[:len(path)-len(Ext)]
		cands := []string{stem + ".json"}
		if strings.EqualFold(filepath.Base(stem), "adapter_model") {
			cands = append(cands, filepath.Join(filepath.Dir(path), "adapter_config.json"))
		}
		for _, c := range cands {
			if fi, err := os.Stat(c); err == nil && fi.Mode().IsRegular() {
				s.config = c
				break
			}
		}
		out = append(out, s)
	}
	for _, e := range entries {
		if e.IsDir() {
			p, ok := byLower[strings.ToLower(e.Name())]
			sub, err := os.ReadDir(filepath.Join(dir, e.Name()))
			if err != nil {
				return nil, nil, fmt.Errorf("adapter: staging folder: %w", err)
			}
			for _, f := range sub {
				if f.IsDir() || !strings.HasSuffix(strings.ToLower(f.Name()), Ext) {
					continue
				}
				rel := filepath.ToSlash(filepath.Join(e.Name(), f.Name()))
				if !ok {
					skipped = append(skipped, Skipped{Path: rel, Reason: fmt.Sprintf("folder %q names no persona", e.Name())})
					continue
				}
				stem := strings.ToLower(f.Name()[:len(f.Name())-len(Ext)])
				if stem == "adapter_model" {
					stem = strings.ToLower(p)
				}
				add(filepath.Join(dir, e.Name(), f.Name()), rel, p, stem)
			}
			continue
		}
		if !strings.HasSuffix(strings.ToLower(e.Name()), Ext) {
			continue
		}
		stem := strings.ToLower(e.Name()[:len(e.Name())-len(Ext)])
		p := personaPrefix(stem, byLower)
		if p == "" {
			skipped = append(skipped, Skipped{Path: e.Name(), Reason: "file name starts with no persona name"})
			continue
		}
		add(filepath.Join(dir, e.Name()), e.Name(), p, stem)
	}
	seen := map[string]string{}
	for _, s := range out {
		if prev, ok := seen[s.name]; ok {
			return nil, nil, fmt.Errorf("adapter: name %q staged twice: %s and %s", s.name, prev, s.rel)
		}
		seen[s.name] = s.rel
	}
	return out, skipped, nil
}

// personaPrefix returns the persona whose lower-case name the stem is, or
// starts with followed by - _ or ., preferring the longest name.
func personaPrefix(stem string, byLower map[string]string) string {
	best := ""
	for low, p := range byLower {
		if stem == low || (strings.HasPrefix(stem, low) && len(stem) > len(low) && strings.ContainsRune("-_.", rune(stem[len(low)]))) {
			if len(low) > len(best) {
				best = p
			}
		}
	}
	return best
}

func validAdapterName(s string) bool {
	if s == "" || len(s) > 128 || s[0] == '.' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}
