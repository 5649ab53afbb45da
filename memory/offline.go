package memory

import (
	"context"
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DefaultDimensions is the vector length of the offline embedder when none
// is asked for.
const DefaultDimensions = 384

// OfflineEmbedder returns the offline default embedder: it needs no network
// and no model weights, and gives the same vector for the same text on every
// machine, forever (its name carries a version for the day it changes).
//
// What it is: a bag of hashed features, L2-normalised. Each text is lower-cased
// and cut into words (camelCase and snake_case identifiers are cut into their
// parts too); common English stop words are dropped; each word is lightly
// stemmed ("compiles", "compiled" and "compiling" meet). The features are the
// words, pairs of neighbouring words, and the character trigrams of each
// word, each hashed (FNV-1a, with a hashed sign) into one of dims buckets.
// Two texts are close when they share words, word pairs or word pieces.
//
// What it is not: a language model. It knows no synonyms and no paraphrase
// ("car" and "automobile" are unrelated to it), no word order beyond
// neighbours, and no language other than by its letters. Use it for tests,
// for offline work and for small catalogs whose questions use the words of
// their answers; use a real embedding model (OllamaEmbedder, OpenAIEmbedder)
// for search by meaning.
//
// dims <= 0 means DefaultDimensions.
func OfflineEmbedder(dims int) Embedder {
	if dims <= 0 {
		dims = DefaultDimensions
	}
	h := hashEmbedder{dims: dims}
	return Embedder{
		Name:       fmt.Sprintf("batos-hash-v1/%d", dims),
		Dimensions: dims,
		Embed:      h.embed,
	}
}

type hashEmbedder struct{ dims int }

// Feature weights, chosen on the relevance test of the shipped codex.
const (
	weightWord    = 1.0
	weightPair    = 0.6
	weightTrigram = 1.2 // shared by all the trigrams of one word
)

func (h hashEmbedder) embed(ctx context.Context, text string) ([]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if blank(text) {
		return nil, ErrEmptyText
	}
	v := make([]float64, h.dims)
	add := func(kind byte, feature string, w float64) {
		x := fnv64(kind, feature)
		i := int(x % uint64(h.dims))
		if x>>63 == 1 {
			w = -w
		}
		v[i] += w
	}
	words := contentWords(text)
	if len(words) == 0 {
		// Only stop words or symbols: keep what there is rather than nothing.
		words = allWords(text)
	}
	if len(words) == 0 {
		add('r', strings.TrimSpace(text), 1)
	}
	for i, w := range words {
		add('w', w, weightWord)
		if i > 0 {
			add('p', words[i-1]+" "+w, weightPair)
		}
		padded := "<" + w + ">"
		n := utf8.RuneCountInString(padded) - 2
		if n < 1 {
			continue
		}
		tw := weightTrigram / math.Sqrt(float64(n))
		r := []rune(padded)
		for j := 0; j+3 <= len(r); j++ {
			add('t', string(r[j:j+3]), tw)
		}
	}
	var sum float64
	for _, x := range v {
		sum += x * x
	}
	out := make([]float32, h.dims)
	if sum == 0 { // every feature cancelled out: improbable, but never a zero vector
		out[fnv64('r', text)%uint64(h.dims)] = 1
		return out, nil
	}
	norm := math.Sqrt(sum)
	for i, x := range v {
		out[i] = float32(x / norm)
	}
	return out, nil
}

func fnv64(kind byte, s string) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	h ^= uint64(kind)
	h *= prime
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= prime
	}
	// Finalise (splitmix64) so that the top bit, used as the sign, is well mixed.
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

// allWords cuts text into lower-case words, splitting identifiers into their
// parts as well as keeping them whole.
func allWords(text string) []string {
	var out []string
	for _, tok := range strings.FieldsFunc(text, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_'
	}) {
		parts := identParts(tok)
		whole := strings.ToLower(strings.Trim(tok, "_"))
		if whole == "" {
			continue
		}
		if len(parts) > 1 {
			out = append(out, strings.ReplaceAll(whole, "_", ""))
		}
		for _, p := range parts {
			out = append(out, strings.ToLower(p))
		}
	}
	return out
}

// contentWords is allWords without stop words, stemmed.
func contentWords(text string) []string {
	var out []string
	for _, w := range allWords(text) {
		if isStopWord(w) {
			continue
		}
		out = append(out, stem(w))
	}
	return out
}

// identParts splits "parseHTTPRequest" into parse, HTTP, Request and
// "greet_the_architect" into greet, the, architect. A plain word is one part.
func identParts(tok string) []string {
	var parts []string
	for _, seg := range strings.Split(tok, "_") {
		if seg == "" {
			continue
		}
		r := []rune(seg)
		start := 0
		for i := 1; i < len(r); i++ {
			lowerToUpper := unicode.IsLower(r[i-1]) && unicode.IsUpper(r[i])
			acronymEnd := i+1 < len(r) && unicode.IsUpper(r[i-1]) && unicode.IsUpper(r[i]) && unicode.IsLower(r[i+1])
			letterDigit := unicode.IsLetter(r[i-1]) != unicode.IsLetter(r[i])
			if lowerToUpper || acronymEnd || letterDigit {
				parts = append(parts, string(r[start:i]))
				start = i
			}
		}
		parts = append(parts, string(r[start:]))
	}
	return parts
}

// stem strips one common English suffix, keeping a stem of at least three
// letters. It is deliberately crude: trigrams catch what it misses.
func stem(w string) string {
	if len(w) <= 3 {
		return w
	}
	suffixes := [...]struct{ from, to string }{
		{"ational", "ate"}, {"ations", "ate"}, {"ation", "ate"}, {"ments", ""}, {"ment", ""},
		{"ness", ""}, {"ities", ""}, {"ity", ""}, {"ings", ""}, {"ing", ""}, {"ies", "y"},
		{"ied", "y"}, {"ers", ""}, {"er", ""}, {"ed", ""}, {"es", ""}, {"ly", ""},
		{"'s", ""}, {"s", ""}, {"e", ""},
	}
	for _, suf := range suffixes {
		if strings.HasSuffix(w, suf.from) && len(w)-len(suf.from) >= 3 {
			return w[:len(w)-len(suf.from)] + suf.to
		}
	}
	return w
}

// isStopWord reports whether w (lower case) is a common English word that
// says nothing about what a text is about.
func isStopWord(w string) bool {
	switch w {
	case "a", "an", "the", "and", "or", "but", "if", "then", "else", "when", "while", "of", "to",
		"in", "on", "at", "by", "for", "with", "from", "into", "onto", "over", "under", "about",
		"as", "is", "are", "was", "were", "be", "been", "being", "am", "do", "does", "did", "done",
		"doing", "have", "has", "had", "having", "it", "its", "this", "that", "these", "those",
		"there", "here", "what", "which", "who", "whom", "whose", "why", "how", "i", "me", "my",
		"we", "us", "our", "you", "your", "he", "him", "his", "she", "her", "they", "them",
		"their", "not", "no", "nor", "so", "too", "very", "can", "could", "should", "would",
		"will", "shall", "may", "might", "must", "just", "also", "than", "such", "only", "own",
		"same", "s", "t", "all", "any", "each", "few", "more", "most", "other", "some", "both",
		"up", "down", "out", "off", "again", "further", "once":
		return true
	}
	return false
}
