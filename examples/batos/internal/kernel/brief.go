package kernel

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/batos-dev/batos/examples/batos/internal/imageview"
	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/uvm"
)

// maxBriefText bounds the text of POST /api/brief.
const maxBriefText = 4 << 10

// BriefRequest is the body of POST /api/brief.
type BriefRequest struct {
	// Text is what the person asked, in their words.
	Text string `json:"text"`
	// Persona is the persona whose model reads it. "" means ALFRED.
	Persona string `json:"persona,omitempty"`
}

// Brief is a mission brief: one message for one object, as POST /api/send
// takes it, and the intent it serves.
type Brief struct {
	Object   string            `json:"object"` // a root name or an OID
	Selector string            `json:"selector"`
	Args     []json.RawMessage `json:"args"`
	Intent   string            `json:"intent,omitempty"`
}

// BriefAnswer is the answer of POST /api/brief.
type BriefAnswer struct {
	Brief
	OID     uvm.OID `json:"oid"`     // the object Brief.Object names
	Persona string  `json:"persona"` // who read the text
	Reply   string  `json:"reply"`   // the model's reply, as written
	Millis  float64 `json:"ms"`
}

// BriefPrompt is the prompt that asks a persona for a mission brief: the
// request, the roots it may name, and the JSON wanted back.
func BriefPrompt(text string, roots []string) string {
	var b strings.Builder
	b.WriteString("Turn the request below into a mission brief for the batos kernel: one message sent to one object.\n")
	b.WriteString("If the object lacks the method, the kernel writes it from the selector and the arguments, so choose a clear snake_case selector and, when the method needs input, example arguments that show it working.\n\n")
	b.WriteString("Objects you may name (root names; an OID also works): ")
	b.WriteString(strings.Join(roots, ", "))
	b.WriteString("\n\nAnswer with one JSON object and nothing else:\n")
	b.WriteString(`{"object": "genesis", "selector": "count_words", "args": ["the quick brown fox"], "intent": "count the words of a text"}`)
	b.WriteString("\n\nRequest: ")
	b.WriteString(text)
	b.WriteString("\n")
	return b.String()
}

// ParseBrief reads a mission brief from a model's reply: the first JSON
// object in it, in a code fence or not. A selector written in words
// ("count words", "countWords") becomes snake_case; one that still is no
// valid name, a missing object or an argument that is no JSON value is an
// error wrapping ErrBriefUnreadable.
func ParseBrief(reply string) (Brief, error) {
	var raw struct {
		Object   json.RawMessage   `json:"object"`
		Selector string            `json:"selector"`
		Args     []json.RawMessage `json:"args"`
		Intent   string            `json:"intent"`
	}
	found := false
	for i := strings.IndexByte(reply, '{'); i >= 0; {
		dec := json.NewDecoder(strings.NewReader(reply[i:]))
		if dec.Decode(&raw) == nil {
			found = true
			break
		}
		next := strings.IndexByte(reply[i+1:], '{')
		if next < 0 {
			break
		}
		i += next + 1
	}
	if !found {
		return Brief{}, fmt.Errorf("%w: no JSON object in the reply", ErrBriefUnreadable)
	}
	obj, err := ObjectRef(raw.Object)
	if err != nil || strings.TrimSpace(obj) == "" {
		return Brief{}, fmt.Errorf("%w: no object", ErrBriefUnreadable)
	}
	sel := snakeCase(raw.Selector)
	if err := uvm.CheckName(sel); err != nil {
		return Brief{}, fmt.Errorf("%w: selector %q: %w", ErrBriefUnreadable, raw.Selector, err)
	}
	b := Brief{Object: strings.TrimSpace(obj), Selector: sel, Args: []json.RawMessage{}, Intent: strings.TrimSpace(raw.Intent)}
	for i, a := range raw.Args {
		if _, err := imageview.Decode(a); err != nil {
			return Brief{}, fmt.Errorf("%w: argument %d: %w", ErrBriefUnreadable, i, err)
		}
		b.Args = append(b.Args, compact(a))
	}
	return b, nil
}

// snakeCase turns "Count Words", "count-words" and "countWords" into
// "count_words"; a name already in snake_case is kept.
func snakeCase(s string) string {
	var b strings.Builder
	prev := '_'
	for _, r := range strings.TrimSpace(s) {
		switch {
		case unicode.IsUpper(r):
			if prev != '_' && !unicode.IsUpper(prev) {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(r))
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_':
			b.WriteRune(r)
		default:
			if prev == '_' {
				continue
			}
			r = '_'
			b.WriteRune(r)
		}
		prev = r
	}
	return strings.Trim(b.String(), "_")
}

func compact(raw json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return raw
	}
	return b.Bytes()
}

// serveBrief is POST /api/brief: a persona's model turns a request in
// natural language into a mission brief. The kernel asks through the
// image itself (genesis's infer, pLLM's primitive), on a worker like any
// send, and checks that the object the brief names exists.
func (s *Server) serveBrief(w http.ResponseWriter, r *http.Request) {
	var req BriefRequest
	if err := s.decodeBody(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	req.Text = strings.TrimSpace(req.Text)
	if req.Text == "" || len(req.Text) > maxBriefText {
		s.fail(w, r, fmt.Errorf("%w: text: want 1 to %d bytes", ErrBadRequest, maxBriefText))
		return
	}
	if req.Persona == "" {
		req.Persona = persona.ALFRED
	}
	switch req.Persona {
	case persona.ALFRED, persona.BRICK, persona.ROBIN, persona.BABS:
	default:
		s.fail(w, r, fmt.Errorf("%w: persona %q: want ALFRED, BRICK, ROBIN or BABS", ErrBadRequest, req.Persona))
		return
	}
	var roots []string
	err := s.mind.Image().View(r.Context(), func(tx *uvm.Tx) error {
		ix, err := tx.Roots()
		for name := range ix {
			roots = append(roots, name)
		}
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	roots = promptRoots(roots)

	start := time.Now()
	j := &job{ctx: r.Context(), ref: fmt.Sprint(s.mind.Genesis()), selector: "infer",
		args: []any{req.Persona, BriefPrompt(req.Text, roots)}, accepted: start, done: make(chan struct{})}
	if err := s.enqueue(j); err != nil {
		s.fail(w, r, err)
		return
	}
	<-j.done
	if j.err != nil {
		s.fail(w, r, fmt.Errorf("%w: %s: %w", ErrBriefModel, req.Persona, j.err))
		return
	}
	text, _ := j.answer.Answer.(string)
	b, err := ParseBrief(text)
	if err != nil {
		_, body := Classify(err)
		body.Reply = text
		reply(w, http.StatusUnprocessableEntity, body)
		return
	}
	ans := BriefAnswer{Brief: b, Persona: req.Persona, Reply: text, Millis: float64(time.Since(start).Microseconds()) / 1000}
	err = s.mind.Image().View(r.Context(), func(tx *uvm.Tx) error {
		o, err := imageview.Resolve(tx, b.Object)
		if err == nil {
			ans.OID = o.OID()
		}
		return err
	})
	if err != nil {
		_, body := Classify(fmt.Errorf("%w: %w", ErrBriefUnreadable, err))
		body.Reply = text
		reply(w, http.StatusUnprocessableEntity, body)
		return
	}
	reply(w, http.StatusOK, ans)
}

// promptRoots orders root names for a prompt: genesis first, the others
// by name, at most 60 of them (an image may have thousands).
func promptRoots(roots []string) []string {
	slices.SortFunc(roots, func(a, b string) int {
		if (a == "genesis") != (b == "genesis") {
			if a == "genesis" {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	return roots[:min(len(roots), 60)]
}
