package adapter_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/batos-dev/batos/persona/adapter"
	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/uvmtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stage writes a file of n random bytes (a stand-in for LoRA weights).
func stage(t testing.TB, path string, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, b, 0o644))
	return b
}

func absorb(t testing.TB, im *uvm.Image, dir string) adapter.Report {
	t.Helper()
	rep, err := adapter.Absorb(context.Background(), im, dir)
	require.NoError(t, err)
	return rep
}

func names(as []adapter.Adapter) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Persona+"/"+a.Name)
	}
	slices.Sort(out)
	return out
}

func TestAbsorb(t *testing.T) {
	ctx := context.Background()
	stageDir, imageDir := t.TempDir(), t.TempDir()
	files := map[string][]byte{
		"brick.safetensors":               stage(t, filepath.Join(stageDir, "brick.safetensors"), 3<<20+17), // several blob chunks
		"BRICK-refactor.safetensors":      stage(t, filepath.Join(stageDir, "BRICK-refactor.safetensors"), 1000),
		"ROBIN/adapter_model.safetensors": stage(t, filepath.Join(stageDir, "ROBIN", "adapter_model.safetensors"), 2000),
		"ROBIN/adapter_config.json":       []byte(`{"r": 8, "lora_alpha": 16}`),
		"babs_data.safetensors":           stage(t, filepath.Join(stageDir, "babs_data.safetensors"), 500),
		"babs_data.json":                  []byte(`{"r": 4}`),
		"stranger.safetensors":            stage(t, filepath.Join(stageDir, "stranger.safetensors"), 10),
		"nobody/x.safetensors":            stage(t, filepath.Join(stageDir, "nobody", "x.safetensors"), 10),
		"brickwork.safetensors":           stage(t, filepath.Join(stageDir, "brickwork.safetensors"), 10), // "brick" must be followed by - _ .
	}
	for _, cfg := range []string{"ROBIN/adapter_config.json", "babs_data.json"} {
		require.NoError(t, os.WriteFile(filepath.Join(stageDir, cfg), files[cfg], 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(stageDir, "README.txt"), []byte("not an adapter"), 0o644))

	im := uvmtest.Disk(t, imageDir, uvm.Options{})
	rep := absorb(t, im, stageDir)
	wantAbsorbed := []string{"BABS/babs_data", "BRICK/brick", "BRICK/brick-refactor", "ROBIN/robin"}
	require.Equal(t, wantAbsorbed, names(rep.Absorbed), "absorbed")
	require.Empty(t, rep.Unchanged, "unchanged")
	var skipped []string
	for _, s := range rep.Skipped {
		skipped = append(skipped, s.Path)
	}
	slices.Sort(skipped)
	require.Equal(t, []string{"brickwork.safetensors", "nobody/x.safetensors", "stranger.safetensors"}, skipped, "skipped")

	// A second absorption reads nothing again.
	rep = absorb(t, im, stageDir)
	require.Empty(t, rep.Absorbed, "second absorb: absorbed")
	require.Equal(t, wantAbsorbed, names(rep.Unchanged), "second absorb: unchanged")

	// A changed file is absorbed anew.
	time.Sleep(10 * time.Millisecond)
	files["BRICK-refactor.safetensors"] = stage(t, filepath.Join(stageDir, "BRICK-refactor.safetensors"), 1200)
	rep = absorb(t, im, stageDir)
	require.Equal(t, []string{"BRICK/brick-refactor"}, names(rep.Absorbed), "after a change: the changed adapter only")

	// After a reopen, the image holds the adapters byte for byte.
	im = uvmtest.Reopen(t, im, imageDir, uvm.Options{})
	uvmtest.View(t, im, func(tx *uvm.Tx) error {
		all, err := adapter.List(tx, "")
		require.NoError(t, err)
		assert.Equal(t, wantAbsorbed, names(all))
		for _, a := range all {
			src := map[string]string{"brick": "brick.safetensors", "brick-refactor": "BRICK-refactor.safetensors",
				"robin": "ROBIN/adapter_model.safetensors", "babs_data": "babs_data.safetensors"}[a.Name]
			var buf bytes.Buffer
			require.NoError(t, adapter.Read(tx, a, &buf))
			assert.True(t, bytes.Equal(buf.Bytes(), files[src]), "%s: %d bytes in the image differ from the %d staged", a.Name, buf.Len(), len(files[src]))
			assert.Equal(t, src, a.Source, "%s: source", a.Name)
			assert.False(t, a.ModTime.IsZero(), "%s: mtime", a.Name)
			assert.False(t, a.Absorbed.IsZero(), "%s: absorbed", a.Name)
		}
		robin, err := adapter.Find(tx, "robin")
		require.NoError(t, err)
		var conf bytes.Buffer
		assert.NoError(t, tx.ReadBlob(robin.Config, &conf), "robin config")
		assert.Equal(t, string(files["ROBIN/adapter_config.json"]), conf.String(), "robin config")
		brickOnly, err := adapter.List(tx, "brick")
		require.NoError(t, err)
		assert.Equal(t, []string{"BRICK/brick", "BRICK/brick-refactor"}, names(brickOnly), "BRICK's adapters")
		_, err = adapter.Find(tx, "nope")
		assert.ErrorIs(t, err, adapter.ErrNotFound)
		return nil
	})

	// From the reopened image, cold to hot: the engine's file is the staged one.
	res, err := adapter.NewResidency(im, adapter.Options{})
	require.NoError(t, err)
	defer res.Close(ctx)
	for _, name := range []string{"brick", "robin"} {
		require.NoError(t, res.Activate(ctx, name))
	}
	for name, src := range map[string]string{"brick": "brick.safetensors", "robin": "ROBIN/adapter_model.safetensors"} {
		b, err := os.ReadFile(filepath.Join(res.Dir(), name, "adapter_model.safetensors"))
		require.NoError(t, err, name)
		require.True(t, bytes.Equal(b, files[src]), "%s: hot file differs from the staged one", name)
	}
	conf, err := os.ReadFile(filepath.Join(res.Dir(), "robin", "adapter_config.json"))
	require.NoError(t, err)
	require.Equal(t, string(files["ROBIN/adapter_config.json"]), string(conf), "robin's adapter_config.json")
}

func TestAbsorbErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("MissingFolder", func(t *testing.T) {
		im := uvmtest.Mem(t, uvm.Options{})
		_, err := adapter.Absorb(ctx, im, filepath.Join(t.TempDir(), "nope"))
		require.Error(t, err, "a missing staging folder")
	})
	t.Run("NameStagedTwice", func(t *testing.T) {
		dir := t.TempDir()
		stage(t, filepath.Join(dir, "brick-x.safetensors"), 10)
		stage(t, filepath.Join(dir, "BRICK", "brick-x.safetensors"), 10)
		im := uvmtest.Mem(t, uvm.Options{})
		_, err := adapter.Absorb(ctx, im, dir)
		require.ErrorContains(t, err, "staged twice")
		uvmtest.View(t, im, func(tx *uvm.Tx) error {
			all, err := adapter.List(tx, "")
			assert.Empty(t, all, "nothing recorded")
			return err
		})
	})
	t.Run("NameOwnedByAnotherPersona", func(t *testing.T) {
		dir := t.TempDir()
		stage(t, filepath.Join(dir, "ROBIN", "shared.safetensors"), 10)
		im := uvmtest.Mem(t, uvm.Options{})
		absorb(t, im, dir)
		require.NoError(t, os.RemoveAll(filepath.Join(dir, "ROBIN")))
		stage(t, filepath.Join(dir, "BABS", "shared.safetensors"), 10)
		_, err := adapter.Absorb(ctx, im, dir)
		require.ErrorContains(t, err, "already belongs to ROBIN")
	})
}
