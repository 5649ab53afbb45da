package imageview_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/batos-dev/batos/examples/batos/internal/imageview"
	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/uvmtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Plain writes stored values as JSON-ready data and Decode reads them
// back: references, bytes, numbers, lists and maps survive the trip.
func TestPlainAndDecodeRoundTrip(t *testing.T) {
	v := []any{uvm.Ref{OID: 7}, []byte{0, 1, 2}, int64(-3), 2.5, "s", true, nil,
		map[string]any{"k": []any{uvm.Ref{OID: 1}}}}
	b, err := json.Marshal(imageview.Plain(v, -1))
	require.NoError(t, err)
	back, err := imageview.Decode(b)
	require.NoError(t, err)
	assert.Equal(t, v, back)
}

func TestPlainLimitsAndNonFiniteFloats(t *testing.T) {
	assert.Equal(t, []any{int64(1), int64(2)}, imageview.Plain([]any{int64(1), int64(2), int64(3)}, 2))
	assert.Equal(t, map[string]any{"a": int64(1)}, imageview.Plain(map[string]any{"b": int64(2), "a": int64(1)}, 1))
	assert.Equal(t, "+Inf", imageview.Plain(math.Inf(1), -1))
	assert.Equal(t, "NaN", imageview.Plain(math.NaN(), -1))
}

func TestDecodeRefusals(t *testing.T) {
	for _, in := range []string{`{"$ref": "x"}`, `{"$ref": -1}`, `{"$bytes": "!!"}`, `1 2`, `{`, ``} {
		_, err := imageview.Decode([]byte(in))
		assert.Error(t, err, "%q", in)
	}
}

// Resolve takes an OID (3, #3) or a root name; anything else is a bad
// reference or a missing object, both matched by errors.Is.
func TestResolve(t *testing.T) {
	im := uvmtest.Mem(t, uvm.Options{})
	var oid uvm.OID
	uvmtest.Update(t, im, func(tx *uvm.Tx) error {
		o, err := tx.New()
		if err != nil {
			return err
		}
		oid = o.OID()
		return tx.SetRoot("thing", o)
	})
	uvmtest.View(t, im, func(tx *uvm.Tx) error {
		for _, ref := range []string{"thing", " thing ", "1", "#1"} {
			o, err := imageview.Resolve(tx, ref)
			require.NoError(t, err, "%q", ref)
			assert.Equal(t, oid, o.OID())
		}
		_, err := imageview.Resolve(tx, "other")
		assert.ErrorIs(t, err, imageview.ErrNoObject)
		assert.ErrorIs(t, err, uvm.ErrNotFound)
		assert.Equal(t, `imageview: no root named "other" (and it is not an OID)`, err.Error())
		_, err = imageview.Resolve(tx, "42")
		assert.ErrorIs(t, err, imageview.ErrNoObject)
		_, err = imageview.Resolve(tx, "")
		assert.ErrorIs(t, err, imageview.ErrBadRef)
		return nil
	})
}
