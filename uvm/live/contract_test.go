package live_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/live"
)

// The contract (docs/contract.md) as a model reads it: the natural code
// compiles, and every message about it speaks the contract's names
// (batos.Self, batos.Ref, batos.OID), never the host's packages.
func TestContractNames(t *testing.T) {
	method := func(body string) string {
		return "package m\n\nimport \"batos\"\n\n" + body + "\n"
	}
	cases := []struct {
		name string
		src  string
		want any    // the answer, when the method compiles and runs
		msg  string // else a part of the error's text
		// unaudited skips the guardian, whose own message comes first
		unaudited bool
	}{
		{name: "a reference to self from its OID", src: method(`func m(self batos.Self, args []any) (any, error) {
	return batos.Ref{OID: self.OID()}, nil
}`), want: "self"},
		{name: "an OID as a number", src: method(`func m(self batos.Self, args []any) (any, error) {
	var id batos.OID = self.OID()
	return int64(uint64(id)), nil
}`), want: "oid"},
		{name: "an OID where an int is wanted", src: method(`func m(self batos.Self, args []any) (any, error) {
	var n int = self.OID()
	return n, nil
}`), msg: "batos.OID"},
		{name: "a Ref where a string is wanted", src: method(`func m(self batos.Self, args []any) (any, error) {
	var s string = batos.Ref{}
	return s, nil
}`), msg: "batos.Ref"},
		{name: "the wrong signature", src: method(`func m(self batos.Self, args []any) any {
	return nil
}`), msg: "func(batos.Self, []interface {}) interface {}", unaudited: true},
		{name: "a struct holding a Ref returned", src: method(`func m(self batos.Self, args []any) (any, error) {
	return struct{ R batos.Ref }{}, nil
}`), msg: "batos.Ref"},
	}
	for _, policy := range policies {
		for _, c := range cases {
			t.Run(c.name+"/"+policy, func(t *testing.T) {
				opts := live.Options{Policy: policy, Workers: 1}
				if c.unaudited {
					opts = live.UnauditedOptions(opts)
				}
				im, r := newImage(t, opts)
				var oid uvm.OID
				err := im.Update(ctx, func(tx *uvm.Tx) error {
					o, err := tx.New()
					if err != nil {
						return err
					}
					oid = o.OID()
					_, err = r.Install(ctx, tx, o, uvm.Method{Selector: "m", Source: c.src})
					return err
				})
				var v any
				if err == nil {
					v, err = im.Send(ctx, oid, "m")
				}
				if c.msg != "" {
					require.Error(t, err)
					require.Contains(t, err.Error(), c.msg)
					require.NotContains(t, err.Error(), "uvm")
					require.NotContains(t, err.Error(), "live.")
					return
				}
				require.NoError(t, err)
				switch c.want {
				case "self":
					require.Equal(t, uvm.Ref{OID: oid}, v)
				case "oid":
					require.Equal(t, int64(oid), v)
				}
			})
		}
	}
}
