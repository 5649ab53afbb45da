package memory_test

import (
	"context"
	"testing"

	"github.com/batos-dev/batos/memory"
	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/uvmtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var skills = []memory.Skill{
	{OID: 7, Selector: "greet_the_architect", Version: 1, Intent: "answer the architect by name with a warm greeting",
		Signature: "func(self batos.Self, args []any) (any, error)",
		Source:    "// greet_the_architect says hello to the architect.\nfunc greet_the_architect(self batos.Self, args []any) (any, error) {\n\treturn \"Hello\", nil // a literal\n}"},
	{OID: 7, Selector: "totalPrice", Version: 2, Intent: "sum the prices of every item in the order, with tax"},
	{OID: 9, Selector: "sort_inventory_by_weight", Version: 1, Intent: "order the inventory list from lightest to heaviest item"},
	{OID: 9, Selector: "count_words", Version: 1, Intent: "count how many words a text holds"},
	{OID: 12, Selector: "celsius_to_fahrenheit", Version: 3, Intent: "convert a temperature in degrees Celsius to Fahrenheit"},
}

func indexSkills(t *testing.T, c *memory.Catalog, im *uvm.Image, ss ...memory.Skill) {
	t.Helper()
	ctx := context.Background()
	uvmtest.Update(t, im, func(tx *uvm.Tx) error {
		for _, s := range ss {
			if err := c.IndexSkill(ctx, tx, s); err != nil {
				return err
			}
		}
		return nil
	})
}

func TestSkills(t *testing.T) {
	ctx := context.Background()
	im := uvmtest.Mem(t, uvm.Options{})
	c := openCatalog(t, im, memory.Options{Codex: memory.DefaultCodex()})

	t.Run("empty index", func(t *testing.T) {
		ms, err := c.SearchSkills(ctx, "greet someone", 3)
		assert.NoError(t, err)
		assert.Empty(t, ms, "the codex is not a skill")
	})

	indexSkills(t, c, im, skills...)
	tests := []struct {
		query    string
		selector string
	}{
		{"say hello to the architect", "greet_the_architect"},
		{"what is the total price of my order?", "totalPrice"},
		{"sort the inventory by weight", "sort_inventory_by_weight"},
		{"how many words are in this sentence", "count_words"},
		{"convert 30 degrees celsius", "celsius_to_fahrenheit"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			ms, err := c.SearchSkills(ctx, tt.query, 2)
			require.NoError(t, err)
			require.Len(t, ms, 2)
			require.Equal(t, tt.selector, ms[0].Selector, "first of %+v", ms)
		})
	}

	t.Run("fields", func(t *testing.T) {
		ms, err := c.SearchSkills(ctx, "greet the architect", 1)
		require.NoError(t, err)
		require.NotEmpty(t, ms)
		want := skills[0]
		want.Source = ""
		assert.Equal(t, want, ms[0].Skill)
		assert.Greater(t, ms[0].Similarity, float32(0), "similarity")
	})
	t.Run("source comments are indexed", func(t *testing.T) {
		ms, err := c.SearchSkills(ctx, "says hello", 1)
		require.NoError(t, err)
		require.NotEmpty(t, ms)
		assert.Equal(t, "greet_the_architect", ms[0].Selector)
	})
	t.Run("a new version replaces the old", func(t *testing.T) {
		s := skills[1]
		s.Version = 3
		s.Intent = "add up the prices of the order's items"
		indexSkills(t, c, im, s)
		ms, err := c.SearchSkills(ctx, "total price", 10)
		require.NoError(t, err)
		n := 0
		for _, m := range ms {
			if m.Selector == "totalPrice" {
				n++
				assert.Equal(t, 3, m.Version, "version of %+v", m)
				assert.Equal(t, s.Intent, m.Intent)
			}
		}
		assert.Equal(t, 1, n, "entries for totalPrice")
		assert.Len(t, ms, len(skills), "skills")
	})
	t.Run("remove", func(t *testing.T) {
		uvmtest.Update(t, im, func(tx *uvm.Tx) error {
			if err := c.RemoveSkill(ctx, tx, 9, "count_words"); err != nil {
				return err
			}
			return c.RemoveSkill(ctx, tx, 9, "never_indexed")
		})
		ms, err := c.SearchSkills(ctx, "count words", 10)
		require.NoError(t, err)
		for _, m := range ms {
			assert.NotEqual(t, "count_words", m.Selector, "removed skill still found")
		}
		assert.Len(t, ms, len(skills)-1, "skills")
	})
	t.Run("skills do not leak into codex searches", func(t *testing.T) {
		for _, r := range search(t, c, "greet the architect", 5, map[string]string{"kind": "codex"}) {
			assert.Equal(t, "codex", r.Kind, "kind of a result of a codex search")
		}
	})
	t.Run("bad selector", func(t *testing.T) {
		err := im.Update(ctx, func(tx *uvm.Tx) error { return c.IndexSkill(ctx, tx, memory.Skill{OID: 1}) })
		assert.ErrorIs(t, err, uvm.ErrBadName)
	})
	t.Run("rolled back with the cycle", func(t *testing.T) {
		err := im.Update(ctx, func(tx *uvm.Tx) error {
			if err := c.IndexSkill(ctx, tx, memory.Skill{OID: 99, Selector: "launch_rockets", Intent: "launch the rockets"}); err != nil {
				return err
			}
			return errRollback
		})
		require.ErrorIs(t, err, errRollback)
		ms, err := c.SearchSkills(ctx, "launch the rockets", 10)
		require.NoError(t, err)
		for _, m := range ms {
			assert.NotEqual(t, "launch_rockets", m.Selector, "a skill indexed in a failed transaction was found")
		}
	})
}

// TestSearchKnowledgeLeavesSkillsOut: SearchKnowledge answers from every
// kind but the skill index, even when a skill is the closest match;
// Search still finds the skill.
func TestSearchKnowledgeLeavesSkillsOut(t *testing.T) {
	ctx := context.Background()
	im := uvmtest.Mem(t, uvm.Options{})
	c := openCatalog(t, im, memory.Options{Codex: memory.DefaultCodex()})
	indexSkills(t, c, im, skills...)
	query := "convert a temperature in degrees Celsius to Fahrenheit"
	all, err := c.Search(ctx, query, 3, nil)
	require.NoError(t, err)
	require.NotEmpty(t, all)
	assert.Equal(t, memory.SkillKind, all[0].Kind, "the skill is the closest match of all")
	known, err := c.SearchKnowledge(ctx, query, 3)
	require.NoError(t, err)
	require.Len(t, known, 3, "the codex answers")
	for _, r := range known {
		assert.NotEqual(t, memory.SkillKind, r.Kind, r.ID)
	}
	_, err = c.SearchKnowledge(ctx, query, 0)
	assert.ErrorIs(t, err, memory.ErrBadLimit)
}
