package memory_test

import (
	"context"
	"errors"
	"testing"

	"github.com/batos-dev/batos/memory"
	"github.com/batos-dev/batos/uvm"
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
	err := im.Update(ctx, func(tx *uvm.Tx) error {
		for _, s := range ss {
			if err := c.IndexSkill(ctx, tx, s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSkills(t *testing.T) {
	ctx := context.Background()
	im := memImage(t)
	c := openCatalog(t, im, memory.Options{Codex: memory.DefaultCodex()})

	t.Run("empty index", func(t *testing.T) {
		ms, err := c.SearchSkills(ctx, "greet someone", 3)
		if err != nil || len(ms) != 0 {
			t.Errorf("got %v, %v; want nothing (the codex is not a skill)", ms, err)
		}
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
			if err != nil {
				t.Fatal(err)
			}
			if len(ms) != 2 || ms[0].Selector != tt.selector {
				t.Fatalf("got %+v, want %s first", ms, tt.selector)
			}
		})
	}

	t.Run("fields", func(t *testing.T) {
		ms, _ := c.SearchSkills(ctx, "greet the architect", 1)
		want := skills[0]
		want.Source = ""
		if ms[0].Skill != want {
			t.Errorf("got %+v, want %+v", ms[0].Skill, want)
		}
		if ms[0].Similarity <= 0 {
			t.Errorf("got similarity %v", ms[0].Similarity)
		}
	})
	t.Run("source comments are indexed", func(t *testing.T) {
		ms, _ := c.SearchSkills(ctx, "says hello", 1)
		if ms[0].Selector != "greet_the_architect" {
			t.Errorf("got %s, want greet_the_architect", ms[0].Selector)
		}
	})
	t.Run("a new version replaces the old", func(t *testing.T) {
		s := skills[1]
		s.Version = 3
		s.Intent = "add up the prices of the order's items"
		indexSkills(t, c, im, s)
		ms, _ := c.SearchSkills(ctx, "total price", 10)
		n := 0
		for _, m := range ms {
			if m.Selector == "totalPrice" {
				n++
				if m.Version != 3 || m.Intent != s.Intent {
					t.Errorf("got %+v, want version 3", m)
				}
			}
		}
		if n != 1 || len(ms) != len(skills) {
			t.Errorf("got %d entries for totalPrice among %d, want 1 among %d", n, len(ms), len(skills))
		}
	})
	t.Run("remove", func(t *testing.T) {
		err := im.Update(ctx, func(tx *uvm.Tx) error {
			if err := c.RemoveSkill(ctx, tx, 9, "count_words"); err != nil {
				return err
			}
			return c.RemoveSkill(ctx, tx, 9, "never_indexed")
		})
		if err != nil {
			t.Fatal(err)
		}
		ms, _ := c.SearchSkills(ctx, "count words", 10)
		for _, m := range ms {
			if m.Selector == "count_words" {
				t.Error("removed skill still found")
			}
		}
		if len(ms) != len(skills)-1 {
			t.Errorf("got %d skills, want %d", len(ms), len(skills)-1)
		}
	})
	t.Run("skills do not leak into codex searches", func(t *testing.T) {
		for _, r := range search(t, c, "greet the architect", 5, map[string]string{"kind": "codex"}) {
			if r.Kind != "codex" {
				t.Errorf("got a %s in a codex search", r.Kind)
			}
		}
	})
	t.Run("bad selector", func(t *testing.T) {
		err := im.Update(ctx, func(tx *uvm.Tx) error { return c.IndexSkill(ctx, tx, memory.Skill{OID: 1}) })
		if !errors.Is(err, uvm.ErrBadName) {
			t.Errorf("got %v, want ErrBadName", err)
		}
	})
	t.Run("rolled back with the cycle", func(t *testing.T) {
		err := im.Update(ctx, func(tx *uvm.Tx) error {
			if err := c.IndexSkill(ctx, tx, memory.Skill{OID: 99, Selector: "launch_rockets", Intent: "launch the rockets"}); err != nil {
				return err
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatal(err)
		}
		ms, _ := c.SearchSkills(ctx, "launch the rockets", 10)
		for _, m := range ms {
			if m.Selector == "launch_rockets" {
				t.Error("a skill indexed in a failed cycle was found")
			}
		}
	})
}
