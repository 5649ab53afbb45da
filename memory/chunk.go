package memory

import (
	"context"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ChunkMethod chooses how documents are cut into chunks.
type ChunkMethod int

const (
	// ChunkSemantic splits a document into sentences, embeds them, and cuts
	// where the similarity of neighbouring sentences drops below the
	// BreakPercentile-th percentile of all neighbour similarities in the
	// document, within the size bounds. A chunk that would grow past
	// MaxBytes is cut at its least similar neighbour pair instead.
	// Documents of fewer than three sentences, or too short to be cut
	// into two chunks of MinBytes, are chunked by size (no embedding).
	// Otherwise it costs one embedding per distinct sentence (the catalog
	// reuses them for chunks that are one sentence): for large corpora and
	// a remote model, ChunkBySize is much cheaper.
	ChunkSemantic ChunkMethod = iota
	// ChunkBySize packs whole sentences into chunks of at most MaxBytes.
	ChunkBySize
)

// ChunkOptions bound and steer chunking. The zero value means the defaults
// DefaultChunkOptions documents.
type ChunkOptions struct {
	Method ChunkMethod
	// BreakPercentile is the percentile (0–100) of neighbour similarities
	// below which ChunkSemantic cuts. Zero means 5, the seed design's value.
	BreakPercentile float64
	// MinBytes is the smallest chunk a semantic cut may leave (the last
	// chunk of a document is merged into the one before it when it is
	// smaller and they fit together). Zero means 300.
	MinBytes int
	// MaxBytes is the largest chunk. A single sentence longer than that is
	// cut at spaces. Zero means 1500.
	MaxBytes int
}

// DefaultChunkOptions returns the chunking defaults: semantic, 5th
// percentile, chunks of 300 to 1500 bytes.
func DefaultChunkOptions() ChunkOptions {
	return ChunkOptions{Method: ChunkSemantic, BreakPercentile: 5, MinBytes: 300, MaxBytes: 1500}
}

func (o ChunkOptions) withDefaults() ChunkOptions {
	d := DefaultChunkOptions()
	if o.BreakPercentile <= 0 || o.BreakPercentile > 100 || math.IsNaN(o.BreakPercentile) {
		o.BreakPercentile = d.BreakPercentile
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = d.MaxBytes
	}
	if o.MinBytes <= 0 {
		o.MinBytes = min(d.MinBytes, o.MaxBytes/4)
	}
	if o.MinBytes > o.MaxBytes {
		o.MinBytes = o.MaxBytes
	}
	if o.MaxBytes < 16 {
		o.MaxBytes = 16
	}
	return o
}

// Chunk cuts text into chunks by the options, using embed for the sentence
// vectors of ChunkSemantic (embed must return one vector per text; with a
// nil embed, ChunkSemantic falls back to ChunkBySize). It is what
// Catalog.Add does before embedding the chunks.
func Chunk(ctx context.Context, text string, opts ChunkOptions, embed func(ctx context.Context, texts []string) ([][]float32, error)) ([]string, error) {
	opts = opts.withDefaults()
	sents := splitSentences(text, opts.MaxBytes)
	if len(sents) == 0 {
		return nil, nil
	}
	total := len(sents) - 1
	for _, s := range sents {
		total += len(s)
	}
	if opts.Method == ChunkBySize || embed == nil || len(sents) < 3 ||
		(total <= opts.MaxBytes && total < 2*opts.MinBytes) {
		return packBySize(sents, opts.MaxBytes), nil
	}
	vecs, err := embed(ctx, sents)
	if err != nil {
		return nil, err
	}
	sims := make([]float64, len(sents)-1)
	for i := range sims {
		sims[i] = dot(vecs[i], vecs[i+1])
	}
	thr := percentile(sims, opts.BreakPercentile)
	return semanticCut(sents, sims, thr, opts.MinBytes, opts.MaxBytes), nil
}

func dot(a, b []float32) float64 {
	var s float64
	for i := range min(len(a), len(b)) {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// percentile interpolates linearly between the closest ranks, like numpy's
// and torch's default quantile.
func percentile(xs []float64, p float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	pos := p / 100 * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	return s[lo] + (s[hi]-s[lo])*(pos-float64(lo))
}

// semanticCut groups sentences into chunks, cutting after sentence i when
// sims[i] (the similarity of sentences i and i+1) is below thr and the chunk
// has MinBytes, and cutting at the least similar pair when a chunk would
// outgrow max.
func semanticCut(sents []string, sims []float64, thr float64, minB, maxB int) []string {
	var chunks []string
	cum := make([]int, len(sents)+1) // cum[i]: bytes of sents[:i]
	for i, s := range sents {
		cum[i+1] = cum[i] + len(s)
	}
	size := func(a, b int) int { return cum[b+1] - cum[a] + b - a } // sents[a..b] joined by spaces
	emit := func(a, b int) { chunks = append(chunks, strings.Join(sents[a:b+1], " ")) }
	start := 0
	for i := 0; i < len(sents); i++ {
		for i > start && size(start, i) > maxB {
			// Cut at the least similar gap g in [start, i-1] that leaves
			// at least minB before it, else just before sentence i.
			cut := i - 1
			best := math.Inf(1)
			for g := start; g < i; g++ {
				if size(start, g) >= minB && sims[g] < best {
					best, cut = sims[g], g
				}
			}
			emit(start, cut)
			start = cut + 1
		}
		if i < len(sims) && sims[i] < thr && size(start, i) >= minB {
			emit(start, i)
			start = i + 1
		}
	}
	if start < len(sents) {
		rest := strings.Join(sents[start:], " ")
		if n := len(chunks); n > 0 && len(rest) < minB && len(chunks[n-1])+1+len(rest) <= maxB {
			chunks[n-1] += " " + rest
		} else {
			chunks = append(chunks, rest)
		}
	}
	return chunks
}

// packBySize packs whole sentences into chunks of at most maxB bytes.
func packBySize(sents []string, maxB int) []string {
	var chunks []string
	var cur strings.Builder
	for _, s := range sents {
		if cur.Len() > 0 && cur.Len()+1+len(s) > maxB {
			chunks = append(chunks, cur.String())
			cur.Reset()
		}
		if cur.Len() > 0 {
			cur.WriteByte(' ')
		}
		cur.WriteString(s)
	}
	if cur.Len() > 0 {
		chunks = append(chunks, cur.String())
	}
	return chunks
}

// splitSentences cuts text into sentences: paragraphs at blank lines, list
// items at their markers, headings alone, fenced code blocks whole, and prose at ., ! or ?
// followed by space and a capital, digit or quote (not after common
// abbreviations). No sentence is longer than maxB: longer ones are cut at
// spaces.
func splitSentences(text string, maxB int) []string {
	var out []string
	add := func(s string) {
		s = strings.Join(strings.Fields(s), " ")
		if s == "" {
			return
		}
		out = append(out, hardSplit(s, maxB)...)
	}
	addCode := func(s string) {
		s = strings.TrimSpace(s)
		if s == "" {
			return
		}
		for len(s) > maxB {
			cut := strings.LastIndexByte(s[:maxB], '\n')
			if cut <= 0 {
				cut = runeCut(s, maxB)
			}
			out = append(out, strings.TrimSpace(s[:cut]))
			s = strings.TrimSpace(s[cut:])
		}
		if s != "" {
			out = append(out, s)
		}
	}
	var para []string
	flush := func() {
		if len(para) > 0 {
			for _, s := range proseSentences(strings.Join(para, " ")) {
				add(s)
			}
			para = para[:0]
		}
	}
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		trim := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trim, "```"):
			flush()
			var code []string
			code = append(code, line)
			for i++; i < len(lines); i++ {
				code = append(code, lines[i])
				if strings.HasPrefix(strings.TrimSpace(lines[i]), "```") {
					break
				}
			}
			addCode(strings.Join(code, "\n"))
		case trim == "":
			flush()
		case strings.HasPrefix(trim, "#"):
			flush()
			add(trim)
		case isListItem(trim):
			flush()
			para = append(para, trim)
		default:
			para = append(para, trim)
		}
	}
	flush()
	return out
}

func isListItem(s string) bool {
	if strings.HasPrefix(s, "- ") || strings.HasPrefix(s, "* ") || strings.HasPrefix(s, "+ ") {
		return true
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i > 0 && i+1 < len(s) && (s[i] == '.' || s[i] == ')') && s[i+1] == ' '
}

// proseSentences splits one paragraph at sentence ends.
func proseSentences(p string) []string {
	var out []string
	start := 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c != '.' && c != '!' && c != '?' {
			continue
		}
		j := i + 1
		for j < len(p) && strings.IndexByte(`"')]`, p[j]) >= 0 {
			j++
		}
		if j < len(p) && p[j] != ' ' {
			continue
		}
		k := j
		for k < len(p) && p[k] == ' ' {
			k++
		}
		if k < len(p) {
			r, _ := utf8.DecodeRuneInString(p[k:])
			if !unicode.IsUpper(r) && !unicode.IsDigit(r) && !strings.ContainsRune(`"'(`+"`", r) {
				continue
			}
		}
		if c == '.' && isAbbreviation(p[start:i]) {
			continue
		}
		out = append(out, strings.TrimSpace(p[start:j]))
		start = k
		i = k - 1
	}
	if rest := strings.TrimSpace(p[start:]); rest != "" {
		out = append(out, rest)
	}
	return out
}

// isAbbreviation reports whether the text before a full stop ends with an
// abbreviation after which a sentence rarely ends.
func isAbbreviation(before string) bool {
	last := before[strings.LastIndexAny(before, " \t\n")+1:]
	w := strings.ToLower(strings.TrimLeft(last, `"'(`))
	if w == "" {
		return false
	}
	switch w {
	case "e.g", "i.e", "etc", "vs", "cf", "mr", "mrs", "ms", "dr", "prof", "st", "no", "fig", "approx", "incl":
		return true
	}
	// A single capital letter: an initial ("J. Smith").
	return len(w) == 1 && unicode.IsLetter(rune(w[0]))
}

// hardSplit cuts s into pieces of at most maxB bytes, at spaces when it can
// and never inside a UTF-8 sequence.
func hardSplit(s string, maxB int) []string {
	var out []string
	for len(s) > maxB {
		cut := strings.LastIndexByte(s[:maxB+1], ' ')
		if cut <= 0 {
			cut = runeCut(s, maxB)
		}
		out = append(out, strings.TrimSpace(s[:cut]))
		s = strings.TrimSpace(s[cut:])
	}
	if s != "" {
		out = append(out, s)
	}
	return out
}

// runeCut returns the largest index <= n that starts a rune of s (at least 1).
func runeCut(s string, n int) int {
	for n > 1 && !utf8.RuneStart(s[n]) {
		n--
	}
	if n < 1 {
		return 1
	}
	return n
}
