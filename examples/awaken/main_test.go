package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/batos-dev/batos/uvm/live"
)

func TestMain(m *testing.M) {
	live.ServeIfWorker()
	os.Exit(m.Run())
}

// The README's first command, run offline: the cycle walks every state,
// the guardian's rejection is corrected, and the reopened image answers
// without a cycle.
func TestAwakenOffline(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"-image", t.TempDir()}, &out, func(string) string { return "" })
	if err != nil {
		t.Fatalf("run: %v\noutput:\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{
		"offline", "IDLE", "DECOMPOSING", "DELEGATING", "SYNTHESIZING", "VALIDATING", "COMPLETE",
		"rejected:", "greet_the_architect v1", "defer self.MarkChanged()",
		"greeting #1", "greeting #2", "0 cycle events",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q\noutput:\n%s", want, got)
		}
	}
}
