package live

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestChainText(t *testing.T) {
	for _, c := range []struct {
		name, method, text, want string
	}{
		{"a plain error", `"x" v1`, "boom", `live: method "x" v1: boom`},
		{"one nested send", `"a" v1`, `method "b" v2: boom`, `live: method "a" v1: method "b" v2: boom`},
		{"a repeated method", `"x" v1`, `method "x" v1: method "x" v1 exhausted its depth budget`,
			`live: method "x" v1 (×2): method "x" v1 exhausted its depth budget`},
		{"an already compressed chain", `"x" (candidate)`, `method "x" (candidate) (×85): message sends nested too deep`,
			`live: method "x" (candidate) (×86): message sends nested too deep`},
		{"a chain into a repeated method", `"a" v1`, `method "b" v1 → "c" v3 (×4): boom`,
			`live: method "a" v1 → "b" v1 → "c" v3 (×4): boom`},
		{"selectors with quotes", `"a\"b" v1`, `method "a\"b" v1: boom`, `live: method "a\"b" v1 (×2): boom`},
		{"a wrapped cause breaks the chain", `"x" v1`, `asked: method "x" v1: method "x" v1: boom`,
			`live: method "x" v1: asked: method "x" v1: method "x" v1: boom`},
	} {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, chainText(c.method, c.text))
		})
	}
}

func TestPanicText(t *testing.T) {
	for in, want := range map[any]string{
		"reflect: slice index out of range":                             "runtime error: index out of range",
		"reflect.Value.Slice: slice index out of bounds":                "runtime error: slice bounds out of range",
		"9:9: interface conversion: interface {} is uvm.Ref, not int64": "interface conversion: interface {} is batos.Ref, not int64",
		"my own words": `"my own words"`,
	} {
		require.Equal(t, want, panicText(in), "%v", in)
	}
}
