package kernel_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/batos-dev/batos/examples/batos/internal/kernel"
	"github.com/batos-dev/batos/uvm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The read routes show the roots, an object, a slot, a method's versions
// and source, and the cycles with their records.
func TestViewRoutes(t *testing.T) {
	f := newFixture(t, kernel.Options{}, "add.jsonl")
	require.Equal(t, http.StatusOK, f.send(t, "genesis", "add", 2, 40).status)
	g := f.mind.Genesis()
	require.NoError(t, f.mind.Image().Update(context.Background(), func(tx *uvm.Tx) error {
		o, err := tx.Object(g)
		if err != nil {
			return err
		}
		items := make([]any, 120)
		for i := range items {
			items[i] = int64(i)
		}
		if err := o.Set("items", items); err != nil {
			return err
		}
		return o.Set("friend", uvm.Ref{OID: 1})
	}))

	t.Run("summary", func(t *testing.T) {
		a := f.do(t, "GET", "/api/objects", "", "")
		require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
		roots := a.body["roots"].([]any)
		names := map[string]bool{}
		for _, r := range roots {
			names[r.(map[string]any)["name"].(string)] = true
		}
		assert.True(t, names["genesis"] && names["traits"], "roots %v", names)
		assert.Equal(t, float64(1), a.body["cycles"])
	})
	t.Run("object", func(t *testing.T) {
		a := f.do(t, "GET", "/api/objects/genesis", "", "")
		require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
		assert.Equal(t, float64(g), a.body["oid"])
		assert.Equal(t, []any{"genesis"}, a.body["names"])
		assert.Len(t, a.body["parents"], 2)
		methods := a.body["methods"].([]any)
		require.Len(t, methods, 1)
		m := methods[0].(map[string]any)
		assert.Equal(t, "add", m["selector"])
		assert.Equal(t, float64(1), m["version"])
		assert.Equal(t, float64(1), m["versions"])
		assert.Equal(t, "ALFRED", m["persona"])
		assert.Nil(t, m["source"], "the object view carries no source")
		slots := map[string]map[string]any{}
		for _, s := range a.body["slots"].([]any) {
			slots[s.(map[string]any)["name"].(string)] = s.(map[string]any)
		}
		assert.Equal(t, "ref", slots["friend"]["kind"])
		assert.Equal(t, map[string]any{"oid": float64(1), "name": "traits"}, slots["friend"]["value"])
		assert.Equal(t, true, slots["items"]["truncated"])
		assert.Len(t, slots["items"]["value"], 50)
		assert.Equal(t, float64(120), slots["items"]["len"])
	})
	t.Run("object by OID", func(t *testing.T) {
		a := f.do(t, "GET", fmt.Sprintf("/api/objects/%d", g), "", "")
		require.Equal(t, http.StatusOK, a.status)
		assert.Equal(t, float64(g), a.body["oid"])
	})
	t.Run("slot in full", func(t *testing.T) {
		a := f.do(t, "GET", "/api/objects/genesis/slots/items", "", "")
		require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
		assert.Len(t, a.body["value"], 120)
		assert.Nil(t, a.body["truncated"])
		a = f.do(t, "GET", "/api/objects/genesis/slots/add", "", "")
		require.Equal(t, http.StatusOK, a.status)
		assert.Equal(t, "method", a.body["kind"])
		assert.Contains(t, a.body["value"].(map[string]any)["source"], "func add(")
	})
	t.Run("method versions", func(t *testing.T) {
		a := f.do(t, "GET", "/api/objects/genesis/methods/add", "", "")
		require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
		assert.Equal(t, float64(1), a.body["current"])
		versions := a.body["versions"].([]any)
		require.Len(t, versions, 1)
		assert.Contains(t, versions[0].(map[string]any)["source"], "return a + b, nil")
		a = f.do(t, "GET", "/api/objects/genesis/methods/add/versions/1", "", "")
		require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
		assert.Contains(t, a.body["source"], "func add(")
	})
	t.Run("cycles", func(t *testing.T) {
		a := f.do(t, "GET", "/api/cycles", "", "")
		require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
		assert.Equal(t, float64(1), a.body["total"])
		c := a.body["cycles"].([]any)[0].(map[string]any)
		assert.Equal(t, "add", c["selector"])
		assert.Equal(t, "COMPLETE", c["outcome"])
		id := c["id"].(string)
		a = f.do(t, "GET", "/api/cycles/"+id, "", "")
		require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
		assert.Equal(t, id, a.body["id"])
		assert.NotEmpty(t, a.body["events"])
		assert.Contains(t, a.body["source"], "func add(")
	})
	for _, tc := range []struct {
		name, path string
		status     int
		kind       string
	}{
		{"no such object", "/api/objects/nobody", 404, kernel.KindNotFound},
		{"no such OID", "/api/objects/99999", 404, kernel.KindNotFound},
		{"no such slot", "/api/objects/genesis/slots/nothing", 404, kernel.KindNotFound},
		{"no such method", "/api/objects/genesis/methods/nothing", 404, kernel.KindNotFound},
		{"a data slot is no method", "/api/objects/genesis/methods/items", 404, kernel.KindNotFound},
		{"no such version", "/api/objects/genesis/methods/add/versions/7", 404, kernel.KindNotFound},
		{"bad version", "/api/objects/genesis/methods/add/versions/x", 400, kernel.KindBadRequest},
		{"no such cycle", "/api/cycles/c0-0", 404, kernel.KindNotFound},
		{"bad limit", "/api/cycles?limit=0", 400, kernel.KindBadRequest},
		{"no such route", "/api/nothing", 404, kernel.KindNoRoute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := f.do(t, "GET", tc.path, "", "")
			assert.Equal(t, tc.status, a.status, "%s", a.raw)
			assert.Equal(t, tc.kind, a.body["kind"])
		})
	}
	t.Run("wrong method", func(t *testing.T) {
		a := f.do(t, "DELETE", "/api/objects/genesis", "", "")
		assert.Equal(t, http.StatusMethodNotAllowed, a.status)
		assert.Equal(t, kernel.KindMethodNotAllowed, a.body["kind"])
		assert.Equal(t, "GET", a.header.Get("Allow"))
		a = f.do(t, "GET", "/api/send", "", "")
		assert.Equal(t, http.StatusMethodNotAllowed, a.status)
		assert.Equal(t, "POST", a.header.Get("Allow"))
	})
}

// Cycles page newest first; "next" continues where a page ended.
func TestCyclesPage(t *testing.T) {
	f := newFixture(t, kernel.Options{}, "down.jsonl")
	for i := range 3 {
		assert.Equal(t, http.StatusUnprocessableEntity, f.send(t, "genesis", fmt.Sprintf("s%d", i)).status)
	}
	a := f.do(t, "GET", "/api/cycles?limit=2", "", "")
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	page := a.body["cycles"].([]any)
	require.Len(t, page, 2)
	assert.Equal(t, "s2", page[0].(map[string]any)["selector"])
	assert.Equal(t, "s1", page[1].(map[string]any)["selector"])
	assert.Equal(t, float64(3), a.body["total"])
	next := a.body["next"].(string)
	a = f.do(t, "GET", "/api/cycles?limit=2&before="+next, "", "")
	require.Equal(t, http.StatusOK, a.status)
	page = a.body["cycles"].([]any)
	require.Len(t, page, 1)
	assert.Equal(t, "s0", page[0].(map[string]any)["selector"])
	assert.Nil(t, a.body["next"])
}
