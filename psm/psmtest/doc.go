// Package psmtest runs batos minds under go test, the way net/http/httptest
// runs servers: [New] opens a [Mind] on a temporary image (in memory, or
// in a directory) whose model answers from a script, a recording or any
// llms.Model, and closes it when the test ends (t.Cleanup). The test
// sends messages through the embedded psm.Mind and asserts on what the
// harness exposes: the cycles ([Mind.LastCycle], psm.Mind.Cycles), the
// model calls ([Mind.ModelCalls], [Mind.Calls]) and the image's
// fingerprint ([Mind.Fingerprint], [Mind.StateFingerprint]).
//
//	func TestMain(m *testing.M) { psmtest.Main(m) } // generated methods run in workers
//
//	func TestGreeting(t *testing.T) {
//		h := psmtest.New(t, psmtest.Options{Script: []persona.Reply{
//			{Persona: "BRICK", Text: `{"queries": ["greeting"]}`},
//			{Persona: "ALFRED", Expect: `"greet"`, Text: "```go\n" + greetSrc + "\n```"},
//		}, VerifyScript: true})
//		answer, err := h.Send(ctx, h.Genesis(), "greet", "Architect")
//		require.NoError(t, err)
//		rec, err := h.LastCycle(ctx)
//		require.NoError(t, err)
//		require.Equal(t, psm.Complete, rec.Outcome)
//		require.Equal(t, 2, h.ModelCalls())
//	}
//
// # Record and replay
//
// The harness's model is wrapped in a persona.Recording: every prompt and
// reply is kept as a script ([Mind.Recorded], [Mind.SaveRecording],
// Options.RecordTo). Run a test once against a real model (Options.Model,
// or a spec in Options.Mind.Personas), save the script under testdata,
// and replay it from then on with Options.ScriptFile: offline, byte for
// byte, with a drift error naming the byte where a prompt changed.
//
// # Caveats
//
//   - The package's TestMain must call live.ServeIfWorker first ([Main]
//     does): dry runs, and methods run isolated, use worker processes that
//     re-execute the test binary.
//   - A recording replays faithfully when the calls are made one at a
//     time (one cycle at a time); concurrent cycles record their replies
//     in the order the calls ended.
package psmtest
