package psm_test

import (
	"context"
	"fmt"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
)

// A mind answers a message nothing understood with a method it writes
// itself. The model here is scripted; Options.Personas.Default (a spec
// such as "ollama:qwen2.5-coder:7b") or Options.Model (any langchaingo
// llms.Model) points it at a real one. A host program calls
// live.ServeIfWorker first thing in main, as this package's TestMain does.
func Example() {
	ctx := context.Background()
	model := persona.NewScripted([]persona.Reply{
		{Persona: "BRICK", Text: `{"queries": ["greeting"]}`},
		{Persona: "ALFRED", Text: "```go\n" + `package greeting

import "batos"

// greet greets whoever is named in the first argument.
func greet(self batos.Self, args []any) (any, error) {
	name, _ := args[0].(string)
	return "Hello, " + name + ".", nil
}
` + "```"},
	})
	mind, err := psm.Open(ctx, "", psm.Options{InMemory: true, Model: model})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer mind.Close()

	states := 0
	mind.Subscribe(func(e psm.Event) {
		if e.Kind == psm.EventState {
			states++
		}
	})
	answer, err := mind.Send(ctx, mind.Genesis(), "greet", "Architect")
	fmt.Println(answer, err)
	fmt.Println("states entered:", states)

	// The method is in the image now: no cycle the second time.
	states = 0
	answer, _ = mind.Send(ctx, mind.Genesis(), "greet", "again")
	fmt.Println(answer, "— states entered:", states)

	_ = mind.Image().View(ctx, func(tx *uvm.Tx) error {
		g, _ := tx.Object(mind.Genesis())
		versions, _ := tx.MethodVersions(g, "greet")
		fmt.Printf("greet v%d, written by %s\n", versions[0].Version, versions[0].Persona)
		return nil
	})
	// Output:
	// Hello, Architect. <nil>
	// states entered: 6
	// Hello, again. — states entered: 0
	// greet v1, written by ALFRED
}
