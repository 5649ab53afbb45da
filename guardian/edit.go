package guardian

import (
	"errors"
	"go/ast"
	"go/token"
	"sort"
)

// An edit replaces src[start:end] with text (an insertion when start ==
// end). The guardian never rewrites the tree: it edits the text, so that
// comments and layout survive and the output reads like the input.
type edit struct {
	start, end int
	prio       int // order of insertions at one offset: lower first
	seq        int
	text       string
}

// Insertion priorities at the start of a block.
const (
	prioMeter    = 0 // instrumentation: meter, Enter/Leave, fuel check
	prioPrologue = 1 // rewritten loops: decode the rune, copy the index
	prioCopy     = 2 // per-iteration copies of loop variables
	prioWrap     = 3 // opening brace wrapping a loop body
)

func (u *unit) insertAt(off, prio int, text string) {
	u.edits = append(u.edits, edit{start: off, end: off, prio: prio, seq: len(u.edits), text: text})
}

func (u *unit) insert(p token.Pos, prio int, text string) {
	u.insertAt(u.offset(p), prio, text)
}

// replace replaces the text of a node.
func (u *unit) replace(n ast.Node, text string) {
	u.replaceSpan(n.Pos(), n.End(), text)
}

func (u *unit) replaceSpan(from, to token.Pos, text string) {
	u.edits = append(u.edits, edit{start: u.offset(from), end: u.offset(to), seq: len(u.edits), text: text})
}

// blockStart is the offset at which statements are inserted at the start
// of a block: after the opening brace and any comment on its line.
func (u *unit) blockStart(b *ast.BlockStmt) int {
	return blockStartIn(u.src, u.offset(b.Lbrace))
}

func blockStartIn(src []byte, lbrace int) int {
	i := lbrace + 1
	for i < len(src) {
		switch {
		case src[i] == ' ' || src[i] == '\t' || src[i] == '\r':
			i++
		case src[i] == '\n':
			return i
		case i+1 < len(src) && src[i] == '/' && src[i+1] == '/':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			return i
		case i+1 < len(src) && src[i] == '/' && src[i+1] == '*':
			j := i + 2
			for j+1 < len(src) && !(src[j] == '*' && src[j+1] == '/') {
				if src[j] == '\n' {
					return lbrace + 1
				}
				j++
			}
			i = j + 2
		default:
			return lbrace + 1
		}
	}
	return lbrace + 1
}

// insertStmts inserts statements at the start of a block.
func (u *unit) insertStmts(b *ast.BlockStmt, prio int, stmts ...string) {
	off := u.blockStart(b)
	text := ""
	for _, s := range stmts {
		text += "\n" + s
	}
	if off < len(u.src) && u.src[off] != '\n' {
		text += "\n"
	}
	u.insertAt(off, prio, text)
}

// applyEdits applies non-overlapping edits to src.
func applyEdits(src []byte, edits []edit) ([]byte, error) {
	sort.SliceStable(edits, func(i, j int) bool {
		a, b := edits[i], edits[j]
		if a.start != b.start {
			return a.start < b.start
		}
		ai, bi := a.start == a.end, b.start == b.end
		if ai != bi {
			return ai // insertions before a replacement at the same offset
		}
		if a.prio != b.prio {
			return a.prio < b.prio
		}
		return a.seq < b.seq
	})
	out := make([]byte, 0, len(src)+len(src)/4)
	last := 0
	for _, e := range edits {
		if e.start < last || e.end < e.start || e.end > len(src) {
			return nil, errors.New("overlapping edits")
		}
		out = append(out, src[last:e.start]...)
		out = append(out, e.text...)
		last = e.end
	}
	return append(out, src[last:]...), nil
}
