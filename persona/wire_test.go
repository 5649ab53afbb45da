package persona_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/persona/personatest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tmc/langchaingo/llms"
)

// Wire faults that only a real client against a server shows: what
// langchaingo's clients do with them, and what the guard makes of it.
func TestWireFaults(t *testing.T) {
	ctx := context.Background()
	type server func(t *testing.T, turns ...personatest.Turn) (spec string)
	ollamaSrv := func(t *testing.T, turns ...personatest.Turn) string {
		return "ollama:qwen2.5-coder:7b@" + personatest.NewOllama(t, turns...).URL
	}
	openaiSrv := func(t *testing.T, turns ...personatest.Turn) string {
		return "openai:local-model@" + personatest.NewOpenAI(t, turns...).URL + "/v1"
	}
	streaming := persona.WithCallOptions(llms.WithStreamingFunc(func(context.Context, []byte) error { return nil }))
	for _, tc := range []struct {
		name   string
		srv    server
		turn   personatest.Turn
		opts   []persona.AskOption
		want   error
		status int // the *HTTPError's status, when want is ErrHTTPStatus
	}{
		{name: "Ollama500JSON", srv: ollamaSrv, turn: personatest.Turn{Status: 500}, want: persona.ErrHTTPStatus, status: 500},
		// langchaingo's Ollama client returns "" and a nil error for this one.
		{name: "Ollama500EmptyBody", srv: ollamaSrv, turn: personatest.Turn{Status: 500, Body: " "}, want: persona.ErrHTTPStatus, status: 500},
		{name: "Ollama404ModelMissing", srv: ollamaSrv, turn: personatest.Turn{Status: 404, Body: `{"error":"model \"x\" not found, try pulling it first"}`}, want: persona.ErrHTTPStatus, status: 404},
		{name: "OllamaStreamWithoutFinal", srv: ollamaSrv, turn: personatest.Turn{Reply: persona.Reply{Text: "half a reply"}, NoFinal: true}, want: persona.ErrEmptyReply},
		{name: "OllamaEmptyBody200", srv: ollamaSrv, turn: personatest.Turn{NoFinal: true}, want: persona.ErrEmptyReply},
		{name: "OllamaBlankLine200", srv: ollamaSrv, turn: personatest.Turn{Body: "\n"}, want: persona.ErrModelFailed},
		{name: "OllamaGarbage200", srv: ollamaSrv, turn: personatest.Turn{Body: "<html>proxy error</html>\n"}, want: persona.ErrModelFailed},
		{name: "OllamaDoneReasonLength", srv: ollamaSrv, turn: personatest.Turn{Reply: persona.Reply{Text: "func f() {", StopReason: "length"}}, want: persona.ErrTruncated},
		{name: "OpenAI500", srv: openaiSrv, turn: personatest.Turn{Status: 500}, want: persona.ErrHTTPStatus, status: 500},
		{name: "OpenAI500Streaming", srv: openaiSrv, turn: personatest.Turn{Status: 503}, opts: []persona.AskOption{streaming}, want: persona.ErrHTTPStatus, status: 503},
		{name: "OpenAI401", srv: openaiSrv, turn: personatest.Turn{Status: 401, Body: `{"error":{"message":"Incorrect API key provided"}}`}, want: persona.ErrHTTPStatus, status: 401},
		{name: "OpenAIEmptyBody200", srv: openaiSrv, turn: personatest.Turn{Body: " "}, want: persona.ErrModelFailed},
		{name: "OpenAIStreamWithoutFinish", srv: openaiSrv, turn: personatest.Turn{Reply: persona.Reply{Text: "half a reply"}, NoFinal: true}, opts: []persona.AskOption{streaming}, want: persona.ErrTruncated},
		{name: "OpenAIFinishLength", srv: openaiSrv, turn: personatest.Turn{Reply: persona.Reply{Text: "[\"a\", \"b", StopReason: "length"}}, want: persona.ErrTruncated},
		{name: "OpenAIStreamFinishLength", srv: openaiSrv, turn: personatest.Turn{Reply: persona.Reply{Text: "[\"a\", \"b", StopReason: "length"}}, opts: []persona.AskOption{streaming}, want: persona.ErrTruncated},
		// A dropped connection is a cut reply, whatever the protocol
		// (issue 12, item 2).
		{name: "OpenAIStreamDropped", srv: openaiSrv, turn: personatest.Turn{Reply: persona.Reply{Text: "half a reply"}, Drop: true}, opts: []persona.AskOption{streaming}, want: persona.ErrTruncated},
		{name: "OpenAIDropped", srv: openaiSrv, turn: personatest.Turn{Reply: persona.Reply{Text: "half a reply"}, Drop: true}, want: persona.ErrTruncated},
		{name: "OllamaStreamDropped", srv: ollamaSrv, turn: personatest.Turn{Reply: persona.Reply{Text: "half a reply"}, Drop: true}, want: persona.ErrTruncated},
		// A call that does not ask to stream (psm's) streams all the same,
		// so that the end of the stream can be checked.
		{name: "OpenAIWithoutFinishUnasked", srv: openaiSrv, turn: personatest.Turn{Reply: persona.Reply{Text: "half a reply"}, NoFinal: true}, want: persona.ErrTruncated},
		{name: "OpenAIHangStreaming", srv: openaiSrv, turn: personatest.Turn{Reply: persona.Reply{Hang: true}}, opts: []persona.AskOption{streaming, persona.WithTimeout(100 * time.Millisecond)}, want: persona.ErrTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mustModel(t, tc.srv(t, tc.turn), persona.Options{})
			// One attempt: what a single fault becomes (TestRetries has the retries).
			got, err := persona.Ask(ctx, m, persona.BRICK, "prompt", append([]persona.AskOption{persona.WithTimeout(10 * time.Second), persona.WithRetries(0)}, tc.opts...)...)
			require.ErrorIs(t, err, tc.want, "got reply %q", got)
			var me *persona.ModelError
			require.ErrorAs(t, err, &me)
			require.Equal(t, persona.BRICK, me.Persona, "the *ModelError's persona")
			if tc.status != 0 {
				var he *persona.HTTPError
				require.ErrorAs(t, err, &he)
				require.Equal(t, tc.status, he.StatusCode, "the *HTTPError's status")
			}
		})
	}
}

// The wire cap stops reading a runaway body long before its end.
func TestWireCap(t *testing.T) {
	var written int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		chunk := strings.Repeat("x", 64<<10)
		io.WriteString(w, `{"choices":[{"message":{"role":"assistant","content":"`)
		for i := 0; i < 64; i++ { // 4 MiB, unless the client hangs up
			n, err := io.WriteString(w, chunk)
			written += int64(n)
			if err != nil {
				return
			}
		}
		io.WriteString(w, `"},"finish_reason":"stop"}]}`)
	}))
	defer srv.Close()
	m := mustModel(t, "openai:m@"+srv.URL+"/v1", persona.Options{})
	_, err := persona.Ask(context.Background(), m, persona.BABS, "go on", persona.WithMaxReplyBytes(1<<10))
	require.ErrorIs(t, err, persona.ErrTooLarge)
	assert.ErrorContains(t, err, "65536 bytes on the wire", "the wire cap (64 × 1 KiB) named")
}

func TestConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	for _, spec := range []string{"ollama:m@http://" + addr, "openai:m@http://" + addr + "/v1"} {
		t.Run(spec[:strings.IndexByte(spec, ':')], func(t *testing.T) {
			_, err := persona.Ask(context.Background(), mustModel(t, spec, persona.Options{}), "", "hello")
			require.ErrorIs(t, err, persona.ErrModelFailed)
		})
	}
}

// What the clients put on the wire: the model, the system message from the
// codex, the prompt, and no key from the environment.
func TestWireRequests(t *testing.T) {
	ctx := context.Background()
	t.Run("Ollama", func(t *testing.T) {
		srv := personatest.NewOllama(t, personatest.Replies(persona.Reply{Text: "ok"})...)
		r, err := persona.NewRouter(persona.Options{Specs: map[string]string{persona.ROBIN: "ollama:robin-7b@" + srv.URL}, OllamaKeepAlive: "30m"})
		require.NoError(t, err)
		_, err = r.Ask(ctx, persona.ROBIN, "what is this for?", persona.WithSystem("You are ROBIN."))
		require.NoError(t, err)
		reqs := srv.Requests()
		require.Len(t, reqs, 1)
		require.Equal(t, "robin-7b", reqs[0].Model)
		require.Equal(t, "You are ROBIN.\nwhat is this for?", reqs[0].Prompt, "system and prompt")
		require.Equal(t, "30m", reqs[0].KeepAlive)
	})
	t.Run("OpenAIKey", func(t *testing.T) {
		var auth []string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			auth = append(auth, r.Header.Get("Authorization"))
			json.NewEncoder(w).Encode(map[string]any{"choices": []any{map[string]any{
				"message": map[string]any{"role": "assistant", "content": "ok"}, "finish_reason": "stop"}}})
		}))
		defer srv.Close()
		for _, key := range []persona.Secret{"sk-test-123", ""} {
			m := mustModel(t, "openai:m@"+srv.URL+"/v1", persona.Options{OpenAIKey: key})
			_, err := persona.Ask(ctx, m, "", "hi")
			require.NoError(t, err)
		}
		require.Equal(t, []string{"Bearer sk-test-123", "Bearer no-key"}, auth, "Authorization")
	})
}

// anthropic:MODEL@URL through langchaingo's Anthropic client.
func TestAnthropicWire(t *testing.T) {
	var gotKey, gotModel string
	stop := "end_turn"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/messages" {
			http.NotFound(w, r)
			return
		}
		var req struct {
			Model string `json:"model"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		gotKey, gotModel = r.Header.Get("x-api-key"), req.Model
		json.NewEncoder(w).Encode(map[string]any{"id": "msg_1", "type": "message", "role": "assistant", "model": req.Model,
			"content": []any{map[string]any{"type": "text", "text": "hello from claude"}}, "stop_reason": stop,
			"usage": map[string]any{"input_tokens": 3, "output_tokens": 4}})
	}))
	defer srv.Close()
	_, err := persona.NewModel("anthropic:claude-x@"+srv.URL+"/v1", persona.Options{})
	require.ErrorIs(t, err, persona.ErrMissingKey, "without a key")
	m := mustModel(t, "anthropic:claude-x@"+srv.URL+"/v1", persona.Options{AnthropicKey: "ak-1"})
	got, err := persona.Ask(context.Background(), m, persona.ROBIN, "hi")
	require.NoError(t, err)
	require.Equal(t, "hello from claude", got)
	require.Equal(t, "ak-1", gotKey)
	require.Equal(t, "claude-x", gotModel)
	stop = "max_tokens"
	_, err = persona.Ask(context.Background(), m, persona.ROBIN, "hi")
	require.ErrorIs(t, err, persona.ErrTruncated, "stop_reason max_tokens")
}

// A host's model that ignores its context still returns at the deadline.
func TestGuardModelIgnoringContext(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	m := ignoring{block}
	start := time.Now()
	_, err := persona.Ask(context.Background(), m, persona.ALFRED, "hello", persona.WithTimeout(50*time.Millisecond))
	require.ErrorIs(t, err, persona.ErrTimeout)
	require.LessOrEqual(t, time.Since(start), 2*time.Second, "want about 50ms")
}

type ignoring struct{ block chan struct{} }

func (m ignoring) GenerateContent(context.Context, []llms.MessageContent, ...llms.CallOption) (*llms.ContentResponse, error) {
	<-m.block
	return &llms.ContentResponse{Choices: []*llms.ContentChoice{{Content: "too late"}}}, nil
}

func (m ignoring) Call(ctx context.Context, p string, o ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, m, p, o...)
}

// A model that panics is a ModelFailed error, not a crash.
func TestGuardPanickingModel(t *testing.T) {
	_, err := persona.Ask(context.Background(), panicking{}, persona.ALFRED, "hello")
	require.ErrorIs(t, err, persona.ErrModelFailed)
	require.ErrorContains(t, err, "kaboom", "the panic named")
	// The error ends up in cycle records and prompts: no host stack in it.
	require.NotContains(t, err.Error(), "goroutine", "the host's stack")
	require.NotContains(t, err.Error(), ".go:", "the host's stack")
}

type panicking struct{}

func (panicking) GenerateContent(context.Context, []llms.MessageContent, ...llms.CallOption) (*llms.ContentResponse, error) {
	panic("kaboom")
}

func (p panicking) Call(ctx context.Context, s string, o ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, p, s, o...)
}

// No choices at all is an empty reply.
func TestGuardNoChoices(t *testing.T) {
	_, err := persona.Ask(context.Background(), noChoices{}, persona.ALFRED, "hello")
	require.ErrorIs(t, err, persona.ErrEmptyReply)
}

type noChoices struct{}

func (noChoices) GenerateContent(context.Context, []llms.MessageContent, ...llms.CallOption) (*llms.ContentResponse, error) {
	return &llms.ContentResponse{}, nil
}

func (n noChoices) Call(ctx context.Context, s string, o ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, n, s, o...)
}

// Why the guard exists: langchaingo's Ollama client, on its own, answers a
// stream that ends without its final message with "" and a nil error.
func TestOllamaClientAloneSwallowsMissingFinal(t *testing.T) {
	srv := personatest.NewOllama(t, personatest.Turn{Reply: persona.Reply{Text: "half"}, NoFinal: true})
	m := mustModel(t, "ollama:m@"+srv.URL, persona.Options{})
	resp, err := m.GenerateContent(context.Background(), []llms.MessageContent{llms.TextParts(llms.ChatMessageTypeHuman, "hi")})
	require.NoError(t, err, "langchaingo's behaviour changed?")
	require.Len(t, resp.Choices, 1, "langchaingo's behaviour changed?")
	require.Empty(t, resp.Choices[0].Content, "langchaingo's behaviour changed?")
}

// Calls to OpenAI-compatible servers stream; a server that ignores
// "stream": true and answers one JSON document is read all the same, and
// its finish_reason still decides whether the reply is complete.
func TestOpenAIServerIgnoringStream(t *testing.T) {
	for _, tc := range []struct {
		name   string
		finish any
		want   error
	}{
		{"Finished", "stop", nil},
		{"NoFinishReason", nil, persona.ErrTruncated},
		{"Length", "length", persona.ErrTruncated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var streamAsked bool
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var req struct {
					Stream bool `json:"stream"`
				}
				json.NewDecoder(r.Body).Decode(&req)
				streamAsked = req.Stream
				w.Header().Set("Content-Type", "application/json")
				json.NewEncoder(w).Encode(map[string]any{"choices": []any{map[string]any{
					"message": map[string]any{"role": "assistant", "content": "a whole reply"}, "finish_reason": tc.finish}}})
			}))
			defer srv.Close()
			got, err := persona.Ask(context.Background(), mustModel(t, "openai:m@"+srv.URL+"/v1", persona.Options{}), persona.BRICK, "hi")
			require.True(t, streamAsked, "the call asks to stream")
			if tc.want != nil {
				require.ErrorIs(t, err, tc.want)
				return
			}
			require.NoError(t, err)
			require.Equal(t, "a whole reply", got)
		})
	}
}

// A server that streams events under another Content-Type is read as a
// stream.
func TestOpenAIEventsUnderOtherContentType(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"events \"}}]}\n\n"+
			"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"all the same\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n")
	}))
	defer srv.Close()
	got, err := persona.Ask(context.Background(), mustModel(t, "openai:m@"+srv.URL+"/v1", persona.Options{}), persona.BRICK, "hi")
	require.NoError(t, err)
	require.Equal(t, "events all the same", got)
}

// wireCase is one file of testdata/wire: a hostile server's turns, and
// what a call through Ask must make of them.
type wireCase struct {
	About   string   `json:"about"`
	Servers []string `json:"servers"` // "ollama", "openai"
	Stream  bool     `json:"stream"`  // the caller passes a streaming function
	Limits  struct {
		Timeout       string `json:"timeout"`
		StallTimeout  string `json:"stall_timeout"`
		MaxRetries    int    `json:"max_retries"`
		RetryBackoff  string `json:"retry_backoff"`
		MaxReplyBytes int64  `json:"max_reply_bytes"`
	} `json:"limits"`
	Turns    []personatest.Turn `json:"turns"`
	Want     string             `json:"want"`     // "ok" or the sentinel's name
	Reply    string             `json:"reply"`    // the reply, for "ok"
	Attempts int                `json:"attempts"` // requests made (and observed)
}

var wireSentinels = map[string]error{
	"ErrTimeout": persona.ErrTimeout, "ErrStalled": persona.ErrStalled, "ErrHTTPStatus": persona.ErrHTTPStatus,
	"ErrTooLarge": persona.ErrTooLarge, "ErrEmptyReply": persona.ErrEmptyReply, "ErrTruncated": persona.ErrTruncated,
	"ErrModelFailed": persona.ErrModelFailed,
}

func (c wireCase) limits(t *testing.T) persona.Limits {
	t.Helper()
	dur := func(s string) time.Duration {
		if s == "" {
			return 0
		}
		d, err := time.ParseDuration(s)
		require.NoError(t, err)
		return d
	}
	l := persona.Limits{Timeout: dur(c.Limits.Timeout), StallTimeout: dur(c.Limits.StallTimeout), MaxRetries: c.Limits.MaxRetries,
		RetryBackoff: dur(c.Limits.RetryBackoff), MaxReplyBytes: c.Limits.MaxReplyBytes}
	if l.Timeout == 0 {
		l.Timeout = 20 * time.Second
	}
	return l
}

// The project's catalogue of hostile servers (issue 12): one subtest per
// file of testdata/wire and server protocol it names.
func TestWireCatalogue(t *testing.T) {
	files, err := filepath.Glob("testdata/wire/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, path := range files {
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		var c wireCase
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		require.NoError(t, dec.Decode(&c), path)
		require.NotEmpty(t, c.Servers, path)
		for _, proto := range c.Servers {
			t.Run(strings.TrimSuffix(filepath.Base(path), ".json")+"/"+proto, func(t *testing.T) {
				t.Parallel()
				var spec string
				var srv *personatest.Server
				switch proto {
				case "ollama":
					srv = personatest.NewOllama(t, c.Turns...)
					spec = "ollama:m@" + srv.URL
				case "openai":
					srv = personatest.NewOpenAI(t, c.Turns...)
					spec = "openai:m@" + srv.URL + "/v1"
				default:
					require.FailNow(t, "unknown server", "%q", proto)
				}
				var attempts []persona.Attempt
				opts := []persona.AskOption{persona.WithLimits(c.limits(t)),
					persona.WithObserver(func(a persona.Attempt) { attempts = append(attempts, a) })}
				if c.Stream {
					opts = append(opts, persona.WithCallOptions(llms.WithStreamingFunc(func(context.Context, []byte) error { return nil })))
				}
				got, err := persona.Ask(context.Background(), mustModel(t, spec, persona.Options{}), persona.BRICK, "prompt", opts...)
				if c.Want == "ok" {
					require.NoError(t, err)
					require.Equal(t, c.Reply, got)
				} else {
					want, ok := wireSentinels[c.Want]
					require.True(t, ok, "unknown want %q", c.Want)
					require.ErrorIs(t, err, want, "got reply %q", got)
					var me *persona.ModelError
					require.ErrorAs(t, err, &me)
					require.Equal(t, c.Attempts, me.Attempts, "the error's attempts: %v", err)
				}
				require.Len(t, srv.Requests(), c.Attempts, "requests the server received")
				require.Len(t, attempts, c.Attempts, "attempts observed")
				for i, a := range attempts {
					require.Equal(t, i+1, a.N, "attempt %d", i+1)
					require.Equal(t, i < len(attempts)-1, a.Retry, "attempt %d: a retry follows", i+1)
				}
			})
		}
	}
}

// A personatest.Turn reads and writes one JSON object: the reply's fields
// and the wire faults side by side; unknown fields are refused.
func TestTurnJSON(t *testing.T) {
	turn := personatest.Turn{Reply: persona.Reply{Text: "hi", StopReason: "length", Delay: 20 * time.Millisecond},
		Status: 503, Header: map[string]string{"Retry-After": "2"}, ChunkSize: 4, ChunkDelay: 10 * time.Millisecond,
		NoFinal: true, Reset: true, Drop: true, Stall: true, Body: "x"}
	b, err := json.Marshal(turn)
	require.NoError(t, err)
	var back personatest.Turn
	require.NoError(t, json.Unmarshal(b, &back), "%s", b)
	require.Equal(t, turn, back, "%s", b)
	require.Error(t, json.Unmarshal([]byte(`{"text": "hi", "stauts": 503}`), &back), "a misspelt field")
	require.Error(t, json.Unmarshal([]byte(`{"chunk_delay": "soon"}`), &back), "a bad duration")
}
