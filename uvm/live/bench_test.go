package live_test

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/live"
	"github.com/stretchr/testify/require"
)

const getSetSrc = `package getset

import "batos"

func getset(self batos.Self, args []any) (any, error) {
	n, _ := self.Get("n").(int64)
	if err := self.Set("n", n+1); err != nil {
		return nil, err
	}
	self.MarkChanged()
	return n + 1, nil
}
`

// benchSends measures sends of getset inside one transaction, so that the
// figure is the call, not Badger's commit.
func benchSends(b *testing.B, policy string) {
	r, err := live.New(live.Options{Policy: policy})
	require.NoError(b, err)
	defer r.Close()
	im, err := uvm.Open("", uvm.Options{InMemory: true, Runner: r})
	require.NoError(b, err)
	defer im.Close()
	var oid uvm.OID
	require.NoError(b, im.Update(ctx, func(tx *uvm.Tx) error {
		o, err := tx.New()
		if err != nil {
			return err
		}
		oid = o.OID()
		if err := o.Set("n", int64(0)); err != nil {
			return err
		}
		if _, err := r.Install(ctx, tx, o, uvm.Method{Selector: "getset", Source: getSetSrc}); err != nil {
			return err
		}
		_, err = tx.Send(ctx, o, "getset") // compile and warm up
		return err
	}))
	err = im.Update(ctx, func(tx *uvm.Tx) error {
		o, err := tx.Object(oid)
		if err != nil {
			return err
		}
		b.ResetTimer()
		start := time.Now()
		for b.Loop() {
			if _, err := tx.Send(ctx, o, "getset"); err != nil {
				return err
			}
		}
		b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N), "µs/send")
		return nil
	})
	require.NoError(b, err)
}

func BenchmarkSendGenerated(b *testing.B) { benchSends(b, live.PolicyInProcess) }

func BenchmarkSendIsolated(b *testing.B) { benchSends(b, live.PolicyIsolated) }

// method30 returns a distinct 30-line method.
func method30(i int) string {
	return fmt.Sprintf(`package words%d

import (
	"sort"
	"strings"

	"batos"
)

// summarize%d counts the words of the text slot and stores a summary.
func summarize%d(self batos.Self, args []any) (any, error) {
	text, _ := self.Get("text").(string)
	counts := map[string]int{}
	for _, w := range strings.Fields(text) {
		w = strings.ToLower(strings.Trim(w, ".,;:!?"))
		if w != "" {
			counts[w] += %d
		}
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "=" + strings.Repeat("*", counts[k]) + ";")
	}
	if err := self.Set("summary", b.String()); err != nil {
		return nil, err
	}
	self.MarkChanged()
	return b.String(), nil
}
`, i, i, i, i%7+1)
}

func benchInstall(b *testing.B, n int) {
	r, err := live.New(live.Options{Policy: live.PolicyInProcess})
	require.NoError(b, err)
	defer r.Close()
	im, err := uvm.Open("", uvm.Options{InMemory: true, Runner: r})
	require.NoError(b, err)
	defer im.Close()
	i := 0
	install := func() {
		i++
		err := im.Update(ctx, func(tx *uvm.Tx) error {
			o, err := tx.New()
			if err != nil {
				return err
			}
			_, err = r.Install(ctx, tx, o, uvm.Method{Selector: "summarize" + strconv.Itoa(i), Source: method30(i)})
			return err
		})
		require.NoError(b, err)
	}
	if n == 0 {
		for b.Loop() {
			install()
		}
		return
	}
	var before, after float64
	for b.Loop() {
		before = rssMiB()
		for range n {
			install()
		}
		after = rssMiB()
	}
	st := r.Stats()
	b.ReportMetric(after-before, "rss-MiB")
	b.ReportMetric(float64(st.CurrentGeneration), "generations-made")
	b.ReportMetric(float64(st.Generations), "generations-live")
}

// rssMiB reads the process's resident set after a collection.
func rssMiB() float64 {
	runtime.GC()
	debug.FreeOSMemory()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	pages, _ := strconv.ParseFloat(f[1], 64)
	return pages * float64(os.Getpagesize()) / (1 << 20)
}

func BenchmarkInstall(b *testing.B) { benchInstall(b, 0) }

func BenchmarkInstall1000(b *testing.B) { benchInstall(b, 1000) }
