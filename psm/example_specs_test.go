package psm_test

import (
	"context"
	"fmt"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/psm"
)

// Examples are a specification the method must meet before it is
// installed. The first method the model writes misses one; the exact
// difference goes back to it, and its second method passes.
func ExampleMind_SendWith() {
	ctx := context.Background()
	wrong := "```go\n" + `package m

import "batos"

func abs(self batos.Self, args []any) (any, error) {
	n, _ := args[0].(int64)
	return n, nil
}` + "\n```"
	right := "```go\n" + `package m

import "batos"

func abs(self batos.Self, args []any) (any, error) {
	n, _ := args[0].(int64)
	if n < 0 {
		return -n, nil
	}
	return n, nil
}` + "\n```"
	model := persona.NewScripted([]persona.Reply{
		{Persona: "BRICK", Text: `{"queries": ["absolute value"]}`},
		{Persona: "ALFRED", Text: wrong},
		{Persona: "ALFRED", Expect: "want: 3", Text: right},
	})
	mind, err := psm.Open(ctx, "", psm.Options{InMemory: true, Model: model})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer mind.Close()

	answer, err := mind.SendWith(ctx, mind.Genesis(), "abs", []any{-5},
		psm.WithExamples(psm.Example{Args: []any{4}, Want: 4}, psm.Example{Args: []any{-3}, Want: 3}))
	fmt.Println(answer, err)
	recs, _ := mind.Cycles(ctx)
	for _, e := range recs[0].Events {
		if e.Kind == psm.EventVerdict && e.Error != "" {
			fmt.Printf("attempt %d:\n%s\n", e.Attempt, e.Error)
		}
	}
	// Output:
	// 5 <nil>
	// attempt 1:
	// example 2 of 2: abs(-3)
	//   args: [-3]
	//   want: 3
	//   got:  -3
}

// A stored cycle replays from the image with its recorded replies and no
// model, and says whether anything differs.
func ExampleMind_Replay() {
	ctx := context.Background()
	model := persona.NewScripted([]persona.Reply{
		{Persona: "BRICK", Text: `{"queries": ["greeting"]}`},
		{Persona: "ALFRED", Text: "```go\n" + greetSrc + "\n```"},
	})
	mind, err := psm.Open(ctx, "", psm.Options{InMemory: true, Model: model})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer mind.Close()
	if _, err := mind.Send(ctx, mind.Genesis(), "greet"); err != nil {
		fmt.Println(err)
		return
	}
	recs, _ := mind.Cycles(ctx)

	replay, err := mind.Replay(ctx, recs[0].ID)
	if err != nil {
		fmt.Println(err)
		return
	}
	recorded, rerun := replay.Outcomes()
	fmt.Println("same:", replay.Same())
	fmt.Println(recorded.Outcome, rerun.Outcome, rerun.Source == recorded.Source)
	fmt.Println("replies left in the model's script:", model.Remaining())
	// Output:
	// same: true
	// COMPLETE COMPLETE true
	// replies left in the model's script: 0
}
