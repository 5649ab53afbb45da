package persona_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/persona/personatest"
	"github.com/stretchr/testify/require"
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
		_, err := persona.Ask(ctx, m, persona.BRICK, "write f")
		require.NoError(b, err)
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
	require.NoError(b, err)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		_, err := persona.Ask(ctx, m, persona.BRICK, "write")
		require.NoError(b, err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
}

func BenchmarkExtractCode(b *testing.B) {
	body := strings.Repeat("\tx := strings.TrimSpace(s) // a line of code\n", 250)
	reply := "Here is the method, with some explanation first.\n\n```go\npackage m\n\nfunc f(self batos.Self, args []any) (any, error) {\n" +
		body + "}\n```\n\nThat is all."
	b.SetBytes(int64(len(reply)))
	for range b.N {
		_, err := persona.ExtractCode(reply)
		require.NoError(b, err)
	}
}

func BenchmarkParsePlan(b *testing.B) {
	reply := "Sure! [1] Here are the queries:\n```json\n{\"queries\": [\"greeting methods\", \"architect name\", \"string formatting\"]}\n```\nDone."
	b.SetBytes(int64(len(reply)))
	for range b.N {
		_, err := persona.ParsePlan(reply)
		require.NoError(b, err)
	}
}

// The hostile replies of worstCaseInputs at 1/16 and 1 MiB. Linear scans
// cost the same ns/B at both sizes; a quadratic one shows as ns/B growing
// sixteenfold (StripThinking once took 15 s, 14 µs/B, on "think").
func BenchmarkExtractWorstCase(b *testing.B) {
	for _, scale := range []int{16, 1} {
		inputs := worstCaseInputs(scale)
		for _, name := range slices.Sorted(maps.Keys(inputs)) {
			s := inputs[name]
			b.Run(fmt.Sprintf("%s/%dKiB", name, len(s)>>10), func(b *testing.B) {
				b.SetBytes(int64(len(s)))
				start := time.Now()
				for range b.N {
					persona.ExtractCode(s)
					persona.ParsePlan(s)
					persona.ExtractJSON(s)
				}
				b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N)/float64(len(s)), "ns/B")
			})
		}
	}
}
