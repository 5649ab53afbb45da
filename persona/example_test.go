package persona_test

import (
	"context"
	"fmt"
	"strings"
	"testing/fstest"
	"time"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/uvm"
	"github.com/tmc/langchaingo/llms"
)

// Personas live in the image; an object is governed by the persona its
// delegation chain names, and its facets are intents waiting to be written.
func ExampleIncarnate() {
	ctx := context.Background()
	im, _ := uvm.Open("", uvm.Options{InMemory: true})
	defer im.Close()
	err := im.Update(ctx, func(tx *uvm.Tx) error {
		if err := persona.Incarnate(ctx, tx); err != nil {
			return err
		}
		brick, _ := persona.Prototype(tx, persona.BRICK)
		parser, _ := tx.New()
		parser.SetParents(brick)
		plain, _ := tx.New()

		for _, o := range []*uvm.Object{parser, plain} {
			name, err := persona.Of(tx, o)
			if err != nil {
				return err
			}
			fmt.Println(name)
		}
		intent, ok, err := persona.FacetIntent(tx, parser, "deconstruct")
		fmt.Println(ok, err, strings.HasPrefix(intent, "Given a string"))
		return nil
	})
	fmt.Println(err)
	// Output:
	// BRICK
	// ALFRED
	// true <nil> true
	// <nil>
}

// A scripted model answers in order, checks the persona and what the
// prompt must contain, and fails loudly when the conversation drifts.
func ExampleNewScripted() {
	ctx := context.Background()
	m := persona.NewScripted([]persona.Reply{
		{Persona: persona.BRICK, Expect: "search queries", Text: `["greeting", "architect"]`},
		{Persona: persona.ALFRED, Expect: "greet_the_architect", Text: "```go\npackage m\n```"},
	})
	reply, err := persona.Ask(ctx, m, persona.BRICK, "Write 1-3 search queries for greet_the_architect.")
	fmt.Println(reply, err)
	_, err = persona.Ask(ctx, m, persona.ALFRED, "Write the method say_goodbye.")
	fmt.Println(err)
	// Output:
	// ["greeting", "architect"] <nil>
	// persona: model call failed (persona ALFRED, model *persona.Scripted): persona: scripted conversation drifted at reply 2: prompt does not contain "greet_the_architect"; prompt begins "Write the method say_goodbye."
}

// Ask guards a call: a deadline, a size cap, and typed errors for replies
// that cannot be used.
func ExampleAsk() {
	ctx := context.Background()
	m := persona.NewScripted([]persona.Reply{
		{Text: "Here you go:\n```go\npackage m\n\nfunc f() {\n"}, // cut off inside its code
		{Text: "   "},
	})
	for range 2 {
		// One attempt: an empty reply is retried, and the retry would
		// take the script's next reply.
		_, err := persona.Ask(ctx, m, persona.BRICK, "write f", persona.WithRetries(0))
		fmt.Println(err)
	}
	// Output:
	// persona: model reply is truncated (persona BRICK, model *persona.Scripted): a code fence is opened and never closed
	// persona: model reply is empty (persona BRICK, model *persona.Scripted): nothing but whitespace
}

func ExampleExtractCode() {
	reply := "Certainly! Here is the method:\n\n```go\npackage greeting\n\nfunc greet(self batos.Self, args []any) (any, error) {\n\treturn \"Hello\", nil\n}\n```\n\nIt returns a greeting."
	code, err := persona.ExtractCode(reply)
	fmt.Print(code)
	fmt.Println(err)
	// Output:
	// package greeting
	//
	// func greet(self batos.Self, args []any) (any, error) {
	// 	return "Hello", nil
	// }
	// <nil>
}

// A model that restates the question before answering, with a bare
// function: the method's own block is taken and made a complete file.
func ExampleExtractCodeFor() {
	reply := "You asked for:\n```go\nfunc greet(self batos.Self, args []any) (any, error)\n```\n" +
		"Here it is:\n```go\nfunc greet(self batos.Self, args []any) (any, error) {\n\treturn \"Hello\", nil\n}\n```<|im_end|>"
	code, err := persona.ExtractCodeFor(reply, "greet")
	fmt.Print(code)
	fmt.Println(err)
	// Output:
	// package method
	//
	// import "batos"
	//
	// func greet(self batos.Self, args []any) (any, error) {
	// 	return "Hello", nil
	// }
	// <nil>
}

// An observer sees every attempt of a call: an empty reply is retried, and
// the second attempt's tokens are what the model reported.
func ExampleWithObserver() {
	m := persona.NewScripted([]persona.Reply{{Text: "", StopReason: "stop"}, {Text: "ready"}})
	reply, err := persona.Ask(context.Background(), m, persona.BRICK, "are you there?",
		persona.WithLimits(persona.Limits{RetryBackoff: time.Millisecond}),
		persona.WithObserver(func(a persona.Attempt) {
			fmt.Printf("attempt %d: retry %v, err %v\n", a.N, a.Retry, a.Err)
		}))
	fmt.Println(reply, err)
	// Output:
	// attempt 1: retry true, err persona: model reply is empty (persona BRICK, model *persona.Scripted): no content (scripted reply: empty text)
	// attempt 2: retry false, err <nil>
	// ready <nil>
}

func ExampleParsePlan() {
	plan, err := persona.ParsePlan("Sure! I'd search for:\n```json\n{\"queries\": [\"greeting methods\", \"the architect's name\"]}\n```\nThese should do.")
	fmt.Printf("%q %v\n", plan.Queries, err)
	_, err = persona.ParsePlan("I think we should look into greetings.")
	fmt.Println(err)
	// Output:
	// ["greeting methods" "the architect's name"] <nil>
	// persona: no JSON value in reply: no JSON plan (38 bytes)
}

// A router gives each persona its model, with a default; specs come from
// options or the environment.
func ExampleNewRouter() {
	env := map[string]string{
		"BATOS_MODEL":       "scripted:replies.jsonl",
		"BATOS_MODEL_BRICK": "openai:brick-lora@http://localhost:8000/v1",
	}
	opts, err := persona.OptionsFromEnv(func(k string) string { return env[k] })
	if err != nil {
		fmt.Println(err)
		return
	}
	opts.ScriptFS = fstest.MapFS{"replies.jsonl": {Data: []byte(`{"text": "At your service."}`)}}
	r, err := persona.NewRouter(opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r)
	reply, err := r.Ask(context.Background(), persona.ALFRED, "Good evening.")
	fmt.Println(reply, err)
	// Output:
	// default=scripted:replies.jsonl BRICK=openai:brick-lora@http://localhost:8000/v1
	// At your service. <nil>
}

// A host may hand any llms.Model to a persona.
func ExampleOptions() {
	mine := persona.NewScripted([]persona.Reply{{Text: "from the host's own model"}})
	r, _ := persona.NewRouter(persona.Options{
		Default: "ollama:qwen2.5-coder:7b@http://gpu:11434",
		Models:  map[string]llms.Model{persona.ROBIN: mine},
	})
	reply, _ := r.Ask(context.Background(), persona.ROBIN, "What is this for?")
	fmt.Println(reply)
	fmt.Println(r.Describe(persona.BABS))
	// Output:
	// from the host's own model
	// ollama:qwen2.5-coder:7b@http://gpu:11434
}
