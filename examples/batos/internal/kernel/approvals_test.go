package kernel_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/batos-dev/batos/examples/batos/internal/kernel"
	"github.com/batos-dev/batos/psm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// subtract is a second version of add for the revert test: valid, and
// answering something else.
const subtract = `package arith

import (
	"errors"

	"batos"
)

func add(self batos.Self, args []any) (any, error) {
	if len(args) != 2 {
		return nil, errors.New("add wants two integers")
	}
	a, ok1 := args[0].(int64)
	b, ok2 := args[1].(int64)
	if !ok1 || !ok2 {
		return nil, errors.New("add wants two integers")
	}
	return a - b, nil
}
`

// parked is a kernel whose image generates under the approve policy, with
// one send of add on genesis parked: it returns the cycle's id.
func parked(t *testing.T) (*fixture, string) {
	t.Helper()
	f := newFixture(t, kernel.Options{}, "add.jsonl")
	ctx := context.Background()
	traits, err := f.mind.Root(ctx, psm.RootTraits)
	require.NoError(t, err)
	require.NoError(t, f.mind.SetPolicy(ctx, traits, psm.Policy{Generation: psm.GenerateApprove}))
	a := f.send(t, "genesis", "add", 2, 40)
	require.Equal(t, http.StatusConflict, a.status, "%s", a.raw)
	assert.Equal(t, kernel.KindAwaitingApproval, a.body["kind"])
	assert.Equal(t, "add", a.body["selector"])
	assert.Equal(t, float64(f.mind.Genesis()), a.body["object"])
	assert.Contains(t, a.body["error"], "awaits approval")
	id, _ := a.body["cycle"].(string)
	require.NotEmpty(t, id)
	return f, id
}

// pending reads GET /api/pending.
func (f *fixture) pending(t *testing.T) []kernel.Pending {
	t.Helper()
	a := f.do(t, "GET", "/api/pending", "", "")
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	var out []kernel.Pending
	require.NoError(t, json.Unmarshal(a.raw, &out))
	return out
}

// A send under the approve policy answers 409 awaiting_approval with the
// cycle; the cycle is listed as pending with its source, and approving it
// installs the method, which then answers.
func TestApproveInstalls(t *testing.T) {
	f, id := parked(t)
	p := f.pending(t)
	require.Len(t, p, 1)
	assert.Equal(t, id, p[0].ID)
	assert.Equal(t, id, p[0].CycleID)
	assert.Equal(t, "add", p[0].Selector)
	assert.Equal(t, f.mind.Genesis(), p[0].Object)
	assert.Contains(t, p[0].Source, "return a + b, nil")

	// Sent again while it waits: still 409, the same cycle, no new one.
	a := f.send(t, "genesis", "add", 2, 40)
	require.Equal(t, http.StatusConflict, a.status, "%s", a.raw)
	assert.Equal(t, kernel.KindAwaitingApproval, a.body["kind"])

	a = f.do(t, "POST", "/api/pending/"+id+"/approve", `{"by":"ada","reason":"looks right"}`, "")
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	assert.Equal(t, "add", a.body["selector"])
	assert.Equal(t, float64(1), a.body["version"])
	assert.Equal(t, "ada", a.body["approved_by"])
	assert.Equal(t, id, a.body["cycle"])
	assert.Contains(t, a.body["source"], "return a + b, nil")
	assert.Empty(t, f.pending(t))

	a = f.send(t, "genesis", "add", 2, 40)
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	assert.Equal(t, float64(42), a.body["answer"])

	// Decided already: 409 not_pending; a cycle that never was: 404.
	a = f.do(t, "POST", "/api/pending/"+id+"/approve", "", "")
	assert.Equal(t, http.StatusConflict, a.status, "%s", a.raw)
	assert.Equal(t, kernel.KindNotPending, a.body["kind"])
	a = f.do(t, "POST", "/api/pending/nosuchcycle/reject", `{}`, "")
	assert.Equal(t, http.StatusNotFound, a.status, "%s", a.raw)
	assert.Equal(t, kernel.KindNotFound, a.body["kind"])
}

// Approving without a body records the kernel as the approver.
func TestApproveByTheKernel(t *testing.T) {
	f, id := parked(t)
	a := f.do(t, "POST", "/api/pending/"+id+"/approve", "", "")
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	assert.Equal(t, "kernel", a.body["approved_by"])
}

// Rejecting ends the cycle FAILED, installs nothing, and the record keeps
// who rejected it and why.
func TestRejectFailsTheCycle(t *testing.T) {
	f, id := parked(t)
	a := f.do(t, "POST", "/api/pending/"+id+"/reject", `{"by":"grace","reason":"not today"}`, "")
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	assert.Equal(t, psm.VerdictRejected, a.body["verdict"])
	assert.Equal(t, "grace", a.body["by"])
	assert.Empty(t, f.pending(t))

	rec, err := f.mind.Cycle(context.Background(), id)
	require.NoError(t, err)
	assert.Equal(t, psm.Failed, rec.Outcome)
	assert.Equal(t, psm.AwaitingApproval, rec.FailedIn)
	require.NotNil(t, rec.Decision)
	assert.Equal(t, "grace", rec.Decision.By)
	assert.Equal(t, "not today", rec.Decision.Reason)
	hist, err := f.mind.History(context.Background(), f.mind.Genesis(), "add")
	require.NoError(t, err)
	assert.Empty(t, hist)
}

// An edit whose source fails validation answers 422 invalid_source and
// leaves the cycle pending; a valid edit installs the edited source.
func TestEditRevalidates(t *testing.T) {
	f, id := parked(t)
	bad, err := json.Marshal(map[string]string{"source": "package arith\n\nfunc add(self batos.Self, args []any) (any, error) { return nil, nil\n"})
	require.NoError(t, err)
	a := f.do(t, "POST", "/api/pending/"+id+"/edit", string(bad), "")
	require.Equal(t, http.StatusUnprocessableEntity, a.status, "%s", a.raw)
	assert.Equal(t, kernel.KindInvalidSource, a.body["kind"])
	p := f.pending(t)
	require.Len(t, p, 1)
	assert.Equal(t, id, p[0].ID)

	a = f.do(t, "POST", "/api/pending/"+id+"/edit", `{}`, "")
	assert.Equal(t, http.StatusBadRequest, a.status, "%s", a.raw)
	assert.Equal(t, kernel.KindBadRequest, a.body["kind"])

	good, err := json.Marshal(map[string]string{"source": subtract, "by": "ada"})
	require.NoError(t, err)
	a = f.do(t, "POST", "/api/pending/"+id+"/edit", string(good), "")
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	assert.Contains(t, a.body["source"], "return a - b, nil")
	assert.Empty(t, f.pending(t))
	a = f.send(t, "genesis", "add", 2, 40)
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	assert.Equal(t, float64(-38), a.body["answer"])
}

// Revert installs an earlier version's source as a new version; versions
// that do not exist are 404, a missing version number 400.
func TestRevertMakesANewVersion(t *testing.T) {
	f := newFixture(t, kernel.Options{}, "add.jsonl")
	require.Equal(t, http.StatusOK, f.send(t, "genesis", "add", 2, 40).status)
	_, err := f.mind.Install(context.Background(), f.mind.Genesis(), "add", subtract, psm.WithArgs(int64(2), int64(40)))
	require.NoError(t, err)
	a := f.send(t, "genesis", "add", 2, 40)
	require.Equal(t, float64(-38), a.body["answer"], "%s", a.raw)

	a = f.do(t, "POST", "/api/objects/genesis/methods/add/revert", `{"version":1,"by":"ada","reason":"v2 subtracts"}`, "")
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	assert.Equal(t, float64(3), a.body["version"])
	assert.Equal(t, float64(1), a.body["restores"])
	assert.Equal(t, "ada", a.body["author"])
	a = f.send(t, "genesis", "add", 2, 40)
	assert.Equal(t, float64(42), a.body["answer"], "%s", a.raw)
	hist, err := f.mind.History(context.Background(), f.mind.Genesis(), "add")
	require.NoError(t, err)
	require.Len(t, hist, 3)
	assert.True(t, hist[2].Current)

	for _, tc := range []struct {
		path, body string
		status     int
		kind       string
	}{
		{"/api/objects/genesis/methods/add/revert", `{"version":9}`, 404, kernel.KindNotFound},
		{"/api/objects/genesis/methods/nothing/revert", `{"version":1}`, 404, kernel.KindNotFound},
		{"/api/objects/nobody/methods/add/revert", `{"version":1}`, 404, kernel.KindNotFound},
		{"/api/objects/genesis/methods/add/revert", ``, 400, kernel.KindBadRequest},
		{"/api/objects/genesis/methods/add/revert", `{"version":"1"}`, 400, kernel.KindBadRequest},
		{"/api/pending/c1/ignore", `{}`, 404, kernel.KindNoRoute},
	} {
		t.Run(fmt.Sprint(tc.path, " ", tc.body), func(t *testing.T) {
			a := f.do(t, "POST", tc.path, tc.body, "")
			assert.Equal(t, tc.status, a.status, "%s", a.raw)
			assert.Equal(t, tc.kind, a.body["kind"])
		})
	}
	hist, err = f.mind.History(context.Background(), f.mind.Genesis(), "add")
	require.NoError(t, err)
	assert.Len(t, hist, 3, "a refused revert installed a version")
}
