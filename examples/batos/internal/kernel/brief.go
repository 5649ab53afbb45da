package kernel

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/batos-dev/batos/examples/batos/internal/imageview"
	"github.com/batos-dev/batos/examples/batos/internal/mission"
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

// BriefAnswer is the answer of POST /api/brief.
type BriefAnswer struct {
	mission.Brief
	OID     uvm.OID `json:"oid"`     // the object Brief.Object names
	Persona string  `json:"persona"` // who read the text
	Reply   string  `json:"reply"`   // the model's reply, as written
	Millis  float64 `json:"ms"`
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
		args: []any{req.Persona, mission.Prompt(req.Text, roots)}, accepted: start, done: make(chan struct{})}
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
	b, err := mission.FromReply(text)
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
		_, body := Classify(fmt.Errorf("%w: %w", mission.ErrUnreadable, err))
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
