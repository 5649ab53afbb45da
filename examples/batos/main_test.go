package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/batos-dev/batos/uvm/live"
)

// envAsCommand makes this test binary run as the batos command: the
// watchdog's kernels and the crash test's processes are this binary,
// re-executed.
const envAsCommand = "BATOS_TEST_AS_COMMAND"

func TestMain(m *testing.M) {
	live.ServeIfWorker()
	if os.Getenv(envAsCommand) == "1" {
		main()
	}
	os.Exit(m.Run())
}

// signals delivers fake signals to a command run in process.
type signals struct {
	mu    sync.Mutex
	chans []chan<- os.Signal
}

func (s *signals) notify(c chan<- os.Signal, _ ...os.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chans = append(s.chans, c)
}

func (s *signals) stop(c chan<- os.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, x := range s.chans {
		if x == c {
			s.chans = append(s.chans[:i], s.chans[i+1:]...)
			return
		}
	}
}

// send delivers sig to every listener; it reports whether one listened.
func (s *signals) send(sig os.Signal) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.chans {
		c <- sig
	}
	return len(s.chans) > 0
}

// syncBuffer is a bytes.Buffer safe for a command's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// result is what a command run in process did.
type result struct {
	code           int
	stdout, stderr string
}

// cli runs the command in process with an environment of its own.
type cli struct {
	env  map[string]string
	sigs signals
}

func newCLI(env map[string]string) *cli {
	if env == nil {
		env = map[string]string{}
	}
	return &cli{env: env}
}

func (c *cli) getenv(k string) string { return c.env[k] }

// run runs the command line to its end.
func (c *cli) run(args ...string) result {
	var out, errw syncBuffer
	code := execute(context.Background(), newApp(strings.NewReader(""), &out, &errw, c.getenv, c.sigs.notify, c.sigs.stop), args)
	return result{code: code, stdout: out.String(), stderr: errw.String()}
}

// start runs the command line in the background; wait returns its result.
func (c *cli) start(args ...string) (stdout, stderr *syncBuffer, wait func() result) {
	stdout, stderr = &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- execute(context.Background(), newApp(strings.NewReader(""), stdout, stderr, c.getenv, c.sigs.notify, c.sigs.stop), args)
	}()
	var once sync.Once
	var res result
	return stdout, stderr, func() result {
		once.Do(func() { res = result{code: <-done, stdout: stdout.String(), stderr: stderr.String()} })
		return res
	}
}
