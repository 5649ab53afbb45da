package imageview

import "errors"

var (
	// ErrNoObject is returned when an object reference names no object:
	// no root of that name, or no object with that OID. It wraps the
	// image's own error, so errors.Is(err, uvm.ErrNotFound) holds too.
	ErrNoObject = errors.New("imageview: no such object")
	// ErrBadRef is returned when an object reference is neither an OID
	// nor a valid root name.
	ErrBadRef = errors.New("imageview: invalid object reference")
	// ErrNoMethod is returned when an object holds no method of that
	// selector (or no such version of it).
	ErrNoMethod = errors.New("imageview: no such method")
	// ErrNoSlot is returned when an object has no own slot of that name.
	ErrNoSlot = errors.New("imageview: no such slot")
)
