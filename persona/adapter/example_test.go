package adapter_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/batos-dev/batos/persona/adapter"
	"github.com/batos-dev/batos/uvm"
)

// Adapters staged in a folder are absorbed into the image once; a residency
// manager then keeps the active ones hot within a budget.
func ExampleAbsorb() {
	ctx := context.Background()
	staging, _ := os.MkdirTemp("", "staging")
	defer os.RemoveAll(staging)
	for name, size := range map[string]int{"brick.safetensors": 600, "robin-gentle.safetensors": 500} {
		os.WriteFile(filepath.Join(staging, name), make([]byte, size), 0o644)
	}
	im, _ := uvm.Open("", uvm.Options{InMemory: true})
	defer im.Close()

	rep, err := adapter.Absorb(ctx, im, staging)
	fmt.Println(len(rep.Absorbed), err)
	rep, err = adapter.Absorb(ctx, im, staging) // nothing new
	fmt.Println(len(rep.Absorbed), len(rep.Unchanged), err)

	res, _ := adapter.NewResidency(im, adapter.Options{HotBudget: 1000}) // Engine: &adapter.VLLMEngine{…}
	defer res.Close(ctx)
	res.Activate(ctx, "brick")
	res.Activate(ctx, "robin-gentle") // does not fit beside brick: brick goes warm
	s := res.Status()
	fmt.Println(s.Hot, s.Warm)
	// Output:
	// 2 <nil>
	// 0 2 <nil>
	// [robin-gentle] [brick]
}
