package persona_test

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
	"github.com/batos-dev/batos/persona/personatest"
	"github.com/batos-dev/batos/uvm"
)

// adapterImage absorbs adapters of the given sizes (name → bytes; the name
// starts with its persona) into an in-memory image and returns the staged
// bytes by name.
func adapterImage(t *testing.T, sizes map[string]int) (*uvm.Image, map[string][]byte) {
	t.Helper()
	dir := t.TempDir()
	staged := map[string][]byte{}
	for name, n := range sizes {
		staged[name] = stage(t, filepath.Join(dir, name+persona.AdapterExt), n)
	}
	im := openImage(t, "", uvm.Options{})
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

func TestResidencyTiersAndEngineCalls(t *testing.T) {
	ctx := context.Background()
	im, staged := adapterImage(t, map[string]int{"brick": 3000, "robin": 4000, "babs": 5000, "alfred": 2000, "brick-huge": 10000})
	vllm := personatest.NewOpenAI(t)
	res, err := persona.NewResidency(im, persona.ResidencyOptions{
		HotBudget: 9000, WarmBudget: 5000, Engine: &persona.VLLMEngine{BaseURL: vllm.URL + "/v1"},
	})
	if err != nil {
		t.Fatal(err)
	}
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
		if err := res.Activate(ctx, st.activate); err != nil {
			t.Fatalf("step %d: activate %s: %v", i+1, st.activate, err)
		}
		s := res.Status()
		if s.Active != st.activate || !slices.Equal(s.Hot, st.hot) || !slices.Equal(s.Warm, st.warm) {
			t.Fatalf("step %d (%s): got active %s hot %v warm %v; want hot %v warm %v", i+1, st.activate, s.Active, s.Hot, s.Warm, st.hot, st.warm)
		}
		if s.HotBytes > 9000 || s.WarmBytes > 5000 {
			t.Fatalf("step %d: over budget: hot %d warm %d", i+1, s.HotBytes, s.WarmBytes)
		}
		// What the engine holds is what the manager says is hot.
		var loaded []string
		for name, path := range vllm.Loaded() {
			loaded = append(loaded, name)
			if path != filepath.Join(dir, name) {
				t.Fatalf("step %d: %s loaded from %s, want %s", i+1, name, path, filepath.Join(dir, name))
			}
		}
		slices.Sort(loaded)
		hot := slices.Sorted(slices.Values(st.hot))
		if !slices.Equal(loaded, hot) {
			t.Fatalf("step %d: engine holds %v, want %v", i+1, loaded, hot)
		}
	}
	want := "load brick, load robin, unload brick, load babs, unload robin, load brick, unload brick, load alfred, unload babs, load robin"
	if got := engineLog(vllm.EngineCalls()); got != want {
		t.Fatalf("engine calls:\n got %s\nwant %s", got, want)
	}
	st := res.Status().Stats
	if want := (persona.ResidencyStats{HotHits: 1, WarmHits: 1, ColdReads: 5, Loads: 6, Unloads: 4, Evictions: 2}); st != want {
		t.Fatalf("got stats %+v, want %+v", st, want)
	}
	if res.Tier("robin") != persona.Hot || res.Tier("babs") != persona.Warm || res.Tier("brick") != persona.Cold || res.Tier("never") != persona.Cold {
		t.Fatalf("got tiers robin %v babs %v brick %v", res.Tier("robin"), res.Tier("babs"), res.Tier("brick"))
	}
	// The files the engine reads are the staged bytes.
	for _, name := range []string{"robin", "alfred"} {
		b, err := os.ReadFile(filepath.Join(dir, name, "adapter_model.safetensors"))
		if err != nil || !bytes.Equal(b, staged[name]) {
			t.Fatalf("%s: the file for the engine differs from the staged one (%v)", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "brick")); !os.IsNotExist(err) {
		t.Fatalf("brick is cold but its folder remains: %v", err)
	}

	if err := res.Activate(ctx, "brick-huge"); !errors.Is(err, persona.ErrOverBudget) {
		t.Fatalf("got %v, want ErrOverBudget", err)
	}
	if err := res.Activate(ctx, "nobody"); !errors.Is(err, persona.ErrAdapterNotFound) {
		t.Fatalf("got %v, want ErrAdapterNotFound", err)
	}

	if err := res.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(vllm.Loaded()); n != 0 {
		t.Fatalf("after Close the engine holds %v, want nothing", vllm.Loaded())
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("after Close the temporary folder remains: %v", err)
	}
	if err := res.Activate(ctx, "brick"); !errors.Is(err, persona.ErrClosed) {
		t.Fatalf("after Close: got %v, want ErrClosed", err)
	}
}

func TestResidencyOllamaKeepAlive(t *testing.T) {
	ctx := context.Background()
	im, _ := adapterImage(t, map[string]int{"brick": 100, "robin": 100})
	srv := personatest.NewOllama(t)
	res, err := persona.NewResidency(im, persona.ResidencyOptions{HotBudget: 150, Dir: t.TempDir(),
		Engine: &persona.OllamaEngine{BaseURL: srv.URL, KeepAlive: "-1"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"brick", "robin"} {
		if err := res.Activate(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	calls := srv.EngineCalls()
	if got := engineLog(calls); got != "load brick, unload brick, load robin" {
		t.Fatalf("got %s", got)
	}
	if calls[0].KeepAlive != "-1" || calls[1].KeepAlive != float64(0) {
		t.Fatalf("got keep_alive %v then %v, want \"-1\" then 0", calls[0].KeepAlive, calls[1].KeepAlive)
	}
}

type failingEngine struct{ fail bool }

func (e *failingEngine) LoadAdapter(context.Context, string, string) error {
	if e.fail {
		return &persona.EngineError{Engine: "test", Op: "load", Err: errors.New("out of VRAM")}
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
	res, err := persona.NewResidency(im, persona.ResidencyOptions{Engine: eng})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close(ctx)
	if err := res.Activate(ctx, "brick"); !errors.Is(err, persona.ErrEngine) {
		t.Fatalf("got %v, want ErrEngine", err)
	}
	if res.Tier("brick") != persona.Warm {
		t.Fatalf("got tier %v, want warm", res.Tier("brick"))
	}
	if _, err := os.Stat(filepath.Join(res.Dir(), "brick")); !os.IsNotExist(err) {
		t.Fatalf("files left after a refused load: %v", err)
	}
	eng.fail = false
	if err := res.Activate(ctx, "brick"); err != nil {
		t.Fatal(err)
	}
	if s := res.Status().Stats; s.ColdReads != 1 || s.WarmHits != 1 {
		t.Fatalf("got %+v, want one cold read then one warm hit", s)
	}
}

// An adapter in use is never unloaded under its call: a second adapter
// that does not fit waits for the release, or for its deadline.
func TestResidencyPinning(t *testing.T) {
	ctx := context.Background()
	im, _ := adapterImage(t, map[string]int{"brick": 100, "robin": 100})
	res, err := persona.NewResidency(im, persona.ResidencyOptions{HotBudget: 150})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close(ctx)
	release, err := res.Acquire(ctx, "brick")
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	if _, err := res.Acquire(short, "robin"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want to wait until the deadline", err)
	}
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
		t.Fatalf("robin acquired (%v) while brick is pinned", err)
	case <-time.After(30 * time.Millisecond):
	}
	if res.Tier("brick") != persona.Hot {
		t.Fatal("brick was unloaded while pinned")
	}
	release()
	release() // twice is harmless
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s := res.Status(); !slices.Equal(s.Hot, []string{"robin"}) || !slices.Equal(s.Warm, []string{"brick"}) {
		t.Fatalf("got hot %v warm %v", s.Hot, s.Warm)
	}
}

// Calls through Residency.Wrap select their adapter by model name and find
// it loaded, even when concurrent calls for other adapters compete for a
// budget that holds one at a time (run with -race).
func TestResidencyWrapConcurrent(t *testing.T) {
	ctx := context.Background()
	im, _ := adapterImage(t, map[string]int{"brick": 100, "robin": 100, "babs": 100})
	const calls = 24
	var turns []personatest.Turn
	for range calls {
		turns = append(turns, personatest.Turn{Reply: persona.Reply{Text: "ok"}})
	}
	vllm := personatest.NewOpenAI(t, turns...)
	res, err := persona.NewResidency(im, persona.ResidencyOptions{HotBudget: 100, Engine: &persona.VLLMEngine{BaseURL: vllm.URL}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close(ctx)
	base := mustModel(t, "openai:base-model@"+vllm.URL+"/v1", persona.Options{})
	var wg sync.WaitGroup
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := []string{"brick", "robin", "babs"}[i%3]
			got, err := persona.Ask(ctx, res.Wrap(base, name), strings.ToUpper(name), fmt.Sprint("call ", i))
			if err != nil || got != "ok" {
				t.Errorf("call %d (%s): got %q, %v", i, name, got, err)
			}
		}()
	}
	wg.Wait()
	reqs := vllm.Requests()
	if len(reqs) != calls {
		t.Fatalf("got %d chat requests, want %d", len(reqs), calls)
	}
	for _, r := range reqs {
		if !r.AdapterLoaded {
			t.Fatalf("request for %q arrived while that adapter was not loaded", r.Model)
		}
	}
	loaded := map[string]bool{}
	for _, c := range vllm.EngineCalls() {
		if c.Op == "load" {
			loaded[c.Name] = true
		} else {
			delete(loaded, c.Name)
		}
		if len(loaded) > 1 {
			t.Fatalf("engine held %v at once, budget is one adapter", loaded)
		}
	}
}

func TestResidencyPrefetchAndUnload(t *testing.T) {
	ctx := context.Background()
	im, _ := adapterImage(t, map[string]int{"brick": 100, "robin": 100, "babs": 100})
	res, err := persona.NewResidency(im, persona.ResidencyOptions{WarmBudget: 200, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close(ctx)
	if err := res.Prefetch(ctx, "brick", "robin", "babs"); err != nil {
		t.Fatal(err)
	}
	if s := res.Status(); !slices.Equal(s.Warm, []string{"babs", "robin"}) || s.WarmBytes != 200 {
		t.Fatalf("got warm %v (%d bytes), want babs and robin within 200", s.Warm, s.WarmBytes)
	}
	if err := res.Activate(ctx, "robin"); err != nil {
		t.Fatal(err)
	}
	if err := res.Unload(ctx, "robin"); err != nil {
		t.Fatal(err)
	}
	if s := res.Status(); len(s.Hot) != 0 || !slices.Equal(s.Warm, []string{"robin", "babs"}) {
		t.Fatalf("got hot %v warm %v after Unload", s.Hot, s.Warm)
	}
	if s := res.Status().Stats; s.ColdReads != 3 || s.WarmHits != 1 {
		t.Fatalf("got %+v", s)
	}
}

// A router can give a persona its adapter: with a residency manager the
// adapter is made hot before each call; without, it is only named.
func TestRouterAdapters(t *testing.T) {
	ctx := context.Background()
	im, _ := adapterImage(t, map[string]int{"brick": 100})
	vllm := personatest.NewOpenAI(t, personatest.Replies(persona.Reply{Text: "a"}, persona.Reply{Text: "b"}, persona.Reply{Text: "c"})...)
	res, err := persona.NewResidency(im, persona.ResidencyOptions{Engine: &persona.VLLMEngine{BaseURL: vllm.URL}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close(ctx)
	spec := "openai:base-model@" + vllm.URL + "/v1"
	r, err := persona.NewRouter(persona.Options{Default: spec, Adapters: map[string]string{"brick": "brick"}, Residency: res})
	if err != nil {
		t.Fatal(err)
	}
	static, err := persona.NewRouter(persona.Options{Default: spec, Adapters: map[string]string{"ROBIN": "robin-static"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		r   *persona.Router
		who string
	}{{r, persona.BRICK}, {r, persona.ALFRED}, {static, persona.ROBIN}} {
		if _, err := c.r.Ask(ctx, c.who, "hi"); err != nil {
			t.Fatalf("%s: %v", c.who, err)
		}
	}
	var got []string
	for _, q := range vllm.Requests() {
		got = append(got, fmt.Sprintf("%s:%v", q.Model, q.AdapterLoaded))
	}
	if want := "brick:true base-model:false robin-static:false"; strings.Join(got, " ") != want {
		t.Fatalf("got requests %v, want %s", got, want)
	}
	if got := engineLog(vllm.EngineCalls()); got != "load brick" {
		t.Fatalf("got engine calls %q, want one load of brick", got)
	}
	if got := r.Describe(persona.BRICK); got != spec+" adapter brick" {
		t.Fatalf("Describe: got %q", got)
	}
}
