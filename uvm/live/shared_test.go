package live_test

import (
	"errors"
	"testing"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/live"
	"github.com/batos-dev/batos/uvm/store/pgstore/pgtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestImagePolicyShared: two kernels (two images and two Runners) on one
// PostgreSQL database. A policy one of them records in the image applies
// to the other's next send, also after the other has run (and, on a
// Badger image, would have cached) the policy before it.
func TestImagePolicyShared(t *testing.T) {
	c, err := pgtest.Start()
	if errors.Is(err, pgtest.ErrNoServer) {
		t.Skip(pgtest.Hint)
	}
	require.NoError(t, err)
	t.Cleanup(func() { c.Stop() }) // after the images close
	url := c.NewDatabase(t)
	kernel := func() (*uvm.Image, *live.Runner) {
		r, err := live.New(live.Options{Workers: 1})
		require.NoError(t, err)
		t.Cleanup(func() { r.Close() })
		im, err := uvm.Open(url, uvm.Options{Runner: r})
		require.NoError(t, err)
		t.Cleanup(func() { assert.NoError(t, im.Close()) })
		require.True(t, im.Shared())
		return im, r
	}
	imA, rA := kernel()
	imB, rB := kernel()

	oid := installNew(t, imA, rA, uvm.Method{Selector: "probe", Source: methodSource("probe", "\treturn \"probe\", nil")})
	require.NoError(t, imA.Update(ctx, func(tx *uvm.Tx) error {
		o, err := tx.Object(oid)
		if err != nil {
			return err
		}
		_, err = rA.Install(ctx, tx, o, uvm.Method{Selector: "other", Source: methodSource("other", "\treturn \"other\", nil")})
		return err
	}))
	send := func(sel string) {
		t.Helper()
		v, err := imB.Send(ctx, oid, sel)
		require.NoError(t, err)
		require.Equal(t, sel, v)
	}
	compiled := func() int { return rB.Stats().Compiled } // only in-process runs compile in the host

	send("probe")
	require.Equal(t, 0, compiled(), "no image policy: B runs isolated (its default)")

	require.NoError(t, imA.Update(ctx, func(tx *uvm.Tx) error { return rA.SetImagePolicy(tx, live.PolicyInProcess) }))
	send("probe")
	require.Equal(t, 1, compiled(), "A set the image's policy to in-process: B's next send obeys it")

	require.NoError(t, imA.Update(ctx, func(tx *uvm.Tx) error { return rA.SetImagePolicy(tx, live.PolicyIsolated) }))
	send("other")
	assert.Equal(t, 1, compiled(), "A set it back to isolated: B's next send runs in a worker")
	require.NoError(t, imB.View(ctx, func(tx *uvm.Tx) error {
		p, err := live.ImagePolicy(tx)
		assert.Equal(t, live.PolicyIsolated, p)
		return err
	}))
}
