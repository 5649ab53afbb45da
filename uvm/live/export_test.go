package live

// UnauditedOptions skips the audit (and so the instrumentation) but keeps
// the runtime's own refusals.
func UnauditedOptions(o Options) Options {
	o.Audit = func(src, selector string) (string, error) { return src, nil }
	return o
}

// RawOptions turns off the runtime's own refusals and instrumentation, so
// tests can show what containment remains when an audit misses something.
func RawOptions(o Options) Options {
	o.skipRuntimeChecks = true
	o.Audit = func(src, selector string) (string, error) { return src, nil }
	return o
}

// RaceEnabled reports a -race build, in which workers have no RLIMIT_AS.
const RaceEnabled = raceEnabled
