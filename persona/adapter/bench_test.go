package adapter_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/batos-dev/batos/persona/adapter"
	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/uvmtest"
	"github.com/stretchr/testify/require"
)

// Swapping two 4 MiB adapters through a budget that holds one: each
// activation unloads one to RAM and writes the other for the engine.
func BenchmarkResidencySwap(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	for _, n := range []string{"brick", "robin"} {
		stage(b, filepath.Join(dir, n+adapter.Ext), 4<<20)
	}
	// On disk: an in-memory image refuses values over 1 MiB, and blob
	// chunks are 1 MiB plus their frame (reported to uvm).
	im := uvmtest.Disk(b, "", uvm.Options{NoSync: true})
	absorb(b, im, dir)
	res, err := adapter.NewResidency(im, adapter.Options{HotBudget: 4 << 20, Dir: b.TempDir()})
	require.NoError(b, err)
	defer res.Close(ctx)
	b.SetBytes(4 << 20)
	b.ResetTimer()
	for i := range b.N {
		require.NoError(b, res.Activate(ctx, []string{"brick", "robin"}[i%2]))
	}
	b.StopTimer()
	s := res.Status().Stats
	b.ReportMetric(float64(s.WarmHits)/float64(b.N), "warm-hits/op")
}
