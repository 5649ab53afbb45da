package live

import (
	"context"
	"sync"
)

// A Scope is one top-level call of a generated method together with the
// sends nested in it, wherever they run (in this process or a worker, in
// any mix): the unit that the host's primitives bound what a method may ask
// of them. A method that loops on a costly primitive (a model call) is
// stopped by the primitive counting in the scope ([Scope.Add]) and, past
// its bound, failing the whole call ([Scope.Fail]).
//
// A call's budgets (fuel, depth, time) are the runtime's; a Scope's
// counters are the host's. A context returned by [Detach] is in no scope,
// so the calls made under it (a cognitive cycle's dry runs) start scopes
// of their own.
type Scope struct {
	selector string
	version  int

	mu       sync.Mutex
	counters map[string]int64
	err      error
}

// ScopeOf returns the scope of the generated-method call ctx is in, or nil
// outside one (host code, or a context from [Detach]). A primitive that a
// method sends gets such a context.
func ScopeOf(ctx context.Context) *Scope {
	if a := activeFrom(ctx); a != nil {
		return a.scope
	}
	if st, _ := ctx.Value(stateKey{}).(*callState); st != nil {
		return st.scope
	}
	return nil
}

// scopeFor returns the scope a call starting under ctx belongs to: its
// caller's, or a new one named after m when it is a top-level call
// (fresh reports that).
func scopeFor(ctx context.Context, selector string, version int) (s *Scope, fresh bool) {
	if s := ScopeOf(ctx); s != nil {
		return s, false
	}
	return &Scope{selector: selector, version: version}, true
}

// Method names the top-level method of the scope as errors name it:
// `"summarize" v3`, or `"summarize" (candidate)` for a dry run.
func (s *Scope) Method() string { return methodName(s.selector, s.version) }

// Add adds n to the scope's counter name and returns its new value.
func (s *Scope) Add(name string, n int64) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.counters == nil {
		s.counters = map[string]int64{}
	}
	s.counters[name] += n
	return s.counters[name]
}

// Count returns the value of the scope's counter name.
func (s *Scope) Count(name string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counters[name]
}

// Fail ends the scope's top-level call with err: whatever the method does
// or returns after, the call fails with err (the first one given), which
// errors.Is and errors.As find. The primitive that calls Fail should also
// return err to the method, which can then stop at once.
func (s *Scope) Fail(err error) {
	if err == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
}

// failed returns the error given to Fail, if any.
func (s *Scope) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}
