package psm_test

import (
	"context"
	"fmt"
	"time"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/psm"
)

// Prune removes old cycle records, but keeps the ones still needed: here
// the cycle that installed motto's current version stays, and the failed
// cycle goes. DryRun would report the same and remove nothing.
func ExampleMind_Prune() {
	ctx := context.Background()
	model := persona.NewScripted([]persona.Reply{
		{Persona: "BRICK", Text: `{"queries": ["a motto"]}`},
		{Persona: "ALFRED", Text: "```go\n" + say("motto", "waste not") + "```"},
		{Persona: "BRICK", Text: `{"queries": ["a riddle"]}`},
		{Persona: "ALFRED", Text: "I would rather not."},
	})
	mind := openExample(ctx, psm.Options{Model: model, MaxAttempts: 1})
	defer mind.Close()

	answer, _ := mind.Send(ctx, mind.Genesis(), "motto")
	fmt.Println(answer)
	_, err := mind.Send(ctx, mind.Genesis(), "riddle")
	fmt.Println("riddle failed:", err != nil)

	time.Sleep(time.Millisecond)
	report, err := mind.Prune(ctx, psm.PruneOptions{MaxAge: time.Millisecond})
	fmt.Println("examined", report.Examined, "pruned", len(report.Pruned), "within the limits", report.Within, err)
	fmt.Println("kept:", report.Kept)
	left, _ := mind.Cycles(ctx)
	fmt.Println("left:", len(left), left[0].Mission.Selector)
	// Output:
	// waste not
	// riddle failed: true
	// examined 2 pruned 1 within the limits 0 <nil>
	// kept: map[installed a current method version:1]
	// left: 1 motto
}
