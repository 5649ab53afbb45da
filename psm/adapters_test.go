package psm_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/persona/adapter"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
	"github.com/stretchr/testify/require"
)

// adapters lists the absorbed adapters as persona/name → absorbed time.
func adapters(t *testing.T, m *psm.Mind) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, m.Image().View(ctx, func(tx *uvm.Tx) error {
		all, err := adapter.List(tx, "")
		for _, a := range all {
			out[a.Persona+"/"+a.Name] = a.Absorbed.String()
		}
		return err
	}))
	return out
}

// The awakening absorbs the adapters staged for the image; a later open
// absorbs those staged since, and leaves the others as they were.
func TestStagedAdaptersAreAbsorbed(t *testing.T) {
	dir, staging := filepath.Join(t.TempDir(), "image"), t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(staging, "brick.safetensors"), []byte("brick weights"), 0o644))
	withStaging := func(o *psm.Options) { o.AdapterDir = staging }

	m, _ := openMind(t, dir, persona.NewScripted(nil), withStaging)
	first := adapters(t, m)
	require.Len(t, first, 1)
	require.Contains(t, first, "BRICK/brick")
	require.NoError(t, m.Close())

	require.NoError(t, os.MkdirAll(filepath.Join(staging, "ROBIN"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(staging, "ROBIN", "adapter_model.safetensors"), []byte("robin weights"), 0o644))
	m, _ = openMind(t, dir, persona.NewScripted(nil), withStaging)
	second := adapters(t, m)
	require.Len(t, second, 2)
	require.Contains(t, second, "ROBIN/robin")
	require.Equal(t, first["BRICK/brick"], second["BRICK/brick"], "absorbed once")
	require.NoError(t, m.Close())

	_, err := psm.Open(ctx, dir, psm.Options{Model: persona.NewScripted(nil), AdapterDir: filepath.Join(staging, "missing")})
	require.ErrorContains(t, err, "missing")
}
