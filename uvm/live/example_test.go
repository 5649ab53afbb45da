package live_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/batos-dev/batos/guardian"
	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/live"
)

const greetSrc = `package greeting

import (
	"strings"

	"batos"
)

// greet answers by name and counts the greetings.
func greet(self batos.Self, args []any) (any, error) {
	defer self.MarkChanged()
	n, _ := self.Get("greeted").(int64)
	if err := self.Set("greeted", n+1); err != nil {
		return nil, err
	}
	name, _ := self.Get("name").(string)
	return "Hello, " + strings.TrimSpace(name), nil
}
`

// A runner is the image's uvm.MethodRunner. The method runs in an isolated
// worker, the default; the test binary serves as one because its TestMain
// calls live.ServeIfWorker.
func Example() {
	ctx := context.Background()
	r, err := live.New(live.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	im, err := uvm.Open("", uvm.Options{InMemory: true, Runner: r})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer im.Close()

	var oid uvm.OID
	err = im.Update(ctx, func(tx *uvm.Tx) error {
		o, err := tx.New()
		if err != nil {
			return err
		}
		oid = o.OID()
		if err := o.Set("name", " Architect "); err != nil {
			return err
		}
		m, err := r.Install(ctx, tx, o, uvm.Method{Selector: "greet", Source: greetSrc})
		fmt.Println("installed", m.Selector, "version", m.Version)
		return err
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for range 2 {
		answer, err := im.Send(ctx, oid, "greet")
		fmt.Println(answer, err)
	}
	// Output:
	// installed greet version 1
	// Hello, Architect <nil>
	// Hello, Architect <nil>
}

// Compile audits and compiles a candidate; a dry run tries it in a worker
// inside a transaction that the caller then discards. An exhausted budget
// is a typed error naming the method.
func ExampleCandidate_DryRun() {
	ctx := context.Background()
	r, _ := live.New(live.Options{Fuel: 100_000})
	defer r.Close()
	im, _ := uvm.Open("", uvm.Options{InMemory: true, Runner: r})
	defer im.Close()

	candidate, err := r.Compile(ctx, `package spin

import "batos"

func spin(self batos.Self, args []any) (any, error) {
	n := 0
	for {
		n++
	}
}
`, "spin")
	if err != nil {
		fmt.Println(err)
		return
	}
	discard := errors.New("dry run")
	err = im.Update(ctx, func(tx *uvm.Tx) error {
		o, err := tx.New()
		if err != nil {
			return err
		}
		_, err = candidate.DryRun(ctx, tx, o)
		fmt.Println(err)
		fmt.Println(errors.Is(err, live.ErrBudget))
		return discard
	})
	fmt.Println(errors.Is(err, discard))
	// Output:
	// live: method "spin" (candidate) exhausted its fuel budget (limit 100000 steps)
	// true
	// true
}

// A candidate that passed its dry run installs with the metadata the
// caller gives, without being audited or compiled again.
func ExampleCandidate_Install() {
	ctx := context.Background()
	r, _ := live.New(live.Options{})
	defer r.Close()
	im, _ := uvm.Open("", uvm.Options{InMemory: true, Runner: r})
	defer im.Close()

	candidate, err := r.Compile(ctx, greetSrc, "greet")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("writes state:", candidate.Report().Writes)
	var oid uvm.OID
	err = im.Update(ctx, func(tx *uvm.Tx) error {
		o, err := tx.New()
		if err != nil {
			return err
		}
		oid = o.OID()
		if err := o.Set("name", "Architect"); err != nil {
			return err
		}
		m, err := candidate.Install(ctx, tx, o, uvm.Method{Persona: "ALFRED", Intent: "greets"})
		fmt.Println("installed", m.Selector, "version", m.Version, "by", m.Persona)
		return err
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(im.Send(ctx, oid, "greet"))
	// Output:
	// writes state: true
	// installed greet version 1 by ALFRED
	// Hello, Architect <nil>
}

// Compile refuses source that is not valid Go with the audit's findings,
// each with its position in the submitted source and the Go compiler's
// words (a *CompileError is the interpreter's own refusal).
func ExampleRunner_Compile() {
	r, _ := live.New(live.Options{})
	defer r.Close()
	_, err := r.Compile(context.Background(), `package broken

import "batos"

func broken(self batos.Self, args []any) (any, error) {
	return undefinedName, nil
}
`, "broken")
	var rej *guardian.Rejection
	if errors.As(err, &rej) {
		fmt.Println(rej.Findings[0])
	}
	// Output:
	// 6:9: types.check: undefined: undefinedName
}

// The image records which policy its methods run under when their own
// Policy is empty.
func ExampleRunner_SetImagePolicy() {
	ctx := context.Background()
	r, _ := live.New(live.Options{})
	defer r.Close()
	im, _ := uvm.Open("", uvm.Options{InMemory: true, Runner: r})
	defer im.Close()
	_ = im.Update(ctx, func(tx *uvm.Tx) error { return r.SetImagePolicy(tx, live.PolicyInProcess) })
	_ = im.View(ctx, func(tx *uvm.Tx) error {
		p, err := live.ImagePolicy(tx)
		fmt.Println(p, err)
		return nil
	})
	// Output:
	// inprocess <nil>
}
