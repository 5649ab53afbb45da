package psm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
	"github.com/stretchr/testify/require"
)

// A process that dies during a cycle (here: the image as a crash would
// leave it, taken by a backup while the model is thinking) leaves the
// cycle's record open in the state it died in. The next Open closes it as
// FAILED, naming that state, and leaves closed records alone.
func TestAbandonedCyclesAreClosedAtOpen(t *testing.T) {
	script := persona.NewScripted([]persona.Reply{
		plan("greeting"),
		{Persona: "ALFRED", Text: code(greetSrc), Delay: time.Minute}, // the model thinks until the process dies
	})
	m, _ := openMind(t, t.TempDir(), script, nil)
	sendCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := sendAsync(sendCtx, m, "greet")

	// Wait until the record in the image says SYNTHESIZING, then take the
	// image as a crash would leave it.
	var id string
	deadline := time.Now().Add(10 * time.Second)
	for {
		recs, err := m.Cycles(ctx)
		require.NoError(t, err)
		if len(recs) == 1 && recs[0].State == psm.Synthesizing {
			id = recs[0].ID
			break
		}
		require.True(t, time.Now().Before(deadline), "the record never said SYNTHESIZING: %+v", recs)
		time.Sleep(20 * time.Millisecond)
	}
	var crash bytes.Buffer
	require.NoError(t, m.Image().Backup(ctx, &crash))
	cancel()
	await(t, 10*time.Second, "the cancelled send", done)
	closeWithin(t, m, 10*time.Second)

	dir := t.TempDir()
	im, err := uvm.Open(dir, uvm.Options{NoSync: true})
	require.NoError(t, err)
	require.NoError(t, im.Restore(ctx, &crash))
	require.NoError(t, im.Close())
	rec := recordIn(t, dir, id)
	require.Empty(t, rec.Outcome, "the crash left the record open")

	// The next process opens the image.
	m2, _ := openMind(t, dir, persona.NewScripted(nil), nil)
	rec, err = m2.Cycle(ctx, id)
	require.NoError(t, err)
	requireFailedRecord(t, rec, psm.Synthesizing)
	require.Equal(t, "abandoned: the process ended during SYNTHESIZING", rec.Error)
	closeWithin(t, m2, 10*time.Second)

	// Closed records stay as they are.
	before := recordIn(t, dir, id)
	m3, _ := openMind(t, dir, persona.NewScripted(nil), nil)
	closeWithin(t, m3, 10*time.Second)
	require.Equal(t, before, recordIn(t, dir, id))
}

// recordIn reads a cycle record from the image in dir, as it is on disk.
func recordIn(t *testing.T, dir, id string) psm.Record {
	t.Helper()
	im, err := uvm.Open(dir, uvm.Options{NoSync: true})
	require.NoError(t, err)
	defer im.Close()
	var rec psm.Record
	require.NoError(t, im.View(ctx, func(tx *uvm.Tx) error {
		b, err := tx.GetRecord("psm.cycles", id)
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &rec)
	}))
	return rec
}
