package psmtest_test

import (
	"bytes"
	"context"
	"fmt"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/psm/psmtest"
)

const greetSrc = `package greeting

import "batos"

// greet greets whoever is named in the first argument.
func greet(self batos.Self, args []any) (any, error) {
	name, _ := args[0].(string)
	return "Hello, " + name + ".", nil
}`

// A host's test: a mind on a temporary image, a scripted model, one send,
// and assertions on the cycle, the model calls and the image. A test
// calls psmtest.New(t, opts), which closes the mind when the test ends;
// an Example has no t, so this one opens and closes it itself.
func Example() {
	ctx := context.Background()
	h, err := psmtest.Open(ctx, psmtest.Options{Script: []persona.Reply{
		{Persona: "BRICK", Text: `{"queries": ["greeting"]}`},
		{Persona: "ALFRED", Expect: `"greet"`, Text: "```go\n" + greetSrc + "\n```"},
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer h.Close()

	before, _ := h.StateFingerprint(ctx)
	answer, err := h.Send(ctx, h.Genesis(), "greet", "Architect")
	fmt.Println(answer, err)

	rec, _ := h.LastCycle(ctx)
	fmt.Printf("%s after %d attempt(s), %d model calls\n", rec.Outcome, rec.Attempts, h.ModelCalls())
	after, _ := h.StateFingerprint(ctx)
	fmt.Println("image changed:", before != after)
	fmt.Println("replies left:", h.Script().Remaining())

	// The conversation as a script that Options.ScriptFile replays: a
	// header comment and one line per reply.
	fmt.Println(bytes.Count(h.Recorded(), []byte("\n")), "lines recorded")
	// Output:
	// Hello, Architect. <nil>
	// COMPLETE after 1 attempt(s), 2 model calls
	// image changed: true
	// replies left: 0
	// 3 lines recorded
}
