package kernel

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A stream that falls behind is closed and counted, and the others go on;
// the ring keeps only the latest events, for resumption.
func TestHubDropsSlowStreamsAndKeepsTheLatest(t *testing.T) {
	dropped := 0
	h := newHub(3, 1, func() { dropped++ })
	slow, fast := &stream{}, &stream{}
	_, ok := h.subscribe(slow, 0, false)
	require.True(t, ok)
	_, ok = h.subscribe(fast, 0, false)
	require.True(t, ok)
	fast.ch = make(chan entry, 16) // a stream that keeps up

	for i := range 5 {
		h.publish(EventCycle, "c1", "state", map[string]int{"n": i})
	}
	assert.Equal(t, 1, dropped, "got %d dropped streams, want 1", dropped)
	assert.True(t, slow.lagged)
	<-slow.ch // the one event that fitted
	_, open := <-slow.ch
	assert.False(t, open, "a lagging stream is closed")
	assert.Len(t, fast.ch, 5)

	again := &stream{}
	backlog, ok := h.subscribe(again, 2, true)
	require.True(t, ok)
	require.Len(t, backlog, 3, "the ring keeps 3")
	assert.Equal(t, []uint64{3, 4, 5}, []uint64{backlog[0].id, backlog[1].id, backlog[2].id})

	h.close()
	_, ok = h.subscribe(&stream{}, 0, false)
	assert.False(t, ok, "a closed hub takes no streams")
	e := <-fast.ch
	for ; e.name != EventShutdown; e = <-fast.ch {
	}
	assert.Equal(t, uint64(6), e.id)
}
