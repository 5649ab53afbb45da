package psm_test

import (
	"context"
	"testing"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/psm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOpenOnPostgres: psm.Open takes a postgres:// location; two minds on
// one database (two kernels) share the image: a method installed by one
// answers in the other at its next send.
func TestOpenOnPostgres(t *testing.T) {
	url := kernelCluster(t)
	ctx := context.Background()
	open := func() *psm.Mind {
		m, err := psm.Open(ctx, url, psm.Options{Model: persona.NewScripted(nil)})
		require.NoError(t, err)
		t.Cleanup(func() { assert.NoError(t, m.Close()) })
		return m
	}
	a := open()
	b := open() // resumes the image a awakened
	proto, err := a.New(ctx)
	require.NoError(t, err)
	_, err = a.Install(ctx, proto, "greet", say("greet", "hello"))
	require.NoError(t, err)
	answer, err := b.Send(ctx, proto, "greet")
	require.NoError(t, err)
	assert.Equal(t, "hello", answer, "installed in one kernel, answered in the other")
}
