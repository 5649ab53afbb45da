package inspector_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batos-dev/batos/examples/batos/internal/kernel"
	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/live"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// envScreenshot names a PNG file the cycle test writes a screenshot of
// the inspector to (docs/inspector.png is made this way).
const envScreenshot = "BATOS_SCREENSHOT"

// chrome is the one Chromium the tests share (it takes seconds to start);
// each test opens tabs of its own.
var chrome struct {
	once   sync.Once
	ctx    context.Context
	err    error
	cancel func()
}

func TestMain(m *testing.M) {
	live.ServeIfWorker()
	code := m.Run()
	if chrome.cancel != nil {
		chrome.cancel()
	}
	os.Exit(code)
}

// kernelFixture is a kernel around an in-memory mind whose model answers
// from a script under examples/batos/testdata, served on loopback.
type kernelFixture struct {
	mind *psm.Mind
	url  string
}

func newKernel(t *testing.T, script, token string) *kernelFixture {
	t.Helper()
	data, err := os.ReadFile("../../testdata/" + script)
	require.NoError(t, err)
	model, err := persona.ParseScript(script, data)
	require.NoError(t, err)
	mind, err := psm.Open(context.Background(), "", psm.Options{
		InMemory: true, NoSync: true, Model: model, Live: live.Options{Policy: live.PolicyInProcess},
	})
	require.NoError(t, err)
	srv := kernel.New(mind, kernel.Options{Token: token, Heartbeat: time.Second})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		require.NoError(t, mind.Close())
	})
	return &kernelFixture{mind: mind, url: hs.URL}
}

// call sends a request to the kernel and decodes its JSON answer.
func (k *kernelFixture) call(t *testing.T, method, path, token string, body any) (int, map[string]any) {
	t.Helper()
	var r bytes.Buffer
	if body != nil {
		require.NoError(t, json.NewEncoder(&r).Encode(body))
	}
	req, err := http.NewRequest(method, k.url+path, &r)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return resp.StatusCode, out
}

// chromium finds the browser, or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium: apt-get install chromium to run the inspector's browser tests")
	return ""
}

// browser is a tab of headless Chromium for one test; every JavaScript
// exception or console.error call fails the test (the browser's own log
// of failed requests does not: the tests make the kernel refuse some).
type browser struct {
	ctx  context.Context
	mu   sync.Mutex
	errs []string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := chromium(t)
	chrome.once.Do(func() {
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.NoSandbox, // CI runs as root
			chromedp.WindowSize(1440, 880),
			chromedp.Flag("lang", "en-US"),
		)...)
		ctx, cancel := chromedp.NewContext(alloc)
		chrome.ctx, chrome.cancel = ctx, func() { cancel(); cancelAlloc() }
		chrome.err = chromedp.Do(ctx)
	})
	require.NoError(t, chrome.err, "starting Chromium")
	tab, cancelTab := chromedp.NewContext(chrome.ctx)
	ctx, cancelTimeout := context.WithTimeout(tab, 60*time.Second)
	b := &browser{ctx: ctx}
	require.NoError(t, chromedp.Do(ctx), "opening a tab")
	messages := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || (m.Type == chromedp.ConsoleError && len(m.Args) > 0) {
				b.mu.Lock()
				b.errs = append(b.errs, fmt.Sprintf("%s:%d %s", m.URL, m.Line+1, m))
				b.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		cancelTimeout()
		cancelTab()
		<-done
		b.mu.Lock()
		assert.Empty(t, b.errs, "the page's JavaScript errors")
		b.mu.Unlock()
	})
	return b
}

func (b *browser) run(t *testing.T, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	require.NoError(t, chromedp.Do(b.ctx, actions...))
}

// eval evaluates a JavaScript expression.
func eval[T any](t *testing.T, b *browser, expr string) T {
	t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	require.NoError(t, err, "%s", expr)
	return v
}

// text is the text of the first element matching a CSS selector ("" if none).
func (b *browser) text(t *testing.T, sel string) string {
	t.Helper()
	return eval[string](t, b, fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, sel))
}

// waitText waits until the element's text contains want.
func (b *browser) waitText(t *testing.T, sel, want string) {
	t.Helper()
	assert.Eventually(t, func() bool { return strings.Contains(b.text(t, sel), want) }, 10*time.Second, 20*time.Millisecond,
		"%s should contain %q; it holds %q", sel, want, b.text(t, sel))
}

// enter types text into an input, as a person would, and presses Enter.
func (b *browser) enter(t *testing.T, sel, text string) {
	t.Helper()
	b.run(t, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).value = ""`, sel)),
		chromedp.SendKeys(chromedp.CSS(sel), text+kb.Enter))
}

// open loads the page and waits until it has shown the image.
func (b *browser) open(t *testing.T, url string) {
	t.Helper()
	b.run(t, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="true"]`)))
}

// The graph shows genesis below its parents, an edge to each, in lookup
// order; search finds an object by name and says plainly when none is.
func TestInspectorGraph(t *testing.T) {
	k := newKernel(t, "add.jsonl", "")
	b := newBrowser(t)
	start := time.Now()
	b.open(t, k.url+"/")
	b.run(t, chromedp.WaitVisible(chromedp.CSS(`g.node[data-name="genesis"]`)))
	t.Logf("page loaded in %s", time.Since(start))

	_, gen := k.call(t, "GET", "/api/objects/genesis", "", nil)
	g := int(gen["oid"].(float64))
	parents := gen["parents"].([]any)
	require.Len(t, parents, 2)
	genesisY := eval[float64](t, b, fmt.Sprintf(`document.querySelector('g.node[data-oid="%d"]').getBoundingClientRect().y`, g))
	for i, p := range parents {
		oid := int(p.(map[string]any)["oid"].(float64))
		name := p.(map[string]any)["name"].(string)
		got := eval[struct {
			Name  string  `json:"name"`
			Y     float64 `json:"y"`
			Edge  bool    `json:"edge"`
			Later bool    `json:"later"`
		}](t, b, fmt.Sprintf(`(() => {
			const n = document.querySelector('g.node[data-oid="%[1]d"]');
			const e = document.querySelector('path.edge[data-child="%[2]d"][data-parent="%[1]d"]');
			return {name: n ? n.dataset.name : "", y: n ? n.getBoundingClientRect().y : 0, edge: !!e, later: !!e && e.classList.contains("later")};
		})()`, oid, g))
		assert.Equal(t, name, got.Name, "parent %d is drawn", oid)
		assert.True(t, got.Edge, "an edge from genesis to %s", name)
		assert.Equal(t, i > 0, got.Later, "the first parent's edge is solid, later ones dashed")
		assert.Less(t, got.Y, genesisY, "%s is drawn above genesis: delegation reads top-down", name)
	}
	// The selected object's chain is lit: genesis is selected at start.
	b.waitText(t, `#tab-object .obj-title .big`, "genesis")
	hot := eval[int](t, b, `document.querySelectorAll("path.edge.hot").length`)
	assert.GreaterOrEqual(t, hot, 2, "genesis's edges to its parents are highlighted")

	b.enter(t, `#search-input`, "traits")
	b.waitText(t, `#tab-object .obj-title .big`, "traits")
	b.waitText(t, `#graph-note`, "Around traits")

	b.enter(t, `#search-input`, "nobody")
	b.waitText(t, `#toasts`, `imageview: no root named "nobody" (and it is not an OID)`)
	b.waitText(t, `#toasts`, "404 not_found")
}

// A cycle started through the API moves through its states in the list
// as it happens; its method then shows in genesis's methods with its
// source, and its record shows the time per state and the model calls.
// A second version gives a diff; revert from the page makes v1's source
// current again as v3; the approvals tab says no cycle waits.
func TestInspectorCycle(t *testing.T) {
	k := newKernel(t, "add_slow.jsonl", "")
	b := newBrowser(t)
	b.open(t, k.url+"/")
	b.waitText(t, `#tab-object .obj-title .big`, "genesis")

	sent := make(chan int, 1)
	go func() {
		status, _ := k.call(t, "POST", "/api/send", "", map[string]any{"object": "genesis", "selector": "add", "args": []any{2, 40}})
		sent <- status
	}()
	// Watch the cycle's row: its live states, as the page shows them.
	type row struct {
		State   string `json:"state"`
		Outcome string `json:"outcome"`
		Seen    string `json:"seen"`
		Now     int    `json:"now"`
	}
	var live []string
	var last row
	require.Eventually(t, func() bool {
		r := eval[row](t, b, `(() => {
			const li = document.querySelector('li.cycle');
			if (!li) return {};
			return {state: li.dataset.state, outcome: li.dataset.outcome, seen: li.dataset.seen, now: li.querySelectorAll('.track .now').length};
		})()`)
		if r.State != "" && r.Outcome == "" && r.Now == 1 && (len(live) == 0 || live[len(live)-1] != r.State) {
			live = append(live, r.State)
		}
		last = r
		return r.Outcome != ""
	}, 20*time.Second, 15*time.Millisecond)
	assert.Equal(t, http.StatusOK, <-sent)
	assert.Equal(t, "COMPLETE", last.Outcome)
	assert.Equal(t, "IDLE DECOMPOSING DELEGATING SYNTHESIZING VALIDATING COMPLETE", last.Seen, "every state, in order")
	assert.Contains(t, live, "DECOMPOSING", "the row showed the cycle running in DECOMPOSING (the plan takes 400ms)")
	t.Logf("states seen live: %v", live)

	// The new method, with its source.
	b.run(t, chromedp.WaitVisible(chromedp.CSS(`#tab-object [data-method="add"] .mhead`)), chromedp.Click(chromedp.CSS(`#tab-object [data-method="add"] .mhead`)))
	b.waitText(t, `#tab-object [data-method="add"] pre.code`, "func add(self batos.Self, args []any) (any, error)")
	b.waitText(t, `#tab-object [data-method="add"] .kv`, "ALFRED")
	assert.Eventually(t, func() bool {
		return eval[bool](t, b, `!!document.querySelector('g.node[data-name="genesis"] .method-dot')`)
	}, 5*time.Second, 20*time.Millisecond, "genesis's node shows it has methods")

	// The page sends too: the method is there now, so no cycle.
	b.run(t, chromedp.SendKeys(chromedp.CSS(`#tab-object .send-form input[name="selector"]`), "add"))
	b.enter(t, `#tab-object .send-form input[name="args"]`, "2 3")
	b.waitText(t, `#tab-object .answer`, "→ 5")

	// A cycle that fails shows its state and reason (the script has no
	// reply left for it).
	status, body := k.call(t, "POST", "/api/send", "", map[string]any{"object": "genesis", "selector": "multiply", "args": []any{6, 7}})
	require.Equal(t, http.StatusUnprocessableEntity, status, "%v", body)
	b.run(t, chromedp.WaitVisible(chromedp.CSS(`li.cycle[data-outcome="FAILED"]`)))
	b.waitText(t, `li.cycle[data-outcome="FAILED"] .sel`, "multiply")
	b.waitText(t, `li.cycle[data-outcome="FAILED"] .err`, "script")
	b.waitText(t, `li.cycle[data-outcome="FAILED"] .badge`, "FAILED")

	if path := os.Getenv(envScreenshot); path != "" {
		b.run(t, chromedp.EmulateViewport(1440, 860), chromedp.Click(chromedp.CSS(`#graph-fit`)), chromedp.Sleep(300*time.Millisecond))
		png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path, png, 0o644))
		t.Logf("screenshot: %s", path)
	}

	// The record.
	b.run(t, chromedp.Click(chromedp.CSS(`li.cycle[data-outcome="COMPLETE"]`)))
	b.waitText(t, `#tab-cycle`, "Time per state")
	b.waitText(t, `#tab-cycle .tl-legend`, "DECOMPOSING")
	b.waitText(t, `#tab-cycle table.calls`, "BRICK")
	b.waitText(t, `#tab-cycle table.calls`, "ALFRED")
	b.waitText(t, `#tab-cycle`, "Installed source")
	calls := eval[int](t, b, `document.querySelectorAll('#tab-cycle table.calls tbody tr').length`)
	assert.Equal(t, 2, calls, "a plan and a method")

	// A second version: a diff between them, and a revert to v1.
	require.NoError(t, k.mind.Image().Update(context.Background(), func(tx *uvm.Tx) error {
		o, err := tx.Object(k.mind.Genesis())
		if err != nil {
			return err
		}
		m, _ := o.Get("add")
		v1 := m.(uvm.Method)
		_, err = tx.InstallMethod(o, uvm.Method{Selector: "add", Persona: "BRICK", Source: strings.Replace(v1.Source, "return a + b, nil", "sum := a + b\n\treturn sum, nil", 1)})
		return err
	}))
	b.enter(t, `#search-input`, "genesis")
	b.run(t, chromedp.WaitVisible(chromedp.CSS(`#tab-object [data-method="add"] button[data-version="1"]`)))
	b.waitText(t, `#tab-object [data-method="add"] .versions`, "v2 (current)")
	b.run(t, chromedp.Click(chromedp.CSS(`#tab-object [data-method="add"] .actions button`)))
	b.waitText(t, `#tab-object [data-method="add"] pre.diff`, "sum := a + b")
	marks := eval[string](t, b, `[...document.querySelectorAll('#tab-object pre.diff .line.add, #tab-object pre.diff .line.del')].map(l => l.dataset.mark + l.textContent.trim()).join("|")`)
	assert.Equal(t, "-return a + b, nil|+sum := a + b|+return sum, nil", marks, "the diff from v1 to v2")
	b.run(t, chromedp.Click(chromedp.CSS(`#tab-object [data-method="add"] button[data-version="1"]`)))
	b.waitText(t, `#tab-object [data-method="add"] pre.code`, "return a + b, nil")
	b.run(t, chromedp.Click(chromedp.CSS(`#tab-object [data-method="add"] button.danger`)))
	b.waitText(t, `#toasts`, "add reverted to v1")
	b.waitText(t, `#tab-object [data-method="add"] .versions`, "v3 (current)")
	hist, err := k.mind.History(context.Background(), k.mind.Genesis(), "add")
	require.NoError(t, err)
	require.Len(t, hist, 3)
	assert.Equal(t, 1, hist[2].Restores)
	assert.Equal(t, "kernel", hist[2].Author, "the page's revert is the kernel's")

	b.run(t, chromedp.Click(chromedp.CSS(`.tabs button[data-tab="pending"]`)))
	b.waitText(t, `#tab-pending`, "No cycle is waiting for a decision.")
}

// Under the approve policy a send through the API parks its cycle: the
// approvals tab shows it with its source, Approve installs it, and the
// method appears in genesis's methods with that source.
func TestInspectorApproval(t *testing.T) {
	k := newKernel(t, "add.jsonl", "")
	ctx := context.Background()
	traits, err := k.mind.Root(ctx, psm.RootTraits)
	require.NoError(t, err)
	require.NoError(t, k.mind.SetPolicy(ctx, traits, psm.Policy{Generation: psm.GenerateApprove}))
	b := newBrowser(t)
	b.open(t, k.url+"/")
	b.waitText(t, `#tab-object .obj-title .big`, "genesis")

	status, body := k.call(t, "POST", "/api/send", "", map[string]any{"object": "genesis", "selector": "add", "args": []any{2, 40}})
	require.Equal(t, http.StatusConflict, status, "%v", body)
	require.Equal(t, kernel.KindAwaitingApproval, body["kind"])
	id, _ := body["cycle"].(string)
	require.NotEmpty(t, id)

	b.run(t, chromedp.Click(chromedp.CSS(`.tabs button[data-tab="pending"]`)))
	item := `#tab-pending .pending-item[data-pending="` + id + `"]`
	b.run(t, chromedp.WaitVisible(chromedp.CSS(item)))
	b.waitText(t, item, "add")
	b.waitText(t, item+` pre.code`, "return a + b, nil")
	b.run(t, chromedp.Click(chromedp.CSS(item+` button.primary`)))
	b.waitText(t, `#toasts`, "approve: "+id)
	b.waitText(t, `#tab-pending`, "No cycle is waiting for a decision.")

	b.enter(t, `#search-input`, "genesis")
	b.run(t, chromedp.WaitVisible(chromedp.CSS(`#tab-object [data-method="add"] .mhead`)), chromedp.Click(chromedp.CSS(`#tab-object [data-method="add"] .mhead`)))
	b.waitText(t, `#tab-object [data-method="add"] pre.code`, "return a + b, nil")
	b.waitText(t, `#tab-object [data-method="add"] .versions`, "v1 (current)")
	status, body = k.call(t, "POST", "/api/send", "", map[string]any{"object": "genesis", "selector": "add", "args": []any{2, 40}})
	require.Equal(t, http.StatusOK, status, "%v", body)
	assert.Equal(t, float64(42), body["answer"])
}

// With a bearer token the page asks for it, keeps it for the tab, and
// also takes it as ?token= (and removes it from the address bar).
func TestInspectorToken(t *testing.T) {
	k := newKernel(t, "add.jsonl", "s3cret")
	b := newBrowser(t)
	b.run(t, chromedp.Navigate(k.url+"/"), chromedp.WaitVisible(chromedp.CSS(`#token-dialog[open]`)))
	b.enter(t, `#token-input`, "guess")
	b.waitText(t, `#token-reason`, "That token was refused.")
	b.enter(t, `#token-input`, "s3cret")
	b.run(t, chromedp.WaitVisible(chromedp.CSS(`body[data-ready="true"]`)), chromedp.WaitVisible(chromedp.CSS(`g.node[data-name="genesis"]`)))
	b.run(t, chromedp.WaitVisible(chromedp.CSS(`#conn[data-state="up"]`)))

	b2 := newBrowser(t)
	b2.open(t, k.url+"/?token=s3cret")
	b2.run(t, chromedp.WaitVisible(chromedp.CSS(`g.node[data-name="genesis"]`)), chromedp.WaitVisible(chromedp.CSS(`#conn[data-state="up"]`)))
	loc := eval[string](t, b2, `location.href`)
	assert.Equal(t, k.url+"/", loc, "the token left the address bar")
}

// populate adds n objects to the image, children of genesis listed in
// its "items" slot, every hundredth a root (item.00000, …), as the
// command's startup benchmark does.
func populate(t *testing.T, mind *psm.Mind, n int) {
	t.Helper()
	var items []any
	for start := 0; start < n; start += 1000 {
		require.NoError(t, mind.Image().Update(context.Background(), func(tx *uvm.Tx) error {
			g, err := tx.Object(mind.Genesis())
			if err != nil {
				return err
			}
			for i := start; i < min(start+1000, n); i++ {
				o, err := tx.New()
				if err != nil {
					return err
				}
				if err := o.SetParents(g); err != nil {
					return err
				}
				if err := o.Set("n", int64(i)); err != nil {
					return err
				}
				if i%100 == 0 {
					if err := tx.SetRoot(fmt.Sprintf("item.%05d", i), o); err != nil {
						return err
					}
				}
				items = append(items, o.Ref())
			}
			return nil
		}))
	}
	require.NoError(t, mind.Image().Update(context.Background(), func(tx *uvm.Tx) error {
		g, err := tx.Object(mind.Genesis())
		if err != nil {
			return err
		}
		return g.Set("items", items)
	}))
}

// An image of 10,000 objects stays usable: the page draws the roots with
// a bounded number of children each, says how many it folds away, and
// pages through genesis's 10,000 children.
func TestInspectorLargeImage(t *testing.T) {
	k := newKernel(t, "add.jsonl", "")
	populate(t, k.mind, 10_000)
	b := newBrowser(t)
	start := time.Now()
	b.open(t, k.url+"/")
	b.run(t, chromedp.WaitVisible(chromedp.CSS(`g.node[data-name="genesis"]`)))
	t.Logf("10,000 objects: the page showed the graph in %s", time.Since(start))
	nodes := eval[int](t, b, `document.querySelectorAll("g.node").length`)
	assert.Less(t, nodes, 80, "the roots view stays small")
	b.waitText(t, `#stats`, "10,016 objects")
	b.waitText(t, `#graph-note`, "roots folded into “more”")
	b.waitText(t, `g.more[data-more]`, "more children")

	start = time.Now()
	b.run(t, chromedp.Click(chromedp.CSS(`g.more[data-more]`)))
	b.waitText(t, `#graph-note`, "children 1–24 of 10,000")
	b.run(t, chromedp.Click(chromedp.CSS(`#graph-note button`)))
	b.waitText(t, `#graph-note`, "children 25–48 of 10,000")
	t.Logf("two pages of genesis's children in %s", time.Since(start))
	nodes = eval[int](t, b, `document.querySelectorAll("g.node").length`)
	assert.Less(t, nodes, 120, "a page of children, the ancestors and the roots")
}
