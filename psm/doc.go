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
// # The host's door
//
// A host program does its everyday work through the Mind, each call in
// transactions of its own:
//
//   - objects: [Mind.New] (a child of traits, or of the parents given),
//     [Mind.Clone], [Mind.Root] (a primordial object by name),
//     [Mind.Send] and [Mind.SendVia] (through a named ancestor, which
//     settles an ambiguous send);
//   - methods: [Mind.Install] puts a person's source through the cycle's
//     validation (guardian audit, compile, dry run) without a model;
//     [Mind.History] lists every version with who wrote it, which model,
//     which cycle and why; [Mind.Diff] shows two versions as a unified
//     diff; [Mind.Revert] installs an old version's source as a new one;
//     [Mind.Export] and [Mind.Import] move a prototype's methods to and
//     from gofmt-ed .go files, through the same validation;
//   - what gets written: [Mind.Policy] and [Mind.SetPolicy] (see
//     Generation policy below), [Mind.Pending], [Mind.Approve],
//     [Mind.Reject] and [Mind.Edit];
//   - the audit trail: [Mind.Cycle], [Mind.Cycles], [Mind.Subscribe],
//     [Mind.Prune] (see Retention below), and [Mind.Fingerprint], which
//     leaves it out.
//
// uvm.Tx.InstallMethod remains the low-level escape hatch: it installs
// source unaudited, and records no one's decision.
//
// # The cycle
//
//		IDLE → DECOMPOSING → DELEGATING → SYNTHESIZING ⇄ VALIDATING → COMPLETE
//		   │                                     (approve) ↓            ↑
//		   │                                     AWAITING_APPROVAL ─────┘
//		   └──────────────── any failure ─────────────────────────→ FAILED
//
//	  - IDLE: the message becomes a mission (selector, arguments, target,
//	    and the intent of a persona facet, if the target has one).
//	  - DECOMPOSING: BRICK writes one to three memory queries as JSON. An
//	    unreadable plan gets one repair request (an empty or truncated reply
//	    is asked again), then queries derived from the selector and intent
//	    (the record says so); a reply over the size cap falls back at once.
//	  - DELEGATING: the queries search memory; the skill index is searched
//	    for similar methods. One at least Options.ReuseThreshold similar
//	    is proposed for reuse (see Reuse before regenerate below).
//	  - SYNTHESIZING: the target's persona (found through its delegation
//	    chain, ALFRED by default) writes the method, with the contract, the
//	    covenant and the retrieved context in the prompt. A reuse DELEGATING
//	    proposed is tried first, without asking the model.
//	  - VALIDATING: one compile (guardian audit, the runtime's checks,
//	    Yaegi) makes a candidate, which a dry run tries with the mission's
//	    arguments, isolated, in a transaction that is always discarded;
//	    the covenant is checked as a commit would; then each of the
//	    mission's examples gets a dry run of its own (see Examples below).
//	    A failure goes back to SYNTHESIZING with the exact error, at most
//	    MaxAttempts times.
//	  - AWAITING_APPROVAL, under the generation policy GenerateApprove
//	    only: the validated candidate waits for a person, with what the
//	    dry run answered and changed ([Approval]), recorded durably; the
//	    send fails with an *ApprovalError. [Mind.Approve] and [Mind.Edit]
//	    (after validating the edit again) go on to COMPLETE, in a later
//	    call and process; [Mind.Reject] ends the cycle FAILED. It is a
//	    state of the record, not a prototype: the COMPLETE behaviour
//	    enforces it, whatever the machine in the image says.
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
// hand-off, the image-wide generation policy), pLLM (infer: ask a
// persona's model), genesis (parents pLLM and traits), the four personas,
// the orchestrator, and the knowledge catalog (root "knowledge":
// search(query[, k]) searches memory by meaning). Every one of them
// delegates to traits, so clone answers everywhere without a model. It
// also absorbs the LoRA adapters staged in Options.AdapterDir, in its
// transaction; later opens absorb those staged since.
//
// # Generation policy
//
// What becomes of a message nothing understands is the receiver's
// [Policy], held in the slots [SlotGeneration] and [SlotAllowNearMisses]
// and found through delegation like any slot: traits holds the
// image-wide one (Options.Policy at the awakening), any object may hold
// its own ([Mind.SetPolicy]). [GenerateAuto] runs the cycle;
// [GenerateApprove] parks it in AWAITING_APPROVAL; [GenerateNever]
// answers a *NotUnderstoodError at once, without a model call. Before any
// cycle, a selector a typo away from one the receiver answers is refused
// with "did you mean …" (a *NotUnderstoodError matching ErrNearMiss)
// unless the policy allows near misses.
//
// # How a send flows
//
// Each hop of a send that starts a cycle, as package.Function, with the
// channels it uses besides its arguments:
//
//  1. psm Mind.Send → uvm Image.Send: one Update transaction, whose
//     function runs again on a fresh snapshot when the transaction is
//     marked with Tx.Restart (at most uvm.MaxRestarts times). Mind.SendWith
//     runs the same Update itself, and first keeps the send's examples in
//     the transaction's value bag (Tx.SetValue, key sentExamplesKey).
//  2. uvm Tx.Send → Tx.Lookup finds nothing → the DoesNotUnderstand hook
//     (uvm.Options.DoesNotUnderstand, psm's unexported hook) → psm
//     Mind.notUnderstood, with a *uvm.Message (the transaction, receiver,
//     selector, arguments). It reads three hidden channels: the cycle in
//     the context (set in step 4: this send comes from a dry run, so the
//     cycle is nested, or the send is recursive and reaches the candidate
//     under dry run), the transaction's restart flag (Tx.Restarting: a
//     cycle of this attempt has installed a method, start no other) and
//     the transaction's value bag (Tx.Value, key failedCycleKey: a cycle
//     of this attempt has failed, fail at once; key sentExamplesKey: the
//     examples a SendWith attached, which join those the receiver holds
//     or inherits in the mission). A fourth, the context
//     value hostRunKey, marks a dry run a person asked for (Install,
//     Import, Revert, Edit): the message fails there, and no cycle
//     starts. Then Mind.screen refuses what no cycle may write: a message
//     whose method already awaits approval (an index in the image), a
//     near miss, or a receiver whose policy is GenerateNever. Before each
//     read in another transaction, and before the wait for a cycle, the
//     sender's transaction parks (uvm Tx.Park): on PostgreSQL it gives its
//     connection back, and its commit checks again what it read.
//  3. psm flights.join → Mind.lead: one cycle per receiver and selector,
//     on a goroutine of its own whose context ends when the last sender
//     waiting for it gives up (flights.leave); every sender waits for it. On an image other kernels share, the
//     leader first takes the cycle lease (Mind.cycleLease, kernels.go): if
//     another kernel holds it, it waits for that kernel's release, or takes
//     the cycle over once the lease lapses, and every sender of the flight
//     sends again (Tx.Restart). The leader waits for a turn (turns.take,
//     Options.MaxConcurrentCycles). live.Suspend stops the wall clock of the
//     generated method that sent, and live.Detach drops live's call from
//     the context (its active isolated call and its in-process budget,
//     both context values of uvm/live), so the cycle's dry runs get
//     workers and budgets of their own.
//  4. psm Mind.runCycle puts the cycle in the context (cycleKey) and walks
//     the machine read from the image (loadMachine): accept,
//     decompose and synthesize (personas: the persona package's
//     Router.Ask, ParsePlan, ExtractCodeFor), delegate (knowledge: the memory
//     package's Catalog.Search, Catalog.SearchSkills; then
//     Mind.proposeReuse reads a similar method from the image, and
//     synthesize proposes its reuse before asking a persona).
//  5. validate: compiler → live Runner.Compile → guardian.Audit (through
//     live.Options.Audit), the runtime's checks, and a compile in a
//     worker → a *live.Candidate, which keeps the audit's report.
//  6. live Candidate.DryRun in an Update that is always discarded → uvm
//     Tx.Run → live Runner.Run, which finds the candidate's audit in the
//     Runner's one cache (by selector and source) → a worker. The sends
//     the candidate makes are served in the parent through Tx.Send, with
//     live's active call in their context, and may come back to step 2.
//  7. complete: under GenerateApprove (for the target, or for the target
//     of a nested method that would install with it), Mind.park records
//     the Approval and ends the run with an *ApprovalError instead. Else
//     live Candidate.Install → uvm Tx.InstallMethod, with knowledge's
//     Catalog.IndexSkill, the version's note (the model, the arguments)
//     and the cycle's record, in one Update (Mind.installCommit, under
//     the install locks of its selectors' method parts (uvm.MethodPart),
//     or of a target's whole object before it holds methods, until it
//     commits; a conflict validates the candidate again with tryCandidate
//     and retries); a
//     nested cycle's candidate waits in its outer cycle's work and
//     installs in the same transaction.
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
// The saves made while the cycle runs do not wait for the disk
// (uvm.Tx.DeferSync); the save that ends the record does, and makes them
// durable with it. A kernel that dies keeps them; only a power failure
// during the cycle can lose the record of a cycle that acknowledged
// nothing.
//
// A process that dies during a cycle leaves its record open, in the state
// it died in; the next Open closes every such record as FAILED
// ("abandoned: the process ended during SYNTHESIZING"), in one
// transaction.
//
// # Many kernels, one mind
//
// Open takes a postgres:// location as well as a directory: several
// processes (kernels) then share one image, each a Mind named by
// Options.Kernel. A method one installs answers in the others at their
// next send (each transaction reads the committed image; what a kernel
// caches is keyed by the store's versions or follows the others'
// commits). The same unknown message sent to several kernels runs one
// cycle between them: the kernel that takes the message's cycle lease
// runs it, the others' senders wait and then answer with its method. A
// kernel killed mid-cycle stops renewing its leases; after
// Options.LeaseTTL another kernel waiting on the message takes the cycle
// over, closes the dead kernel's record ("abandoned: kernel K stopped
// during SYNTHESIZING; kernel J took the cycle over") and runs it. A
// cycle whose lease another kernel took fails with ErrLeaseLost and
// installs nothing. Each record names the kernel that ran it
// (Record.Kernel), and Open closes as abandoned only the open records of
// kernels that are gone.
//
// # Retention
//
// Records grow with every cycle. [Mind.Prune] removes those of cycles
// that ended longer than PruneOptions.MaxAge ago, or beyond the newest
// PruneOptions.MaxRecords, and reports what it removed and what it kept;
// Options.Retention is applied by Open, and by Prune given zero options.
// It never removes the record of a cycle still running or awaiting
// approval, of one that installed a method's current version, of one an
// older version's history still reads (versions older than their
// notes), nor any cycle nested in, or holding, one it keeps. Method
// versions and their notes are never pruned. The audit log is the
// host's io.Writer: rotating it is the host's business.
//
// # Examples as specifications
//
// A mission can carry [Example]s: arguments and the answer wanted (or an
// error wanted). They come from the receiver, which holds or inherits
// them in the slot [ExamplesSlot] names ([SetExamples], [Mind.SetExamples]:
// every cycle that writes the selector, now or at a regeneration, must
// meet them), and from the send ([Mind.SendWith] with [WithExamples]: for
// the cycle that send starts). The synthesis prompt lists them.
// VALIDATING runs each one in a dry run of its own, isolated and with the
// usual budgets, in a transaction that is always discarded; a candidate
// that misses any goes back to SYNTHESIZING with an *[ExamplesError],
// whose text gives the exact difference for each (the call, what was
// wanted, what came back, as typed literals). A method is installed only
// when every example passes; the record keeps the examples (in the
// mission) and a verdict per example and attempt. [SameAnswer] defines
// when answers are the same: numbers by value (int64 2 is float64 2.0),
// nil as any empty container, maps in any order.
//
// # Reuse before regenerate
//
// A model call avoided is worth more than any millisecond. When the skill
// index finds an installed method at least Options.ReuseThreshold similar
// to the mission, SYNTHESIZING proposes source that reuses it instead of
// asking the model, and VALIDATING tries it like any source: audit,
// compile, a dry run with the mission's arguments and each of its
// examples. Reused source that passes is installed; the record says what
// was reused ([Record.Reused]) and counts the model call saved
// (Record.ModelCallsAvoided), and the version's history says "reused …".
// Source that fails is dropped, and the cycle asks the model as if
// nothing had been tried. The contract lets a method send only to its
// own receiver, so a method the receiver reaches by lookup is reused by
// delegation ([ReuseDelegate]: a method that sends its selector with the
// same arguments, and so follows its later versions), any other by a copy
// of its source with the entry function renamed ([ReuseCopy]); a method
// that only forwards its message (an earlier delegation) is reused as the
// method it forwards to. Examples ([Mind.SetExamples], [WithExamples])
// are what tells a reuse that merely looks alike from one that answers
// the mission.
//
// # Record and replay
//
// A record holds everything a cycle was told: the mission (numbers keep
// their types in JSON), what DELEGATING found, every prompt and reply.
// [Mind.Replay] runs a stored cycle again with its recorded replies and
// no model, on the image as it is, and returns the steps that differ
// (none when the prompts, replies, verdicts, source and outcome are the
// same); [Mind.Fork] runs its mission again with another model, spec or
// persona, to compare outcomes. A rerun saves no record and installs
// nothing; its top-level cycle finds its rerun in the context (key
// replayKey), its nested cycles through their outer cycle.
// [CompareRecords] compares two records of the same mission, and
// [Script] turns records into the script of a persona.Scripted model. To
// record a conversation with a real model as a script, wrap the model in
// a persona.Recording; package psm/psmtest does that for tests.
//
// # Concurrency and nesting
//
// Two sends of the same unknown selector to the same object run one cycle;
// the second waits for it, and gets its outcome: its method, or its
// error (a cycle that ran out of Options.CycleTimeout fails all its
// senders at once). A sender whose context ends stops waiting at once;
// the cycle goes on as long as one of its senders waits (the first one
// included: the cycle has a goroutine of its own), and is cancelled when
// the last gives up, whose send returns once the cycle has ended and
// closed its record. Cycles for other selectors or objects run at the
// same time, up to Options.MaxConcurrentCycles top-level cycles (the
// others wait for a turn, as long as one of their senders waits).
// Nothing is locked while they run: two cycles whose installs touch the
// same objects meet at COMPLETE, where one commits and the other's
// commit conflicts. The latter validates the same method again on a
// fresh snapshot (dry runs and examples, no model call) and commits
// again, at most Options.MaxInstallRetries times; the record lists each
// conflict with what the install wrote (Record.Conflicts). A generated method that sends a message nobody
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
