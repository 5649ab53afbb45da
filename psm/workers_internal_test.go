package psm

// IdleWorkers reports how many of m's live workers are idle, ready for a
// call (live.Runner.Stats); 0 when m does not run methods through a
// live.Runner. Benchmarks wait for it so that no worker still loading
// its interpreter takes CPU from the timed part.
func IdleWorkers(m *Mind) int {
	lc, ok := m.compiler.(liveCompiler)
	if !ok {
		return 0
	}
	return lc.runner.Stats().IdleWorkers
}
