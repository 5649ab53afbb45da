// Package adapter keeps the personas' LoRA adapters: absorbed into the
// image once as blobs, then made hot in a model serving engine (vLLM,
// Ollama) when a persona's call needs them, within a byte budget.
//
//	staging folder ──Absorb──► image (cold)    blobs, recorded in the persona's prototype (slot "adapters")
//	                              │  ▲
//	                      read    │  │ evicted (least recently used)
//	                              ▼  │
//	                           RAM (warm)      within Options.WarmBudget
//	                              │  ▲
//	                     load     │  │ unloaded to make room
//	                              ▼  │
//	                           engine (hot)    within Options.HotBudget, through an Engine
//
// [Absorb] takes the .safetensors files staged in a folder into the image
// (the file name or folder names the persona), and [AbsorbIn] does so
// with the records written in the caller's transaction (batos's
// awakening uses it, psm.Options.AdapterDir); [List], [Find] and [Read]
// read them back. A [Residency] moves adapters between the three tiers,
// and implements persona.AdapterHost, so a persona.Router makes a
// persona's adapter hot before each of its calls and keeps it loaded
// until the call returns. [VLLMEngine] and [OllamaEngine] are the two
// serving engines it knows; any [Engine] will do.
//
// # Usage
//
//	rep, err := adapter.Absorb(ctx, im, "lora_staging") // at every start: unchanged files are not read again
//	res, err := adapter.NewResidency(im, adapter.Options{
//		HotBudget: 256 << 20,
//		Engine:    &adapter.VLLMEngine{BaseURL: "http://gpu:8000"},
//	})
//	defer res.Close(ctx)
//	router, err := persona.NewRouter(persona.Options{
//		Default:     "openai:Qwen/Qwen2.5-Coder-7B-Instruct@http://gpu:8000/v1",
//		Adapters:    map[string]string{persona.BRICK: "brick"}, // BRICK's calls use adapter "brick"
//		AdapterHost: res,                                      // made hot before each call
//	})
//
// Imports point down: this package uses persona (for the prototypes and
// its HTTP error type) and uvm; persona does not import it.
//
// # Caveats
//
//   - Loads and unloads are serialized, and a call waits while another
//     adapter is being loaded. When every hot adapter is in use and the
//     next one does not fit, [Residency.Acquire] waits for a release or
//     for its context to end.
//   - The engine must read the files the Residency writes: vLLM must see
//     Options.Dir at the same path.
//   - For Ollama, an adapter must already exist as an Ollama model of the
//     same name (a Modelfile with an ADAPTER line); [OllamaEngine] only
//     keeps it loaded or unloads it.
//   - Adapters over about 1 MiB cannot be absorbed into an in-memory image
//     (uvm.Options.InMemory) for now: a blob chunk with its frame exceeds
//     Badger's in-memory value limit. On-disk images take any size.
//   - A Residency reads an adapter's record once; after absorbing a new
//     version, call [Residency.Forget] so the next use reads it again.
package adapter
