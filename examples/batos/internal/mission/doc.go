// Package mission reads mission briefs — one message for one object, the
// body of a send — out of what people and models write: a model's reply
// to [Prompt] ([FromReply]), or a request in one of a few common phrasings
// ([FromRules]), the fallback the batos console uses when no model reads
// the request.
//
//	b, err := mission.FromRules("send add to genesis with 2, 40", isRoot)
//	// b.Object "genesis", b.Selector "add", b.Args [2 40]
//
// # Caveats
//
//   - A brief names its object as written (a root name or an OID); the
//     kernel checks that it exists.
//   - The rules read forms, not meaning: "ask genesis to count words"
//     sends count with the argument "words". The model reads meaning.
package mission
