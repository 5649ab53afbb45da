// Package personatest helps test batos's models without a network: fake
// servers that speak the Ollama and OpenAI (and vLLM adapter) wire
// protocols, answering from a script and recording what they receive, and
// [Run], the conformance suite every model used by batos should pass. Its
// assertions are testify's require and assert, like the rest of the suite.
//
// # Usage
//
//	func TestMyModel(t *testing.T) {
//		personatest.Run(t, func(t *testing.T, replies []persona.Reply) llms.Model {
//			srv := personatest.NewOllama(t, personatest.Replies(replies...)...)
//			m, err := persona.NewModel("ollama:qwen2.5-coder:7b@"+srv.URL, persona.Options{})
//			require.NoError(t, err)
//			return m
//		})
//	}
//
// A [Turn] scripts a reply and the faults of the wire around it: an HTTP
// status with headers (a Retry-After), a body, a stream without its final
// message, a connection reset or dropped mid-reply, a stream that stalls,
// chunks that come slowly. Turns read from JSON ([Turn.UnmarshalJSON]), so
// a catalogue of hostile servers can live in files (persona's
// testdata/wire is one).
//
// # Caveats
//
//   - The servers check a turn's Expect but not its Persona: the persona of
//     a call does not travel over the wire.
//   - They implement the parts of each protocol that langchaingo's clients
//     and batos use (chat, streaming, errors, adapter load and unload), not
//     the whole API.
package personatest
