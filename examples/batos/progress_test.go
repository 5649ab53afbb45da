package main

import (
	"testing"
	"time"

	"github.com/batos-dev/batos/psm"
	"github.com/stretchr/testify/assert"
)

// On a terminal, a cycle waiting for its model shows a spinner with the
// time waited, erased before the next line and at the end.
func TestProgressSpinner(t *testing.T) {
	var out syncBuffer
	p := newProgress(&out, true, false, "offline script", 5*time.Millisecond)
	now := time.Now()
	p.event(psm.Event{Cycle: "c1", Kind: psm.EventState, State: psm.Idle, Time: now, Text: `mission: "add" for object 3`})
	p.event(psm.Event{Cycle: "c1", Kind: psm.EventPrompt, State: psm.Decomposing, Persona: "BRICK", Time: now, Text: "plan this"})
	time.Sleep(40 * time.Millisecond)
	p.event(psm.Event{Cycle: "c1", Kind: psm.EventReply, State: psm.Decomposing, Persona: "BRICK", Time: now.Add(40 * time.Millisecond), Text: "{}"})
	p.close()
	got := out.String()
	assert.Contains(t, got, "model: offline script")
	assert.Contains(t, got, "cycle c1, mission")
	assert.Contains(t, got, "DECOMPOSING: waiting for BRICK", "the spinner says what it waits for")
	assert.Contains(t, got, "\r\033[K", "the spinner is erased")
	assert.Contains(t, got, "BRICK answered (2 bytes, 40ms)")
	assert.Equal(t, []string{"c1"}, p.seen())
}

// Off a terminal (a pipe, a file), there is no spinner: lines only.
func TestProgressPlain(t *testing.T) {
	var out syncBuffer
	p := newProgress(&out, false, false, "", 5*time.Millisecond)
	p.event(psm.Event{Cycle: "c1", Kind: psm.EventPrompt, State: psm.Synthesizing, Persona: "ALFRED", Time: time.Now()})
	time.Sleep(20 * time.Millisecond)
	p.event(psm.Event{Cycle: "c1", Kind: psm.EventOutcome, State: psm.Failed, Error: "no\nmore"})
	p.close()
	got := out.String()
	assert.NotContains(t, got, "\r")
	assert.Contains(t, got, "asks ALFRED")
	assert.Contains(t, got, "FAILED: no …")
	quiet := newProgress(&out, true, true, "", time.Millisecond)
	quiet.event(psm.Event{Cycle: "c2", Kind: psm.EventState, State: psm.Idle})
	quiet.close()
	assert.Equal(t, got, out.String(), "quiet shows nothing")
	assert.Equal(t, []string{"c2"}, quiet.seen(), "but counts the cycles")
}
