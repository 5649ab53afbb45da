package live

import "github.com/batos-dev/batos/guardian"

// unaudited is an audit that accepts any source as it is.
func unaudited(src, selector string) (*guardian.Report, error) {
	return &guardian.Report{Selector: selector, Source: []byte(src)}, nil
}

// UnauditedOptions skips the audit (and so the instrumentation) but keeps
// the runtime's own refusals.
func UnauditedOptions(o Options) Options {
	o.Audit = unaudited
	return o
}

// RawOptions turns off the runtime's own refusals and instrumentation, so
// tests can show what containment remains when an audit misses something.
func RawOptions(o Options) Options {
	o.skipRuntimeChecks = true
	o.Audit = unaudited
	return o
}

// RaceEnabled reports a -race build, in which workers have no RLIMIT_AS.
const RaceEnabled = raceEnabled
