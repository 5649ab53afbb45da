// Package batos declares the host values a generated method holds: its
// self, and the errors its Self hands it. A method runs inside the host, so
// whatever it prints of them (with any fmt verb, %T included) must speak the
// contract's names and show nothing of the host: no package of ours but
// batos, no type of the runtime, no pointer, no path. Go's %T prints a
// value's package name and type name, and %p its address, whatever the
// value's own Format says; so the values themselves are of types named
// batos.Self and batos.Error, and neither is a pointer.
//
// The runtime (package uvm/live) makes them with [New] and [Wrap] and finds
// what they stand for with [ObjectOf]; interpreted code cannot name this
// package and reaches them only through their exported methods.
package batos
