// Package psm is batos's prototypal state machine: the cognitive cycle
// that turns a message nobody understands into an audited, installed
// method, and the constructor that wires a whole mind for a host program.
//
// # Usage
//
//	mind, err := psm.Open(ctx, "my.image", psm.Options{Model: model})
//	defer mind.Close()
//	answer, err := mind.Send(ctx, mind.Genesis(), "greet_the_architect")
//
// The first send of greet_the_architect is not understood; the cycle
// writes the method, installs it, and Send returns its answer. Later sends,
// also after a restart, run the installed method without a cycle.
//
// # The cycle
//
//		IDLE → DECOMPOSING → DELEGATING → SYNTHESIZING ⇄ VALIDATING → COMPLETE
//		   └──────────────── any failure ─────────────────────────→ FAILED
//
//	  - IDLE: the message becomes a mission (selector, arguments, target,
//	    and the intent of a persona facet, if the target has one).
//	  - DECOMPOSING: BRICK writes one to three memory queries as JSON. An
//	    unreadable plan gets one repair request, then queries derived from
//	    the selector and intent (the record says so).
//	  - DELEGATING: the queries search memory; the skill index is searched
//	    for similar methods.
//	  - SYNTHESIZING: the target's persona (found through its delegation
//	    chain, ALFRED by default) writes the method, with the contract, the
//	    covenant and the retrieved context in the prompt.
//	  - VALIDATING: guardian audit, compile, and a dry run with the
//	    mission's arguments, isolated, in a transaction that is always
//	    discarded; the covenant is checked as a commit would. A failure goes
//	    back to SYNTHESIZING with the exact error, at most MaxAttempts times.
//	  - COMPLETE: the method is installed as a new version, indexed in
//	    memory and recorded, in one durable transaction. The sender's
//	    transaction then restarts on a fresh snapshot (uvm.Tx.Restart), so
//	    the original message is resent and answered by the new method,
//	    which runs once.
//	  - FAILED: nothing the cycle did stays in the image.
//
// The states are prototype objects in the image (roots "psm.state.IDLE"
// …). Each names, in its slots, the host behaviour that runs in it
// ("behaviour": one of [Behaviours]) and where the cycle goes next
// ("next", "retry", "on_failure"). The cycle reads them when it starts, so
// the machine can be inspected, and changed, from inside the image; Open
// and each cycle refuse a machine that names an unknown behaviour or
// state, or loops, with ErrStateMachine naming the object and slot.
//
// Next to them the awakening incarnates traits (clone, the not-understood
// hand-off), pLLM (infer: ask a persona's model), genesis (parents pLLM and
// traits), the four personas, the orchestrator, and the knowledge catalog
// (root "knowledge": search(query[, k]) searches memory by meaning).
//
// # Records and events
//
// Every cycle has a [Record] in the image, written in transactions of its
// own so it survives failure: the mission, each state with its time, every
// prompt and reply, every verdict and the outcome ([Mind.Cycle],
// [Mind.Cycles]). Every event also goes, as it happens, to the JSON-lines
// audit log (Options.AuditLog) and to subscribers ([Mind.Subscribe]).
//
// # Concurrency and nesting
//
// Two sends of the same unknown selector to the same object run one cycle;
// the second waits for it. A generated method that sends a message nobody
// understands during its dry run starts a nested cycle, up to
// Options.MaxNesting deep and Options.MaxNestedCycles per cycle; beyond
// them the send fails with ErrNestingLimit.
// A nested cycle installs nothing by itself: its validated method answers
// in the dry run and is installed with the outer cycle's method, in the
// same transaction, or discarded with it (its record then says so). A
// nested send never waits for another goroutine's cycle, so two cycles
// that need each other fail instead of deadlocking. A recursive send
// during a dry run reaches the candidate under test.
//
// A cycle's time is not charged to the generated method whose send
// started it (its dry runs get their own workers and budgets), so these
// bounds, not the method's wall-clock budget, limit the cycles it can
// start: one per run of a transaction (the transaction restarts after
// each install; uvm.MaxRestarts bounds the runs; after a failed cycle,
// later unknown messages in the same run fail at once), and the nesting
// limits above. Only source that passed VALIDATING is ever installed,
// whatever the state machine in the image says.
//
// # Caveats
//
//   - The target of a cycle must be committed: an object created in the
//     sender's own, still open transaction cannot receive a new method.
//   - Send runs in one Update transaction that stays open during the
//     cycle and then runs again on a fresh snapshot: a transaction
//     function that sends unknown messages must be safe to repeat (as for
//     any conflict retry). The cycle itself does not run again.
//   - A cycle's model calls are bounded by the caller's context, by
//     Options.Personas.Limits.Timeout per call and by Options.CycleTimeout
//     in all.
package psm
