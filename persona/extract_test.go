package persona_test

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/batos-dev/batos/persona"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const goSrc = "package m\n\nfunc hello(self batos.Self, args []any) (any, error) {\n\treturn \"hi\", nil\n}\n"

func TestExtractCode(t *testing.T) {
	for _, tc := range []struct {
		name, reply, want string
		err               error
	}{
		{"Bare", goSrc, goSrc, nil},
		{"FencedGo", "```go\n" + goSrc + "```", goSrc, nil},
		{"FencedGolangWithProse", "Here you go:\n\n```golang\n" + goSrc + "```\nThis returns hi.", goSrc, nil},
		{"TildeFence", "~~~go\n" + goSrc + "~~~\n", goSrc, nil},
		{"IndentedFence", "1. The code:\n   ```go\n" + goSrc + "   ```\n", goSrc, nil},
		{"UnmarkedFence", "```\n" + goSrc + "```", goSrc, nil},
		{"CRLF", strings.ReplaceAll("```go\n"+goSrc+"```\n", "\n", "\r\n"), goSrc, nil},
		{"ClosingFenceGlued", "```go\npackage m\n\nfunc f() {\n}```\nDone.", "package m\n\nfunc f() {\n}\n", nil},
		{"PrefersPackageBlock", "Usage:\n```go\nx := hello(self, nil)\n```\nImplementation:\n```go\n" + goSrc + "```", goSrc, nil},
		{"SkipsJSONBlock", "```json\n{\"a\": 1}\n```\n```go\n" + goSrc + "```", goSrc, nil},
		{"ThinkingDropped", "<think>\n```go\npackage wrong\nfunc x() {}\n```\n</think>\n```go\n" + goSrc + "```", goSrc, nil},
		{"ProseAroundUnfenced", "Sure! Below is the method.\n\n" + goSrc + "\nLet me know if you need changes.", goSrc, nil},
		{"FuncOnlyUnfenced", "Here:\nfunc f(self batos.Self, args []any) (any, error) {\n\treturn nil, nil\n}\nThanks", "func f(self batos.Self, args []any) (any, error) {\n\treturn nil, nil\n}\n", nil},
		{"Prose", "I am sorry, I cannot write that method.", "", persona.ErrNoCode},
		{"Empty", "", "", persona.ErrNoCode},
		{"OnlyJSON", "```json\n[\"a\"]\n```", "", persona.ErrNoCode},
		{"OpenGoFence", "```go\npackage m\nfunc f() {\n", "", persona.ErrTruncated},
		{"OpenUnmarkedFence", "Here:\n```\npackage m\nfunc f() {\n", "", persona.ErrTruncated},
		{"UnfencedNeverCloses", "package m\n\nfunc f() {\n\treturn", "", persona.ErrTruncated},
		{"EmptyGoBlock", "```go\n```", "", persona.ErrNoCode},
		{"UnclosedThinking", "<think>I will write package m and func f() {", "", persona.ErrNoCode},
		{"SpaceBeforePackage", " " + goSrc, goSrc, nil},
		{"TabBeforePackageInBlock", "```go\n\t" + goSrc + "```", goSrc, nil},
		{"LoneClosingFence", goSrc + "```\n", goSrc, nil},
		{"LoneClosingFenceThenProse", "Here:\n" + goSrc + "```\nIt says hi.", goSrc, nil},
		{"TextGluedAfterClosingFence", "```go\n" + goSrc + "```### Instruction:\nWrite the next one.", goSrc, nil},
		{"InfoStringIsNoCloser", "```go\n" + goSrc + "```python\n", "", persona.ErrTruncated},
		{"ChatTokenAfterFence", "```go\n" + goSrc + "```<|im_end|>", goSrc, nil},
		{"ChatTokenGluedToBrace", strings.TrimSuffix(goSrc, "\n") + "<|eot_id|>", goSrc, nil},
		{"ChatTurnAfterCode", goSrc + "<|im_end|>\n<|im_start|>user\n```\nthanks\n```", goSrc, nil},
		{"HTMLInStringKept", "```go\npackage m\n\nfunc f() string {\n\treturn \"<s>x</s> y <|a b|>\"\n}\n```", "package m\n\nfunc f() string {\n\treturn \"<s>x</s> y <|a b|>\"\n}\n", nil},
		{"OpenBlockComplete", "```go\n" + goSrc, goSrc, nil},
		{"OpenBlockPackageOnly", "```go\npackage m\n", "", persona.ErrTruncated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := persona.ExtractCode(tc.reply)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				require.Empty(t, got, "no code with the error")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestParsePlan(t *testing.T) {
	for _, tc := range []struct {
		name, reply string
		want        []string
		err         error
	}{
		{"List", `["greeting", "architect name"]`, []string{"greeting", "architect name"}, nil},
		{"Object", `{"queries": ["a", "b", "c"]}`, []string{"a", "b", "c"}, nil},
		{"SearchQueries", `{"search_queries": ["a"]}`, []string{"a"}, nil},
		{"ObjectsWithQuery", `[{"query": "a", "why": "x"}, {"query": "b"}]`, []string{"a", "b"}, nil},
		{"Nested", `{"plan": {"queries": ["deep"]}}`, []string{"deep"}, nil},
		{"Fenced", "```json\n[\"a\"]\n```", []string{"a"}, nil},
		{"ChattyAround", "Sure! Here are the queries:\n[\"x\", \"y\"]\nThese should cover it. {not json}", []string{"x", "y"}, nil},
		{"SkipsCitation", "As noted in [1], we need:\n{\"queries\": [\"q\"]}", []string{"q"}, nil},
		{"TrimsAndDedupes", `["  a ", "A", "", "b"]`, []string{"a", "b"}, nil},
		{"ThinkingFirst", "<think>[\"wrong\"]</think>[\"right\"]", []string{"right"}, nil},
		{"Prose", "I would search for greetings.", nil, persona.ErrNoJSON},
		{"EmptyList", "[]", nil, persona.ErrEmptyPlan},
		{"Numbers", "[1, 2]", nil, persona.ErrEmptyPlan},
		{"EmptyStrings", `{"queries": ["", "  "]}`, nil, persona.ErrEmptyPlan},
		{"Truncated", `{"queries": ["a", "b`, nil, persona.ErrTruncated},
		{"TruncatedFence", "```json\n[\"a\",", nil, persona.ErrTruncated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := persona.ParsePlan(tc.reply)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				require.Empty(t, got.Queries, "no queries with the error")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got.Queries)
		})
	}
}

func TestExtractJSON(t *testing.T) {
	for _, tc := range []struct {
		name, reply, want string
		err               error
	}{
		{"Object", `{"a": 1}`, `{"a": 1}`, nil},
		{"TrailingText", `{"a": [1, 2]} and then some`, `{"a": [1, 2]}`, nil},
		{"LeadingText", `The answer: [true, null]`, `[true, null]`, nil},
		{"FencePreferred", "{\"outside\": 1}\n```json\n{\"inside\": 2}\n```", `{"inside": 2}`, nil},
		{"BracesInStrings", `{"s": "}{]["}`, `{"s": "}{]["}`, nil},
		{"None", "no json here", "", persona.ErrNoJSON},
		{"Truncated", `{"a": "b`, "", persona.ErrTruncated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := persona.ExtractJSON(tc.reply)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err, "got %s", got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, string(got))
		})
	}
}

func TestDecodeJSON(t *testing.T) {
	var v struct {
		Selector string `json:"selector"`
		Args     []any  `json:"args"`
	}
	reply := "First an unrelated value {\"note\": 1}, then the brief:\n```json\n{\"selector\": \"greet\", \"args\": [\"Ada\"]}\n```"
	require.NoError(t, persona.DecodeJSON(reply, &v))
	require.Equal(t, "greet", v.Selector)
	require.Len(t, v.Args, 1)
	require.ErrorIs(t, persona.DecodeJSON(`{"other": true}`, &v), persona.ErrNoJSON, "a value that does not fit")
}

func TestStripThinking(t *testing.T) {
	for in, want := range map[string]string{
		"<think>hmm</think>answer":                  "answer",
		"a<THINK>x</THINK>b<thinking>y</thinking>c": "abc",
		"answer <think>never closed":                "answer ",
		"no tags":                                   "no tags",
	} {
		assert.Equal(t, want, persona.StripThinking(in), "StripThinking(%q)", in)
	}
}

// Untrusted replies never panic, and success always means something usable.
func FuzzExtract(f *testing.F) {
	for _, s := range []string{goSrc, "```go\n" + goSrc + "```", "```", "~~~~\n```\n", "<think>", `{"queries":["a"]}`, "[", "```json\n[\"a\"", "}```", "func f() {\n}\n```### x", "<|im_start|>user\n<|eot_id|></s>", "  package m\n\tfunc f() {\n}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if code, err := persona.ExtractCode(s); err == nil {
			require.NotEmpty(t, strings.TrimSpace(code), "ExtractCode(%q): empty code without error", s)
		}
		if code, err := persona.ExtractCodeFor(s, "f"); err == nil {
			require.Contains(t, code, "package ", "ExtractCodeFor(%q): not a complete file", s)
		}
		if p, err := persona.ParsePlan(s); err == nil {
			require.NotEmpty(t, p.Queries, "ParsePlan(%q): empty plan without error", s)
		}
		if v, err := persona.ExtractJSON(s); err == nil {
			require.NotEmpty(t, v, "ExtractJSON(%q): empty value without error", s)
		}
	})
}

// worstCaseInputs are hostile 1 MiB replies built to make a scan
// quadratic: StripThinking once took 15 s on "think". The time they take
// is measured by BenchmarkExtractWorstCase; here each must simply finish
// with a verdict.
func worstCaseInputs(scale int) map[string]string {
	return map[string]string{
		"think":         strings.Repeat("<think>a</think>", (1<<16)/scale),
		"unclosedThink": "<think>" + strings.Repeat("<think>", (1<<17)/scale),
		"fences":        strings.Repeat("```\n", (1<<18)/scale),
		"goFences":      strings.Repeat("```go\nfunc f() {\n}\n```\n", (1<<15)/scale),
		"brackets":      strings.Repeat("[", (1<<20)/scale),
		"objects":       strings.Repeat(`{"a":`, (1<<18)/scale),
		"braceLines":    strings.Repeat("}\n", (1<<19)/scale),
		"openGoFences":  strings.Repeat("```go\nfunc f() {\n", (1<<16)/scale),
		"chatTokens":    strings.Repeat("<|im_end|>", (1<<17)/scale),
	}
}

func TestExtractWorstCaseInputs(t *testing.T) {
	inputs := worstCaseInputs(1)
	for _, name := range slices.Sorted(maps.Keys(inputs)) {
		s := inputs[name]
		t.Run(name, func(t *testing.T) {
			code, err := persona.ExtractCode(s)
			if err == nil {
				assert.NotEmpty(t, strings.TrimSpace(code), "code without an error")
			}
			if p, err := persona.ParsePlan(s); err == nil {
				assert.NotEmpty(t, p.Queries, "a plan without an error")
			}
			if v, err := persona.ExtractJSON(s); err == nil {
				assert.NotEmpty(t, v, "JSON without an error")
			}
		})
	}
}

// extractCase is one file of testdata/extract: a reply as a model wrote it
// and what ExtractCodeFor must make of it.
//
//	# what the case is about (comment lines)
//	selector: greet            (optional)
//	want: ok | truncated | nocode
//	-- reply --
//	…the reply, verbatim…
//	-- code --
//	…the code wanted, for want: ok…
type extractCase struct {
	selector, want, reply, code string
}

func readExtractCase(t *testing.T, path string) extractCase {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var c extractCase
	head, rest, ok := strings.Cut(string(data), "-- reply --\n")
	require.True(t, ok, "%s: no -- reply -- section", path)
	c.reply, c.code, _ = strings.Cut(rest, "-- code --\n")
	for _, line := range strings.Split(head, "\n") {
		k, v, _ := strings.Cut(line, ":")
		switch strings.TrimSpace(k) {
		case "selector":
			c.selector = strings.TrimSpace(v)
		case "want":
			c.want = strings.TrimSpace(v)
		}
	}
	require.Contains(t, []string{"ok", "truncated", "nocode"}, c.want, "%s: want", path)
	return c
}

// The project's catalogue of replies shaped like real models' (issue 13):
// one subtest per file of testdata/extract.
func TestExtractCatalogue(t *testing.T) {
	files, err := filepath.Glob("testdata/extract/*.txt")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txt"), func(t *testing.T) {
			c := readExtractCase(t, path)
			got, err := persona.ExtractCodeFor(c.reply, c.selector)
			switch c.want {
			case "ok":
				require.NoError(t, err)
				require.Equal(t, c.code, got)
			case "truncated":
				require.ErrorIs(t, err, persona.ErrTruncated, "got code %q", got)
			case "nocode":
				require.ErrorIs(t, err, persona.ErrNoCode, "got code %q", got)
			}
		})
	}
}
