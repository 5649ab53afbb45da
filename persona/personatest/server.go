package personatest

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batos-dev/batos/persona"
)

// Turn is one answer of a fake server: a [persona.Reply] (Text, Expect, Prompt,
// StopReason, Delay, Hang, Fail) plus faults of the wire.
type Turn struct {
	persona.Reply
	// Status, when non-zero, answers this HTTP status with Body (or, when
	// Body is empty, with the protocol's error document).
	Status int
	// Body, when set, is written verbatim as the response body (with
	// Status, or 200).
	Body string
	// NoFinal streams the text but never the final message: Ollama's
	// "done": true line, or OpenAI's finish_reason and [DONE].
	NoFinal bool
	// ChunkSize is the bytes of text per streamed chunk; 0 means 64 (about
	// what a real server sends per token or two), or for a text over 16 KiB
	// whatever makes about 256 chunks.
	ChunkSize int
	// ChunkDelay pauses before each streamed chunk: a slow but steady
	// model.
	ChunkDelay time.Duration
	// Header is set on the response (a Retry-After with Status 429 or
	// 503, say).
	Header map[string]string
	// Reset accepts the request and resets the connection at once (TCP
	// RST): "connection reset by peer" before any response.
	Reset bool
	// Drop sends the text but not the final message (streamed, or the
	// first half of the JSON document when not streamed), then closes the
	// connection without ending the response: a dropped connection.
	Drop bool
	// Stall sends the text but not the final message, then sends nothing
	// more until the client gives up: a stalled stream.
	Stall bool
}

// turnJSON holds the wire faults of a Turn in JSON; the rest of a turn's
// fields are its Reply's.
type turnJSON struct {
	Status     int               `json:"status,omitempty"`
	Body       string            `json:"body,omitempty"`
	NoFinal    bool              `json:"no_final,omitempty"`
	ChunkSize  int               `json:"chunk_size,omitempty"`
	ChunkDelay string            `json:"chunk_delay,omitempty"`
	Header     map[string]string `json:"header,omitempty"`
	Reset      bool              `json:"reset,omitempty"`
	Drop       bool              `json:"drop,omitempty"`
	Stall      bool              `json:"stall,omitempty"`
}

var turnKeys = []string{"status", "body", "no_final", "chunk_size", "chunk_delay", "header", "reset", "drop", "stall"}

// UnmarshalJSON reads a turn as one JSON object: the fields of a
// persona.Reply ("text", "expect", "stop_reason", "delay", "hang",
// "fail", …) and the wire faults "status", "body", "no_final",
// "chunk_size", "chunk_delay" (a duration such as "20ms"), "header",
// "reset", "drop" and "stall". Unknown fields are refused. A catalogue of
// hostile turns can live in files this way.
func (t *Turn) UnmarshalJSON(b []byte) error {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	faults := map[string]json.RawMessage{}
	for _, k := range turnKeys {
		if v, ok := all[k]; ok {
			faults[k] = v
			delete(all, k)
		}
	}
	var j turnJSON
	if fb, err := json.Marshal(faults); err != nil {
		return err
	} else if err := json.Unmarshal(fb, &j); err != nil {
		return err
	}
	var r persona.Reply
	rb, err := json.Marshal(all)
	if err != nil {
		return err
	}
	if err := r.UnmarshalJSON(rb); err != nil {
		return err
	}
	*t = Turn{Reply: r, Status: j.Status, Body: j.Body, NoFinal: j.NoFinal, ChunkSize: j.ChunkSize,
		Header: j.Header, Reset: j.Reset, Drop: j.Drop, Stall: j.Stall}
	if j.ChunkDelay != "" {
		d, err := time.ParseDuration(j.ChunkDelay)
		if err != nil || d < 0 {
			return fmt.Errorf("chunk_delay %q: want a duration such as 20ms", j.ChunkDelay)
		}
		t.ChunkDelay = d
	}
	return nil
}

// MarshalJSON writes a turn as UnmarshalJSON reads it.
func (t Turn) MarshalJSON() ([]byte, error) {
	rb, err := t.Reply.MarshalJSON()
	if err != nil {
		return nil, err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(rb, &all); err != nil {
		return nil, err
	}
	j := turnJSON{Status: t.Status, Body: t.Body, NoFinal: t.NoFinal, ChunkSize: t.ChunkSize, Header: t.Header,
		Reset: t.Reset, Drop: t.Drop, Stall: t.Stall}
	if t.ChunkDelay > 0 {
		j.ChunkDelay = t.ChunkDelay.String()
	}
	fb, err := json.Marshal(j)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(fb, &all); err != nil {
		return nil, err
	}
	return json.Marshal(all)
}

// Replies turns replies into turns without wire faults.
func Replies(rs ...persona.Reply) []Turn {
	out := make([]Turn, len(rs))
	for i, r := range rs {
		out[i] = Turn{Reply: r}
	}
	return out
}

// Request is one request a fake server received.
type Request struct {
	Path      string // the URL path
	Model     string // the model asked for
	Stream    bool   // whether the request asked for a stream
	Prompt    string // every message's text, joined by newlines (see persona.PromptText)
	KeepAlive any    // Ollama's keep_alive, as sent
	Body      []byte // the raw request body
	// AdapterLoaded reports whether Model was a loaded adapter (see
	// EngineCalls) when the request arrived.
	AdapterLoaded bool
}

// EngineCall is one adapter load or unload a fake server received.
type EngineCall struct {
	Op        string // "load" or "unload"
	Name      string // lora_name, or Ollama's model
	Path      string // lora_path (vLLM)
	KeepAlive any    // keep_alive (Ollama)
}

// Server is an httptest server speaking a model server's wire protocol,
// answering chat requests from a script of turns, in order, and recording
// every request. Its URL is the base URL to put in a spec: for Ollama
// "ollama:MODEL@"+URL, for OpenAI "openai:MODEL@"+URL+"/v1". A request
// that drifts from its turn's Expect or Prompt, or comes after the last turn, is
// answered HTTP 409 with the protocol's error document (a 4xx: the script
// is at fault, and clients do not retry it).
type Server struct {
	*httptest.Server
	proto string
	stop  chan struct{}

	mu       sync.Mutex
	turns    []Turn
	next     int
	requests []Request
	engine   []EngineCall
	loaded   map[string]string
}

func newServer(t testing.TB, proto string, turns []Turn) *Server {
	s := &Server{proto: proto, stop: make(chan struct{}), turns: append([]Turn(nil), turns...), loaded: map[string]string{}}
	mux := http.NewServeMux()
	switch proto {
	case "ollama":
		mux.HandleFunc("POST /api/chat", s.ollamaChat)
		mux.HandleFunc("POST /api/generate", s.ollamaGenerate)
	case "openai":
		mux.HandleFunc("POST /v1/chat/completions", s.openaiChat)
		mux.HandleFunc("POST /v1/load_lora_adapter", s.vllmLoad)
		mux.HandleFunc("POST /v1/unload_lora_adapter", s.vllmUnload)
	}
	s.Server = httptest.NewServer(mux)
	t.Cleanup(func() {
		close(s.stop) // lets hanging handlers return
		s.Close()
	})
	return s
}

// NewOllama starts a server speaking Ollama's API: POST /api/chat
// (streamed NDJSON unless the request says "stream": false) and POST
// /api/generate without a prompt (load and unload with keep_alive,
// recorded as engine calls).
func NewOllama(t testing.TB, turns ...Turn) *Server { return newServer(t, "ollama", turns) }

// NewOpenAI starts a server speaking the OpenAI chat completions API
// (POST /v1/chat/completions, JSON or server-sent events) and vLLM's
// adapter endpoints (POST /v1/load_lora_adapter and
// /v1/unload_lora_adapter, recorded as engine calls).
func NewOpenAI(t testing.TB, turns ...Turn) *Server { return newServer(t, "openai", turns) }

// Push appends turns to the script.
func (s *Server) Push(turns ...Turn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.turns = append(s.turns, turns...)
}

// Requests returns a copy of the chat requests received, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// EngineCalls returns a copy of the adapter loads and unloads received.
func (s *Server) EngineCalls() []EngineCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]EngineCall(nil), s.engine...)
}

// Loaded returns the adapters loaded now (vLLM: name → path).
func (s *Server) Loaded() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.loaded))
	for k, v := range s.loaded {
		out[k] = v
	}
	return out
}

// Remaining reports how many turns have not been given.
func (s *Server) Remaining() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.turns) - s.next
}

type chatRequest struct {
	Model    string          `json:"model"`
	Messages []chatMessage   `json:"messages"`
	Stream   *bool           `json:"stream"`
	Keep     any             `json:"keep_alive"`
	Options  json.RawMessage `json:"options"`
}

type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// text reads a message's content: a string, or OpenAI's list of parts.
func (m chatMessage) text() string {
	var s string
	if json.Unmarshal(m.Content, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	_ = json.Unmarshal(m.Content, &parts)
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.Text)
	}
	return b.String()
}

// scriptFault is the status of a request the script cannot answer
// (drift, exhaustion): a 4xx, because the test, not the server, is at
// fault, and clients do not retry it.
const scriptFault = http.StatusConflict

// cut ends the connection under a response without ending the response:
// with a TCP reset, or a plain close after flushing what was written.
func cut(w http.ResponseWriter, reset bool) {
	if fl, ok := w.(http.Flusher); ok && !reset {
		fl.Flush()
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok && reset {
		tc.SetLinger(0)
	}
	conn.Close()
}

// pause waits d, or until the request or the server ends; false means it
// ended.
func (s *Server) pause(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
	case <-s.stop:
	}
	return false
}

// hold sends nothing more until the request or the server ends.
func (s *Server) hold(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-s.stop:
	}
}

// take reads a chat request and claims the next turn. A problem is written
// to w and reported as ok false.
func (s *Server) take(w http.ResponseWriter, r *http.Request) (req chatRequest, turn Turn, ok bool) {
	body, err := io.ReadAll(r.Body)
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		s.protoError(w, http.StatusBadRequest, "personatest: bad request: "+fmt.Sprint(err))
		return req, turn, false
	}
	var texts []string
	for _, m := range req.Messages {
		texts = append(texts, m.text())
	}
	prompt := strings.Join(texts, "\n")
	s.mu.Lock()
	_, loaded := s.loaded[req.Model]
	s.requests = append(s.requests, Request{Path: r.URL.Path, Model: req.Model, Stream: req.Stream != nil && *req.Stream,
		Prompt: prompt, KeepAlive: req.Keep, Body: body, AdapterLoaded: loaded})
	if s.next >= len(s.turns) {
		s.mu.Unlock()
		s.protoError(w, scriptFault, fmt.Sprintf("personatest: script exhausted after %d turns", len(s.turns)))
		return req, turn, false
	}
	turn, n := s.turns[s.next], s.next+1
	if turn.Expect != "" && !strings.Contains(prompt, turn.Expect) {
		s.mu.Unlock()
		s.protoError(w, scriptFault, fmt.Sprintf("personatest: drift at turn %d: prompt does not contain %q", n, turn.Expect))
		return req, turn, false
	}
	if turn.Prompt != "" && prompt != turn.Prompt {
		s.mu.Unlock()
		s.protoError(w, scriptFault, fmt.Sprintf("personatest: drift at turn %d: the prompt is not the scripted one", n))
		return req, turn, false
	}
	s.next++
	s.mu.Unlock()

	for k, v := range turn.Header {
		w.Header().Set(k, v)
	}
	switch {
	case turn.Hang:
		select {
		case <-r.Context().Done():
		case <-s.stop:
		}
		return req, turn, false
	case turn.Delay > 0:
		select {
		case <-time.After(turn.Delay):
		case <-r.Context().Done():
			return req, turn, false
		case <-s.stop:
			return req, turn, false
		}
	}
	switch {
	case turn.Reset:
		cut(w, true)
		return req, turn, false
	case turn.Status != 0 && turn.Body == "":
		s.protoError(w, turn.Status, fmt.Sprintf("personatest: turn %d answers HTTP %d", n, turn.Status))
		return req, turn, false
	case turn.Body != "":
		status := turn.Status
		if status == 0 {
			status = http.StatusOK
		}
		w.WriteHeader(status)
		io.WriteString(w, turn.Body)
		return req, turn, false
	case turn.Fail != "":
		s.protoError(w, http.StatusInternalServerError, turn.Fail)
		return req, turn, false
	}
	return req, turn, true
}

func (s *Server) protoError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if s.proto == "ollama" {
		json.NewEncoder(w).Encode(map[string]string{"error": msg})
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": "server_error", "code": status}})
}

// pieces cuts s into chunks of about size bytes, on rune boundaries.
func pieces(s string, size int) []string {
	if size <= 0 {
		size = max(64, len(s)/256)
	}
	var out []string
	for len(s) > 0 {
		cut := min(size, len(s))
		for cut < len(s) && s[cut]&0xC0 == 0x80 {
			cut++
		}
		out = append(out, s[:cut])
		s = s[cut:]
	}
	return out
}

const created = "2026-01-02T03:04:05.000000Z"

func (s *Server) ollamaChat(w http.ResponseWriter, r *http.Request) {
	req, turn, ok := s.take(w, r)
	if !ok {
		return
	}
	reason := turn.StopReason
	if reason == "" {
		reason = "stop"
	}
	final := map[string]any{
		"model": req.Model, "created_at": created,
		"message": map[string]any{"role": "assistant", "content": ""},
		"done":    true, "done_reason": reason,
		"total_duration": 1200000, "load_duration": 100000, "prompt_eval_count": 12,
		"prompt_eval_duration": 300000, "eval_count": 34, "eval_duration": 800000,
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	if req.Stream != nil && !*req.Stream {
		if turn.NoFinal {
			return // an empty body: no message at all
		}
		final["message"] = map[string]any{"role": "assistant", "content": turn.Text}
		if turn.Drop || turn.Stall {
			s.unfinished(w, r, turn, final)
			return
		}
		enc.Encode(final)
		return
	}
	fl, _ := w.(http.Flusher)
	for _, p := range pieces(turn.Text, turn.ChunkSize) {
		if !s.pause(r, turn.ChunkDelay) {
			return
		}
		enc.Encode(map[string]any{"model": req.Model, "created_at": created,
			"message": map[string]any{"role": "assistant", "content": p}, "done": false})
		if fl != nil {
			fl.Flush()
		}
	}
	switch {
	case turn.Drop:
		cut(w, false)
	case turn.Stall:
		if fl != nil {
			fl.Flush()
		}
		s.hold(r)
	case !turn.NoFinal:
		enc.Encode(final)
	}
}

// unfinished writes the first half of a JSON document, then drops the
// connection or stalls, as the turn says.
func (s *Server) unfinished(w http.ResponseWriter, r *http.Request, turn Turn, doc any) {
	b, _ := json.Marshal(doc)
	w.Write(b[:len(b)/2])
	if turn.Drop {
		cut(w, false)
		return
	}
	w.(http.Flusher).Flush()
	s.hold(r)
}

func (s *Server) ollamaGenerate(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model  string `json:"model"`
		Prompt string `json:"prompt"`
		Keep   any    `json:"keep_alive"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Model == "" {
		s.protoError(w, http.StatusBadRequest, "personatest: bad generate request")
		return
	}
	if req.Prompt != "" {
		s.protoError(w, http.StatusNotImplemented, "personatest: only load and unload are served on /api/generate")
		return
	}
	op, reason := "load", "load"
	if n, ok := req.Keep.(float64); ok && n == 0 {
		op, reason = "unload", "unload"
	}
	s.mu.Lock()
	s.engine = append(s.engine, EngineCall{Op: op, Name: req.Model, KeepAlive: req.Keep})
	if op == "load" {
		s.loaded[req.Model] = ""
	} else {
		delete(s.loaded, req.Model)
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"model": req.Model, "created_at": created, "response": "", "done": true, "done_reason": reason})
}

func (s *Server) openaiChat(w http.ResponseWriter, r *http.Request) {
	req, turn, ok := s.take(w, r)
	if !ok {
		return
	}
	reason := turn.StopReason
	if reason == "" {
		reason = "stop"
	}
	usage := map[string]any{"prompt_tokens": 12, "completion_tokens": 34, "total_tokens": 46}
	if req.Stream == nil || !*req.Stream {
		w.Header().Set("Content-Type", "application/json")
		doc := map[string]any{
			"id": "chatcmpl-personatest", "object": "chat.completion", "created": 1767323045, "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": turn.Text},
				"finish_reason": reason, "logprobs": nil}},
			"usage": usage, "system_fingerprint": "fp_personatest",
		}
		if turn.Drop || turn.Stall {
			s.unfinished(w, r, turn, doc)
			return
		}
		json.NewEncoder(w).Encode(doc)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	fl, _ := w.(http.Flusher)
	event := func(v any) {
		b, _ := json.Marshal(v)
		fmt.Fprintf(w, "data: %s\n\n", b)
		if fl != nil {
			fl.Flush()
		}
	}
	chunk := func(delta map[string]any, finish any) map[string]any {
		return map[string]any{"id": "chatcmpl-personatest", "object": "chat.completion.chunk", "created": 1767323045,
			"model": req.Model, "system_fingerprint": "fp_personatest",
			"choices": []any{map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}}}
	}
	io.WriteString(w, ": personatest keep-alive comment\n\n")
	event(chunk(map[string]any{"role": "assistant", "content": ""}, nil))
	for _, p := range pieces(turn.Text, turn.ChunkSize) {
		if !s.pause(r, turn.ChunkDelay) {
			return
		}
		event(chunk(map[string]any{"content": p}, nil))
	}
	switch {
	case turn.Drop:
		cut(w, false)
		return
	case turn.Stall:
		s.hold(r)
		return
	case turn.NoFinal:
		return
	}
	event(chunk(map[string]any{}, reason))
	event(map[string]any{"id": "chatcmpl-personatest", "object": "chat.completion.chunk", "created": 1767323045,
		"model": req.Model, "choices": []any{}, "usage": usage})
	io.WriteString(w, "data: [DONE]\n\n")
}

func (s *Server) vllmLoad(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name string `json:"lora_name"`
		Path string `json:"lora_path"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Name == "" || req.Path == "" {
		s.vllmError(w, http.StatusBadRequest, "lora_name and lora_path are required")
		return
	}
	s.mu.Lock()
	s.engine = append(s.engine, EngineCall{Op: "load", Name: req.Name, Path: req.Path})
	_, dup := s.loaded[req.Name]
	if !dup {
		s.loaded[req.Name] = req.Path
	}
	s.mu.Unlock()
	if dup {
		s.vllmError(w, http.StatusBadRequest, fmt.Sprintf("The lora adapter '%s' has already been loaded.", req.Name))
		return
	}
	fmt.Fprintf(w, "Success: LoRA adapter '%s' added successfully.", req.Name)
}

func (s *Server) vllmUnload(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name string `json:"lora_name"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Name == "" {
		s.vllmError(w, http.StatusBadRequest, "lora_name is required")
		return
	}
	s.mu.Lock()
	s.engine = append(s.engine, EngineCall{Op: "unload", Name: req.Name})
	_, ok := s.loaded[req.Name]
	delete(s.loaded, req.Name)
	s.mu.Unlock()
	if !ok {
		s.vllmError(w, http.StatusNotFound, fmt.Sprintf("The lora adapter '%s' cannot be found.", req.Name))
		return
	}
	fmt.Fprintf(w, "Success: LoRA adapter '%s' removed successfully.", req.Name)
}

func (s *Server) vllmError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"object": "error", "message": msg, "type": "InvalidUserInput", "param": nil, "code": status})
}
