package live_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/batos-dev/batos/guardian"
	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/live"
	"github.com/batos-dev/batos/uvm/uvmtest"
)

// hostileCase is a method that tries to hurt the host: the runtime must
// contain it, leave the image as it was and keep serving.
type hostileCase struct {
	name     string
	src      string // entry function "nasty"
	args     []any
	policies []string // where it is run
	raw      bool     // without audit, instrumentation or runtime checks
	audit    bool     // without audit and instrumentation, with runtime checks
	memory   bool     // relies on the worker's address-space limit
	timeout  time.Duration
	want     error // errors.Is target
	check    func(t *testing.T, v any, err error)
}

func hostileCases() []hostileCase {
	both := []string{live.PolicyInProcess, live.PolicyIsolated}
	iso := []string{live.PolicyIsolated}
	return []hostileCase{
		{name: "infinite loop", policies: both, want: live.ErrBudget, src: `
func nasty(self batos.Self, args []any) (any, error) {
	n := 0
	for {
		n++
	}
}`},
		{name: "infinite loop, uninstrumented", policies: iso, raw: true, timeout: time.Second, want: live.ErrWorker, src: `
func nasty(self batos.Self, args []any) (any, error) {
	n := 0
	for {
		n++
	}
}`, check: wantResource("time")},
		{name: "recursion ten million deep", policies: both, want: live.ErrBudget, args: []any{10_000_000}, src: `
func nasty(self batos.Self, args []any) (any, error) {
	n := args[0].(int64)
	if n == 0 {
		return 0, nil
	}
	return nasty(self, []any{n - 1})
}`},
		{name: "recursion ten million deep, uninstrumented", policies: iso, raw: true, want: live.ErrWorker, args: []any{10_000_000}, src: `
func deep(n int64) int64 {
	if n == 0 {
		return 0
	}
	return deep(n-1) + 1
}
func nasty(self batos.Self, args []any) (any, error) {
	return deep(args[0].(int64)), nil
}`, check: wantResource("stack")},
		{name: "make of 1<<40 bytes", policies: both, want: live.ErrBudget, args: []any{1 << 40}, src: `
func nasty(self batos.Self, args []any) (any, error) {
	b := make([]byte, int(args[0].(int64)))
	return len(b), nil
}`},
		{name: "make of 1<<40 bytes, uninstrumented", policies: iso, raw: true, memory: true, want: live.ErrWorker, args: []any{1 << 40}, src: `
func nasty(self batos.Self, args []any) (any, error) {
	b := make([]byte, int(args[0].(int64)))
	return len(b), nil
}`, check: wantResource("memory")},
		{name: "slice growth in a loop", policies: both, want: live.ErrBudget, src: `
func nasty(self batos.Self, args []any) (any, error) {
	var s []int64
	for {
		s = append(s, int64(len(s)))
	}
}`},
		{name: "slice growth in a loop, uninstrumented", policies: iso, raw: true, memory: true, want: live.ErrWorker, src: `
func nasty(self batos.Self, args []any) (any, error) {
	var s [][]byte
	for {
		s = append(s, make([]byte, 1<<20))
	}
}`, check: wantResource("memory")},
		{name: "goroutine", policies: both, want: guardian.ErrRejected, src: `
func nasty(self batos.Self, args []any) (any, error) {
	go func() { panic("from a goroutine") }()
	return nil, nil
}`},
		{name: "goroutine, unaudited", policies: both, audit: true, want: live.ErrRefused, src: `
func nasty(self batos.Self, args []any) (any, error) {
	go func() { panic("from a goroutine") }()
	return nil, nil
}`},
		{name: "goroutine, unchecked", policies: iso, raw: true, want: live.ErrWorker, src: `
func nasty(self batos.Self, args []any) (any, error) {
	go func() { panic("from a goroutine") }()
	n := 0
	for i := 0; i < 1e9; i++ {
		n += i
	}
	return n, nil
}`, check: func(t *testing.T, v any, err error) {
			require.Contains(t, err.Error(), `panic: from a goroutine`)
		}},
		{name: "panic with a non-error value", policies: both, want: live.ErrPanic, src: `
type point struct{ X, Y int }
func nasty(self batos.Self, args []any) (any, error) {
	panic(point{1, 2})
}`, check: func(t *testing.T, v any, err error) {
			require.Contains(t, err.Error(), "a value of type struct")
		}},
		{name: "import of os/exec", policies: both, want: guardian.ErrRejected, src: `
import "os/exec"
func nasty(self batos.Self, args []any) (any, error) {
	return exec.Command("true").Run(), nil
}`},
		{name: "import of os/exec, unaudited", policies: both, audit: true, want: live.ErrRefused, src: `
import "os/exec"
func nasty(self batos.Self, args []any) (any, error) {
	return exec.Command("true").Run(), nil
}`},
		{name: "import of os/exec, unchecked", policies: iso, raw: true, want: live.ErrCompile, src: `
import "os/exec"
func nasty(self batos.Self, args []any) (any, error) {
	return exec.Command("true").Run(), nil
}`},
		{name: "relative import", policies: both, want: guardian.ErrRejected, src: `
import "./secrets"
func nasty(self batos.Self, args []any) (any, error) {
	return secrets.Key, nil
}`},
		{name: "relative import, unaudited", policies: both, audit: true, want: live.ErrRefused, src: `
import "./secrets"
func nasty(self batos.Self, args []any) (any, error) {
	return secrets.Key, nil
}`},
		{name: "relative import, unchecked", policies: iso, raw: true, want: live.ErrCompile, src: `
import "./live"
func nasty(self batos.Self, args []any) (any, error) {
	return live.HostPackage, nil
}`},
		{name: "printing self", policies: both, src: `
import "fmt"
func nasty(self batos.Self, args []any) (any, error) {
	return fmt.Sprintf("%+v|%v|%#v|%s|%T|%x", self, self, self, self, self, self), nil
}`, check: func(t *testing.T, v any, err error) {
			require.NoError(t, err)
			s := v.(string)
			parts := strings.Split(s, "|")
			require.Len(t, parts, 6)
			for i, p := range parts {
				if i == 4 {
					require.Equal(t, "batos.Self", p, "%%T names the contract's type")
					continue
				}
				require.Regexp(t, `^batos\.Self\(object \d+\)$`, p)
			}
			requireNoHostNames(t, s)
		}},
		{name: "printing the errors the host hands a method", policies: both, src: `
import "fmt"
func nasty(self batos.Self, args []any) (any, error) {
	defer self.MarkChanged()
	_, sendErr := self.Send("nope")
	delErr := self.Delete("missing")
	setErr := self.Set("bad", struct{}{})
	out := ""
	for _, e := range []error{sendErr, delErr, setErr} {
		out += fmt.Sprintf("%v|%+v|%#v|%s|%T|%q\n", e, e, e, e, e, e)
	}
	return out, nil
}`, check: func(t *testing.T, v any, err error) {
			require.NoError(t, err)
			s := v.(string)
			require.Contains(t, s, `does not understand "nope"`)
			require.Contains(t, s, `has no slot "missing"`)
			require.Contains(t, s, "|batos.Error|")
			requireNoHostNames(t, s)
		}},
		{name: "recursive send of its own selector", policies: both, want: live.ErrMethod, src: `
func nasty(self batos.Self, args []any) (any, error) {
	return self.Send("nasty")
}`, check: func(t *testing.T, v any, err error) {
			// The root cause survives, and the chain is compressed.
			require.Contains(t, err.Error(), "nested too deep")
			require.Regexp(t, `^live: method "nasty" v1 \(×\d+\): `, err.Error())
			require.Less(t, len(err.Error()), 300, "got %d bytes: %.400s", len(err.Error()), err)
		}},
		{name: "nil pointer dereference", policies: both, want: live.ErrPanic, src: `
type point struct{ X int }
func nasty(self batos.Self, args []any) (any, error) {
	var p *point
	return p.X, nil
}`, check: wantPanic("runtime error: invalid memory address or nil pointer dereference")},
		{name: "write through a nil pointer", policies: both, want: live.ErrPanic, src: `
type point struct{ X int }
func nasty(self batos.Self, args []any) (any, error) {
	var p *point
	p.X = 1
	return p, nil
}`, check: wantPanic("runtime error: invalid memory address or nil pointer dereference")},
		{name: "index out of range", policies: both, want: live.ErrPanic, args: []any{99}, src: `
func nasty(self batos.Self, args []any) (any, error) {
	s := []int64{1}
	return s[args[0].(int64)], nil
}`, check: wantPanic("runtime error: index out of range")},
		{name: "slice bounds out of range", policies: both, want: live.ErrPanic, args: []any{99}, src: `
func nasty(self batos.Self, args []any) (any, error) {
	s := []int64{1}
	return s[1:args[0].(int64)], nil
}`, check: wantPanic("runtime error: slice bounds out of range")},
		{name: "failed type assertion", policies: both, want: live.ErrPanic, args: []any{"text"}, src: `
func nasty(self batos.Self, args []any) (any, error) {
	return args[0].(batos.Ref), nil
}`, check: wantPanic("interface conversion: interface {} is string, not batos.Ref")},
		{name: "returned error whose Error loops", policies: both, want: guardian.ErrRejected, src: `
type loopErr struct{}
func (loopErr) Error() string {
	for {
	}
}
func nasty(self batos.Self, args []any) (any, error) {
	return nil, loopErr{}
}`},
		{name: "returned error whose Error loops, unchecked", policies: both, raw: true, want: live.ErrMethod, src: `
type loopErr struct{}
func (loopErr) Error() string {
	for {
	}
}
func nasty(self batos.Self, args []any) (any, error) {
	return nil, loopErr{}
}`, check: func(t *testing.T, v any, err error) {
			require.Contains(t, err.Error(), "Error method is not called")
		}},
		{name: "panic with an error whose Error loops, unchecked", policies: both, raw: true, want: live.ErrPanic, src: `
type loopErr struct{}
func (loopErr) Error() string {
	for {
	}
}
func nasty(self batos.Self, args []any) (any, error) {
	panic(loopErr{})
}`},
		{name: "writes after it returned", policies: iso, raw: true, src: `
func nasty(self batos.Self, args []any) (any, error) {
	go func() {
		n := 0
		for i := 0; i < 300000000; i++ {
			n += i
		}
		for {
			self.Set("late", n)
			self.MarkChanged()
		}
	}()
	return "returned", nil
}`, check: func(t *testing.T, v any, err error) {
			require.NoError(t, err)
			require.Equal(t, "returned", v)
		}},
	}
}

// wantPanic checks that a panic is described in Go's words, and nothing
// of the interpreter's or the host's.
func wantPanic(words string) func(t *testing.T, v any, err error) {
	return func(t *testing.T, v any, err error) {
		require.Equal(t, `live: method "nasty" v1 panicked: `+words, err.Error())
		require.NotContains(t, err.Error(), "reflect")
	}
}

// requireNoHostNames checks that text printed inside a method names no
// package or type of the host and shows no pointer.
func requireNoHostNames(t *testing.T, s string) {
	t.Helper()
	for _, host := range []string{"uvm", "live", "0x", "github.com", "errors.", "*"} {
		require.NotContains(t, s, host)
	}
}

func wantResource(res string) func(t *testing.T, v any, err error) {
	return func(t *testing.T, v any, err error) {
		var we *live.WorkerError
		require.ErrorAs(t, err, &we)
		require.Equal(t, res, we.Resource, "cause: %s\ndetail: %s", we.Cause, clipDetail(we.Detail))
		require.ErrorIs(t, err, live.ErrBudget)
	}
}

const healthySrc = `package healthy

import "batos"

func healthy(self batos.Self, args []any) (any, error) {
	return "fine", nil
}
`

// imageState is a byte-for-byte picture of an image.
func imageState(t *testing.T, im *uvm.Image) (string, []byte) {
	t.Helper()
	fp := uvmtest.Fingerprint(t, im)
	var b bytes.Buffer
	require.NoError(t, im.Backup(ctx, &b))
	return fp, b.Bytes()
}

func TestContainment(t *testing.T) {
	for _, nc := range hostileCases() {
		for _, policy := range nc.policies {
			t.Run(nc.name+"/"+policy, func(t *testing.T) {
				if nc.memory && live.RaceEnabled {
					t.Skip("-race builds run workers without RLIMIT_AS")
				}
				t.Parallel()
				opts := live.Options{
					Policy:        policy,
					Fuel:          2_000_000,
					MaxHeapGrowth: 256 << 20,
					MaxAlloc:      16 << 20,
					MaxDepth:      2000, // unwinding is quadratic; the default is exercised by TestEquivalence
					Timeout:       5 * time.Second,
					WorkerMemory:  512 << 20,
					Workers:       1,
				}
				if nc.timeout > 0 {
					opts.Timeout = nc.timeout
				}
				if nc.raw {
					opts = live.RawOptions(opts)
				}
				if nc.audit {
					opts = live.UnauditedOptions(opts)
				}
				im, r := newImage(t, opts)
				src := "package nasty\n\nimport \"batos\"\n" + nc.src + "\n"
				var oid uvm.OID
				require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
					o, err := tx.New()
					if err != nil {
						return err
					}
					oid = o.OID()
					if err := o.Set("data", map[string]any{"k": "v"}); err != nil {
						return err
					}
					if _, err := tx.InstallMethod(o, uvm.Method{Selector: "healthy", Source: healthySrc}); err != nil {
						return err
					}
					_, err = tx.InstallMethod(o, uvm.Method{Selector: "nasty", Source: src})
					return err
				}))
				fp, backup := imageState(t, im)

				start := time.Now()
				v, err := im.Send(ctx, oid, "nasty", nc.args...)
				elapsed := time.Since(start)
				t.Logf("%v after %v: %v", policy, elapsed.Round(time.Millisecond), err)
				if nc.want != nil {
					require.ErrorIs(t, err, nc.want)
					require.Contains(t, err.Error(), `"nasty" v1`, "the error names the method and version")
				}
				if nc.check != nil {
					nc.check(t, v, err)
				}
				require.Less(t, elapsed, 8*time.Second)

				fp2, backup2 := imageState(t, im)
				require.Equal(t, fp, fp2, "image changed")
				require.True(t, bytes.Equal(backup, backup2), "backup changed")

				v, err = im.Send(ctx, oid, "healthy")
				require.NoError(t, err, "the host and the runner still work")
				require.Equal(t, "fine", v)
				if errors.Is(nc.want, live.ErrWorker) {
					st := r.Stats()
					require.Equal(t, int64(1), st.WorkerFailures)
					require.GreaterOrEqual(t, st.WorkersStarted, int64(2), "a fresh worker replaced the dead one")
				}
			})
		}
	}
}

func clipDetail(s string) string {
	if len(s) > 3000 {
		return s[:1500] + "\n...\n" + s[len(s)-1500:]
	}
	return s
}
