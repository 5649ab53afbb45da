//go:build race

package live

// raceEnabled reports a -race build: the race detector's shadow memory
// needs address space that RLIMIT_AS would deny, so workers skip that
// limit in such builds.
const raceEnabled = true
