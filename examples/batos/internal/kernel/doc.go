// Package kernel serves a batos Mind over HTTP: the `batos serve` kernel.
//
//	srv := kernel.New(mind, kernel.Options{Token: token})
//	hs := &http.Server{Handler: srv.Handler()}
//	go hs.Serve(listener)
//	...
//	hs.Shutdown(ctx) // stop accepting connections
//	srv.Shutdown(ctx) // let accepted sends finish within ctx, then cancel them
//	mind.Close()
//
// # Routes
//
// Every answer is JSON; every error is {"error": "...", "kind": "..."}
// (an [ErrorBody], whose kind clients branch on), with the cycle, state and
// selector when a cycle failed. A send whose method awaits approval (the
// generation policy approve) answers 409 awaiting_approval with the cycle
// to approve, reject or edit; deciding a cycle that awaits nothing is 409
// not_pending, source that fails validation (edit, revert) 422
// invalid_source. Who decides or reverts is the body's "by", else "kernel".
//
//	POST /api/send                                        {"object": "genesis", "selector": "greet", "args": ["Ada"]} → SendAnswer
//	GET  /api/objects                                     roots and counts (imageview.Summary)
//	GET  /api/objects/{ref}                               slots, parents, methods (imageview.Object)
//	GET  /api/objects/{ref}/slots/{name}                  one slot in full (imageview.Slot)
//	GET  /api/objects/{ref}/methods/{selector}            every version with source (MethodVersions)
//	GET  /api/objects/{ref}/methods/{selector}/versions/{n}
//	GET  /api/cycles?limit=N&before=ID                    cycle summaries, newest first (imageview.CyclePage)
//	GET  /api/cycles/{id}                                 one cycle's record (psm.Record)
//	GET  /api/events?cycle=ID&kinds=state,outcome         server-sent events (see below)
//	GET  /api/graph?focus=REF&limit=N&offset=K            a view of the object graph (imageview.Graph)
//	POST /api/brief                                       {"text": "give genesis a method that …"} → BriefAnswer
//	GET  /api/pending                                     cycles awaiting approval, oldest first ([]Pending)
//	POST /api/pending/{id}/{approve|reject|edit}          {"by": "ada", "reason": "…", "source": "…"} → VersionAnswer (reject: RejectAnswer)
//	POST /api/objects/{ref}/methods/{selector}/revert     {"version": 1, "by": "ada", "reason": "…"} → VersionAnswer
//	GET  /metrics                                         Prometheus
//	GET  /healthz                                         {"status": "ok"}; no token needed
//	GET  /, /ui/{file}                                    the inspector (package inspector); no token needed
//
// {ref} is an OID or a root name. With Options.Token set, every route but
// /healthz and the inspector's files needs "Authorization: Bearer TOKEN";
// /api/events also takes ?access_token=TOKEN, since a browser's
// EventSource cannot set headers.
//
// # Graph
//
// GET /api/graph answers a view small enough to draw however large the
// image: the roots (at most limit root children per object), the focus
// with its ancestors and a page of its children, and, for each object
// shown, how many children it has in all. The kernel keeps an index of
// the objects the roots reach and builds it again after sends.
//
// # Briefs
//
// POST /api/brief asks a persona (ALFRED unless "persona" says otherwise)
// to turn a request in natural language into a mission brief, the body of
// a send. The kernel asks through the image — genesis's infer, the pLLM
// primitive — on one of its workers. A reply with no usable brief answers
// 422 brief_unreadable with the reply; a model that fails, 502
// model_failed. Clients (batos console) fall back to rules of their own.
//
// # Sends
//
// A send is queued and run by one of Options.Workers workers. When
// Options.Queue sends already wait, the next answers 503 queue_full with
// Retry-After. A send waits for its answer, however long its cycle takes;
// a client that goes away cancels it (the cycle fails, the image is as it
// was).
//
// # Events
//
// GET /api/events is a text/event-stream. Each cycle event (psm.Event) is
// "event: cycle" with the event as JSON and an increasing "id"; a
// reconnecting client sends Last-Event-ID (or ?last_event_id=N, 0 for
// all) and receives what it missed, as far as Options.KeepEvents reaches. A stream that falls Options.StreamBuffer
// events behind is closed (the client resumes), and so is one whose client
// does not take a write within Options.StreamWriteTimeout. On shutdown every stream
// receives "event: shutdown" and ends.
//
// # Metrics
//
//	batos_cycles_total{outcome}             cycles ended, COMPLETE or FAILED
//	batos_model_calls_avoided_total         model calls saved by reusing an installed method
//	batos_model_calls_total{persona,result} model calls, from the cycles' prompt and reply events
//	batos_model_call_seconds{persona}       their latency
//	batos_sends_total{result}               ok, failed (method or cycle), rejected (not run), error
//	batos_send_seconds{result}              acceptance to answer
//	batos_send_queue_depth, batos_send_queue_capacity, batos_sends_in_flight
//	batos_event_streams, batos_event_streams_dropped_total
//	batos_http_requests_total{route,code}
//
// plus the Go runtime's and the process's collectors.
//
// # Caveats
//
//   - A send's answer does not say which cycles it started: the events name
//     their cycle but not the send.
//   - Cycles are reported by the Mind of this process only; a cycle left
//     open by a kernel that died stays open in the records.
package kernel
