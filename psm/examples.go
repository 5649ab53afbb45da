package psm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/batos-dev/batos/uvm"
)

// Example is one specification a method must meet: sent Args, it answers
// Want, or, when WantErr is set, fails with an error whose text contains
// WantErr. A mission carries its examples (attached to a send with
// [WithExamples], or stored on the object for the selector with
// [SetExamples]); VALIDATING runs each one in a dry run of its own, and a
// method is installed only when all of them pass. Answers are compared as
// [SameAnswer] says.
type Example struct {
	Args    []any
	Want    any
	WantErr string
}

// exampleJSON is an example as records and the image hold it.
type exampleJSON struct {
	Args    []any  `json:"args,omitempty"`
	Want    any    `json:"want"`
	WantErr string `json:"want_error,omitempty"`
}

// MarshalJSON writes the example as plain JSON, floats with a decimal
// point, so that reading it back keeps int64 and float64 apart.
func (e Example) MarshalJSON() ([]byte, error) {
	j := exampleJSON{Want: jsonSafe(e.Want), WantErr: e.WantErr}
	for _, a := range e.Args {
		j.Args = append(j.Args, jsonSafe(a))
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON wrote: a number without a decimal
// point or exponent is an int64, any other a float64.
func (e *Example) UnmarshalJSON(b []byte) error {
	var j exampleJSON
	if err := decodeNumbers(b, &j); err != nil {
		return err
	}
	*e = Example{Args: typedArgs(j.Args), Want: typed(j.Want), WantErr: j.WantErr}
	return nil
}

// normalize returns the example in stored form (see uvm.Normalize).
func (e Example) normalize(i int) (Example, error) {
	out := Example{WantErr: e.WantErr, Args: make([]any, len(e.Args))}
	for k, a := range e.Args {
		n, err := uvm.Normalize(fmt.Sprintf("example %d argument %d", i+1, k), a)
		if err != nil {
			return Example{}, err
		}
		out.Args[k] = n
	}
	w, err := uvm.Normalize(fmt.Sprintf("example %d answer", i+1), e.Want)
	if err != nil {
		return Example{}, err
	}
	out.Want = w
	return out, nil
}

func normalizeExamples(exs []Example) ([]Example, error) {
	out := make([]Example, len(exs))
	for i, e := range exs {
		n, err := e.normalize(i)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadExamples, err)
		}
		out[i] = n
	}
	return out, nil
}

// ExamplesSlot returns the name of the slot that holds the examples of
// selector: "examples." + selector. Like any slot it is inherited, so
// examples stored on a prototype hold for every object that delegates to
// it (unless one stores its own).
func ExamplesSlot(selector string) string { return "examples." + selector }

// SetExamples stores examples for selector on o (in the slot
// [ExamplesSlot] names), replacing those it held; no examples removes the
// slot. Every cycle that writes selector for o, or for an object
// delegating to o, must then meet them, now and at every regeneration.
func SetExamples(tx *uvm.Tx, o *uvm.Object, selector string, examples ...Example) error {
	if err := uvm.CheckName(selector); err != nil {
		return err
	}
	slot := ExamplesSlot(selector)
	if len(examples) == 0 {
		if !o.Has(slot) {
			return nil
		}
		return o.Delete(slot)
	}
	exs, err := normalizeExamples(examples)
	if err != nil {
		return err
	}
	list := make([]any, len(exs))
	for i, e := range exs {
		m := map[string]any{"args": e.Args, "want": e.Want}
		if e.WantErr != "" {
			m["want_error"] = e.WantErr
		}
		list[i] = m
	}
	return o.Set(slot, list)
}

// ExamplesOf returns the examples o holds or inherits for selector (see
// [SetExamples]); none is not an error. A slot that does not hold
// examples is an error wrapping ErrBadExamples.
func ExamplesOf(tx *uvm.Tx, o *uvm.Object, selector string) ([]Example, error) {
	slot := ExamplesSlot(selector)
	f, err := tx.Lookup(o, slot)
	var nu *uvm.NotUnderstoodError
	if errors.As(err, &nu) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: slot %q of object %d: %s", ErrBadExamples, slot, f.Holder.OID(), fmt.Sprintf(format, args...))
	}
	list, ok := f.Value.([]any)
	if !ok {
		return nil, bad("holds %T, want a list of examples", f.Value)
	}
	out := make([]Example, 0, len(list))
	for i, v := range list {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, bad("example %d is a %T, want a map with args and want (or want_error)", i+1, v)
		}
		e := Example{Want: m["want"]}
		if a, ok := m["args"]; ok && a != nil {
			if e.Args, ok = a.([]any); !ok {
				return nil, bad("example %d: args is a %T, want a list", i+1, a)
			}
		}
		if w, ok := m["want_error"]; ok {
			if e.WantErr, ok = w.(string); !ok {
				return nil, bad("example %d: want_error is a %T, want a string", i+1, w)
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// SetExamples stores examples for selector on the object oid, in a
// transaction of its own (see the function [SetExamples]).
func (m *Mind) SetExamples(ctx context.Context, oid uvm.OID, selector string, examples ...Example) error {
	return m.im.Update(ctx, func(tx *uvm.Tx) error {
		o, err := tx.Object(oid)
		if err != nil {
			return err
		}
		return SetExamples(tx, o, selector, examples...)
	})
}

// SendOption is an option of [Mind.SendWith].
type SendOption func(*sendConfig)

type sendConfig struct {
	examples []Example
}

// WithExamples attaches examples to a send: if the message starts a
// cycle, the method it writes must meet them as well as those stored on
// the receiver (see [SetExamples]). They are not checked against a method
// that already answers, and they hold for this cycle only.
func WithExamples(examples ...Example) SendOption {
	return func(c *sendConfig) { c.examples = append(c.examples, examples...) }
}

// sentExamplesKey marks (uvm.Tx.SetValue) the examples a SendWith
// attached, for the cycle its message starts.
type sentExamplesKey struct{}

type sentExamples struct {
	key      flightKey
	examples []Example
}

// SendWith is [Mind.Send] with options: args are the message's
// arguments, and opts attach what a cycle it starts must know.
//
//	answer, err := mind.SendWith(ctx, oid, "add", []any{2, 3},
//		psm.WithExamples(psm.Example{Args: []any{1, 1}, Want: 2}, psm.Example{Args: []any{-1, 1}, Want: 0}))
//
// When another sender's cycle for the same message is running already,
// this send waits for it, and that cycle's examples are the ones met.
func (m *Mind) SendWith(ctx context.Context, oid uvm.OID, selector string, args []any, opts ...SendOption) (any, error) {
	var cfg sendConfig
	for _, o := range opts {
		o(&cfg)
	}
	exs, err := normalizeExamples(cfg.examples)
	if err != nil {
		return nil, err
	}
	if err := m.enter(); err != nil {
		return nil, err
	}
	m.leave() // the cycle, if any, holds the mind open itself
	var res any
	err = m.im.Update(ctx, func(tx *uvm.Tx) error {
		if len(exs) > 0 {
			tx.SetValue(sentExamplesKey{}, sentExamples{key: flightKey{oid: oid, sel: selector}, examples: exs})
		}
		o, err := tx.Object(oid)
		if err != nil {
			return err
		}
		res, err = tx.Send(ctx, o, selector, args...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// missionExamples returns the examples a cycle for msg must meet: those
// the receiver holds or inherits, then those its send attached (a
// top-level message only).
func missionExamples(msg *uvm.Message, topLevel bool) ([]Example, error) {
	exs, err := ExamplesOf(msg.Tx, msg.Receiver, msg.Selector)
	if err != nil {
		return nil, err
	}
	if s, ok := msg.Tx.Value(sentExamplesKey{}).(sentExamples); ok && topLevel &&
		s.key == (flightKey{oid: msg.Receiver.OID(), sel: msg.Selector}) {
		exs = append(exs, s.examples...)
	}
	return exs, nil
}

// checkExamples runs every example of c's mission on cand, each in a dry
// run of its own in a transaction that is always discarded, and records a
// verdict for each. It returns an *ExamplesError when any failed.
func (m *Mind) checkExamples(ctx context.Context, c *cycle, cand candidate, attempt int) error {
	exs := c.mission.Examples
	var failed []*ExampleFailure
	for i, ex := range exs {
		got, runErr, err := m.tryExample(ctx, c, cand, ex)
		name := fmt.Sprintf("example %d of %d", i+1, len(exs))
		if err != nil {
			c.event(ctx, Event{Kind: EventVerdict, Attempt: attempt, Text: name, Error: err.Error()})
			return fmt.Errorf("%s: %w", name, err)
		}
		if f := judge(c.mission.Selector, i, len(exs), ex, got, runErr); f != nil {
			c.event(ctx, Event{Kind: EventVerdict, Attempt: attempt, Text: name, Error: f.Difference()})
			failed = append(failed, f)
			continue
		}
		c.event(ctx, Event{Kind: EventVerdict, Attempt: attempt, Text: name + ": ok"})
	}
	if len(failed) > 0 {
		return &ExamplesError{Selector: c.mission.Selector, Total: len(exs), Failed: failed}
	}
	return nil
}

// tryExample dry-runs cand with the example's arguments on the mission's
// target, in a transaction that is discarded, and checks the covenant as
// a commit would. err is not the method's: the dry run could not be made.
func (m *Mind) tryExample(ctx context.Context, c *cycle, cand candidate, ex Example) (got any, runErr, err error) {
	err = m.im.Update(ctx, func(tx *uvm.Tx) error {
		target, err := tx.Object(c.mission.Target)
		if err != nil {
			return err
		}
		c.work.trying = cand
		defer func() { c.work.trying = nil }()
		got, runErr = cand.DryRun(ctx, tx, target, ex.Args...)
		if runErr == nil {
			runErr = tx.CheckCovenant()
		}
		return errDryRun
	})
	if !errors.Is(err, errDryRun) {
		return nil, nil, err
	}
	return got, runErr, nil
}

// judge compares a dry run's outcome with the example; nil means it
// passed.
func judge(selector string, i, n int, ex Example, got any, runErr error) *ExampleFailure {
	f := &ExampleFailure{Selector: selector, Index: i + 1, Of: n, Example: ex, Got: got}
	if runErr != nil {
		f.Got, f.Err = nil, runErr.Error()
	}
	switch {
	case ex.WantErr != "":
		if runErr != nil && strings.Contains(runErr.Error(), ex.WantErr) {
			return nil
		}
	case runErr == nil && SameAnswer(ex.Want, got):
		return nil
	}
	return f
}

// ExampleFailure is one example a candidate did not meet: what it was
// sent, what was wanted, and what it answered (or the error it returned).
type ExampleFailure struct {
	Selector string
	Index    int // the example's number, from 1
	Of       int // how many examples the mission has
	Example  Example
	Got      any    // the answer, when the method did not fail
	Err      string // the method's error, when it failed
}

// Difference describes the failure as the model is told it: the call,
// what was wanted and what came back, each value written as a typed
// literal (2 is an int64, 2.0 a float64, "2" a string).
func (f *ExampleFailure) Difference() string {
	var b strings.Builder
	args := make([]string, len(f.Example.Args))
	for i, a := range f.Example.Args {
		args[i] = Literal(a)
	}
	fmt.Fprintf(&b, "example %d of %d: %s(%s)\n", f.Index, f.Of, f.Selector, strings.Join(args, ", "))
	fmt.Fprintf(&b, "  args: [%s]\n", strings.Join(args, ", "))
	if f.Example.WantErr != "" {
		fmt.Fprintf(&b, "  want: an error containing %q\n", f.Example.WantErr)
	} else {
		fmt.Fprintf(&b, "  want: %s\n", Literal(f.Example.Want))
	}
	if f.Err != "" {
		fmt.Fprintf(&b, "  got:  error %q", f.Err)
	} else {
		fmt.Fprintf(&b, "  got:  %s", Literal(f.Got))
		if f.Example.WantErr != "" {
			b.WriteString(" (no error)")
		}
	}
	return b.String()
}

// ExamplesError reports the examples a candidate did not meet. Its text,
// fed back to the model, gives the exact difference for each.
type ExamplesError struct {
	Selector string
	Total    int // the mission's examples
	Failed   []*ExampleFailure
}

func (e *ExamplesError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "psm: %d of %d examples failed", len(e.Failed), e.Total)
	for _, f := range e.Failed {
		b.WriteString("\n")
		b.WriteString(f.Difference())
	}
	return b.String()
}

// Is reports whether target is ErrExampleFailed.
func (e *ExamplesError) Is(target error) bool { return target == ErrExampleFailed }

// SameAnswer reports whether a method's answer got meets the answer an
// example wants. Both are compared as plain data, after uvm.Normalize
// (so an int is an int64, a []string a []any):
//
//   - numbers compare by value: int64(2) and float64(2.0) are the same
//     answer, float64(2.5) is not 2; an int64 beyond 2^53 matches only the
//     float64 that converts back to it exactly; NaN matches NaN;
//   - nil matches nil, an empty list, an empty map and empty bytes (a
//     method that answers "nothing" may say it either way); it does not
//     match "", 0 or false, and an empty list does not match an empty map;
//   - a string and []byte match when their bytes do;
//   - lists compare in order, element by element; maps compare by keys
//     and values, in no order;
//   - references match the same object; bools and strings match exactly.
func SameAnswer(want, got any) bool {
	if w, err := uvm.Normalize("want", want); err == nil {
		want = w
	}
	if g, err := uvm.Normalize("got", got); err == nil {
		got = g
	}
	return same(want, got)
}

func same(want, got any) bool {
	if want == nil || got == nil {
		return isNothing(want) && isNothing(got)
	}
	switch w := want.(type) {
	case int64:
		switch g := got.(type) {
		case int64:
			return w == g
		case float64:
			return intIsFloat(w, g)
		}
		return false
	case float64:
		switch g := got.(type) {
		case float64:
			return w == g || math.IsNaN(w) && math.IsNaN(g)
		case int64:
			return intIsFloat(g, w)
		}
		return false
	case string:
		switch g := got.(type) {
		case string:
			return w == g
		case []byte:
			return w == string(g)
		}
		return false
	case []byte:
		switch g := got.(type) {
		case []byte:
			return bytes.Equal(w, g)
		case string:
			return string(w) == g
		}
		return false
	case []any:
		g, ok := got.([]any)
		if !ok {
			return false
		}
		return slices.EqualFunc(w, g, same)
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return false
		}
		if len(w) != len(g) {
			return false
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok || !same(wv, gv) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(want, got)
}

// isNothing reports whether v is nil or an empty container.
func isNothing(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	case []byte:
		return len(x) == 0
	}
	return false
}

// intIsFloat reports whether f is exactly the integer i.
func intIsFloat(i int64, f float64) bool {
	if math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) || f < -(1<<63) || f >= 1<<63 {
		return false
	}
	return int64(f) == i && float64(i) == f
}

// Literal writes a plain-data value as a typed literal, the way example
// differences show it: 2 (an int64), 2.0 (a float64), "2" (a string),
// nil, true, [1, "a"] (a list), {"k": 1} (a map, keys sorted),
// bytes("…") and ref(12) (a reference to object 12).
func Literal(v any) string {
	var b strings.Builder
	literal(&b, v)
	return b.String()
}

func literal(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("nil")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case int:
		b.WriteString(strconv.Itoa(x))
	case float64:
		b.WriteString(floatText(x))
	case string:
		b.WriteString(strconv.Quote(x))
	case []byte:
		fmt.Fprintf(b, "bytes(%q)", x)
	case uvm.Ref:
		fmt.Fprintf(b, "ref(%d)", x.OID)
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			literal(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		b.WriteByte('{')
		for i, k := range slices.Sorted(maps.Keys(x)) {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(b, "%q: ", k)
			literal(b, x[k])
		}
		b.WriteByte('}')
	default:
		fmt.Fprintf(b, "%#v", v)
	}
}

// floatText writes a float64 so that it reads back as one: with a
// decimal point or an exponent.
func floatText(f float64) string {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eEnN") { // NaN and ±Inf have letters
		s += ".0"
	}
	return s
}

// decodeNumbers decodes JSON keeping numbers as json.Number (see typed).
func decodeNumbers(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}

// typed turns the json.Numbers of a value decoded by decodeNumbers into
// int64 (no decimal point or exponent, and in range) or float64.
func typed(v any) any {
	switch x := v.(type) {
	case json.Number:
		s := x.String()
		if !strings.ContainsAny(s, ".eE") {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return n
			}
		}
		f, _ := strconv.ParseFloat(s, 64)
		return f
	case []any:
		return typedArgs(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = typed(e)
		}
		return out
	}
	return v
}

func typedArgs(xs []any) []any {
	if xs == nil {
		return nil
	}
	out := make([]any, len(xs))
	for i, e := range xs {
		out[i] = typed(e)
	}
	return out
}

// exampleLine writes an example for the synthesis prompt:
// add(2, 3) → 5, or div(1, 0) → an error containing "zero".
func exampleLine(selector string, e Example) string {
	args := make([]string, len(e.Args))
	for i, a := range e.Args {
		args[i] = Literal(a)
	}
	want := Literal(e.Want)
	if e.WantErr != "" {
		want = fmt.Sprintf("an error containing %q", e.WantErr)
	}
	return fmt.Sprintf("%s(%s) → %s", selector, strings.Join(args, ", "), want)
}
