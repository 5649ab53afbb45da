package uvm_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/batos-dev/batos/uvm"
)

// A prototype, a child that delegates to it, and a message the child
// answers through its parent.
func ExampleImage_Update() {
	ctx := context.Background()
	im, err := uvm.Open("", uvm.Options{InMemory: true})
	if err != nil {
		panic(err)
	}
	defer im.Close()

	err = im.Update(ctx, func(tx *uvm.Tx) error {
		proto, err := tx.New()
		if err != nil {
			return err
		}
		if err := proto.Set("greeting", "hello from the prototype"); err != nil {
			return err
		}
		child, err := tx.Clone(proto)
		if err != nil {
			return err
		}
		if err := child.Delete("greeting"); err != nil {
			return err
		}
		if err := child.SetParents(proto); err != nil {
			return err
		}
		answer, err := tx.Send(ctx, child, "greeting")
		if err != nil {
			return err
		}
		fmt.Println(answer)
		return tx.SetRoot("genesis", child)
	})
	fmt.Println("committed:", err == nil)
	// Output:
	// hello from the prototype
	// committed: true
}

// A change made in place to a slot's map must be marked, or the commit
// fails and nothing is written.
func ExampleObject_MarkChanged() {
	ctx := context.Background()
	im, _ := uvm.Open("", uvm.Options{InMemory: true})
	defer im.Close()

	var oid uvm.OID
	im.Update(ctx, func(tx *uvm.Tx) error {
		o, _ := tx.New()
		oid = o.OID()
		return o.Set("counts", map[string]any{"visits": 1})
	})
	err := im.Update(ctx, func(tx *uvm.Tx) error {
		o, _ := tx.Object(oid)
		counts, _ := o.Get("counts")
		counts.(map[string]any)["visits"] = int64(2) // no MarkChanged
		return nil
	})
	fmt.Println(errors.Is(err, uvm.ErrCovenant))
	fmt.Println(err)
	// Output:
	// true
	// uvm: persistence covenant violated: object 1 slot "counts" changed without MarkChanged; the transaction was rolled back
}

// Host programs give objects native behaviour by registering primitives;
// the slot stores only the primitive's name.
func ExampleImage_RegisterPrimitive() {
	ctx := context.Background()
	im, _ := uvm.Open("", uvm.Options{InMemory: true})
	defer im.Close()
	im.RegisterPrimitive("double", func(ctx context.Context, c *uvm.Call) (any, error) {
		n, _ := c.Args[0].(int64)
		return 2 * n, nil
	})
	var oid uvm.OID
	im.Update(ctx, func(tx *uvm.Tx) error {
		o, _ := tx.New()
		oid = o.OID()
		return o.Set("double", uvm.Primitive{Name: "double"})
	})
	v, err := im.Send(ctx, oid, "double", 21)
	fmt.Println(v, err)
	_, err = im.Send(ctx, oid, "triple", 1)
	fmt.Println(err)
	// Output:
	// 42 <nil>
	// uvm: object 1 does not understand "triple"
}
