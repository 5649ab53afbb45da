package persona_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/persona/personatest"
	"github.com/batos-dev/batos/uvm"
)

// The guard's cost per call over an instant model.
func BenchmarkAskScripted(b *testing.B) {
	ctx := context.Background()
	rs := make([]persona.Reply, b.N)
	for i := range rs {
		rs[i] = persona.Reply{Text: "```go\npackage m\n\nfunc f() {}\n```"}
	}
	m := persona.NewScripted(rs)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if _, err := persona.Ask(ctx, m, persona.BRICK, "write f"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
}

// A whole call through langchaingo's Ollama client and a local server
// speaking its protocol (streamed NDJSON).
func BenchmarkAskOllamaWire(b *testing.B) {
	ctx := context.Background()
	srv := personatest.NewOllama(b)
	reply := strings.Repeat("some words of a reply ", 50) // ~1 KiB, 17 chunks
	for range b.N {
		srv.Push(personatest.Turn{Reply: persona.Reply{Text: reply}})
	}
	m, err := persona.NewModel("ollama:m@"+srv.URL, persona.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if _, err := persona.Ask(ctx, m, persona.BRICK, "write"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
}

func BenchmarkExtractCode(b *testing.B) {
	body := strings.Repeat("\tx := strings.TrimSpace(s) // a line of code\n", 250)
	reply := "Here is the method, with some explanation first.\n\n```go\npackage m\n\nfunc f(self batos.Self, args []any) (any, error) {\n" +
		body + "}\n```\n\nThat is all."
	b.SetBytes(int64(len(reply)))
	for range b.N {
		if _, err := persona.ExtractCode(reply); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParsePlan(b *testing.B) {
	reply := "Sure! [1] Here are the queries:\n```json\n{\"queries\": [\"greeting methods\", \"architect name\", \"string formatting\"]}\n```\nDone."
	b.SetBytes(int64(len(reply)))
	for range b.N {
		if _, err := persona.ParsePlan(reply); err != nil {
			b.Fatal(err)
		}
	}
}

// Swapping two 4 MiB adapters through a budget that holds one: each
// activation unloads one to RAM and writes the other for the engine.
func BenchmarkResidencySwap(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	for _, n := range []string{"brick", "robin"} {
		stage(b, filepath.Join(dir, n+persona.AdapterExt), 4<<20)
	}
	// On disk: an in-memory image refuses values over 1 MiB, and blob
	// chunks are 1 MiB plus their frame (reported to uvm).
	im := openImage(b, b.TempDir(), uvm.Options{NoSync: true})
	absorb(b, im, dir)
	res, err := persona.NewResidency(im, persona.ResidencyOptions{HotBudget: 4 << 20, Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer res.Close(ctx)
	b.SetBytes(4 << 20)
	b.ResetTimer()
	for i := range b.N {
		if err := res.Activate(ctx, []string{"brick", "robin"}[i%2]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	s := res.Status().Stats
	b.ReportMetric(float64(s.WarmHits)/float64(b.N), "warm-hits/op")
}
