// Package persona gives the composite mind its four personas — ALFRED,
// BRICK, ROBIN and BABS — and the language models that speak for them.
// A persona is a prototype object in the image whose slots hold its codex
// (who it is, how it works, the intents of its cognitive facets); a model
// is a langchaingo llms.Model, built from a spec and called through a
// guard that turns every unusable reply into a typed error.
//
//	root "persona.BRICK" ──► prototype object
//	                          persona      "BRICK"          (inherited: names the governing persona)
//	                          role, identity, instructions, voice   (the codex, as strings)
//	                          facets       {selector: intent, …}
//
//	Router ── persona ──► guarded model ──► llms.Model (ollama, openai, anthropic, scripted, the host's own)
//
// # Usage
//
// [Incarnate] writes the prototypes once, inside the caller's transaction;
// [SystemPrompt] composes a persona's codex into its system message; a
// [Router] built from [Options] (or [OptionsFromEnv]) asks the persona's
// model; [ExtractCodeFor] (or [ExtractCode]) and [ParsePlan] find what is
// needed in the reply.
//
//	opts, err := persona.OptionsFromEnv(os.Getenv) // BATOS_MODEL, BATOS_MODEL_BRICK, OPENAI_API_KEY, …
//	router, err := persona.NewRouter(opts)
//	err = im.Update(ctx, func(tx *uvm.Tx) error { return persona.Incarnate(ctx, tx) })
//	var system string
//	err = im.View(ctx, func(tx *uvm.Tx) error {
//		system, err = persona.SystemPrompt(tx, persona.BRICK)
//		return err
//	})
//	reply, err := router.Ask(ctx, persona.BRICK, prompt, persona.WithSystem(system),
//		persona.WithObserver(func(a persona.Attempt) { calls++; tokens += a.Usage.Total() }))
//	code, err := persona.ExtractCodeFor(reply, selector) // a complete method file
//
// [Of] finds the persona that governs an object through its delegation
// chain (an object delegating to BRICK's prototype, or holding its own
// "persona" slot, is BRICK's; anything else is ALFRED's). A cognitive
// facet is a selector with only an intent string, kept in the "facets"
// map rather than a slot of its own, so sending it reaches uvm's
// DoesNotUnderstand hook, which asks [FacetIntent] for the mission's
// description.
//
// A model spec ([ParseSpec]) names a provider, a model and a server:
//
//	ollama:qwen2.5-coder:7b[@http://host:11434]
//	openai:MODEL@http://localhost:8000/v1      (llama.cpp, vLLM, LM Studio, …)
//	anthropic:claude-3-5-haiku-latest
//	scripted:replies.jsonl                     (a deterministic script)
//
// A host can hand the Router any llms.Model per persona (Options.Models).
// Tests use a [Scripted] model, built from Go values ([NewScripted]) or
// from a JSONL script ([ParseScript]), which also checks that each reply
// goes to the persona and prompt it was written for. A [Recording] wraps
// any model (a real one) and writes every prompt and reply as such a
// script, so a conversation recorded once replays offline, byte for byte:
//
//	rec := persona.NewRecording(model, scriptFile) // the prompts and replies, as a script
//	…                                              // later: Default: "scripted:" + path
//
// LoRA adapters live in package persona/adapter: Options.Adapters names a
// persona's adapter, and Options.AdapterHost (an *adapter.Residency) makes
// it hot in the serving engine before each call. persona declares what it
// needs of that package, the [AdapterHost] interface, and does not import
// it.
//
// # Errors
//
// Replies are untrusted. Every call through a Router, [Ask] or [Guard] has
// a deadline, a stall timeout and a size cap, and a failure is a
// *[ModelError] whose Kind is a sentinel: ErrTimeout, ErrStalled (no byte
// from the server for Limits.StallTimeout), ErrHTTPStatus (with an
// *[HTTPError]), ErrTooLarge, ErrEmptyReply (Ollama's client returns ""
// with a nil error when a stream ends without its final message),
// ErrTruncated (a reply cut at the token limit, a stream that ends
// without its finish reason, a connection lost mid-reply, an open code
// fence on incomplete code) or ErrModelFailed — never an empty plan or
// empty code.
//
// # Retries and observers
//
// A call is one or more attempts. A retryable fault — an HTTP 429 or 5xx
// (after the server's Retry-After), a connection lost, an empty reply —
// is tried again with backoff and jitter, at most Limits.MaxRetries times
// and only while the call's deadline leaves room for the wait; other 4xx
// statuses, oversized or token-limited replies, stalls and timeouts are
// not. The error of a call that gave up is the last attempt's, with
// ModelError.Attempts counting them. [WithObserver] hands the caller
// every [Attempt] as it ends: its error, whether a retry follows and
// after what wait, and the tokens the model reported ([Usage], read by
// [UsageOf]) — what a caller needs to count model calls and tokens and to
// record retries.
//
// # Context values
//
// A call's context carries two values, both set by the guard: the persona
// the call is made for ([WithPersona], read by [PersonaFrom]; a Scripted
// model and a host's model may read it), and, unexported, the state the
// guarded HTTP transport fills in for the guard (bytes read, an HTTP
// status the client would swallow), because langchaingo's clients carry
// nothing else from the call to its transport.
//
// # Caveats
//
//   - A model that ignores its context is left running when its deadline
//     passes: the call returns ErrTimeout at once, and the goroutine ends
//     whenever the model returns.
//   - Two clocks bound a call: Limits.Timeout, the whole call's deadline
//     (all attempts and the waits between them), for a model that is slow
//     but steady; and Limits.StallTimeout (60 s), the longest silence of
//     the server, counted from the request, so it also covers the wait
//     for the first byte: a server that loads a large model for longer
//     needs a longer one (or a negative one, no watch). The stall watch
//     sees only clients built from specs.
//   - Calls to Ollama and OpenAI-compatible clients always stream, so that
//     a stream's end is checked and a stall is seen; a server that ignores
//     "stream": true and answers one JSON document is read all the same.
//   - A retry repeats the request: a Scripted model answers it with its
//     next reply. A call whose caller's streaming function already had
//     part of the reply is not retried.
//   - The wire cap (Limits.MaxWireBytes) applies only to clients built from
//     specs; a host's own model is checked on the reply it returns.
//   - A Scripted model's persona check needs the persona in the context
//     (Guard, Ask and Router put it there); calls without one are not
//     checked.
//   - [Incarnate] and [WriteCodex] do not commit: they run inside the
//     caller's transaction.
package persona
