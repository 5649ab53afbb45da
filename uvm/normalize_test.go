package uvm_test

import (
	"testing"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/uvmtest"
	"github.com/stretchr/testify/require"
)

type namedInt int

// TestNormalizeMatchesSet checks that Normalize returns what Set stores,
// and refuses what Set refuses with the same *ValueError.
func TestNormalizeMatchesSet(t *testing.T) {
	im := uvmtest.Mem(t, uvm.Options{})
	cyclic := []any{nil}
	cyclic[0] = cyclic
	m := uvm.Method{Selector: "s", Source: "package m"}
	cases := []struct {
		name string
		v    any
	}{
		{"nil", nil},
		{"int", 7},
		{"uint8", uint8(7)},
		{"float32", float32(1.5)},
		{"oid", uvm.OID(9)},
		{"method pointer", &m},
		{"bytes", []byte("ab")},
		{"strings", []string{"a", "b"}},
		{"nested", []any{1, map[string]any{"k": []any{int16(2), uvm.Ref{OID: 3}}}}},
		{"uint64 overflow", uint64(1 << 63)},
		{"named int", namedInt(3)},
		{"struct in map", map[string]any{"k": struct{}{}}},
		{"cycle", cyclic},
	}
	require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
		o, _ := tx.New()
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				got, err := uvm.Normalize("x", c.v)
				serr := o.Set("x", c.v)
				if serr != nil {
					require.Error(t, err, "Set refused it, Normalize did not")
					require.ErrorIs(t, err, uvm.ErrUnstorable)
					require.Equal(t, serr.Error(), err.Error())
					return
				}
				require.NoError(t, err)
				stored, _ := o.Get("x")
				require.Equal(t, stored, got)
			})
		}
		t.Run("object", func(t *testing.T) {
			got, err := uvm.Normalize("x", o)
			require.NoError(t, err)
			require.Equal(t, o.Ref(), got)
		})
		return nil
	}))
}

func TestNormalizeAndCloneValueDoNotAlias(t *testing.T) {
	in := map[string]any{"l": []any{int64(1)}, "b": []byte("ab")}
	n, err := uvm.Normalize("x", in)
	require.NoError(t, err)
	c := uvm.CloneValue(n)
	in["l"].([]any)[0] = int64(99)
	in["b"].([]byte)[0] = 'z'
	n.(map[string]any)["l"].([]any)[0] = int64(42)
	n.(map[string]any)["b"].([]byte)[1] = 'y'
	require.Equal(t, map[string]any{"l": []any{int64(1)}, "b": []byte("ab")}, c)
	require.Equal(t, map[string]any{"l": []any{int64(42)}, "b": []byte("ay")}, n)
}
