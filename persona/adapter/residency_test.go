package adapter_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/persona/adapter"
	"github.com/batos-dev/batos/persona/personatest"
	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/uvmtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tmc/langchaingo/llms"
)

// adapterImage absorbs adapters of the given sizes (name → bytes; the name
// starts with its persona) into an in-memory image and returns the staged
// bytes by name.
func adapterImage(t *testing.T, sizes map[string]int) (*uvm.Image, map[string][]byte) {
	t.Helper()
	dir := t.TempDir()
	staged := map[string][]byte{}
	for name, n := range sizes {
		staged[name] = stage(t, filepath.Join(dir, name+adapter.Ext), n)
	}
	im := uvmtest.Mem(t, uvm.Options{})
	absorb(t, im, dir)
	return im, staged
}

func engineLog(calls []personatest.EngineCall) string {
	var parts []string
	for _, c := range calls {
		parts = append(parts, c.Op+" "+c.Name)
	}
	return strings.Join(parts, ", ")
}

func mustModel(t *testing.T, spec string, opts persona.Options) llms.Model {
	t.Helper()
	m, err := persona.NewModel(spec, opts)
	require.NoError(t, err, "NewModel(%q)", spec)
	return m
}

func TestResidencyTiersAndEngineCalls(t *testing.T) {
	ctx := context.Background()
	im, staged := adapterImage(t, map[string]int{"brick": 3000, "robin": 4000, "babs": 5000, "alfred": 2000, "brick-huge": 10000})
	vllm := personatest.NewOpenAI(t)
	res, err := adapter.NewResidency(im, adapter.Options{
		HotBudget: 9000, WarmBudget: 5000, Engine: &adapter.VLLMEngine{BaseURL: vllm.URL + "/v1"},
	})
	require.NoError(t, err)
	dir := res.Dir()
	steps := []struct {
		activate  string
		hot, warm []string // most recent first
	}{
		{"brick", []string{"brick"}, nil},
		{"robin", []string{"robin", "brick"}, nil},
		{"babs", []string{"babs", "robin"}, []string{"brick"}},    // brick, least recent, unloaded to RAM
		{"brick", []string{"brick", "babs"}, []string{"robin"}},   // from RAM; robin out
		{"babs", []string{"babs", "brick"}, []string{"robin"}},    // already hot
		{"alfred", []string{"alfred", "babs"}, []string{"brick"}}, // brick to RAM pushes robin to cold
		{"robin", []string{"robin", "alfred"}, []string{"babs"}},  // read from the image again
	}
	for i, st := range steps {
		require.NoError(t, res.Activate(ctx, st.activate), "step %d: activate %s", i+1, st.activate)
		s := res.Status()
		require.Equal(t, st.activate, s.Active, "step %d (%s): active", i+1, st.activate)
		require.Equal(t, st.hot, s.Hot, "step %d (%s): hot", i+1, st.activate)
		require.Equal(t, st.warm, s.Warm, "step %d (%s): warm", i+1, st.activate)
		require.LessOrEqual(t, s.HotBytes, int64(9000), "step %d: over the hot budget", i+1)
		require.LessOrEqual(t, s.WarmBytes, int64(5000), "step %d: over the warm budget", i+1)
		// What the engine holds is what the manager says is hot.
		var loaded []string
		for name, path := range vllm.Loaded() {
			loaded = append(loaded, name)
			require.Equal(t, filepath.Join(dir, name), path, "step %d: where %s is loaded from", i+1, name)
		}
		slices.Sort(loaded)
		require.Equal(t, slices.Sorted(slices.Values(st.hot)), loaded, "step %d: what the engine holds", i+1)
	}
	want := "load brick, load robin, unload brick, load babs, unload robin, load brick, unload brick, load alfred, unload babs, load robin"
	require.Equal(t, want, engineLog(vllm.EngineCalls()), "engine calls")
	require.Equal(t, adapter.Stats{HotHits: 1, WarmHits: 1, ColdReads: 5, Loads: 6, Unloads: 4, Evictions: 2}, res.Status().Stats)
	require.Equal(t, adapter.Hot, res.Tier("robin"))
	require.Equal(t, adapter.Warm, res.Tier("babs"))
	require.Equal(t, adapter.Cold, res.Tier("brick"))
	require.Equal(t, adapter.Cold, res.Tier("never"))
	// The files the engine reads are the staged bytes.
	for _, name := range []string{"robin", "alfred"} {
		b, err := os.ReadFile(filepath.Join(dir, name, "adapter_model.safetensors"))
		require.NoError(t, err, name)
		require.True(t, bytes.Equal(b, staged[name]), "%s: the file for the engine differs from the staged one", name)
	}
	_, err = os.Stat(filepath.Join(dir, "brick"))
	require.ErrorIs(t, err, os.ErrNotExist, "brick is cold but its folder remains")

	require.ErrorIs(t, res.Activate(ctx, "brick-huge"), adapter.ErrOverBudget)
	require.ErrorIs(t, res.Activate(ctx, "nobody"), adapter.ErrNotFound)

	require.NoError(t, res.Close(ctx))
	require.Empty(t, vllm.Loaded(), "after Close the engine holds nothing")
	_, err = os.Stat(dir)
	require.ErrorIs(t, err, os.ErrNotExist, "after Close the temporary folder remains")
	require.ErrorIs(t, res.Activate(ctx, "brick"), adapter.ErrClosed, "after Close")
}

func TestResidencyOllamaKeepAlive(t *testing.T) {
	ctx := context.Background()
	im, _ := adapterImage(t, map[string]int{"brick": 100, "robin": 100})
	srv := personatest.NewOllama(t)
	res, err := adapter.NewResidency(im, adapter.Options{HotBudget: 150, Dir: t.TempDir(),
		Engine: &adapter.OllamaEngine{BaseURL: srv.URL, KeepAlive: "-1"}})
	require.NoError(t, err)
	for _, n := range []string{"brick", "robin"} {
		require.NoError(t, res.Activate(ctx, n))
	}
	calls := srv.EngineCalls()
	require.Equal(t, "load brick, unload brick, load robin", engineLog(calls))
	require.Equal(t, "-1", calls[0].KeepAlive, "keep_alive of the load")
	require.Equal(t, float64(0), calls[1].KeepAlive, "keep_alive of the unload")
}

type failingEngine struct{ fail bool }

func (e *failingEngine) LoadAdapter(context.Context, string, string) error {
	if e.fail {
		return &adapter.EngineError{Engine: "test", Op: "load", Err: errors.New("out of VRAM")}
	}
	return nil
}

func (e *failingEngine) UnloadAdapter(context.Context, string) error { return nil }

// A refused load leaves the adapter warm, its files gone, and the next try
// works without reading the image again.
func TestResidencyEngineRefuses(t *testing.T) {
	ctx := context.Background()
	im, _ := adapterImage(t, map[string]int{"brick": 100})
	eng := &failingEngine{fail: true}
	res, err := adapter.NewResidency(im, adapter.Options{Engine: eng})
	require.NoError(t, err)
	defer res.Close(ctx)
	require.ErrorIs(t, res.Activate(ctx, "brick"), adapter.ErrEngine)
	require.Equal(t, adapter.Warm, res.Tier("brick"))
	_, err = os.Stat(filepath.Join(res.Dir(), "brick"))
	require.ErrorIs(t, err, os.ErrNotExist, "files left after a refused load")
	eng.fail = false
	require.NoError(t, res.Activate(ctx, "brick"))
	s := res.Status().Stats
	require.Equal(t, 1, s.ColdReads, "one cold read then one warm hit: %+v", s)
	require.Equal(t, 1, s.WarmHits, "one cold read then one warm hit: %+v", s)
}

// An adapter in use is never unloaded under its call: a second adapter
// that does not fit waits for the release, or for its deadline.
func TestResidencyPinning(t *testing.T) {
	ctx := context.Background()
	im, _ := adapterImage(t, map[string]int{"brick": 100, "robin": 100})
	res, err := adapter.NewResidency(im, adapter.Options{HotBudget: 150})
	require.NoError(t, err)
	defer res.Close(ctx)
	release, err := res.Acquire(ctx, "brick")
	require.NoError(t, err)
	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	_, err = res.Acquire(short, "robin")
	require.ErrorIs(t, err, context.DeadlineExceeded, "robin waits until the deadline")
	done := make(chan error, 1)
	go func() {
		rel, err := res.Acquire(ctx, "robin")
		if err == nil {
			rel()
		}
		done <- err
	}()
	select {
	case err := <-done:
		require.FailNow(t, "robin acquired while brick is pinned", "err %v", err)
	case <-time.After(30 * time.Millisecond):
	}
	require.Equal(t, adapter.Hot, res.Tier("brick"), "brick was unloaded while pinned")
	release()
	release() // twice is harmless
	require.NoError(t, <-done)
	s := res.Status()
	require.Equal(t, []string{"robin"}, s.Hot)
	require.Equal(t, []string{"brick"}, s.Warm)
}

// Calls for personas with adapters select their adapter by model name and
// find it loaded, even when concurrent calls for other adapters compete for
// a budget that holds one at a time (run with -race).
func TestResidencyConcurrentCalls(t *testing.T) {
	ctx := context.Background()
	im, _ := adapterImage(t, map[string]int{"brick": 100, "robin": 100, "babs": 100})
	const calls = 24
	var turns []personatest.Turn
	for range calls {
		turns = append(turns, personatest.Turn{Reply: persona.Reply{Text: "ok"}})
	}
	vllm := personatest.NewOpenAI(t, turns...)
	res, err := adapter.NewResidency(im, adapter.Options{HotBudget: 100, Engine: &adapter.VLLMEngine{BaseURL: vllm.URL}})
	require.NoError(t, err)
	defer res.Close(ctx)
	base := mustModel(t, "openai:base-model@"+vllm.URL+"/v1", persona.Options{})
	r, err := persona.NewRouter(persona.Options{
		Models:      map[string]llms.Model{"": base},
		Adapters:    map[string]string{persona.BRICK: "brick", persona.ROBIN: "robin", persona.BABS: "babs"},
		AdapterHost: res,
	})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := []string{"brick", "robin", "babs"}[i%3]
			got, err := r.Ask(ctx, strings.ToUpper(name), fmt.Sprint("call ", i))
			assert.NoError(t, err, "call %d (%s)", i, name)
			assert.Equal(t, "ok", got, "call %d (%s)", i, name)
		}()
	}
	wg.Wait()
	reqs := vllm.Requests()
	require.Len(t, reqs, calls, "chat requests")
	for _, r := range reqs {
		require.True(t, r.AdapterLoaded, "request for %q arrived while that adapter was not loaded", r.Model)
	}
	loaded := map[string]bool{}
	for _, c := range vllm.EngineCalls() {
		if c.Op == "load" {
			loaded[c.Name] = true
		} else {
			delete(loaded, c.Name)
		}
		require.LessOrEqual(t, len(loaded), 1, "engine held %v at once, budget is one adapter", loaded)
	}
}

func TestResidencyPrefetchAndUnload(t *testing.T) {
	ctx := context.Background()
	im, _ := adapterImage(t, map[string]int{"brick": 100, "robin": 100, "babs": 100})
	res, err := adapter.NewResidency(im, adapter.Options{WarmBudget: 200, Dir: t.TempDir()})
	require.NoError(t, err)
	defer res.Close(ctx)
	require.NoError(t, res.Prefetch(ctx, "brick", "robin", "babs"))
	s := res.Status()
	require.Equal(t, []string{"babs", "robin"}, s.Warm, "babs and robin warm within 200 bytes")
	require.Equal(t, int64(200), s.WarmBytes)
	require.NoError(t, res.Activate(ctx, "robin"))
	require.NoError(t, res.Unload(ctx, "robin"))
	s = res.Status()
	require.Empty(t, s.Hot, "hot after Unload")
	require.Equal(t, []string{"robin", "babs"}, s.Warm, "warm after Unload")
	require.Equal(t, 3, s.Stats.ColdReads, "%+v", s.Stats)
	require.Equal(t, 1, s.Stats.WarmHits, "%+v", s.Stats)
}

// A router can give a persona its adapter: with a residency manager the
// adapter is made hot before each call; without, it is only named.
func TestRouterAdapters(t *testing.T) {
	ctx := context.Background()
	im, _ := adapterImage(t, map[string]int{"brick": 100})
	vllm := personatest.NewOpenAI(t, personatest.Replies(persona.Reply{Text: "a"}, persona.Reply{Text: "b"}, persona.Reply{Text: "c"})...)
	res, err := adapter.NewResidency(im, adapter.Options{Engine: &adapter.VLLMEngine{BaseURL: vllm.URL}})
	require.NoError(t, err)
	defer res.Close(ctx)
	spec := "openai:base-model@" + vllm.URL + "/v1"
	r, err := persona.NewRouter(persona.Options{Default: spec, Adapters: map[string]string{"brick": "brick"}, AdapterHost: res})
	require.NoError(t, err)
	static, err := persona.NewRouter(persona.Options{Default: spec, Adapters: map[string]string{"ROBIN": "robin-static"}})
	require.NoError(t, err)
	for _, c := range []struct {
		r   *persona.Router
		who string
	}{{r, persona.BRICK}, {r, persona.ALFRED}, {static, persona.ROBIN}} {
		_, err := c.r.Ask(ctx, c.who, "hi")
		require.NoError(t, err, c.who)
	}
	var got []string
	for _, q := range vllm.Requests() {
		got = append(got, fmt.Sprintf("%s:%v", q.Model, q.AdapterLoaded))
	}
	require.Equal(t, "brick:true base-model:false robin-static:false", strings.Join(got, " "), "requests")
	require.Equal(t, "load brick", engineLog(vllm.EngineCalls()), "one load of brick")
	require.Equal(t, spec+" adapter brick", r.Describe(persona.BRICK))
}

// An adapter the host does not know fails the call before it is made.
func TestRouterUnknownAdapter(t *testing.T) {
	ctx := context.Background()
	im, _ := adapterImage(t, map[string]int{"brick": 100})
	vllm := personatest.NewOpenAI(t)
	res, err := adapter.NewResidency(im, adapter.Options{Engine: &adapter.VLLMEngine{BaseURL: vllm.URL}})
	require.NoError(t, err)
	defer res.Close(ctx)
	r, err := persona.NewRouter(persona.Options{Default: "openai:base-model@" + vllm.URL + "/v1",
		Adapters: map[string]string{persona.ROBIN: "robin"}, AdapterHost: res})
	require.NoError(t, err)
	_, err = r.Ask(ctx, persona.ROBIN, "hi")
	require.ErrorIs(t, err, adapter.ErrNotFound)
	require.ErrorIs(t, err, persona.ErrModelFailed)
	require.Empty(t, vllm.Requests(), "no chat request")
}
