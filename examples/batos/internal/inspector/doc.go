// Package inspector is the batos inspector: a page the kernel serves at /
// that shows the image as it lives — the object graph, an object's slots
// and methods with every version and a diff between them, the cycles as
// they move through their states, and each cycle's record.
//
//	mux.Handle("GET /{$}", inspector.Handler())
//	mux.Handle("GET /ui/", inspector.Handler())
//
// The page is plain HTML, CSS and JavaScript written for batos, embedded
// in the binary: no CDN, no build step. It reads the kernel's JSON routes
// (/api/…) and follows its event stream; with a bearer token it asks for
// the token once (or takes ?token=) and keeps it for the browser tab.
//
// # Caveats
//
//   - The page shows the objects the roots reach (the kernel's graph
//     index); any other object is found by its OID.
//   - Approve, reject, edit and revert act as the kernel ("by" is not
//     asked for): the version's history and the cycle's record name
//     "kernel" as who decided.
package inspector
