// Command batos runs a batos image as a system: it sends messages, shows
// objects and cycle records, serves the image over HTTP (the kernel), and
// keeps the kernel running (the watchdog).
//
//	batos send genesis greet_the_architect Ada   # a new selector: a cycle writes the method
//	batos inspect                                # roots and counts
//	batos inspect genesis                        # slots, parents, methods and their versions
//	batos log                                    # the latest cycles; batos log ID for one record
//	batos history genesis greet_the_architect    # every version: who, model, cycle, approver, why
//	batos diff genesis greet_the_architect       # the previous version against the current one
//	batos revert genesis greet_the_architect 1   # an old version's source as a new, validated version
//	batos export genesis methods/                # methods as Go files; batos import genesis methods/ brings edits back
//	batos policy traits approve                  # cycles wait for a person: batos pending, approve, reject, edit
//	batos salvage demo.image demo.salvaged       # copy what a damaged image still holds; report what was lost
//	batos serve --addr 127.0.0.1:8377            # the kernel: HTTP/JSON, events, metrics, the inspector at /
//	batos console --kernel http://127.0.0.1:8377 # requests in your words become mission briefs
//	batos watch --addr 127.0.0.1:8377            # the kernel under a watchdog that restarts it
//
// Common flags: --image DIR (default $BATOS_IMAGE, else ./batos.image),
// --model SPEC (default $BATOS_MODEL, else an offline scripted model whose
// replies ship inside this binary), --json for machine-readable output.
// Objects are named by OID or root name. Exit status: 0 success, 1 the
// operation failed (for send: the cycle failed and the image is unchanged),
// 2 usage, 3 (send) the method the cycle wrote awaits approval.
//
// send, inspect and log open the image themselves, so they cannot run while
// a kernel holds it: give them --kernel URL (or $BATOS_KERNEL) to ask the
// kernel instead. history, diff, revert, export, import, pending, approve,
// reject, edit, policy and salvage cannot ask a kernel: stop it first.
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
