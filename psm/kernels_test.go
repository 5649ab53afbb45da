package psm_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/live"
	"github.com/batos-dev/batos/uvm/store/pgstore/pgtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tmc/langchaingo/llms"
)

// Kernels: several Minds on one image in PostgreSQL. The tests start a
// throwaway cluster (pgtest), and run kernels in this process and in
// child processes of the test binary (kernelChildEnv).

// kernelTTL is the lease expiry the kernels of these tests use, so that a
// takeover happens within a second or so.
const kernelTTL = time.Second

// kernelModel answers every mission with a method that returns its own
// selector, after a delay, or hangs in synthesis until its context ends
// (a kernel killed mid-cycle), saying so on said first. It counts the
// synthesis calls it received.
type kernelModel struct {
	delay time.Duration
	hang  bool
	said  io.Writer
	src   func(sel string) string // the method for sel; nil: answerSrc

	syntheses atomic.Int64
}

func (k *kernelModel) GenerateContent(ctx context.Context, msgs []llms.MessageContent, _ ...llms.CallOption) (*llms.ContentResponse, error) {
	sel, planned := missionOf(ctx, msgs)
	if planned != nil {
		return planned, nil
	}
	k.syntheses.Add(1)
	if k.hang {
		if k.said != nil {
			fmt.Fprintln(k.said, "synthesizing")
		}
		<-ctx.Done()
		return nil, ctx.Err()
	}
	select {
	case <-time.After(k.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	src := answerSrc
	if k.src != nil {
		src = k.src
	}
	return textReply(code(src(sel))), nil
}

func (k *kernelModel) Call(ctx context.Context, prompt string, options ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, k, prompt, options...)
}

// kernelOptions are the options of every kernel of these tests.
func kernelOptions(name string, model llms.Model) psm.Options {
	return psm.Options{
		Model:    model,
		Kernel:   name,
		LeaseTTL: kernelTTL,
		Live:     live.Options{Policy: live.PolicyInProcess},
	}
}

// cluster is the package's throwaway PostgreSQL cluster, started by the
// first test that needs one and stopped by TestMain.
var cluster struct {
	once sync.Once
	c    *pgtest.Cluster
	err  error
}

// kernelCluster returns a new database's URL in the package's cluster, or
// skips the test saying how to enable it.
func kernelCluster(t testing.TB) string {
	t.Helper()
	cluster.once.Do(func() { cluster.c, cluster.err = pgtest.Start() })
	if errors.Is(cluster.err, pgtest.ErrNoServer) {
		t.Skip(pgtest.Hint)
	}
	require.NoError(t, cluster.err)
	return cluster.c.NewDatabase(t)
}

// stopCluster stops the cluster, if a test started it.
func stopCluster() {
	if cluster.c != nil {
		_ = cluster.c.Stop()
	}
}

// openKernel opens a Mind on url named name, closed with the test.
func openKernel(t *testing.T, url, name string, model llms.Model) *psm.Mind {
	t.Helper()
	m, err := psm.Open(context.Background(), url, kernelOptions(name, model))
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, m.Close()) })
	return m
}

// cyclesFor returns the records of the top-level cycles for sel.
func cyclesFor(t *testing.T, m *psm.Mind, sel string) []psm.Record {
	t.Helper()
	all, err := m.Cycles(context.Background())
	require.NoError(t, err)
	var out []psm.Record
	for _, r := range all {
		if r.Mission.Selector == sel && r.Parent == "" {
			out = append(out, r)
		}
	}
	return out
}

// summary describes cycle records by kernel and outcome.
func summary(recs []psm.Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, fmt.Sprintf("%s by %s: %s %s", r.ID, r.Kernel, r.Outcome, r.Error))
	}
	return out
}

// TestKernelsRunOneCycle: two kernels (in this process) receiving the same
// unknown message at once run one cycle between them; both answer with
// the one method it installed, and each cycle record names its kernel.
func TestKernelsRunOneCycle(t *testing.T) {
	url := kernelCluster(t)
	ctx := context.Background()
	ma, mb := &kernelModel{delay: 300 * time.Millisecond}, &kernelModel{delay: 300 * time.Millisecond}
	a := openKernel(t, url, "kernel-a", ma)
	b := openKernel(t, url, "kernel-b", mb)
	proto, err := a.New(ctx)
	require.NoError(t, err)

	for round, sel := range []string{"weather", "inventory", "greeting"} {
		ra, rb := sendAsyncTo(ctx, a, proto, sel), sendAsyncTo(ctx, b, proto, sel)
		for _, r := range []sendResult{await(t, 20*time.Second, "kernel a", ra), await(t, 20*time.Second, "kernel b", rb)} {
			require.NoError(t, r.err)
			assert.Equal(t, sel, r.v)
		}
		recs := cyclesFor(t, a, sel)
		require.Equal(t, 1, len(recs), "round %d: one cycle between the two kernels: %v", round, summary(recs))
		assert.Equal(t, psm.Complete, recs[0].Outcome)
		assert.Contains(t, []string{"kernel-a", "kernel-b"}, recs[0].Kernel)
		assert.Len(t, versionsOn(t, b, proto, sel), 1, "installed once")
	}
	assert.Equal(t, int64(3), ma.syntheses.Load()+mb.syntheses.Load(), "one synthesis per message in all")

	_, err = psm.Open(ctx, url, kernelOptions("kernel-a", ma))
	assert.ErrorIs(t, err, psm.ErrKernelInUse, "a second open Mind under a live kernel's name")
}

// TestKernelsFollowFailure: a cycle that fails in one kernel does not
// stop another kernel's sender from trying after it; the waiter then runs
// a cycle of its own.
func TestKernelsFollowFailure(t *testing.T) {
	url := kernelCluster(t)
	ctx := context.Background()
	failing := persona.NewScripted(nil) // no replies: every model call fails
	a := openKernel(t, url, "kernel-a", failing)
	mb := &kernelModel{}
	b := openKernel(t, url, "kernel-b", mb)
	proto, err := a.New(ctx)
	require.NoError(t, err)
	_, err = a.Send(ctx, proto, "after_failure")
	require.ErrorIs(t, err, psm.ErrCycleFailed)
	v, err := b.Send(ctx, proto, "after_failure")
	require.NoError(t, err)
	assert.Equal(t, "after_failure", v)
	recs := cyclesFor(t, b, "after_failure")
	require.Equal(t, 2, len(recs), "a's failed cycle and b's: %v", summary(recs))
}

// Child kernels: the test binary started with kernelChildEnv set opens a
// Mind on the database it names and sends one message, as kernelRole
// says (kernelRoleEnv, JSON), printing "ready" once open and "answer: X"
// or "error: E" at the end.
const (
	kernelChildEnv = "BATOS_PSM_TEST_KERNEL_URL"
	kernelRoleEnv  = "BATOS_PSM_TEST_KERNEL_ROLE"
)

type kernelRole struct {
	Kernel   string
	Object   uvm.OID
	Selector string
	Delay    time.Duration
	Hang     bool // the model hangs in synthesis
	WaitGo   bool // send only after a line on stdin
}

// kernelChild is the child kernel's main; it returns the exit status.
func kernelChild() int {
	var role kernelRole
	if err := json.Unmarshal([]byte(os.Getenv(kernelRoleEnv)), &role); err != nil {
		fmt.Println("error:", err)
		return 2
	}
	ctx := context.Background()
	model := &kernelModel{delay: role.Delay, hang: role.Hang, said: os.Stdout}
	m, err := psm.Open(ctx, os.Getenv(kernelChildEnv), kernelOptions(role.Kernel, model))
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	defer m.Close()
	fmt.Println("ready")
	if role.WaitGo {
		if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
			fmt.Println("error:", err)
			return 1
		}
	}
	v, err := m.Send(ctx, role.Object, role.Selector)
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Printf("answer: %v\n", v)
	return 0
}

// childKernel is a running child kernel.
type childKernel struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	done  chan error
}

// startChild starts a child kernel on url and waits for it to be open.
func startChild(t *testing.T, url string, role kernelRole) *childKernel {
	t.Helper()
	b, err := json.Marshal(role)
	require.NoError(t, err)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), kernelChildEnv+"="+url, kernelRoleEnv+"="+string(b))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	c := &childKernel{cmd: cmd, stdin: stdin, lines: make(chan string, 16), done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
		c.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-c.done
	})
	assert.Equal(t, "ready", c.next(t, 30*time.Second), "the child kernel opened")
	return c
}

// next returns the child's next line of output.
func (c *childKernel) next(t *testing.T, d time.Duration) string {
	t.Helper()
	select {
	case l, ok := <-c.lines:
		if !ok {
			return "(exited)"
		}
		return l
	case <-time.After(d):
		t.Fatalf("the child kernel said nothing for %v", d)
		return ""
	}
}

// TestKernelsInTwoProcesses: two kernels in two processes on one
// database. A method installed by one answers in the other; the same
// unknown message sent to both at once runs one cycle; and when the
// kernel running a cycle is killed (SIGKILL) mid-cycle, the other, whose
// sender was waiting, takes the cycle over once the lease expires,
// completes it, and closes the dead kernel's record.
func TestKernelsInTwoProcesses(t *testing.T) {
	url := kernelCluster(t)
	ctx := context.Background()
	mp := &kernelModel{delay: 300 * time.Millisecond}
	parent := openKernel(t, url, "parent", mp)
	proto, err := parent.New(ctx)
	require.NoError(t, err)

	t.Run("installed in one, answers in the other", func(t *testing.T) {
		_, err := parent.Install(ctx, proto, "greet", say("greet", "hello"))
		require.NoError(t, err)
		child := startChild(t, url, kernelRole{Kernel: "child-1", Object: proto, Selector: "greet"})
		assert.Equal(t, "answer: hello", child.next(t, 30*time.Second))
	})

	t.Run("one cycle between two processes", func(t *testing.T) {
		before := mp.syntheses.Load()
		child := startChild(t, url, kernelRole{Kernel: "child-2", Object: proto, Selector: "both_at_once", Delay: 300 * time.Millisecond, WaitGo: true})
		_, err := io.WriteString(child.stdin, "go\n")
		require.NoError(t, err)
		mine := sendAsyncTo(ctx, parent, proto, "both_at_once")
		assert.Equal(t, "answer: both_at_once", child.next(t, 30*time.Second))
		r := await(t, 30*time.Second, "the parent kernel's send", mine)
		require.NoError(t, r.err)
		assert.Equal(t, "both_at_once", r.v)
		recs := cyclesFor(t, parent, "both_at_once")
		require.Equal(t, 1, len(recs), "one cycle between the two kernels: %v", summary(recs))
		assert.Equal(t, psm.Complete, recs[0].Outcome)
		assert.Len(t, versionsOn(t, parent, proto, "both_at_once"), 1)
		if recs[0].Kernel == "parent" {
			assert.Equal(t, before+1, mp.syntheses.Load())
		} else {
			assert.Equal(t, "child-2", recs[0].Kernel)
			assert.Equal(t, before, mp.syntheses.Load(), "the parent asked no model")
		}
	})

	t.Run("kill -9 the lease holder mid-cycle", func(t *testing.T) {
		child := startChild(t, url, kernelRole{Kernel: "child-3", Object: proto, Selector: "orphan", Hang: true})
		assert.Equal(t, "synthesizing", child.next(t, 30*time.Second))
		// The parent's sender arrives while the child holds the cycle.
		mine := sendAsyncTo(ctx, parent, proto, "orphan")
		require.Eventually(t, func() bool {
			recs := cyclesFor(t, parent, "orphan")
			return len(recs) == 1 && recs[0].Kernel == "child-3" && recs[0].State == psm.Synthesizing
		}, 10*time.Second, 20*time.Millisecond, "the child's cycle record is in the image")
		select {
		case r := <-mine:
			t.Fatalf("the parent did not wait for the child's cycle: %v, %v", r.v, r.err)
		case <-time.After(200 * time.Millisecond):
		}
		killed := time.Now()
		require.NoError(t, child.cmd.Process.Signal(syscall.SIGKILL))
		r := await(t, 30*time.Second, "the parent kernel's send after the takeover", mine)
		took := time.Since(killed)
		require.NoError(t, r.err)
		assert.Equal(t, "orphan", r.v)
		assert.Less(t, took, 10*kernelTTL, "taken over within the lease expiry and one cycle")
		t.Logf("answered %v after the kill (lease expiry %v)", took.Round(time.Millisecond), kernelTTL)

		recs := cyclesFor(t, parent, "orphan")
		require.Equal(t, 2, len(recs), "the dead kernel's cycle and the parent's: %v", summary(recs))
		var dead, done *psm.Record
		for i := range recs {
			switch recs[i].Kernel {
			case "child-3":
				dead = &recs[i]
			case "parent":
				done = &recs[i]
			}
		}
		require.NotNil(t, dead)
		require.NotNil(t, done)
		assert.Equal(t, psm.Failed, dead.Outcome)
		assert.Equal(t, psm.Synthesizing, dead.FailedIn)
		assert.True(t, strings.Contains(dead.Error, "kernel child-3 stopped during SYNTHESIZING; kernel parent took the cycle over"), dead.Error)
		assert.Equal(t, psm.Complete, done.Outcome)
		assert.Len(t, versionsOn(t, parent, proto, "orphan"), 1, "installed once")
	})
}

// TestKernelsLeaseLost: a kernel whose cycle lease was taken over (it
// stalled past the expiry, and another kernel took the cycle) installs
// nothing: its cycle stops with ErrLeaseLost, and its sender waits for the
// kernel that took over and answers with that kernel's method.
func TestKernelsLeaseLost(t *testing.T) {
	url := kernelCluster(t)
	ctx := context.Background()
	stalled := &kernelModel{hang: true}
	a := openKernel(t, url, "kernel-a", stalled)
	proto, err := a.New(ctx)
	require.NoError(t, err)
	res := sendAsyncTo(ctx, a, proto, "stolen")
	require.Eventually(t, func() bool { return stalled.syntheses.Load() > 0 }, 10*time.Second, 10*time.Millisecond)

	// Kernel z takes the lease over (as if a's had expired).
	im, name := a.Image(), fmt.Sprintf("psm/cycle/%d/stolen", proto)
	require.NoError(t, im.ReleaseLease(ctx, name, "kernel-a"))
	ok, _, err := im.TryLease(ctx, name, "kernel-z", time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	require.Eventually(t, func() bool {
		recs := cyclesFor(t, a, "stolen")
		return len(recs) == 1 && recs[0].Outcome == psm.Failed
	}, 10*time.Second, 20*time.Millisecond, "a's cycle stops at its next renewal")
	rec := cyclesFor(t, a, "stolen")[0]
	assert.Contains(t, rec.Error, "kernel kernel-a lost "+name+" to kernel kernel-z")
	select {
	case r := <-res:
		t.Fatalf("a's sender did not wait for kernel z: %v, %v", r.v, r.err)
	case <-time.After(300 * time.Millisecond):
	}

	// Kernel z installs its method and releases the lease.
	_, err = a.Install(ctx, proto, "stolen", say("stolen", "from z"))
	require.NoError(t, err)
	require.NoError(t, im.ReleaseLease(ctx, name, "kernel-z"))
	r := await(t, 10*time.Second, "a's sender", res)
	require.NoError(t, r.err)
	assert.Equal(t, "from z", r.v, "the method of the kernel that took over")
	assert.Len(t, versionsOn(t, a, proto, "stolen"), 1, "a installed nothing")
	assert.Equal(t, int64(1), stalled.syntheses.Load())
}

// TestKernelsManySendersSmallPool: on PostgreSQL every open transaction
// holds a connection, and a send that starts a cycle waits for the
// cycle's own transactions. More senders than connections still all get
// their answers: a waiting sender gives its connection back meanwhile.
func TestKernelsManySendersSmallPool(t *testing.T) {
	url := kernelCluster(t) + "&pool_max_conns=4"
	ctx := context.Background()
	m := openKernel(t, url, "small-pool", &kernelModel{delay: 20 * time.Millisecond})
	proto, err := m.New(ctx)
	require.NoError(t, err)
	sels := []string{"weather", "inventory", "greeting", "temperature", "humidity", "pressure",
		"location", "elevation", "sunrise", "sunset", "forecast", "visibility"}
	var results []<-chan sendResult
	for _, sel := range sels {
		results = append(results, sendAsyncTo(ctx, m, proto, sel))
	}
	for i, ch := range results {
		r := await(t, 60*time.Second, sels[i], ch)
		require.NoError(t, r.err, sels[i])
		assert.Equal(t, sels[i], r.v)
	}
}

// TestKernelsNeverStale: a new version of a method one kernel installs is
// what another kernel's next send runs, with no wait, round after round
// (the decoded-object and compiled-method caches are keyed by what the
// image holds, not by time).
func TestKernelsNeverStale(t *testing.T) {
	url := kernelCluster(t)
	ctx := context.Background()
	a := openKernel(t, url, "kernel-a", &kernelModel{})
	b := openKernel(t, url, "kernel-b", &kernelModel{})
	proto, err := a.New(ctx)
	require.NoError(t, err)
	for round := range 10 {
		text := fmt.Sprintf("hello #%d", round)
		_, err := a.Install(ctx, proto, "greet", say("greet", text))
		require.NoError(t, err)
		v, err := b.Send(ctx, proto, "greet")
		require.NoError(t, err)
		require.Equal(t, text, v, "round %d: the other kernel runs the version just installed", round)
	}
}

// TestKernelsNestedCyclesSmallPool: cycles whose dry runs start nested
// cycles, several at once, on a pool of 3 connections (one of them the
// kernel's change listener): every send answers.
func TestKernelsNestedCyclesSmallPool(t *testing.T) {
	url := kernelCluster(t) + "&pool_max_conns=3"
	ctx := context.Background()
	model := &kernelModel{src: func(sel string) string {
		if inner, ok := strings.CutPrefix(sel, "outer_"); ok {
			return fmt.Sprintf(`package m

import "batos"

// %[1]s answers what %[2]s answers.
func %[1]s(self batos.Self, args []any) (any, error) {
	return self.Send(%[2]q)
}`, sel, "inner_"+inner)
		}
		return answerSrc(sel)
	}}
	m := openKernel(t, url, "nested", model)
	proto, err := m.New(ctx)
	require.NoError(t, err)
	names := []string{"apple", "river", "mountain", "lantern"}
	var results []<-chan sendResult
	for _, n := range names {
		results = append(results, sendAsyncTo(ctx, m, proto, "outer_"+n))
	}
	for i, ch := range results {
		r := await(t, 60*time.Second, names[i], ch)
		require.NoError(t, r.err, names[i])
		assert.Equal(t, "inner_"+names[i], r.v)
	}
}
