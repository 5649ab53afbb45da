package persona_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/uvm"
)

// stage writes a file of n random bytes (a stand-in for LoRA weights).
func stage(t testing.TB, path string, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

func absorb(t testing.TB, im *uvm.Image, dir string) persona.AbsorbReport {
	t.Helper()
	rep, err := persona.AbsorbAdapters(context.Background(), im, dir)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func names(as []persona.Adapter) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Persona+"/"+a.Name)
	}
	slices.Sort(out)
	return out
}

func TestAbsorbAdapters(t *testing.T) {
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
		if err := os.WriteFile(filepath.Join(stageDir, cfg), files[cfg], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(stageDir, "README.txt"), []byte("not an adapter"), 0o644)

	im, err := uvm.Open(imageDir, uvm.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rep := absorb(t, im, stageDir)
	wantAbsorbed := []string{"BABS/babs_data", "BRICK/brick", "BRICK/brick-refactor", "ROBIN/robin"}
	if got := names(rep.Absorbed); !slices.Equal(got, wantAbsorbed) || len(rep.Unchanged) != 0 {
		t.Fatalf("got absorbed %v unchanged %v, want %v", got, names(rep.Unchanged), wantAbsorbed)
	}
	var skipped []string
	for _, s := range rep.Skipped {
		skipped = append(skipped, s.Path)
	}
	slices.Sort(skipped)
	if want := []string{"brickwork.safetensors", "nobody/x.safetensors", "stranger.safetensors"}; !slices.Equal(skipped, want) {
		t.Fatalf("got skipped %v, want %v", skipped, want)
	}

	// A second absorption reads nothing again.
	rep = absorb(t, im, stageDir)
	if len(rep.Absorbed) != 0 || !slices.Equal(names(rep.Unchanged), wantAbsorbed) {
		t.Fatalf("second absorb: got absorbed %v unchanged %v", names(rep.Absorbed), names(rep.Unchanged))
	}

	// A changed file is absorbed anew.
	time.Sleep(10 * time.Millisecond)
	files["BRICK-refactor.safetensors"] = stage(t, filepath.Join(stageDir, "BRICK-refactor.safetensors"), 1200)
	rep = absorb(t, im, stageDir)
	if got := names(rep.Absorbed); !slices.Equal(got, []string{"BRICK/brick-refactor"}) {
		t.Fatalf("after a change: got absorbed %v, want the changed adapter only", got)
	}
	im.Close()

	// After a reopen, the image holds the adapters byte for byte.
	im = openImage(t, imageDir, uvm.Options{})
	if err := im.View(ctx, func(tx *uvm.Tx) error {
		all, err := persona.Adapters(tx, "")
		if err != nil {
			return err
		}
		if got := names(all); !slices.Equal(got, wantAbsorbed) {
			t.Errorf("got %v, want %v", got, wantAbsorbed)
		}
		for _, a := range all {
			src := map[string]string{"brick": "brick.safetensors", "brick-refactor": "BRICK-refactor.safetensors",
				"robin": "ROBIN/adapter_model.safetensors", "babs_data": "babs_data.safetensors"}[a.Name]
			var buf bytes.Buffer
			if err := persona.ReadAdapter(tx, a, &buf); err != nil {
				return err
			}
			if !bytes.Equal(buf.Bytes(), files[src]) {
				t.Errorf("%s: %d bytes in the image differ from the %d staged", a.Name, buf.Len(), len(files[src]))
			}
			if a.Source != src || a.ModTime.IsZero() || a.Absorbed.IsZero() {
				t.Errorf("%s: got source %q mtime %v absorbed %v", a.Name, a.Source, a.ModTime, a.Absorbed)
			}
		}
		robin, err := persona.FindAdapter(tx, "robin")
		if err != nil {
			return err
		}
		var conf bytes.Buffer
		if err := tx.ReadBlob(robin.Config, &conf); err != nil || conf.String() != string(files["ROBIN/adapter_config.json"]) {
			t.Errorf("robin config: got %q, %v", conf.String(), err)
		}
		brickOnly, err := persona.Adapters(tx, "brick")
		if err != nil {
			return err
		}
		if got := names(brickOnly); !slices.Equal(got, []string{"BRICK/brick", "BRICK/brick-refactor"}) {
			t.Errorf("BRICK's adapters: got %v", got)
		}
		if _, err := persona.FindAdapter(tx, "nope"); !errors.Is(err, persona.ErrAdapterNotFound) {
			t.Errorf("got %v, want ErrAdapterNotFound", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// From the reopened image, cold to hot: the engine's file is the staged one.
	res, err := persona.NewResidency(im, persona.ResidencyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close(ctx)
	for _, name := range []string{"brick", "robin"} {
		if err := res.Activate(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	for name, src := range map[string]string{"brick": "brick.safetensors", "robin": "ROBIN/adapter_model.safetensors"} {
		b, err := os.ReadFile(filepath.Join(res.Dir(), name, "adapter_model.safetensors"))
		if err != nil || !bytes.Equal(b, files[src]) {
			t.Fatalf("%s: hot file differs from the staged one (%v)", name, err)
		}
	}
	conf, err := os.ReadFile(filepath.Join(res.Dir(), "robin", "adapter_config.json"))
	if err != nil || string(conf) != string(files["ROBIN/adapter_config.json"]) {
		t.Fatalf("robin's adapter_config.json: got %q, %v", conf, err)
	}
}

func TestAbsorbAdaptersErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("MissingFolder", func(t *testing.T) {
		im := openImage(t, "", uvm.Options{})
		if _, err := persona.AbsorbAdapters(ctx, im, filepath.Join(t.TempDir(), "nope")); err == nil {
			t.Fatal("got nil, want an error for a missing staging folder")
		}
	})
	t.Run("NameStagedTwice", func(t *testing.T) {
		dir := t.TempDir()
		stage(t, filepath.Join(dir, "brick-x.safetensors"), 10)
		stage(t, filepath.Join(dir, "BRICK", "brick-x.safetensors"), 10)
		im := openImage(t, "", uvm.Options{})
		_, err := persona.AbsorbAdapters(ctx, im, dir)
		if err == nil || !strings.Contains(err.Error(), "staged twice") {
			t.Fatalf("got %v, want a staged-twice error", err)
		}
		if err := im.View(ctx, func(tx *uvm.Tx) error {
			all, err := persona.Adapters(tx, "")
			if len(all) != 0 {
				t.Errorf("got %v recorded, want nothing", names(all))
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("NameOwnedByAnotherPersona", func(t *testing.T) {
		dir := t.TempDir()
		stage(t, filepath.Join(dir, "ROBIN", "shared.safetensors"), 10)
		im := openImage(t, "", uvm.Options{})
		absorb(t, im, dir)
		os.RemoveAll(filepath.Join(dir, "ROBIN"))
		stage(t, filepath.Join(dir, "BABS", "shared.safetensors"), 10)
		if _, err := persona.AbsorbAdapters(ctx, im, dir); err == nil || !strings.Contains(err.Error(), "already belongs to ROBIN") {
			t.Fatalf("got %v, want an error naming ROBIN", err)
		}
	})
}
