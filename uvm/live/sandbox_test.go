package live_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/live"
)

func TestSandbox(t *testing.T) {
	t.Run("dangerous packages are never exported", func(t *testing.T) {
		for _, p := range []string{"os", "os/exec", "syscall", "unsafe", "reflect", "net/http", "runtime/debug", "sync"} {
			_, err := live.New(live.Options{Imports: []string{"strings", p}})
			require.Error(t, err, p)
		}
	})
	for _, c := range []struct {
		name string
		src  string
		want error
	}{
		{"sleep is withheld", "package p\n\nimport (\n\t\"time\"\n\n\t\"batos\"\n)\n\nfunc p(self batos.Self, args []any) (any, error) {\n\ttime.Sleep(time.Hour)\n\treturn nil, nil\n}\n", live.ErrCompile},
		{"timers are withheld", "package p\n\nimport (\n\t\"time\"\n\n\t\"batos\"\n)\n\nfunc p(self batos.Self, args []any) (any, error) {\n\ttime.AfterFunc(time.Millisecond, func() { self.Set(\"late\", 1) })\n\treturn nil, nil\n}\n", live.ErrCompile},
		{"packages off the allowlist are not found", "package p\n\nimport (\n\t\"encoding/gob\"\n\n\t\"batos\"\n)\n\nfunc p(self batos.Self, args []any) (any, error) {\n\treturn gob.NewDecoder(nil), nil\n}\n", live.ErrCompile},
		{"the meter is the instrumentation's", "package p\n\nimport \"batos\"\n\nfunc p(self batos.Self, args []any) (any, error) {\n\tm := batos.Enter(self)\n\tm.Fuel = 1 << 40\n\treturn nil, nil\n}\n", live.ErrRefused},
		{"reserved identifiers", "package p\n\nimport \"batos\"\n\nfunc p(self batos.Self, args []any) (any, error) {\n\t__x := 1\n\treturn __x, nil\n}\n", live.ErrRefused},
		{"package state", "package p\n\nimport \"batos\"\n\nvar n int\n\nfunc p(self batos.Self, args []any) (any, error) {\n\tn++\n\treturn n, nil\n}\n", live.ErrRefused},
		{"channels", "package p\n\nimport \"batos\"\n\nfunc p(self batos.Self, args []any) (any, error) {\n\tc := make(chan int)\n\treturn <-c, nil\n}\n", live.ErrRefused},
		{"fmt output goes nowhere", "package p\n\nimport (\n\t\"fmt\"\n\n\t\"batos\"\n)\n\nfunc p(self batos.Self, args []any) (any, error) {\n\tn, err := fmt.Println(\"to the host's stdout?\")\n\treturn n, err\n}\n", nil},
	} {
		for _, policy := range policies {
			t.Run(c.name+"/"+policy, func(t *testing.T) {
				t.Parallel()
				im, _ := newImage(t, live.UnauditedOptions(live.Options{Policy: policy, Workers: 1}))
				var oid uvm.OID
				require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
					o, err := tx.New()
					if err != nil {
						return err
					}
					oid = o.OID()
					_, err = tx.InstallMethod(o, uvm.Method{Selector: "p", Source: c.src})
					return err
				}))
				_, err := im.Send(ctx, oid, "p")
				if c.want == nil {
					require.NoError(t, err)
					return
				}
				require.ErrorIs(t, err, c.want)
			})
		}
	}
}
