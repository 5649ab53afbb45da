package psm_test

import (
	"strings"
	"testing"

	"github.com/batos-dev/batos/guardian"
	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/live"
	"github.com/stretchr/testify/require"
)

// greetNamed greets whoever its first argument names.
const greetNamed = `package m

import "batos"

// greet greets whoever is named.
func greet(self batos.Self, args []any) (any, error) {
	name, _ := args[0].(string)
	return "hello, " + name, nil
}`

// A person's source is installed through the cycle's validation, with
// no model, and its history says who installed it and why.
func TestMindInstall(t *testing.T) {
	model := persona.NewScripted(nil)
	m := memMind(t, model, nil)
	oid, err := m.New(ctx)
	require.NoError(t, err)

	v, err := m.Install(ctx, oid, "greet", greetSrc, psm.By("ada"), psm.Because("a greeting for the demo"))
	require.NoError(t, err)
	require.Equal(t, psm.Version{
		Object: oid, Selector: "greet", Version: 1, Source: greetSrc, Current: true,
		Author: "ada", Why: "a greeting for the demo", Created: v.Created,
	}, v)
	got, err := m.Send(ctx, oid, "greet")
	require.NoError(t, err)
	require.Equal(t, "hello, architect", got)

	// The dry run tries the arguments given.
	v, err = m.Install(ctx, oid, "greet", greetNamed, psm.WithArgs("Ada"))
	require.NoError(t, err)
	require.Equal(t, 2, v.Version)
	require.Equal(t, "host", v.Author, "the default installer")
	require.Equal(t, []any{"Ada"}, v.Args)
	got, err = m.Send(ctx, oid, "greet", "Grace")
	require.NoError(t, err)
	require.Equal(t, "hello, Grace", got)

	require.Empty(t, model.Calls(), "no model was asked")
	recs, err := m.Cycles(ctx)
	require.NoError(t, err)
	require.Empty(t, recs, "no cycle ran")
}

// Source that fails any step of the validation is refused with an
// *InstallError naming the object, selector and step, and the image is
// as it was.
func TestMindInstallRefuses(t *testing.T) {
	model := persona.NewScripted(nil)
	m := memMind(t, model, nil)
	oid, err := m.New(ctx)
	require.NoError(t, err)

	for _, tc := range []struct {
		name, src, stage string
		args             []any
		is               error
		says             string
	}{
		{name: "audit", stage: "audit", is: guardian.ErrRejected, says: `"os"`,
			src: "package m\n\nimport (\n\t\"batos\"\n\t\"os\"\n)\n\nfunc tick(self batos.Self, args []any) (any, error) {\n\treturn os.Getpid(), nil\n}"},
		{name: "covenant", stage: "audit", is: guardian.ErrRejected, says: "MarkChanged", src: tickUnmarked},
		{name: "type error", stage: "audit", is: guardian.ErrRejected, says: "undefined: nowhere",
			src: "package m\n\nimport \"batos\"\n\nfunc tick(self batos.Self, args []any) (any, error) {\n\treturn nowhere, nil\n}"},
		{name: "an error", stage: "dry run", says: "no ticks today",
			src: "package m\n\nimport (\n\t\"batos\"\n\t\"errors\"\n)\n\nfunc tick(self batos.Self, args []any) (any, error) {\n\treturn nil, errors.New(\"no ticks today\")\n}"},
		{name: "arguments", stage: "dry run", says: "index out of range", src: strings.ReplaceAll(greetNamed, "greet", "tick")},
		{name: "a message nothing answers", stage: "dry run", is: uvm.ErrNotUnderstood, says: "starts no cycle",
			src: "package m\n\nimport \"batos\"\n\nfunc tick(self batos.Self, args []any) (any, error) {\n\treturn self.Send(\"frobnicate_everything\")\n}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, err := m.Fingerprint(ctx)
			require.NoError(t, err)
			_, err = m.Install(ctx, oid, "tick", tc.src, psm.WithArgs(tc.args...))
			var ie *psm.InstallError
			require.ErrorAs(t, err, &ie)
			require.ErrorIs(t, err, psm.ErrInvalidSource)
			if tc.is != nil {
				require.ErrorIs(t, err, tc.is)
			}
			require.Equal(t, tc.stage, ie.Stage)
			require.Equal(t, oid, ie.Object)
			require.Equal(t, "tick", ie.Selector)
			require.Contains(t, err.Error(), tc.says)
			after, err := m.Fingerprint(ctx)
			require.NoError(t, err)
			require.Equal(t, before, after, "the image changed")
			require.Empty(t, versionsOn(t, m, oid, "tick"))
		})
	}
	_, err = m.Install(ctx, oid, "not a selector", greetSrc)
	require.ErrorIs(t, err, psm.ErrInvalidSource)
	require.Empty(t, model.Calls(), "no model was asked")
}

// A recursive method's dry run reaches the candidate itself, not an
// older version.
func TestMindInstallRecursive(t *testing.T) {
	m := memMind(t, persona.NewScripted(nil), nil)
	const countdown = `package m

import "batos"

// countdown counts down to zero by sending itself.
func countdown(self batos.Self, args []any) (any, error) {
	n, _ := args[0].(int64)
	if n <= 0 {
		return "liftoff", nil
	}
	return self.Send("countdown", n-1)
}`
	v, err := m.Install(ctx, m.Genesis(), "countdown", countdown, psm.WithArgs(3))
	require.NoError(t, err)
	require.Equal(t, 1, v.Version)
	got, err := m.Send(ctx, m.Genesis(), "countdown", 5)
	require.NoError(t, err)
	require.Equal(t, "liftoff", got)
}

// Install is refused while the mind is closed.
func TestMindInstallAfterClose(t *testing.T) {
	m, err := psm.Open(ctx, "", psm.Options{InMemory: true, Model: persona.NewScripted(nil), Live: live.Options{Policy: psm.PolicyInProcess}})
	require.NoError(t, err)
	require.NoError(t, m.Close())
	_, err = m.Install(ctx, m.Genesis(), "greet", greetSrc)
	require.ErrorIs(t, err, psm.ErrClosed)
}
