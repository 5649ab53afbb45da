package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
	"github.com/stretchr/testify/require"
)

// envStartupImage names a directory where BenchmarkInspectStartup keeps
// its image (made there if absent), to time the command with other tools.
const envStartupImage = "BATOS_STARTUP_IMAGE"

// makeImage awakens an image in dir and adds n objects: each with a few
// data slots and genesis as parent, listed in genesis's "items" slot, and
// every hundredth one a root.
func makeImage(tb testing.TB, dir string, n int) {
	tb.Helper()
	ctx := context.Background()
	mind, err := psm.Open(ctx, dir, psm.Options{Model: persona.NewScripted([]persona.Reply{{Text: "unused"}}), NoSync: true})
	require.NoError(tb, err)
	defer func() { require.NoError(tb, mind.Close()) }()
	var items []any
	for start := 0; start < n; start += 500 {
		require.NoError(tb, mind.Image().Update(ctx, func(tx *uvm.Tx) error {
			g, err := tx.Object(mind.Genesis())
			if err != nil {
				return err
			}
			for i := start; i < min(start+500, n); i++ {
				o, err := tx.New()
				if err != nil {
					return err
				}
				if err := o.SetParents(g); err != nil {
					return err
				}
				for k, v := range map[string]any{"n": int64(i), "label": fmt.Sprintf("object number %d", i), "tags": []any{"a", "b", int64(i % 7)}} {
					if err := o.Set(k, v); err != nil {
						return err
					}
				}
				if i%100 == 0 {
					if err := tx.SetRoot(fmt.Sprintf("item.%05d", i), o); err != nil {
						return err
					}
				}
				items = append(items, o.Ref())
			}
			return nil
		}))
	}
	require.NoError(tb, mind.Image().Update(ctx, func(tx *uvm.Tx) error {
		g, err := tx.Object(mind.Genesis())
		if err != nil {
			return err
		}
		return g.Set("items", items)
	}))
}

// BenchmarkInspectStartup times `batos inspect` as a user meets it: a
// fresh process (the command built with go build) on an image of 10,000
// objects, from start to exit. Run it with -benchtime=10x: it reports the
// median and the slowest of the runs, for the summary (inspect) and for
// one object (inspect genesis). The target is a median ≤ 100 ms.
func BenchmarkInspectStartup(b *testing.B) {
	work := b.TempDir()
	bin := filepath.Join(work, "batos")
	build := exec.Command("go", "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(b, err, "go build: %s", out)

	dir := os.Getenv(envStartupImage)
	if dir == "" {
		dir = filepath.Join(work, "img")
	}
	if _, err := os.Stat(dir); err != nil {
		makeImage(b, dir, 10_000)
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"summary", []string{"inspect", "--image", dir}},
		{"object", []string{"inspect", "--image", dir, "genesis"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var runs []time.Duration
			for b.Loop() {
				start := time.Now()
				out, err := exec.Command(bin, tc.args...).CombinedOutput()
				runs = append(runs, time.Since(start))
				require.NoError(b, err, "%s", out)
			}
			slices.Sort(runs)
			b.ReportMetric(float64(runs[len(runs)/2].Microseconds())/1000, "median-ms")
			b.ReportMetric(float64(runs[len(runs)-1].Microseconds())/1000, "max-ms")
		})
	}
}
