// Package guardian audits the Go source of generated methods before anything
// runs it, and instruments the accepted source with budget checks.
//
// It is a pure function of source text: it imports no other package of this
// module, so it can be fuzzed alone.
package guardian
