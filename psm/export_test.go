package psm_test

import (
	"go/format"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
	"github.com/stretchr/testify/require"
)

// readDir reads every file of dir by name.
func readDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	out := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		out[e.Name()] = string(b)
	}
	return out
}

// A prototype's methods export as gofmt-ed files with their provenance
// in a header; importing them back changes nothing, and exporting again
// writes the same bytes.
func TestMindExportImportRoundTrip(t *testing.T) {
	model := persona.NewScripted([]persona.Reply{plan("counting"), {Persona: "ALFRED", Text: code(tickMarked)}})
	m := memMind(t, model, nil)
	_, err := m.Send(ctx, m.Genesis(), "tick")
	require.NoError(t, err)
	// Not gofmt-ed as stored: the export formats it.
	_, err = m.Install(ctx, m.Genesis(), "greet", strings.ReplaceAll(greetNamed, "\treturn", "        return"), psm.By("ada"), psm.WithArgs("Ada"))
	require.NoError(t, err)

	dir := filepath.Join(t.TempDir(), "genesis")
	paths, err := m.Export(ctx, m.Genesis(), dir)
	require.NoError(t, err)
	require.Equal(t, []string{filepath.Join(dir, "greet.go"), filepath.Join(dir, "tick.go")}, paths)
	files := readDir(t, dir)
	greet := files["greet.go"]
	for _, want := range []string{
		"// batos method export.", "//\tselector: greet\n", "//\tobject:   3 (genesis)\n", "//\tversion:  1 of 1\n",
		"//\tauthor:   ada\n", "//\tcreated:  ", "//\twhy:      installed by ada\n", "//\targs:     [\"Ada\"]\n",
		"\n\npackage m\n", "\treturn \"hello, \" + name, nil\n",
	} {
		require.Contains(t, greet, want)
	}
	require.Contains(t, files["tick.go"], "//\tauthor:   ALFRED\n")
	require.Contains(t, files["tick.go"], "//\tmodel:    host model *persona.Scripted\n")
	require.Contains(t, files["tick.go"], "//\tcycle:    c")
	for name, body := range files {
		f, err := format.Source([]byte(body))
		require.NoError(t, err, name)
		require.Equal(t, string(f), body, "%s is gofmt-ed, header and all", name)
	}

	before, err := m.Fingerprint(ctx)
	require.NoError(t, err)
	got, err := m.Import(ctx, m.Genesis(), dir)
	require.NoError(t, err)
	require.Empty(t, got, "nothing changed, nothing installed")
	after, err := m.Fingerprint(ctx)
	require.NoError(t, err)
	require.Equal(t, before, after)
	again := filepath.Join(t.TempDir(), "again")
	_, err = m.Export(ctx, m.Genesis(), again)
	require.NoError(t, err)
	require.Equal(t, files, readDir(t, again), "a round trip is byte-identical")

	// Into a fresh object: the same sources, validated with the header's
	// arguments.
	fresh, err := m.New(ctx)
	require.NoError(t, err)
	vs, err := m.Import(ctx, fresh, dir, psm.By("grace"))
	require.NoError(t, err)
	require.Len(t, vs, 2)
	require.Equal(t, []any{"Ada"}, vs[0].Args)
	require.Equal(t, "grace", vs[0].Author)
	require.Equal(t, "imported from greet.go", vs[0].Why)
	other := filepath.Join(t.TempDir(), "fresh")
	_, err = m.Export(ctx, fresh, other)
	require.NoError(t, err)
	for name, body := range readDir(t, other) {
		_, src, _ := strings.Cut(body, "\n\n")
		_, want, _ := strings.Cut(files[name], "\n\n")
		require.Equal(t, want, src, "%s: the same source", name)
	}
	v, err := m.Send(ctx, fresh, "greet", "Grace")
	require.NoError(t, err)
	require.Equal(t, "hello, Grace", v)
	require.Len(t, model.Calls(), 2, "one cycle only")
}

// An edited file imports as a new version; a broken one is refused with
// the validation's error, and nothing of it is installed.
func TestMindImportValidates(t *testing.T) {
	m := memMind(t, persona.NewScripted(nil), nil)
	_, err := m.Install(ctx, m.Genesis(), "greet", greetSrc)
	require.NoError(t, err)
	dir := t.TempDir()
	_, err = m.Export(ctx, m.Genesis(), dir)
	require.NoError(t, err)
	path := filepath.Join(dir, "greet.go")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(b), "hello, architect", "good morning, architect", 1)), 0o644))

	vs, err := m.Import(ctx, m.Genesis(), dir)
	require.NoError(t, err)
	require.Len(t, vs, 1)
	require.Equal(t, 2, vs[0].Version)
	v, err := m.Send(ctx, m.Genesis(), "greet")
	require.NoError(t, err)
	require.Equal(t, "good morning, architect", v)

	// A file written by hand, without a header: its name is the selector.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tick.go"), []byte(tickUnmarked), 0o644))
	before, err := m.Fingerprint(ctx)
	require.NoError(t, err)
	_, err = m.Import(ctx, m.Genesis(), dir)
	var ie *psm.InstallError
	require.ErrorAs(t, err, &ie)
	require.Equal(t, "tick", ie.Selector)
	require.Equal(t, "audit", ie.Stage)
	require.Contains(t, err.Error(), "tick.go")
	after, err := m.Fingerprint(ctx)
	require.NoError(t, err)
	require.Equal(t, before, after)
}

// Source that does not parse cannot be exported; the error names it.
func TestMindExportRefusesUnparsableSource(t *testing.T) {
	m := memMind(t, persona.NewScripted(nil), nil)
	require.NoError(t, m.Image().Update(ctx, func(tx *uvm.Tx) error {
		g, err := tx.Object(m.Genesis())
		if err != nil {
			return err
		}
		_, err = tx.InstallMethod(g, uvm.Method{Selector: "broken", Source: "package m\nfunc {"})
		return err
	}))
	_, err := m.Export(ctx, m.Genesis(), t.TempDir())
	require.ErrorContains(t, err, `selector "broken"`)
}
