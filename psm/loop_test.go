package psm_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
	"github.com/stretchr/testify/require"
	"github.com/tmc/langchaingo/llms"
)

// slowFailModel answers every call with an error after delay.
type slowFailModel struct {
	delay time.Duration
	calls atomic.Int64
}

func (s *slowFailModel) GenerateContent(ctx context.Context, _ []llms.MessageContent, _ ...llms.CallOption) (*llms.ContentResponse, error) {
	s.calls.Add(1)
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return nil, errors.New("model unavailable")
}

func (s *slowFailModel) Call(ctx context.Context, prompt string, options ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, s, prompt, options...)
}

const loopSrc = `package m

import (
	"strconv"

	"batos"
)

// loop sends unknown selectors, ignoring failures.
func loop(self batos.Self, args []any) (any, error) {
	n := int64(0)
	for i := 0; i < 20; i++ {
		if _, err := self.Send("u" + strconv.Itoa(i)); err != nil {
			n++
		}
	}
	return n, nil
}`

// Cycle time is not charged to the method whose send started it, so
// something else must bound a method that loops over unknown messages,
// ignoring each failure: one failed cycle per transaction attempt.
func TestLoopOfFailingCyclesIsBounded(t *testing.T) {
	for _, policy := range []string{psm.PolicyIsolated, psm.PolicyInProcess} {
		t.Run(policy, func(t *testing.T) {
			model := &slowFailModel{delay: 200 * time.Millisecond}
			m := memMind(t, model, func(o *psm.Options) {
				o.MaxAttempts = 1
				o.Live.Timeout = 500 * time.Millisecond
			})
			require.NoError(t, m.Image().Update(ctx, func(tx *uvm.Tx) error {
				g, err := tx.Object(m.Genesis())
				if err != nil {
					return err
				}
				_, err = tx.InstallMethod(g, uvm.Method{Selector: "loop", Source: loopSrc, Policy: policy})
				return err
			}))
			start := time.Now()
			v, err := m.Send(context.Background(), m.Genesis(), "loop")
			took := time.Since(start)
			t.Logf("answer %v err %v after %v, %d model calls", v, err, took, model.calls.Load())
			require.NoError(t, err)
			require.Equal(t, int64(20), v, "every send failed")
			require.Equal(t, int64(1), model.calls.Load(), "one cycle asked the model; the other 19 sends failed at once")
			require.Less(t, took, 2*time.Second)
		})
	}
}
