package persona_test

import (
	"bytes"
	"context"
	"fmt"

	"github.com/batos-dev/batos/persona"
)

// A Recording writes every prompt and reply of a model as a script; the
// script replays the same conversation, byte for byte, with no model.
// Here the recorded model is a script too; in a real session it is a
// client built from a spec such as "ollama:qwen2.5-coder:7b".
func ExampleNewRecording() {
	ctx := context.Background()
	live := persona.NewScripted([]persona.Reply{{Text: `{"queries": ["greeting"]}`}})
	var script bytes.Buffer
	rec := persona.NewRecording(live, &script)
	reply, _ := persona.Ask(ctx, rec, persona.BRICK, "Plan the mission greet.", persona.WithSystem("You are BRICK."))
	fmt.Println("live:", reply)

	// Later, offline: the script (a file named by "scripted:FILE", say).
	replay, _ := persona.ParseScript("recorded", script.Bytes())
	reply, _ = persona.Ask(ctx, replay, persona.BRICK, "Plan the mission greet.", persona.WithSystem("You are BRICK."))
	fmt.Println("replayed:", reply)
	_, err := persona.Ask(ctx, replay, persona.BRICK, "Another prompt.")
	fmt.Println(err != nil)
	// Output:
	// live: {"queries": ["greeting"]}
	// replayed: {"queries": ["greeting"]}
	// true
}
