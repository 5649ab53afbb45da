package psm

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// forwards recognises the delegation a reuse installs, and nothing that
// does more than forward its message unchanged.
func TestForwards(t *testing.T) {
	to, ok := forwards(delegateSource("word_count", Reuse{Object: 7, Selector: "count_words"}), "word_count")
	assert.True(t, ok)
	assert.Equal(t, "count_words", to)

	const head = "package m\n\nimport \"batos\"\n\nfunc f(self batos.Self, args []any) (any, error) {\n"
	to, ok = forwards(head+"\treturn self.Send(`g`, args...)\n}\n", "f")
	assert.True(t, ok, "a raw string literal")
	assert.Equal(t, "g", to)
	for name, body := range map[string]string{
		"other arguments":     "\treturn self.Send(\"g\", args[1:]...)\n}\n",
		"no ellipsis":         "\treturn self.Send(\"g\", args)\n}\n",
		"a computed selector": "\treturn self.Send(\"g\"+\"h\", args...)\n}\n",
		"more than a send":    "\t_ = len(args)\n\treturn self.Send(\"g\", args...)\n}\n",
		"another receiver":    "\treturn batos.Self(nil).Send(\"g\", args...)\n}\n",
		"not Send":            "\treturn self.Get(\"g\"), nil\n}\n",
		"an empty selector":   "\treturn self.Send(\"\", args...)\n}\n",
	} {
		_, ok := forwards(head+body, "f")
		assert.False(t, ok, name)
	}
	_, ok = forwards(head+"\treturn self.Send(\"g\", args...)\n}\n", "other")
	assert.False(t, ok, "another entry function")
	_, ok = forwards("not go", "f")
	assert.False(t, ok)
}
