// Package persona holds the composite mind's personas — ALFRED, BRICK,
// ROBIN and BABS — as prototype objects in the image, and the language
// models that speak for them, reached through langchaingo.
//
// # Personas
//
//	root "persona.BRICK" ──► prototype object
//	                          persona      "BRICK"          (inherited: names the governing persona)
//	                          role, identity, instructions, voice   (the codex, as strings)
//	                          facets       {selector: intent, …}
//	                          adapters     {name: {blob, config, source, …}, …}
//
// [Incarnate] creates the four prototypes inside the caller's transaction,
// with codex text written for this project ([DefaultCodices]); it is
// idempotent and keeps runtime edits ([WriteCodex]). [Of] finds the persona
// that governs an object through its delegation chain: an object delegating
// to BRICK's prototype, or holding its own "persona" slot, is BRICK's;
// anything else is ALFRED's.
//
// A cognitive facet is a selector with only an intent string. Facets live in
// the "facets" map, not in slots of their own, so sending one is not
// understood by uvm and reaches its DoesNotUnderstand hook, which asks
// [FacetIntent] for the intent to use as the mission's description.
//
// # Models
//
// A model is a langchaingo llms.Model built from a spec ([ParseSpec]):
//
//	ollama:qwen2.5-coder:7b[@http://host:11434]
//	openai:MODEL@http://localhost:8000/v1      (llama.cpp, vLLM, LM Studio, …)
//	anthropic:claude-3-5-haiku-latest
//	scripted:replies.jsonl                     (a deterministic script, see Scripted)
//
// A [Router] maps each persona to its model, with a default, from [Options]
// (or [OptionsFromEnv]: BATOS_MODEL, BATOS_MODEL_BRICK, OPENAI_API_KEY, …),
// and a host can hand it any llms.Model per persona.
//
//	opts, err := persona.OptionsFromEnv(os.Getenv)
//	router, err := persona.NewRouter(opts)
//	var system string
//	err = im.View(ctx, func(tx *uvm.Tx) error {
//		system, err = persona.SystemPrompt(tx, persona.BRICK)
//		return err
//	})
//	reply, err := router.Ask(ctx, persona.BRICK, prompt, persona.WithSystem(system))
//	code, err := persona.ExtractCode(reply)
//
// Replies are untrusted. Every call through a Router, [Ask] or [Guard] has a
// deadline and a size cap, and an HTTP error, an empty reply (Ollama's
// client returns "" with a nil error when a stream ends without its final
// message), a reply cut at the token limit or with an open code fence is a
// *[ModelError] whose Kind is a sentinel (ErrTimeout, ErrHTTPStatus,
// ErrTooLarge, ErrEmptyReply, ErrTruncated, ErrModelFailed): never an empty
// plan or empty code. [ExtractCode], [ExtractJSON], [DecodeJSON] and
// [ParsePlan] find what is needed in fenced or chatty replies.
//
// # Adapters
//
// [AbsorbAdapters] takes LoRA adapter files (.safetensors) staged in a
// folder into the image once, as content-addressed blobs recorded in their
// persona's prototype. A [Residency] keeps the active adapter hot in a
// serving engine ([VLLMEngine], [OllamaEngine]) within a byte budget,
// recently used ones warm in RAM, the rest cold in the image.
//
//	rep, err := persona.AbsorbAdapters(ctx, im, "lora_staging")
//	res, err := persona.NewResidency(im, persona.ResidencyOptions{
//		HotBudget: 256 << 20,
//		Engine:    &persona.VLLMEngine{BaseURL: "http://gpu:8000"},
//	})
//	router, err := persona.NewRouter(persona.Options{
//		Default:   "openai:Qwen/Qwen2.5-Coder-7B-Instruct@http://gpu:8000/v1",
//		Adapters:  map[string]string{persona.BRICK: "brick"}, // BRICK's calls use adapter "brick"
//		Residency: res,                                      // made hot before each call
//	})
//
// # Caveats
//
//   - A model that ignores its context is left running when its deadline
//     passes: the call returns ErrTimeout at once, and the goroutine ends
//     whenever the model returns.
//   - The wire cap (Limits.MaxWireBytes) applies only to clients built from
//     specs; a host's own model is checked on the reply it returns.
//   - Residency serializes loads and unloads, and a call waits while
//     another adapter is being loaded.
//   - For Ollama, an adapter must already exist as an Ollama model of the
//     same name (a Modelfile with an ADAPTER line); the Ollama engine only
//     keeps it loaded or unloads it.
//   - Adapters over about 1 MiB cannot be absorbed into an in-memory image
//     (uvm.Options.InMemory) for now: a blob chunk with its frame exceeds
//     Badger's in-memory value limit. On-disk images take any size.
//   - A Scripted model's persona check needs the persona in the context
//     (Guard, Ask and Router put it there); calls without one are not
//     checked.
package persona
