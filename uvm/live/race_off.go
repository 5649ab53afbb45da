//go:build !race

package live

// raceEnabled reports a -race build (see race_on.go).
const raceEnabled = false
