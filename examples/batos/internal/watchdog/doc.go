// Package watchdog keeps a child process running: it starts it, restarts
// it when it dies (with backoff, and a limit on restarts per window),
// forwards the signals it receives, and stops when told. `batos watch`
// runs the kernel under it; the image is the kernel's identity, so a
// restarted kernel carries on where the dead one stopped.
//
//	err := watchdog.Run(ctx, signals, watchdog.Options{
//		Command: func() *exec.Cmd { return exec.Command(exe, "serve") },
//	})
//
// A child that exits with status 0 has been stopped on purpose: the
// watchdog stops too. A child that exits with status 2 was started with a
// wrong command line, which a restart cannot mend ([ErrUsage]). Any other
// end — a non-zero status, a signal such as SIGKILL — is a crash: the
// child is started again after a backoff that doubles with each quick
// crash and resets once a child has run for Options.StableAfter.
//
// # Caveats
//
//   - Signals are forwarded to the child's process only, not its group;
//     the child is started in a process group of its own, so that a
//     terminal's Ctrl-C reaches it once, through the watchdog.
package watchdog
