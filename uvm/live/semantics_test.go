package live_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/live"
)

var policies = []string{live.PolicyInProcess, live.PolicyIsolated}

// world is a small object graph: proto (with data and methods) and obj,
// which delegates to proto.
type world struct {
	im         *uvm.Image
	r          *live.Runner
	proto, obj uvm.OID
}

func newWorld(t *testing.T, opts live.Options, methods map[string]string) *world {
	t.Helper()
	im, r := newImage(t, opts)
	w := &world{im: im, r: r}
	require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
		proto, err := tx.New()
		if err != nil {
			return err
		}
		obj, err := tx.New()
		if err != nil {
			return err
		}
		w.proto, w.obj = proto.OID(), obj.OID()
		for k, v := range map[string]any{"greeting": "hello", "list": []any{int64(1), int64(2)}, "shared": map[string]any{"n": int64(1)}, "shadowed": "from proto"} {
			if err := proto.Set(k, v); err != nil {
				return err
			}
		}
		if err := obj.SetParents(proto); err != nil {
			return err
		}
		for k, v := range map[string]any{"name": "obj", "shadowed": "own", "counts": map[string]any{}} {
			if err := obj.Set(k, v); err != nil {
				return err
			}
		}
		for sel, body := range methods {
			if _, err := tx.InstallMethod(proto, uvm.Method{Selector: sel, Source: methodSource(sel, body)}); err != nil {
				return err
			}
		}
		return nil
	}))
	return w
}

// methodSource wraps a body into a method source, importing the packages
// it mentions.
func methodSource(sel, body string) string {
	imports := "\t\"batos\"\n"
	for _, p := range []string{"errors", "fmt", "sort", "strconv", "strings"} {
		if strings.Contains(body, p+".") {
			imports = "\t\"" + p + "\"\n" + imports
		}
	}
	return fmt.Sprintf("package %s\n\nimport (\n%s)\n\nfunc %s(self batos.Self, args []any) (any, error) {\n%s\n}\n", sel, imports, sel, body)
}

// send sends a message to obj in its own transaction.
func (w *world) send(sel string, args ...any) (any, error) {
	return w.im.Send(ctx, w.obj, sel, args...)
}

// slot reads one of obj's own slots in a fresh transaction.
func (w *world) slot(t *testing.T, oid uvm.OID, name string) (any, bool) {
	t.Helper()
	var v any
	var ok bool
	require.NoError(t, w.im.View(ctx, func(tx *uvm.Tx) error {
		o, err := tx.Object(oid)
		if err != nil {
			return err
		}
		v, ok = o.Get(name)
		return nil
	}))
	return v, ok
}

type semCase struct {
	name      string
	methods   map[string]string
	unaudited bool // the guardian refuses these methods; the runtime is tested alone
	run       func(t *testing.T, w *world)
}

func semCases() []semCase {
	return []semCase{
		{name: "get through delegation", methods: map[string]string{"read": `
	return []any{self.Get("greeting"), self.Get("shadowed"), self.Get("nope"), self.Has("greeting"), self.Has("nope"), self.Get("read"), self.Has("read"), self.Get("name")}, nil`},
			run: func(t *testing.T, w *world) {
				v, err := w.send("read")
				require.NoError(t, err)
				require.Equal(t, []any{"hello", "own", nil, true, false, nil, false, "obj"}, v)
			}},
		{name: "set and mark", methods: map[string]string{"store": `
	defer self.MarkChanged()
	if err := self.Set("x", args[0]); err != nil {
		return nil, err
	}
	return self.Get("x"), nil`},
			run: func(t *testing.T, w *world) {
				v, err := w.send("store", 5)
				require.NoError(t, err)
				require.Equal(t, int64(5), v)
				got, _ := w.slot(t, w.obj, "x")
				require.Equal(t, int64(5), got)
			}},
		{name: "unmarked set fails the commit", unaudited: true, methods: map[string]string{"sneak": `
	self.Set("x", 5)
	return "done", nil`},
			run: func(t *testing.T, w *world) {
				fp, _ := imageState(t, w.im)
				_, err := w.send("sneak")
				var ce *uvm.CovenantError
				require.ErrorAs(t, err, &ce)
				require.Equal(t, "x", ce.Slot)
				require.Contains(t, ce.Method, "sneak")
				fp2, _ := imageState(t, w.im)
				require.Equal(t, fp, fp2)
			}},
		{name: "in-place change of an own container", unaudited: true, methods: map[string]string{"count": `
	m := self.Get("counts").(map[string]any)
	m["a"] = int64(1)
	if len(args) == 0 {
		self.MarkChanged()
	}
	return len(m), nil`},
			run: func(t *testing.T, w *world) {
				_, err := w.send("count", "unmarked")
				require.ErrorIs(t, err, uvm.ErrCovenant)
				v, err := w.send("count")
				require.NoError(t, err)
				require.Equal(t, int64(1), v)
				got, _ := w.slot(t, w.obj, "counts")
				require.Equal(t, map[string]any{"a": int64(1)}, got)
			}},
		{name: "in-place change of an inherited container", methods: map[string]string{"poke": `
	m := self.Get("shared").(map[string]any)
	m["n"] = int64(2)
	self.MarkChanged()
	return nil, nil`},
			run: func(t *testing.T, w *world) {
				_, err := w.send("poke")
				var ce *uvm.CovenantError
				require.ErrorAs(t, err, &ce)
				require.Equal(t, w.proto, ce.OID, "the parent changed without its own mark")
			}},
		{name: "delete shows the inherited slot", methods: map[string]string{"unshadow": `
	defer self.MarkChanged()
	if err := self.Delete("shadowed"); err != nil {
		return nil, err
	}
	err := self.Delete("nope")
	return []any{self.Get("shadowed"), self.Has("shadowed"), err.Error()}, nil`},
			run: func(t *testing.T, w *world) {
				v, err := w.send("unshadow")
				require.NoError(t, err)
				// The method reads the error in the contract's words: no
				// host package prefix ("uvm: ").
				require.Equal(t, []any{"from proto", true, fmt.Sprintf("slot not found: object %d has no slot \"nope\"", w.obj)}, v)
				_, ok := w.slot(t, w.obj, "shadowed")
				require.False(t, ok)
			}},
		{name: "set parents", methods: map[string]string{"adopt": `
	defer self.MarkChanged()
	if err := self.Set("parents", []any{args[0]}); err != nil {
		return nil, err
	}
	bad := self.Set("parents", "not a list")
	return []any{self.Get("greeting"), self.Get("shadowed"), bad != nil}, nil`},
			run: func(t *testing.T, w *world) {
				var other uvm.OID
				require.NoError(t, w.im.Update(ctx, func(tx *uvm.Tx) error {
					o, err := tx.New()
					if err != nil {
						return err
					}
					other = o.OID()
					return o.Set("greeting", "hi from other")
				}))
				v, err := w.send("adopt", uvm.Ref{OID: other})
				require.NoError(t, err)
				require.Equal(t, []any{"hi from other", "own", true}, v)
			}},
		{name: "nested sends", methods: map[string]string{
			"outer": `
	defer self.MarkChanged()
	if err := self.Set("before", "x"); err != nil {
		return nil, err
	}
	seen, err := self.Send("peek")
	if err != nil {
		return nil, err
	}
	v, err := self.Send("inner", 20)
	if err != nil {
		return nil, err
	}
	data, err := self.Send("greeting")
	if err != nil {
		return nil, err
	}
	_, nuErr := self.Send("nope")
	return []any{seen, v, self.Get("inner_ran"), data, strings.Contains(nuErr.Error(), "does not understand")}, nil`,
			"peek": `
	return self.Get("before"), nil`,
			"inner": `
	n := args[0].(int64)
	self.Set("inner_ran", n)
	self.MarkChanged()
	return n * 2, nil`},
			run: func(t *testing.T, w *world) {
				v, err := w.send("outer")
				require.NoError(t, err)
				require.Equal(t, []any{"x", int64(40), int64(20), "hello", true}, v)
				got, _ := w.slot(t, w.obj, "inner_ran")
				require.Equal(t, int64(20), got)
			}},
		{name: "errors", methods: map[string]string{"fail": `
	switch args[0].(string) {
	case "plain":
		return nil, errors.New("boom")
	case "wrapped":
		_, err := self.Send("nope")
		return nil, fmt.Errorf("asked: %w", err)
	}
	return nil, nil`},
			run: func(t *testing.T, w *world) {
				_, err := w.send("fail", "plain")
				var me *live.MethodError
				require.ErrorAs(t, err, &me)
				require.Equal(t, "boom", me.Text)
				_, err = w.send("fail", "wrapped")
				require.ErrorIs(t, err, live.ErrMethod)
				require.ErrorIs(t, err, uvm.ErrNotUnderstood, "host sentinels survive the trip")
			}},
		{name: "results and arguments", methods: map[string]string{"echo": `
	switch args[0].(string) {
	case "strings":
		return []string{"a", "b"}, nil
	case "map":
		return map[string]int{"a": 1}, nil
	case "nested":
		return map[string][]float64{"f": {1.5}}, nil
	case "struct":
		return struct{ A int }{1}, nil
	case "self":
		return self, nil
	case "func":
		return func() {}, nil
	case "intkeys":
		return map[int]string{1: "a"}, nil
	}
	return args, nil`},
			run: func(t *testing.T, w *world) {
				for _, c := range []struct {
					arg  string
					want any
				}{
					{"strings", []any{"a", "b"}},
					{"map", map[string]any{"a": int64(1)}},
					{"nested", map[string]any{"f": []any{1.5}}},
				} {
					v, err := w.send("echo", c.arg)
					require.NoError(t, err, c.arg)
					require.Equal(t, c.want, v, c.arg)
				}
				for _, bad := range []string{"struct", "self", "func", "intkeys"} {
					_, err := w.send("echo", bad)
					require.ErrorIs(t, err, live.ErrResult, bad)
				}
				args := []any{"all", int64(1), 2.5, true, nil, []byte("b"), []any{"x"}, map[string]any{"k": int64(3)}, uvm.Ref{OID: 7}}
				v, err := w.send("echo", args...)
				require.NoError(t, err)
				require.Equal(t, args, v)
			}},
		{name: "read-only transaction", methods: map[string]string{"store": `
	defer self.MarkChanged()
	if err := self.Set("x", 1); err != nil {
		return nil, err
	}
	return nil, nil`},
			run: func(t *testing.T, w *world) {
				err := w.im.View(ctx, func(tx *uvm.Tx) error {
					o, err := tx.Object(w.obj)
					if err != nil {
						return err
					}
					_, err = tx.Send(ctx, o, "store")
					return err
				})
				require.ErrorIs(t, err, live.ErrMethod)
				require.ErrorIs(t, err, uvm.ErrReadOnly)
			}},
	}
}

func TestSemantics(t *testing.T) {
	for _, c := range semCases() {
		for _, policy := range policies {
			t.Run(c.name+"/"+policy, func(t *testing.T) {
				t.Parallel()
				opts := live.Options{Policy: policy, Workers: 1}
				if c.unaudited {
					opts = live.UnauditedOptions(opts)
				}
				c.run(t, newWorld(t, opts, c.methods))
			})
		}
	}
}

var _ = errors.Is
