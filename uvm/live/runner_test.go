package live_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/batos-dev/batos/guardian"
	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/live"
	"github.com/batos-dev/batos/uvm/uvmtest"
)

func TestReopen(t *testing.T) {
	for _, policy := range policies {
		t.Run(policy, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "image")
			r, err := live.New(live.Options{Policy: policy, Workers: 1})
			require.NoError(t, err)
			t.Cleanup(func() { r.Close() })
			im := uvmtest.Disk(t, dir, uvm.Options{Runner: r})
			var oid uvm.OID
			require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
				o, err := tx.New()
				if err != nil {
					return err
				}
				oid = o.OID()
				if err := tx.SetRoot("counter", o); err != nil {
					return err
				}
				_, err = r.Install(ctx, tx, o, uvm.Method{Selector: "bump", Source: counterSrc})
				return err
			}))
			v, err := im.Send(ctx, oid, "bump")
			require.NoError(t, err)
			require.Equal(t, int64(3), v)

			// A restarted host: a new runner, which has compiled nothing.
			r2, err := live.New(live.Options{Policy: policy, Workers: 1})
			require.NoError(t, err)
			t.Cleanup(func() { r2.Close() })
			require.Equal(t, 0, r2.Stats().Compiled)
			im = uvmtest.Reopen(t, im, dir, uvm.Options{Runner: r2})
			require.NoError(t, r.Close())
			v, err = im.Send(ctx, oid, "bump")
			require.NoError(t, err, "the method compiles from its stored source on first send")
			require.Equal(t, int64(6), v)
		})
	}
}

// policyProbe answers whether it runs in the host: only there does the
// runner's in-process cache hold it afterwards.
func TestPolicies(t *testing.T) {
	im, r := newImage(t, live.Options{Workers: 1})
	var oid uvm.OID
	install := func(sel, policy string) {
		require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
			o, err := tx.Object(oid)
			if err != nil {
				return err
			}
			_, err = tx.InstallMethod(o, uvm.Method{Selector: sel, Source: methodSource(sel, "\treturn \""+sel+"\", nil"), Policy: policy})
			return err
		}))
	}
	require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
		o, err := tx.New()
		oid = o.OID()
		return err
	}))
	compiled := func() int { return r.Stats().Compiled }

	install("isolatedByDefault", "")
	_, err := im.Send(ctx, oid, "isolatedByDefault")
	require.NoError(t, err)
	require.Equal(t, 0, compiled(), "the default policy is isolated")

	install("mine", live.PolicyInProcess)
	_, err = im.Send(ctx, oid, "mine")
	require.NoError(t, err)
	require.Equal(t, 1, compiled(), "a method's own policy")

	require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error { return r.SetImagePolicy(tx, live.PolicyInProcess) }))
	_, err = im.Send(ctx, oid, "isolatedByDefault")
	require.NoError(t, err)
	require.Equal(t, 2, compiled(), "the image's policy")
	require.NoError(t, im.View(ctx, func(tx *uvm.Tx) error {
		p, err := live.ImagePolicy(tx)
		require.Equal(t, live.PolicyInProcess, p)
		return err
	}))

	install("pinned", live.PolicyIsolated)
	_, err = im.Send(ctx, oid, "pinned")
	require.NoError(t, err)
	require.Equal(t, 2, compiled(), "a method's own policy beats the image's")

	install("bogus", "turbo")
	_, err = im.Send(ctx, oid, "bogus")
	require.ErrorIs(t, err, live.ErrPolicy)
	require.ErrorIs(t, im.Update(ctx, func(tx *uvm.Tx) error { return r.SetImagePolicy(tx, "turbo") }), live.ErrPolicy)
	_, err = live.New(live.Options{Policy: "turbo"})
	require.ErrorIs(t, err, live.ErrPolicy)
}

func TestDryRun(t *testing.T) {
	im, r := newImage(t, live.Options{Policy: live.PolicyInProcess, Workers: 1, Fuel: 1_000_000})
	var oid uvm.OID
	require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
		o, err := tx.New()
		if err != nil {
			return err
		}
		oid = o.OID()
		p, err := tx.New()
		if err != nil {
			return err
		}
		if err := p.Set("m", map[string]any{}); err != nil {
			return err
		}
		if err := o.SetParents(p); err != nil {
			return err
		}
		return o.Set("n", int64(1))
	}))
	fp, _ := imageState(t, im)
	discard := errors.New("discard")
	for _, c := range []struct {
		name string
		body string
		want error
		res  any
	}{
		{"writes", "\tself.Set(\"n\", int64(41))\n\tself.MarkChanged()\n\treturn self.Get(\"n\"), nil", nil, int64(41)},
		{"unmarked", "\tself.Set(\"n\", int64(2))\n\treturn nil, nil", guardian.ErrRejected, nil},
		{"inherited change", "\tm := self.Get(\"m\").(map[string]any)\n\tm[\"k\"] = 1\n\tself.MarkChanged()\n\treturn nil, nil", uvm.ErrCovenant, nil},
		{"loops", "\tfor {\n\t}", live.ErrBudget, nil},
		{"not valid Go", "\treturn undefinedThing, nil", guardian.ErrRejected, nil}, // the audit's type check
	} {
		t.Run(c.name, func(t *testing.T) {
			cand, runErr := r.Compile(ctx, methodSource("candidate", c.body), "candidate")
			var res any
			err := im.Update(ctx, func(tx *uvm.Tx) error {
				if runErr != nil {
					return discard // refused before it could run
				}
				o, err := tx.Object(oid)
				if err != nil {
					return err
				}
				res, runErr = cand.DryRun(ctx, tx, o)
				if runErr == nil {
					runErr = tx.CheckCovenant()
				}
				return discard
			})
			require.ErrorIs(t, err, discard)
			if c.want != nil {
				require.ErrorIs(t, runErr, c.want)
			} else {
				require.NoError(t, runErr)
				require.Equal(t, c.res, res)
			}
			fp2, _ := imageState(t, im)
			require.Equal(t, fp, fp2)
		})
	}
	require.Equal(t, 0, r.Stats().Compiled, "dry runs compile in a worker, whatever the policy")
}

func TestCompile(t *testing.T) {
	_, r := newImage(t, live.Options{Workers: 1})
	cand, err := r.Compile(ctx, counterSrc, "bump")
	require.NoError(t, err)
	require.Equal(t, "bump", cand.Selector())
	require.Equal(t, counterSrc, cand.Source())
	require.Contains(t, string(cand.Report().Source), "batos.Enter", "the report holds the instrumented source")
	require.True(t, cand.Report().Writes)

	bad := methodSource("bad", "\tx := 1\n\treturn y, nil")
	_, err = r.Compile(ctx, bad, "bad")
	require.ErrorIs(t, err, guardian.ErrRejected, "Go rejects it: the audit's type check refuses it")

	// An audit that lets through what Go rejects shows the interpreter's
	// own compile error, at its place in the submitted source.
	lax, err := live.New(live.UnauditedOptions(live.Options{Workers: 1}))
	require.NoError(t, err)
	t.Cleanup(func() { lax.Close() })
	_, err = lax.Compile(ctx, bad, "bad")
	var ce *live.CompileError
	require.ErrorAs(t, err, &ce)
	require.ErrorIs(t, err, live.ErrCompile)
	require.Greater(t, ce.Line, 0)
	require.Contains(t, ce.Error(), `"bad"`)
	require.NotContains(t, ce.Error(), "/work/", "no host paths")

	_, err = r.Compile(ctx, counterSrc, "missing")
	require.ErrorIs(t, err, guardian.ErrRejected)
	var rej *guardian.Rejection
	require.ErrorAs(t, err, &rej, "the guardian's own error type")

	_, err = r.Compile(ctx, methodSource("sneaky", "\tm := batos.Enter(self)\n\tm.Fuel = 1 << 40\n\tfor {\n\t}"), "sneaky")
	require.ErrorIs(t, err, live.ErrRefused, "methods may not reach their meter")

	// A bare function is wrapped and its imports added, by the audit; the
	// runtime's own check sees the host package's names in it too.
	cand, err = r.Compile(ctx, "func bare(self batos.Self, args []any) (any, error) {\n\treturn strings.ToUpper(\"x\"), nil\n}\n", "bare")
	require.NoError(t, err)
	require.Len(t, cand.Report().Repairs, 3, "package clause, batos, strings: %v", cand.Report().Repairs)
	_, err = r.Compile(ctx, "func bare(self batos.Self, args []any) (any, error) {\n\tbatos.Enter(self).Fuel = 1 << 40\n\treturn nil, nil\n}\n", "bare")
	require.ErrorIs(t, err, live.ErrRefused, "methods may not reach their meter, imported or not")

	_, err = r.Compile(ctx, counterSrc, "not a selector")
	require.ErrorIs(t, err, uvm.ErrBadName)
}

// One audit per candidate: its dry run, its install and the sends of the
// installed method find the audit the Runner keeps, by selector and source.
func TestCandidateIsAuditedOnce(t *testing.T) {
	var audits atomic.Int64
	opts := live.Options{Workers: 1}
	opts.Audit = func(src, selector string) (*guardian.Report, error) {
		audits.Add(1)
		return guardian.Audit([]byte(src), selector, guardian.Options{})
	}
	im, r := newImage(t, opts)
	cand, err := r.Compile(ctx, counterSrc, "bump")
	require.NoError(t, err)
	discard := errors.New("discard")
	require.ErrorIs(t, im.Update(ctx, func(tx *uvm.Tx) error {
		o, err := tx.New()
		if err != nil {
			return err
		}
		v, err := cand.DryRun(ctx, tx, o)
		require.NoError(t, err)
		require.Equal(t, int64(3), v)
		return discard
	}), discard)
	var oid uvm.OID
	require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
		o, err := tx.New()
		if err != nil {
			return err
		}
		oid = o.OID()
		m, err := cand.Install(ctx, tx, o, uvm.Method{Selector: "ignored", Source: "ignored", Persona: "BRICK"})
		require.NoError(t, err)
		require.Equal(t, "bump", m.Selector, "the candidate's selector, not meta's")
		require.Equal(t, counterSrc, m.Source)
		require.Equal(t, "BRICK", m.Persona)
		require.Equal(t, 1, m.Version)
		return nil
	}))
	for range 2 {
		_, err := im.Send(ctx, oid, "bump")
		require.NoError(t, err)
	}
	require.Equal(t, int64(1), audits.Load(), "audits")

	require.NoError(t, r.Close())
	_, err = r.Compile(ctx, counterSrc, "bump")
	require.ErrorIs(t, err, live.ErrClosed)
	require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
		o, err := tx.Object(oid)
		if err != nil {
			return err
		}
		_, err = cand.Install(ctx, tx, o, uvm.Method{})
		require.ErrorIs(t, err, live.ErrClosed)
		_, err = cand.DryRun(ctx, tx, o)
		require.ErrorIs(t, err, live.ErrClosed)
		return nil
	}))
}

func TestGenerations(t *testing.T) {
	im, r := newImage(t, live.Options{Policy: live.PolicyInProcess, GenerationMethods: 4})
	var oid uvm.OID
	require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
		o, err := tx.New()
		if err != nil {
			return err
		}
		oid = o.OID()
		for i := range 10 {
			sel := fmt.Sprintf("m%d", i)
			if _, err := r.Install(ctx, tx, o, uvm.Method{Selector: sel, Source: methodSource(sel, fmt.Sprintf("\treturn %d, nil", i))}); err != nil {
				return err
			}
		}
		return nil
	}))
	st := r.Stats()
	require.GreaterOrEqual(t, st.CurrentGeneration, 3, "10 methods at 4 per generation")
	require.LessOrEqual(t, st.Compiled, 4, "older generations were let go")
	for round := range 2 {
		for i := range 10 {
			v, err := im.Send(ctx, oid, fmt.Sprintf("m%d", i))
			require.NoError(t, err, "round %d", round)
			require.Equal(t, int64(i), v)
		}
	}
	require.LessOrEqual(t, r.Stats().Generations, 3)
}

// TestConcurrent runs sends, installs and compiles from several goroutines
// at once; run it with -race.
func TestConcurrent(t *testing.T) {
	for _, policy := range policies {
		t.Run(policy, func(t *testing.T) {
			im, r := newImage(t, live.Options{Policy: policy, GenerationMethods: 8, Workers: 2})
			const n = 4
			oids := make([]uvm.OID, n)
			require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
				for i := range oids {
					o, err := tx.New()
					if err != nil {
						return err
					}
					oids[i] = o.OID()
					if _, err := tx.InstallMethod(o, uvm.Method{Selector: "bump", Source: counterSrc}); err != nil {
						return err
					}
				}
				return nil
			}))
			var wg sync.WaitGroup
			errs := make(chan error, 2*n)
			for i := range n {
				wg.Add(2)
				go func() {
					defer wg.Done()
					for range 5 {
						if _, err := im.Send(ctx, oids[i], "bump"); err != nil {
							errs <- err
							return
						}
					}
				}()
				go func() {
					defer wg.Done()
					for k := range 3 {
						sel := fmt.Sprintf("c%d_%d", i, k)
						err := im.Update(ctx, func(tx *uvm.Tx) error {
							o, err := tx.Object(oids[i])
							if err != nil {
								return err
							}
							if _, err := r.Install(ctx, tx, o, uvm.Method{Selector: sel, Source: methodSource(sel, "\treturn self.Get(\"n\"), nil")}); err != nil {
								return err
							}
							_, err = tx.Send(ctx, o, sel)
							return err
						})
						if err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}
			for _, oid := range oids {
				v, err := im.Send(ctx, oid, "bump")
				require.NoError(t, err)
				require.Equal(t, int64(18), v)
			}
		})
	}
}

func TestCancel(t *testing.T) {
	for _, policy := range policies {
		t.Run(policy, func(t *testing.T) {
			t.Parallel()
			im, _ := newImage(t, live.Options{Policy: policy, Workers: 1})
			var oid uvm.OID
			require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
				o, err := tx.New()
				if err != nil {
					return err
				}
				oid = o.OID()
				if _, err := tx.InstallMethod(o, uvm.Method{Selector: "spin", Source: methodSource("spin", "\tfor {\n\t}")}); err != nil {
					return err
				}
				_, err = tx.InstallMethod(o, uvm.Method{Selector: "bump", Source: counterSrc})
				return err
			}))
			cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := im.Send(cctx, oid, "spin")
			require.Error(t, err)
			require.Less(t, time.Since(start), 3*time.Second)
			require.True(t, errors.Is(err, live.ErrBudget) || errors.Is(err, context.DeadlineExceeded), "got %v", err)
			v, err := im.Send(ctx, oid, "bump")
			require.NoError(t, err)
			require.Equal(t, int64(3), v)
		})
	}
}

func TestNoWorker(t *testing.T) {
	for _, c := range []struct {
		name string
		opts live.Options
	}{
		{"workers disabled", live.Options{Workers: -1}},
		{"binary without ServeIfWorker", live.Options{WorkerPath: "/bin/cat"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			im, _ := newImage(t, c.opts)
			var oid uvm.OID
			require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
				o, err := tx.New()
				if err != nil {
					return err
				}
				oid = o.OID()
				_, err = tx.InstallMethod(o, uvm.Method{Selector: "bump", Source: counterSrc})
				return err
			}))
			_, err := im.Send(ctx, oid, "bump")
			require.ErrorIs(t, err, live.ErrNoWorker)
		})
	}
}

// TestWarmWorkersStay: sequential isolated calls reuse the warm workers
// instead of starting a process per call (a returned worker used to be
// retired because a refill had already replaced it).
func TestWarmWorkersStay(t *testing.T) {
	im, r := newImage(t, live.Options{Policy: live.PolicyIsolated, Workers: 2})
	oid := installNew(t, im, r, uvm.Method{Selector: "bump", Source: counterSrc})
	for i := range 30 {
		_, err := r.Compile(ctx, methodSource(fmt.Sprintf("m%d", i), "\treturn 1, nil"), fmt.Sprintf("m%d", i))
		require.NoError(t, err)
		_, err = im.Send(ctx, oid, "bump")
		require.NoError(t, err)
		// Give a background refill time to happen, as a model call would.
		time.Sleep(5 * time.Millisecond)
		require.Eventually(t, func() bool { return r.Stats().IdleWorkers == 2 }, 5*time.Second, time.Millisecond)
	}
	st := r.Stats()
	require.LessOrEqual(t, st.WorkersStarted, int64(2), "60 sequential calls need no more than the two warm workers: %+v", st)
	require.Zero(t, st.WorkerFailures)
}

// An isolated method sees its object's data, own and inherited, whatever
// else the object holds: many methods, and a name that is data on a
// parent but a method on the receiver (the method wins, so Get sees
// nothing), and one that is a method on the parent but data on the
// receiver (the data wins).
func TestIsolatedSnapshotAmongManyMethods(t *testing.T) {
	im, r := newImage(t, live.Options{Policy: live.PolicyIsolated, Workers: 1})
	var oid uvm.OID
	require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
		parent, err := tx.New()
		if err != nil {
			return err
		}
		if err := parent.Set("inherited", "from the parent"); err != nil {
			return err
		}
		if err := parent.Set("shadowed", "parent data"); err != nil {
			return err
		}
		if _, err := tx.InstallMethod(parent, uvm.Method{Selector: "overridden", Source: methodSource("overridden", "\treturn nil, nil")}); err != nil {
			return err
		}
		o, err := tx.New()
		if err != nil {
			return err
		}
		oid = o.OID()
		if err := o.SetParents(parent); err != nil {
			return err
		}
		if err := o.Set("own", int64(7)); err != nil {
			return err
		}
		if err := o.Set("overridden", "own data"); err != nil {
			return err
		}
		for i := range 200 {
			if _, err := tx.InstallMethod(o, uvm.Method{Selector: fmt.Sprintf("m%d", i), Source: methodSource(fmt.Sprintf("m%d", i), "\treturn nil, nil")}); err != nil {
				return err
			}
		}
		if _, err := tx.InstallMethod(o, uvm.Method{Selector: "shadowed", Source: methodSource("shadowed", "\treturn nil, nil")}); err != nil {
			return err
		}
		_, err = r.Install(ctx, tx, o, uvm.Method{Selector: "look", Source: methodSource("look",
			"\treturn []any{self.Get(\"own\"), self.Get(\"inherited\"), self.Get(\"shadowed\"), self.Has(\"m5\"), self.Get(\"overridden\")}, nil")})
		return err
	}))
	v, err := im.Send(ctx, oid, "look")
	require.NoError(t, err)
	require.Equal(t, []any{int64(7), "from the parent", nil, false, "own data"}, v)
}

// Time the host spends inside Suspend on a method's behalf (a cognitive
// cycle waiting on a model) is not charged to the method's wall-clock
// budget, in this process or in a worker; other host time is.
func TestSuspendedTimeIsNotCharged(t *testing.T) {
	for _, policy := range policies {
		t.Run(policy, func(t *testing.T) {
			im, r := newImage(t, live.Options{Policy: policy, Workers: 1, Timeout: 300 * time.Millisecond})
			wait := func(suspend bool) uvm.PrimitiveFunc {
				return func(ctx context.Context, c *uvm.Call) (any, error) {
					if suspend {
						defer live.Suspend(ctx)()
					}
					time.Sleep(500 * time.Millisecond)
					return "waited", nil
				}
			}
			require.NoError(t, im.RegisterPrimitive("suspended", wait(true)))
			require.NoError(t, im.RegisterPrimitive("charged", wait(false)))
			var oid uvm.OID
			require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
				o, err := tx.New()
				if err != nil {
					return err
				}
				oid = o.OID()
				for _, sel := range []string{"suspended", "charged"} {
					if err := o.Set(sel, uvm.Primitive{Name: sel}); err != nil {
						return err
					}
				}
				body := "\tv, err := self.Send(args[0].(string))\n\tif err != nil {\n\t\treturn nil, err\n\t}\n\tn := 0\n\tfor i := 0; i < 1000; i++ {\n\t\tn += i\n\t}\n\treturn v, nil"
				_, err = r.Install(ctx, tx, o, uvm.Method{Selector: "ask", Source: methodSource("ask", body)})
				return err
			}))
			v, err := im.Send(ctx, oid, "ask", "suspended")
			require.NoError(t, err)
			require.Equal(t, "waited", v)
			_, err = im.Send(ctx, oid, "ask", "charged")
			require.Error(t, err, "host time outside Suspend still counts")
		})
	}
}
