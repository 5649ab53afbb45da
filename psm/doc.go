// Package psm is the prototypal state machine: the cognitive cycle that turns
// a message nobody understands into an installed, audited method.
package psm
