package guardian_test

import (
	"errors"
	"fmt"

	"github.com/batos-dev/batos/guardian"
)

func ExampleAudit() {
	src := []byte(`package method

import "batos"

// visit counts the visits of this object.
func visit(self batos.Self, args []any) (any, error) {
	n, _ := self.Get("visits").(int64)
	for i := range 2 {
		n += int64(i)
	}
	if err := self.Set("visits", n+1); err != nil {
		return nil, err
	}
	self.MarkChanged()
	return n + 1, nil
}
`)
	rep, err := guardian.Audit(src, "visit", guardian.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s", rep.Source)
	fmt.Println("writes:", rep.Writes)
	for _, r := range rep.Rewrites {
		fmt.Println(r.Rule)
	}
	// Output:
	// package method
	//
	// import "batos"
	//
	// // visit counts the visits of this object.
	// func visit(self batos.Self, args []any) (any, error) {
	// 	__meter := batos.Enter(self)
	// 	defer __meter.Leave()
	// 	n, _ := self.Get("visits").(int64)
	// 	for i := 0; i < 2; i++ {
	// 		if __meter.Fuel--; __meter.Fuel < 0 {
	// 			__meter.Refuel()
	// 		}
	// 		n += int64(i)
	// 	}
	// 	if err := self.Set("visits", n+1); err != nil {
	// 		return nil, err
	// 	}
	// 	self.MarkChanged()
	// 	return n + 1, nil
	// }
	// writes: true
	// yaegi.rangeint
}

func ExampleAudit_rejected() {
	src := []byte(`package method

import "batos"

func rename(self batos.Self, args []any) (any, error) {
	if len(args) == 0 {
		return nil, nil
	}
	self.Set("name", args[0])
	return "renamed", nil
}
`)
	_, err := guardian.Audit(src, "rename", guardian.Options{})
	var rej *guardian.Rejection
	if errors.As(err, &rej) {
		for _, f := range rej.Findings {
			fmt.Printf("%d:%d %s\n", f.Pos.Line, f.Pos.Column, f.Rule)
		}
	}
	// Output:
	// 10:2 covenant.unmarked
}
