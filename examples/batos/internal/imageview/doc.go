// Package imageview reads a batos image for people and programs: the roots
// and their counts, one object's slots, parents and methods, a method's
// versions with their source, the cycles with their records, and views of
// the object graph small enough to draw ([Index], [Graph]) — as plain,
// JSON-ready values. The batos command prints them (text or --json) and the
// kernel serves them over HTTP, so both show the same thing.
//
//	err := im.View(ctx, func(tx *uvm.Tx) error {
//		o, err := imageview.Resolve(tx, "genesis")
//		...
//		obj, err := imageview.Inspect(tx, o)
//		...
//	})
//
// Every function reads inside the caller's transaction and copies what it
// returns, so the values outlive it.
//
// # Caveats
//
//   - Cycle records are read from psm's record namespace
//     (psm.RecordNamespace) directly, so a listing pages through them
//     without decoding all of them; the records themselves are psm.Record.
//   - uvm offers no way to list every object, so [Summarize] counts what the
//     roots show (their slots and methods) and the cycles, not the objects;
//     an [Index] holds the objects the roots reach through parents and
//     references, which leaves out objects nothing reaches.
package imageview
