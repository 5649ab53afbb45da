package mission_test

import (
	"encoding/json"
	"testing"

	"github.com/batos-dev/batos/examples/batos/internal/mission"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func args(vals ...string) []json.RawMessage {
	out := []json.RawMessage{}
	for _, v := range vals {
		out = append(out, json.RawMessage(v))
	}
	return out
}

// FromReply finds the first JSON object of a reply, in a fence or not,
// and refuses what cannot be sent.
func TestFromReply(t *testing.T) {
	for _, tc := range []struct {
		name, reply string
		want        mission.Brief
		err         bool
	}{
		{"bare", `{"object": "genesis", "selector": "greet", "args": ["Ada", 3]}`,
			mission.Brief{Object: "genesis", Selector: "greet", Args: args(`"Ada"`, `3`)}, false},
		{"prose and a fence", "Sure {not json} here:\n```json\n{\"object\": 7, \"selector\": \"countWords\", \"intent\": \" count \"}\n```",
			mission.Brief{Object: "7", Selector: "count_words", Args: args(), Intent: "count"}, false},
		{"a selector in words", `{"object": "genesis", "selector": "Count the Words"}`,
			mission.Brief{Object: "genesis", Selector: "count_the_words", Args: args()}, false},
		{"a reference argument", `{"object": "genesis", "selector": "link", "args": [{"$ref": 3}]}`,
			mission.Brief{Object: "genesis", Selector: "link", Args: args(`{"$ref":3}`)}, false},
		{"no JSON", "no brief here", mission.Brief{}, true},
		{"no object", `{"selector": "greet"}`, mission.Brief{}, true},
		{"no selector", `{"object": "genesis"}`, mission.Brief{}, true},
		{"a bad reference", `{"object": "genesis", "selector": "x", "args": [{"$ref": "me"}]}`, mission.Brief{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := mission.FromReply(tc.reply)
			if tc.err {
				assert.ErrorIs(t, err, mission.ErrUnreadable)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// FromRules reads the common forms, and only them.
func TestFromRules(t *testing.T) {
	roots := map[string]bool{"genesis": true, "traits": true}
	isRoot := func(s string) bool { return roots[s] }
	for _, tc := range []struct {
		text string
		want mission.Brief
		err  bool
	}{
		{"send add to genesis with 2, 40", mission.Brief{Object: "genesis", Selector: "add", Args: args(`2`, `40`)}, false},
		{"Send greet the architect to genesis with Ada Lovelace", mission.Brief{Object: "genesis", Selector: "greet_the_architect", Args: args(`"Ada Lovelace"`)}, false},
		{`send count_words to 3 with "one, two", [1, 2]`, mission.Brief{Object: "3", Selector: "count_words", Args: args(`"one, two"`, `[1,2]`)}, false},
		{"send ping to genesis", mission.Brief{Object: "genesis", Selector: "ping", Args: args()}, false},
		{"ask genesis to add 2 40", mission.Brief{Object: "genesis", Selector: "add", Args: args(`2`, `40`)}, false},
		{"tell traits to greet 'Ada Lovelace' true", mission.Brief{Object: "traits", Selector: "greet", Args: args(`"Ada Lovelace"`, `true`)}, false},
		{"ask genesis to add 2, 40", mission.Brief{Object: "genesis", Selector: "add", Args: args(`2`, `40`)}, false},
		{`genesis add 2 40`, mission.Brief{Object: "genesis", Selector: "add", Args: args(`2`, `40`)}, false},
		{`#7 link {"$ref": 3}`, mission.Brief{Object: "7", Selector: "link", Args: args(`{"$ref":3}`)}, false},
		{"give genesis a method that counts words in a text", mission.Brief{}, true},
		{"hello there", mission.Brief{}, true},
		{"genesis", mission.Brief{}, true},
		{"ask genesis to 9lives", mission.Brief{}, true},
		{"send to genesis", mission.Brief{}, true},
	} {
		t.Run(tc.text, func(t *testing.T) {
			got, err := mission.FromRules(tc.text, isRoot)
			if tc.err {
				assert.ErrorIs(t, err, mission.ErrNoRule)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestBriefString(t *testing.T) {
	b := mission.Brief{Object: "genesis", Selector: "add", Args: args(`2`, `"x"`)}
	assert.Equal(t, `genesis add 2 "x"`, b.String())
	v, err := b.Values()
	require.NoError(t, err)
	assert.Equal(t, []any{int64(2), "x"}, v)
}
