package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/batos-dev/batos/examples/batos/internal/imageview"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The crash test's missions, all sent to genesis:
//
//	m_tally CLIENT N   appends N to slot tally_CLIENT and counts it in
//	                   count_CLIENT, in one transaction (two writes)
//	m_new_C_I          a selector nobody answers: a cycle writes it
//
// The model is a fake OpenAI-compatible server that answers by rule: for
// the selector named in the prompt, a reply that is both a plan (JSON)
// and the method (a Go block), so it serves every persona and survives
// the kernel's restarts, unlike a script read in order.
var missionRE = regexp.MustCompile(`(?:received|sent) the message \\"(m_\w+)\\"`)

const tallySource = `package ledger

import (
	"errors"

	"batos"
)

// m_tally appends n to the client's tally and counts it.
func m_tally(self batos.Self, args []any) (any, error) {
	defer self.MarkChanged()
	if len(args) != 2 {
		return nil, errors.New("m_tally wants a client and a number")
	}
	client, ok1 := args[0].(string)
	n, ok2 := args[1].(int64)
	if !ok1 || !ok2 {
		return nil, errors.New("m_tally wants a client and a number")
	}
	list, _ := self.Get("tally_" + client).([]any)
	if err := self.Set("tally_"+client, append(list, n)); err != nil {
		return nil, err
	}
	count, _ := self.Get("count_" + client).(int64)
	if err := self.Set("count_"+client, count+1); err != nil {
		return nil, err
	}
	return count + 1, nil
}
`

const newSource = `package fresh

import "batos"

// %[1]s answers its own name.
func %[1]s(self batos.Self, args []any) (any, error) {
	return "%[1]s", nil
}
`

// ruleModel is an httptest server speaking OpenAI's chat completions.
func ruleModel(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		m := missionRE.FindSubmatch(body)
		if r.URL.Path != "/v1/chat/completions" || m == nil {
			http.Error(w, `{"error":{"message":"no mission in the prompt"}}`, http.StatusBadRequest)
			return
		}
		sel := string(m[1])
		src := fmt.Sprintf(newSource, sel)
		if sel == "m_tally" {
			src = tallySource
		}
		text := `{"queries": ["` + sel + `"]}` + "\n\n```go\n" + src + "```\n"
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"id": "chatcmpl-rule", "object": "chat.completion", "created": 1, "model": "rule",
			"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": text}, "finish_reason": "stop"}},
			"usage":   map[string]any{"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
		})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// ledger is what the clients were told: the sends the kernel acknowledged.
type ledger struct {
	mu      sync.Mutex
	tallies map[string][]int64 // client → acknowledged numbers
	created []string           // acknowledged new selectors
	sent    atomic.Int64
	acked   atomic.Int64
	refused map[string]int // why sends were not acknowledged: "down", or the error kind
}

func (l *ledger) snapshot() (map[string][]int64, []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := map[string][]int64{}
	for k, v := range l.tallies {
		t[k] = append([]int64(nil), v...)
	}
	return t, append([]string(nil), l.created...)
}

// The kernel under the watchdog serves missions from concurrent clients
// and is killed with SIGKILL at random moments, round after round: after
// each restart it answers again, every send it acknowledged is in the
// image, and nothing is half-applied (each tally's count matches its
// list; every installed method's cycle is complete).
func TestKernelCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts a kernel 20 times")
	}
	const rounds, clients = 20, 4
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 17))

	exe, err := os.Executable()
	require.NoError(t, err)
	work := t.TempDir()
	dir, addrPath := filepath.Join(work, "img"), filepath.Join(work, "addr.json")
	model := ruleModel(t)
	var logs syncBuffer
	watch := exec.Command(exe, "watch", "--image", dir, "--addr", "127.0.0.1:0", "--addr-file", addrPath,
		"--model", "openai:rule@"+model.URL+"/v1", "--policy", "inprocess", "--grace", "5s",
		"--max-restarts", "1000", "--backoff", "10ms", "--max-backoff", "50ms", "--stable-after", "1s")
	watch.Env = append(os.Environ(), envAsCommand+"=1")
	watch.Stdout, watch.Stderr = &logs, &logs
	require.NoError(t, watch.Start())
	watchDone := make(chan error, 1)
	go func() { watchDone <- watch.Wait() }()
	defer func() {
		if watch.ProcessState == nil {
			watch.Process.Kill()
		}
		if t.Failed() {
			t.Logf("watch and kernel output:\n%s", logs.String())
		}
	}()

	// up waits for a kernel other than the dead one to answer.
	var url atomic.Value
	url.Store("")
	up := func(dead int) int {
		t.Helper()
		var pid int
		require.Eventually(t, func() bool {
			b, err := os.ReadFile(addrPath)
			if err != nil {
				return false
			}
			var af addrFile
			if json.Unmarshal(b, &af) != nil || af.PID == dead {
				return false
			}
			resp, err := http.Get(af.URL + "/healthz")
			if err != nil {
				return false
			}
			resp.Body.Close()
			pid = af.PID
			url.Store(af.URL)
			return resp.StatusCode == http.StatusOK
		}, 60*time.Second, 5*time.Millisecond, "no kernel answered after pid %d", dead)
		return pid
	}
	pid := up(0)

	// The clients: mostly tallies, now and then a new selector.
	book := &ledger{tallies: map[string][]int64{}, refused: map[string]int{}}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	hc := &http.Client{Timeout: 30 * time.Second}
	for c := range clients {
		wg.Add(1)
		crng := rand.New(rand.NewPCG(seed, uint64(c)))
		go func() {
			defer wg.Done()
			client := fmt.Sprintf("c%d", c)
			for i := int64(1); ctx.Err() == nil; i++ {
				body := fmt.Sprintf(`{"object":"genesis","selector":"m_tally","args":[%q,%d]}`, client, i)
				newSel := ""
				if crng.IntN(10) == 0 {
					newSel = fmt.Sprintf("m_new_%d_%d", c, i)
					body = fmt.Sprintf(`{"object":"genesis","selector":%q}`, newSel)
				}
				book.sent.Add(1)
				resp, err := hc.Post(url.Load().(string)+"/api/send", "application/json", strings.NewReader(body))
				if err != nil {
					book.mu.Lock()
					book.refused["down"]++
					book.mu.Unlock()
					time.Sleep(5 * time.Millisecond) // the kernel is down
					continue
				}
				var answer struct{ Kind string }
				json.NewDecoder(resp.Body).Decode(&answer)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					book.mu.Lock()
					book.refused[answer.Kind]++
					book.mu.Unlock()
					continue // not acknowledged: it may or may not have happened
				}
				book.acked.Add(1)
				book.mu.Lock()
				if newSel != "" {
					book.created = append(book.created, newSel)
				} else {
					book.tallies[client] = append(book.tallies[client], i)
				}
				book.mu.Unlock()
			}
		}()
	}

	for round := 1; round <= rounds; round++ {
		time.Sleep(time.Duration(100+rng.IntN(500)) * time.Millisecond)
		require.NoError(t, syscall.Kill(pid, syscall.SIGKILL), "round %d", round)
		pid = up(pid)
		verifyLive(t, url.Load().(string), book, round)
	}
	stop()
	wg.Wait()
	require.NoError(t, watch.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-watchDone:
		require.NoError(t, err, "watch exits 0 when told")
	case <-time.After(60 * time.Second):
		require.FailNow(t, "watch did not stop")
	}
	t.Logf("%d rounds: %d sends, %d acknowledged; not acknowledged: %v", rounds, book.sent.Load(), book.acked.Load(), book.refused)
	require.Greater(t, book.acked.Load(), int64(rounds), "too few sends acknowledged to mean anything")
	verifyImage(t, dir, book)
}

// verifyLive checks the running kernel: every acknowledged tally is in
// its list, each count matches its list (one snapshot), every
// acknowledged new method is installed.
func verifyLive(t *testing.T, base string, book *ledger, round int) {
	t.Helper()
	tallies, created := book.snapshot() // before the read: all of it committed already
	var obj imageview.Object
	getJSON(t, base+"/api/objects/genesis", &obj)
	slots := map[string]imageview.Slot{}
	for _, s := range obj.Slots {
		slots[s.Name] = s
	}
	for client, acked := range tallies {
		list, count := slots["tally_"+client], slots["count_"+client]
		require.Equal(t, float64(list.Len), count.Value, "round %d: %s's count and list differ: half-applied", round, client)
		var full imageview.Slot
		getJSON(t, base+"/api/objects/genesis/slots/tally_"+client, &full)
		have := map[int64]bool{}
		for _, v := range full.Value.([]any) {
			have[int64(v.(float64))] = true
		}
		for _, n := range acked {
			require.True(t, have[n], "round %d: %s's acknowledged tally %d is lost", round, client, n)
		}
	}
	methods := map[string]bool{}
	for _, m := range obj.Methods {
		methods[m.Selector] = true
	}
	for _, sel := range created {
		require.True(t, methods[sel], "round %d: acknowledged method %s is lost", round, sel)
	}
}

// verifyImage opens the image after the last kernel closed it: the
// acknowledged sends are all there, each once; each count matches its
// list; every installed method has a complete cycle, and every complete
// cycle its method.
func verifyImage(t *testing.T, dir string, book *ledger) {
	t.Helper()
	tallies, created := book.snapshot()
	im, err := uvm.Open(dir, uvm.Options{})
	require.NoError(t, err)
	defer im.Close()
	require.NoError(t, im.View(context.Background(), func(tx *uvm.Tx) error {
		g, err := tx.Root(psm.RootGenesis)
		require.NoError(t, err)
		for client, acked := range tallies {
			v, _ := g.Get("tally_" + client)
			list, _ := v.([]any)
			count, _ := g.Get("count_" + client)
			require.Equal(t, int64(len(list)), count, "%s: count and list differ", client)
			seen := map[int64]bool{}
			for _, x := range list {
				n := x.(int64)
				require.False(t, seen[n], "%s: tally %d applied twice", client, n)
				seen[n] = true
			}
			for _, n := range acked {
				require.True(t, seen[n], "%s: acknowledged tally %d is lost", client, n)
			}
		}
		complete := map[string]bool{}
		open := 0
		var took []time.Duration
		page, err := imageview.Cycles(tx, imageview.CycleQuery{})
		require.NoError(t, err)
		for _, c := range page.Cycles {
			switch c.Outcome {
			case psm.Complete:
				complete[c.ID] = true
				took = append(took, c.Ended.Sub(c.Started).Round(time.Millisecond))
				m, ok := g.Get(c.Selector)
				require.True(t, ok, "cycle %s is complete but %s is not installed", c.ID, c.Selector)
				assert.Equal(t, c.ID, m.(uvm.Method).CycleID)
			case "":
				open++ // left open by a kernel that died
			}
		}
		for _, name := range g.Slots() {
			v, _ := g.Get(name)
			if m, ok := v.(uvm.Method); ok && strings.HasPrefix(name, "m_") {
				require.True(t, complete[m.CycleID], "%s is installed but its cycle %s is not complete", name, m.CycleID)
			}
		}
		for _, sel := range created {
			require.True(t, g.Has(sel), "acknowledged method %s is lost", sel)
		}
		t.Logf("%d cycles recorded: %d complete (taking %v), %d left open by a killed kernel", page.Total, len(complete), took, open)
		return nil
	}))
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", url, b)
	require.NoError(t, json.NewDecoder(bytes.NewReader(b)).Decode(v))
}
