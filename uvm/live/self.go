package live

import (
	"sync/atomic"

	"github.com/batos-dev/batos/uvm"
)

// budgeted is implemented by the Self values this package hands to
// interpreted code; its method is unexported, so interpreted code cannot
// implement it. batos.Enter uses it to find the call's budget.
type budgeted interface {
	budgetOf() (*budget, *callInfo)
}

// hostSelf is the batos.Self of a method running in the host process (the
// Object of the batos.Self value it gets): the receiver's uvm.Self view,
// cut off when the method returns.
type hostSelf struct {
	view  uvm.Self
	oid   uint64
	b     *budget
	info  *callInfo
	ended atomic.Bool
}

func (s *hostSelf) budgetOf() (*budget, *callInfo) { return s.b, s.info }

func (s *hostSelf) OID() uvm.OID { return uvm.OID(s.oid) }

func (s *hostSelf) Get(slot string) any {
	if s.ended.Load() {
		return nil
	}
	return s.view.Get(slot)
}

func (s *hostSelf) Has(slot string) bool {
	if s.ended.Load() {
		return false
	}
	return s.view.Has(slot)
}

func (s *hostSelf) Set(slot string, value any) error {
	if s.ended.Load() {
		return ErrSelfEnded
	}
	return s.view.Set(slot, value)
}

func (s *hostSelf) Delete(slot string) error {
	if s.ended.Load() {
		return ErrSelfEnded
	}
	return s.view.Delete(slot)
}

func (s *hostSelf) Send(selector string, args ...any) (any, error) {
	if s.ended.Load() {
		return nil, ErrSelfEnded
	}
	return s.view.Send(selector, args...)
}

func (s *hostSelf) MarkChanged() {
	if !s.ended.Load() {
		s.view.MarkChanged()
	}
}
