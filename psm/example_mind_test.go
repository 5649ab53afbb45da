package psm_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
)

// say returns the source of a method named selector that answers text.
func say(selector, text string) string {
	return fmt.Sprintf(`package m
import "batos"
// %s answers %q.
func %s(self batos.Self, args []any) (any, error) {
	return %q, nil
}
`, selector, text, selector, text)
}

// openExample opens an in-memory mind whose model has nothing to say:
// every example below works without one.
func openExample(ctx context.Context, opts psm.Options) *psm.Mind {
	opts.InMemory = true
	if opts.Model == nil {
		opts.Model = persona.NewScripted(nil)
	}
	mind, err := psm.Open(ctx, "", opts)
	if err != nil {
		panic(err)
	}
	return mind
}

// New makes an object that delegates to traits, so it answers clone
// without a model; Clone copies one, methods included.
func ExampleMind_New() {
	ctx := context.Background()
	mind := openExample(ctx, psm.Options{})
	defer mind.Close()

	proto, _ := mind.New(ctx)
	if _, err := mind.Install(ctx, proto, "greet", say("greet", "hello")); err != nil {
		fmt.Println(err)
		return
	}
	child, _ := mind.New(ctx, proto) // delegates to proto
	copied, _ := mind.Clone(ctx, proto)
	for _, oid := range []uvm.OID{proto, child, copied} {
		answer, _ := mind.Send(ctx, oid, "greet")
		fmt.Println(answer)
	}
	ref, err := mind.Send(ctx, child, "clone") // traits' primitive
	fmt.Printf("%T %v\n", ref, err)
	traits, _ := mind.Root(ctx, psm.RootTraits)
	fmt.Println("traits is a root:", traits != 0)
	// Output:
	// hello
	// hello
	// hello
	// uvm.Ref <nil>
	// traits is a root: true
}

// An object with two parents that both answer a message cannot choose;
// SendVia names the one to ask.
func ExampleMind_SendVia() {
	ctx := context.Background()
	mind := openExample(ctx, psm.Options{})
	defer mind.Close()

	en, _ := mind.New(ctx)
	fr, _ := mind.New(ctx)
	_, _ = mind.Install(ctx, en, "greet", say("greet", "hello"))
	_, _ = mind.Install(ctx, fr, "greet", say("greet", "bonjour"))
	both, _ := mind.New(ctx, en, fr)

	_, err := mind.Send(ctx, both, "greet")
	var amb *uvm.AmbiguousError
	fmt.Println("ambiguous:", errors.As(err, &amb))
	answer, _ := mind.SendVia(ctx, both, fr, "greet")
	fmt.Println(answer)
	// Output:
	// ambiguous: true
	// bonjour
}

// Install validates a person's source as a cycle validates a model's
// (guardian audit, compile, dry run), and refuses what fails, naming
// the step; the history keeps who installed it and why.
func ExampleMind_Install() {
	ctx := context.Background()
	mind := openExample(ctx, psm.Options{})
	defer mind.Close()

	v, err := mind.Install(ctx, mind.Genesis(), "motto", say("motto", "waste not"), psm.By("ada"), psm.Because("the house motto"))
	fmt.Printf("v%d by %s (%s) %v\n", v.Version, v.Author, v.Why, err)
	answer, _ := mind.Send(ctx, mind.Genesis(), "motto")
	fmt.Println(answer)

	// This one writes a slot without self.MarkChanged(): the change would
	// be lost, and the guardian says so.
	_, err = mind.Install(ctx, mind.Genesis(), "forget", `package m

import "batos"

func forget(self batos.Self, args []any) (any, error) {
	return nil, self.Set("motto", "")
}
`)
	var ie *psm.InstallError
	fmt.Println(errors.As(err, &ie), ie.Stage, strings.Contains(err.Error(), "MarkChanged"))
	// Output:
	// v1 by ada (the house motto) <nil>
	// waste not
	// true audit true
}

// Every version is kept: History says who wrote each and why, Diff what
// changed, and Revert restores an old one as a new version.
func ExampleMind_History() {
	ctx := context.Background()
	mind := openExample(ctx, psm.Options{})
	defer mind.Close()
	g := mind.Genesis()

	_, _ = mind.Install(ctx, g, "motto", say("motto", "waste not"), psm.By("ada"))
	_, _ = mind.Install(ctx, g, "motto", say("motto", "want not"), psm.By("grace"), psm.Because("a better motto"))
	diff, _ := mind.Diff(ctx, g, "motto", 1, 2)
	fmt.Print(diff)

	_, _ = mind.Revert(ctx, g, "motto", 1, psm.By("ada"), psm.Because("we liked it better"))
	history, _ := mind.History(ctx, g, "motto")
	for _, v := range history {
		fmt.Printf("v%d by %s: %s (restores %d, current %v)\n", v.Version, v.Author, v.Why, v.Restores, v.Current)
	}
	answer, _ := mind.Send(ctx, g, "motto")
	fmt.Println(answer)
	// Output:
	// --- motto v1 (object 3)
	// +++ motto v2 (object 3)
	// @@ -1,6 +1,6 @@
	//  package m
	//  import "batos"
	// -// motto answers "waste not".
	// +// motto answers "want not".
	//  func motto(self batos.Self, args []any) (any, error) {
	// -	return "waste not", nil
	// +	return "want not", nil
	//  }
	// v1 by ada: installed by ada (restores 0, current false)
	// v2 by grace: a better motto (restores 0, current false)
	// v3 by ada: we liked it better (restores 1, current true)
	// waste not
}

// Export writes a prototype's methods as Go files to read, review and
// edit; Import takes them back through validation. Unchanged files
// install nothing.
func ExampleMind_Export() {
	ctx := context.Background()
	mind := openExample(ctx, psm.Options{})
	defer mind.Close()
	dir, _ := os.MkdirTemp("", "batos-export-*")
	defer os.RemoveAll(dir)

	_, _ = mind.Install(ctx, mind.Genesis(), "motto", say("motto", "waste not"), psm.By("ada"))
	paths, _ := mind.Export(ctx, mind.Genesis(), dir)
	b, _ := os.ReadFile(paths[0])
	for _, line := range strings.Split(string(b), "\n")[:6] {
		fmt.Println(line)
	}

	same, _ := mind.Import(ctx, mind.Genesis(), dir)
	fmt.Println("unchanged, installed:", len(same))
	edited := strings.ReplaceAll(string(b), `"waste not"`, `"want not"`)
	_ = os.WriteFile(filepath.Join(dir, "motto.go"), []byte(edited), 0o644)
	vs, err := mind.Import(ctx, mind.Genesis(), dir, psm.By("grace"))
	fmt.Println("edited, installed:", len(vs), err)
	answer, _ := mind.Send(ctx, mind.Genesis(), "motto")
	fmt.Println(answer)
	// Output:
	// // batos method export. Edit it, and import it back with psm.Mind.Import.
	// //
	// //	selector: motto
	// //	object:   3 (genesis)
	// //	version:  1 of 1
	// //	author:   ada
	// unchanged, installed: 0
	// edited, installed: 1 <nil>
	// want not
}

// Under GenerateApprove a cycle writes and validates the method, then
// waits for a person: the send fails with the cycle's id, and Approve
// (Reject, Edit) decides, also after a restart.
func ExampleMind_Approve() {
	ctx := context.Background()
	model := persona.NewScripted([]persona.Reply{
		{Persona: "BRICK", Text: `{"queries": ["a motto"]}`},
		{Persona: "ALFRED", Text: "```go\n" + say("motto", "waste not") + "```"},
	})
	mind := openExample(ctx, psm.Options{Model: model, Policy: psm.Policy{Generation: psm.GenerateApprove}})
	defer mind.Close()

	_, err := mind.Send(ctx, mind.Genesis(), "motto")
	var wait *psm.ApprovalError
	fmt.Println("awaits approval:", errors.As(err, &wait))

	pending, _ := mind.Pending(ctx)
	a := pending[0]
	fmt.Printf("%s on object %d, by %s; the dry run answered %s\n", a.Selector, a.Object, a.Persona, a.Answer)
	v, err := mind.Approve(ctx, wait.CycleID, psm.By("ada"))
	fmt.Printf("v%d approved by %s %v\n", v.Version, v.ApprovedBy, err)
	answer, _ := mind.Send(ctx, mind.Genesis(), "motto")
	fmt.Println(answer)
	// Output:
	// awaits approval: true
	// motto on object 3, by ALFRED; the dry run answered "waste not"
	// v1 approved by ada <nil>
	// waste not
}
