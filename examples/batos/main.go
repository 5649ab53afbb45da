// Command batos runs a batos image as a system: it sends messages, shows
// objects and cycle records, serves the image over HTTP (the kernel), and
// keeps the kernel running (the watchdog).
//
//	batos send genesis greet_the_architect Ada   # a new selector: a cycle writes the method
//	batos inspect                                # roots and counts
//	batos inspect genesis                        # slots, parents, methods and their versions
//	batos log                                    # the latest cycles; batos log ID for one record
//	batos serve --addr 127.0.0.1:8377            # the kernel: HTTP/JSON, events, metrics, the inspector at /
//	batos console --kernel http://127.0.0.1:8377 # requests in your words become mission briefs
//	batos watch --addr 127.0.0.1:8377            # the kernel under a watchdog that restarts it
//
// Common flags: --image DIR (default $BATOS_IMAGE, else ./batos.image),
// --model SPEC (default $BATOS_MODEL, else an offline scripted model whose
// replies ship inside this binary), --json for machine-readable output.
// Objects are named by OID or root name. Exit status: 0 success, 1 the
// operation failed (for send: the cycle failed and the image is unchanged),
// 2 usage.
//
// send, inspect and log open the image themselves, so they cannot run while
// a kernel holds it: give them --kernel URL (or $BATOS_KERNEL) to ask the
// kernel instead.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/batos-dev/batos/uvm/live"
)

func main() {
	live.ServeIfWorker() // isolated methods run in re-executed copies of this binary
	os.Exit(execute(context.Background(), newApp(os.Stdin, os.Stdout, os.Stderr, os.Getenv, signal.Notify, signal.Stop), os.Args[1:]))
}
