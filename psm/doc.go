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
//	    unreadable plan gets one repair request (an empty or truncated reply
//	    is asked again), then queries derived from the selector and intent
//	    (the record says so); a reply over the size cap falls back at once.
//	  - DELEGATING: the queries search memory; the skill index is searched
//	    for similar methods.
//	  - SYNTHESIZING: the target's persona (found through its delegation
//	    chain, ALFRED by default) writes the method, with the contract, the
//	    covenant and the retrieved context in the prompt.
//	  - VALIDATING: one compile (guardian audit, the runtime's checks,
//	    Yaegi) makes a candidate, which a dry run tries with the mission's
//	    arguments, isolated, in a transaction that is always discarded;
//	    the covenant is checked as a commit would. A failure goes back to
//	    SYNTHESIZING with the exact error, at most MaxAttempts times.
//	  - COMPLETE: the candidate is installed as a new version, indexed in
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
// # How a send flows
//
// Each hop of a send that starts a cycle, as package.Function, with the
// channels it uses besides its arguments:
//
//  1. psm Mind.Send → uvm Image.Send: one Update transaction, whose
//     function runs again on a fresh snapshot when the transaction is
//     marked with Tx.Restart (at most uvm.MaxRestarts times).
//  2. uvm Tx.Send → Tx.Lookup finds nothing → the DoesNotUnderstand hook
//     (uvm.Options.DoesNotUnderstand, psm's unexported hook) → psm
//     Mind.notUnderstood, with a *uvm.Message (the transaction, receiver,
//     selector, arguments). It reads three hidden channels: the cycle in
//     the context (set in step 4: this send comes from a dry run, so the
//     cycle is nested, or the send is recursive and reaches the candidate
//     under dry run), the transaction's restart flag (Tx.Restarting: a
//     cycle of this attempt has installed a method, start no other) and
//     the transaction's value bag (Tx.Value, key failedCycleKey: a cycle
//     of this attempt has failed, fail at once).
//  3. psm flights.join → Mind.lead: one cycle per receiver and selector;
//     other senders wait for it. live.Suspend stops the wall clock of the
//     generated method that sent, and live.Detach drops live's call from
//     the context (its active isolated call and its in-process budget,
//     both context values of uvm/live), so the cycle's dry runs get
//     workers and budgets of their own.
//  4. psm Mind.runCycle puts the cycle in the context (cycleKey) and walks
//     the machine read from the image (loadMachine): accept,
//     decompose and synthesize (personas: the persona package's
//     Router.Ask, ParsePlan, ExtractCode), delegate (knowledge: the memory
//     package's Catalog.Search, Catalog.SearchSkills).
//  5. validate: compiler → live Runner.Compile → guardian.Audit (through
//     live.Options.Audit), the runtime's checks, and a compile in a
//     worker → a *live.Candidate, which keeps the audit's report.
//  6. live Candidate.DryRun in an Update that is always discarded → uvm
//     Tx.Run → live Runner.Run, which finds the candidate's audit in the
//     Runner's one cache (by selector and source) → a worker. The sends
//     the candidate makes are served in the parent through Tx.Send, with
//     live's active call in their context, and may come back to step 2.
//  7. complete: live Candidate.Install → uvm Tx.InstallMethod, with
//     knowledge's Catalog.IndexSkill and the cycle's record, in one
//     Update; a nested cycle's candidate waits in its outer cycle's work
//     and installs in the same transaction.
//  8. Mind.notUnderstood returns uvm Tx.Restart's error: the sender's
//     Update runs its function again (step 1), and this time uvm
//     Tx.Send's lookup finds the method: uvm Tx.activate → live
//     Runner.Run (the audit is still in the cache) → the answer.
//
// # Records and events
//
// Every cycle has a [Record] in the image, written in transactions of its
// own so it survives failure: when the cycle starts, in the background
// once it has spent a moment in a later state, and when it ends. It holds
// the mission, each state with its time, every prompt and reply, every
// retry of a model call, every verdict and the outcome ([Mind.Cycle],
// [Mind.Cycles]), and how many requests models received for the cycle
// with the tokens they reported. Error texts in a record are capped
// (8 KiB, the middle elided, so the root cause at the end stays); so is
// the error fed back to a model, which speaks the contract's names
// (batos.Self, never the host's packages). Every event also goes, as it
// happens, to the JSON-lines audit log (Options.AuditLog) and to
// subscribers ([Mind.Subscribe]).
//
// A process that dies during a cycle leaves its record open, in the state
// it died in; the next Open closes every such record as FAILED
// ("abandoned: the process ended during SYNTHESIZING"), in one
// transaction.
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
//     in all, and counted against Options.MaxModelCalls (with the cycles
//     nested in it and the infer sends of its dry runs); a top-level call
//     of a generated method may infer Options.MaxInferCalls times (with
//     the sends nested in it). Past either the call is refused with
//     ErrModelBudget; a generated method's whole call then fails.
package psm
