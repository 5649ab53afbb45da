package memory

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/batos-dev/batos/uvm"
)

// SkillKind is the kind of the documents that index installed methods.
const SkillKind = "skill"

// maxSkillText bounds the text a skill is embedded from, in bytes.
const maxSkillText = 2000

// Skill describes an installed method, for the skill index.
type Skill struct {
	OID       uvm.OID // the object holding the method
	Selector  string
	Version   int
	Intent    string // what it was written for
	Signature string // e.g. "func(self batos.Self, args []any) (any, error)", or a usage line
	// Source is the method's Go source. Only its comments are indexed (they
	// say what it does in words); it is not kept in the index and search
	// results do not carry it — read the method from the image.
	Source string
}

// SkillMatch is a skill found by SearchSkills.
type SkillMatch struct {
	Skill
	Similarity float32
}

func skillID(oid uvm.OID, selector string) string {
	return "skill/" + strconv.FormatUint(uint64(oid), 10) + "/" + selector
}

// IndexSkill indexes an installed method inside tx, by its selector (cut
// into words), intent, signature and the comments of its source. A method
// is indexed once per (OID, selector): indexing a newer version replaces
// the older one.
func (c *Catalog) IndexSkill(ctx context.Context, tx *uvm.Tx, s Skill) error {
	if err := uvm.CheckName(s.Selector); err != nil {
		return fmt.Errorf("memory: skill selector: %w", err)
	}
	meta := map[string]string{
		"oid":      strconv.FormatUint(uint64(s.OID), 10),
		"selector": s.Selector,
		"version":  strconv.Itoa(s.Version),
	}
	if s.Intent != "" {
		meta["intent"] = s.Intent
	}
	if s.Signature != "" {
		meta["signature"] = s.Signature
	}
	_, err := c.add(ctx, tx, Document{
		ID:       skillID(s.OID, s.Selector),
		Text:     skillText(s),
		Kind:     SkillKind,
		Source:   "uvm",
		Metadata: meta,
	}, true)
	return err
}

// RemoveSkill takes a method out of the skill index inside tx. A method
// that is not indexed is not an error.
func (c *Catalog) RemoveSkill(ctx context.Context, tx *uvm.Tx, oid uvm.OID, selector string) error {
	if err := uvm.CheckName(selector); err != nil {
		return fmt.Errorf("memory: skill selector: %w", err)
	}
	return c.Delete(ctx, tx, skillID(oid, selector))
}

// SearchSkills returns the k indexed methods whose selector, intent and
// signature are closest in meaning to query (a message, an intent), best
// first. The Source of the skills it returns is empty.
func (c *Catalog) SearchSkills(ctx context.Context, query string, k int) ([]SkillMatch, error) {
	rs, err := c.Search(ctx, query, k, map[string]string{KeyKind: SkillKind})
	if err != nil {
		return nil, err
	}
	out := make([]SkillMatch, 0, len(rs))
	for _, r := range rs {
		oid, _ := strconv.ParseUint(r.Metadata["oid"], 10, 64)
		v, _ := strconv.Atoi(r.Metadata["version"])
		out = append(out, SkillMatch{
			Skill: Skill{
				OID:       uvm.OID(oid),
				Selector:  r.Metadata["selector"],
				Version:   v,
				Intent:    r.Metadata["intent"],
				Signature: r.Metadata["signature"],
			},
			Similarity: r.Similarity,
		})
	}
	return out, nil
}

// skillText is what a skill is embedded from: the selector as words, the
// intent, the signature, and the source's comments.
func skillText(s Skill) string {
	var b strings.Builder
	words := strings.Join(identParts(s.Selector), " ")
	fmt.Fprintf(&b, "Method %s (%s).", s.Selector, strings.ToLower(words))
	if s.Intent != "" {
		b.WriteString(" Intent: " + strings.TrimSpace(s.Intent))
	}
	if s.Signature != "" {
		b.WriteString(" Signature: " + strings.TrimSpace(s.Signature))
	}
	if cm := sourceComments(s.Source); cm != "" {
		b.WriteString(" Notes: " + cm)
	}
	t := b.String()
	if len(t) > maxSkillText {
		t = t[:runeCut(t, maxSkillText)]
	}
	return t
}

// sourceComments collects the // comments of Go source, in order.
func sourceComments(src string) string {
	var parts []string
	for _, line := range strings.Split(src, "\n") {
		i := strings.Index(line, "//")
		if i < 0 {
			continue
		}
		if strings.Count(line[:i], `"`)%2 == 1 || strings.Count(line[:i], "`")%2 == 1 {
			continue // inside a string literal
		}
		if t := strings.TrimSpace(line[i+2:]); t != "" && !strings.HasPrefix(t, "go:") {
			parts = append(parts, t)
		}
	}
	return strings.Join(parts, " ")
}
