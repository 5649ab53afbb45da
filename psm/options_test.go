package psm_test

import (
	"testing"

	"github.com/batos-dev/batos/memory"
	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/live"
	"github.com/stretchr/testify/require"
)

// Memory.Codex is the codex the awakening ingests, under
// Memory.CodexSource: the image's knowledge is that codex, not the
// default one.
func TestAwakeningIngestsMemoryCodex(t *testing.T) {
	codex := `{"prompt": "What does the lighthouse keeper do?", "response": "The lighthouse keeper trims the wick at dusk.", "persona": "ROBIN"}` + "\n"
	m, err := psm.Open(ctx, "", psm.Options{InMemory: true, Model: persona.NewScripted(nil),
		Memory: memory.Options{Codex: []byte(codex), CodexSource: "lighthouse"}})
	require.NoError(t, err)
	defer m.Close()
	var oid uvm.OID
	require.NoError(t, m.Image().View(ctx, func(tx *uvm.Tx) error {
		k, err := tx.Root(psm.RootKnowledge)
		if err != nil {
			return err
		}
		oid = k.OID()
		return nil
	}))
	v, err := m.Send(ctx, oid, "search", "who trims the wick of the lighthouse", 5)
	require.NoError(t, err)
	hits, ok := v.([]any)
	require.True(t, ok, "got %T", v)
	require.Len(t, hits, 1, "the image holds the given codex only: %v", hits)
	hit := hits[0].(map[string]any)
	require.Contains(t, hit["text"], "trims the wick")
	require.Equal(t, "lighthouse", hit["source"])
}

// Live.Policy is the image's execution policy: the awakening records it,
// and a later Open with other options keeps it.
func TestAwakeningRecordsLivePolicy(t *testing.T) {
	dir := t.TempDir()
	policyOf := func(m *psm.Mind) (recorded string, slot any) {
		require.NoError(t, m.Image().View(ctx, func(tx *uvm.Tx) error {
			var err error
			if recorded, err = live.ImagePolicy(tx); err != nil {
				return err
			}
			orch, err := tx.Root(psm.RootOrchestrator)
			if err != nil {
				return err
			}
			slot, _ = orch.Get("policy")
			return nil
		}))
		return recorded, slot
	}
	m, err := psm.Open(ctx, dir, psm.Options{NoSync: true, Model: persona.NewScripted(nil), Live: live.Options{Policy: psm.PolicyInProcess}})
	require.NoError(t, err)
	recorded, slot := policyOf(m)
	require.Equal(t, psm.PolicyInProcess, recorded)
	require.Equal(t, psm.PolicyInProcess, slot)
	require.NoError(t, m.Close())

	m, err = psm.Open(ctx, dir, psm.Options{NoSync: true, Model: persona.NewScripted(nil)})
	require.NoError(t, err)
	defer m.Close()
	recorded, _ = policyOf(m)
	require.Equal(t, psm.PolicyInProcess, recorded, "the image keeps the policy it was awakened with")

	fresh, err := psm.Open(ctx, "", psm.Options{InMemory: true, Model: persona.NewScripted(nil)})
	require.NoError(t, err)
	defer fresh.Close()
	recorded, slot = policyOf(fresh)
	require.Equal(t, psm.PolicyIsolated, recorded, "the zero Live.Policy is live's default")
	require.Equal(t, psm.PolicyIsolated, slot)
}
