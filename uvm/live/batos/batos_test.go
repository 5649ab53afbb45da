package batos_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/live/batos"
)

func TestText(t *testing.T) {
	for in, want := range map[string]string{
		`uvm: object 1 does not understand "x"`:                          `object 1 does not understand "x"`,
		`live: method "x" v1: uvm: slot not found: object 2`:             `method "x" v1: slot not found: object 2`,
		"cannot use type uint64 as type uvm.OID in struct literal":       "cannot use type uint64 as type batos.OID in struct literal",
		"want live.Self, got *github.com/batos-dev/batos/uvm/live.Meter": "want batos.Self, got *batos.Meter",
		"a line\nuvm: another":                                           "a line\nanother",
		"the liveliest uvm: words":                                       "the liveliest uvm: words",
	} {
		require.Equal(t, want, batos.Text(in), "%q", in)
	}
	require.Equal(t, "keeps uvm: prefixes: batos.Ref", batos.Names("keeps uvm: prefixes: uvm.Ref"))
}

func TestError(t *testing.T) {
	require.NoError(t, batos.Wrap(nil))
	inner := fmt.Errorf("uvm: wrapped: %w", uvm.ErrNotUnderstood)
	err := batos.Wrap(inner)
	require.ErrorIs(t, err, uvm.ErrNotUnderstood, "the host still recognises its sentinels")
	require.Nil(t, errors.Unwrap(err), "the method cannot reach the host's error")
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		require.NotContains(t, fmt.Sprintf(verb, err), "uvm", verb)
	}
	require.Equal(t, "batos.Error", fmt.Sprintf("%T", err))
	require.Equal(t, err, batos.Wrap(err), "wrapped once")
	require.Equal(t, inner, batos.Unwrapped(err.(batos.Error)))
}

func TestSelfPrints(t *testing.T) {
	var s batos.Self // the zero Self stands for no object
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d"} {
		require.Equal(t, "batos.Self(object 0)", fmt.Sprintf(verb, s), verb)
	}
	require.Equal(t, "batos.Self", fmt.Sprintf("%T", s))
	require.Error(t, s.Set("a", 1))
	require.Nil(t, s.Get("a"))
}

func TestClip(t *testing.T) {
	s := strings.Repeat("é", 3000) + "the root cause"
	got := batos.Clip(s, 1000)
	require.Less(t, len(got), 1100)
	require.True(t, strings.HasSuffix(got, "the root cause"), "the end survives")
	require.True(t, strings.HasPrefix(got, "é"))
	require.Contains(t, got, "bytes elided")
	require.Equal(t, "short", batos.Clip("short", 10))
	require.True(t, strings.ToValidUTF8(got, "?") == got, "cut on rune boundaries")
}
