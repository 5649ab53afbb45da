package uvm_test

import (
	"fmt"
	"testing"

	"github.com/batos-dev/batos/uvm"
	"github.com/stretchr/testify/require"
)

func TestMethodVersions(t *testing.T) {
	forEachImage(t, func(t *testing.T, im *uvm.Image) {
		var oid uvm.OID
		require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
			o, _ := tx.New()
			oid = o.OID()
			for i, src := range []string{"v1 source", "v2 source", "v3 source"} {
				m, err := tx.InstallMethod(o, uvm.Method{Selector: "greet", Source: src, Persona: "BRICK", CycleID: fmt.Sprint("c", i)})
				require.NoError(t, err)
				require.Equal(t, i+1, m.Version)
				require.False(t, m.Created.IsZero())
			}
			// Another selector whose name extends this one stays separate.
			_, err := tx.InstallMethod(o, uvm.Method{Selector: "greeting", Source: "other"})
			return err
		}))
		require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
			o, _ := tx.Object(oid)
			vs, err := tx.MethodVersions(o, "greet")
			require.NoError(t, err)
			require.Len(t, vs, 3)
			require.Equal(t, "v2 source", vs[1].Source)
			require.Equal(t, "c1", vs[1].CycleID)
			cur, _ := o.Get("greet")
			require.Equal(t, 3, cur.(uvm.Method).Version)

			m, err := tx.RevertMethod(o, "greet", 1)
			require.NoError(t, err)
			require.Equal(t, "v1 source", m.Source)
			_, err = tx.MethodVersion(o, "greet", 9)
			require.ErrorIs(t, err, uvm.ErrNotFound)
			return nil
		}))
		require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
			o, _ := tx.Object(oid)
			cur, _ := o.Get("greet")
			require.Equal(t, 1, cur.(uvm.Method).Version, "revert persisted")
			m, err := tx.InstallMethod(o, uvm.Method{Selector: "greet", Source: "v4"})
			require.NoError(t, err)
			require.Equal(t, 4, m.Version, "versions keep counting after a revert")
			return nil
		}))
	})
}

// Installs in different method parts of an object that holds methods both
// commit; installs into one part, or the first install on an object,
// conflict.
func TestInstallsInDifferentPartsDoNotConflict(t *testing.T) {
	forEachImage(t, func(t *testing.T, im *uvm.Image) {
		sels := map[int][]string{}
		for i := 0; len(sels[uvm.MethodPart("a0")]) < 2 || len(sels) < 2; i++ {
			s := fmt.Sprint("a", i)
			sels[uvm.MethodPart(s)] = append(sels[uvm.MethodPart(s)], s)
		}
		a, same := sels[uvm.MethodPart("a0")][0], sels[uvm.MethodPart("a0")][1]
		var other string
		for p, ss := range sels {
			if p != uvm.MethodPart(a) {
				other = ss[0]
			}
		}
		newObject := func(methods bool) uvm.OID {
			var oid uvm.OID
			require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
				o, _ := tx.New()
				oid = o.OID()
				if !methods {
					return o.Set("n", 1)
				}
				_, err := tx.InstallMethod(o, uvm.Method{Selector: "first", Source: "package m"})
				return err
			}))
			return oid
		}
		// attempts installs a on oid while, in its first attempt, another
		// transaction installs sel on it and commits.
		attempts := func(oid uvm.OID, sel string) int {
			n := 0
			require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
				n++
				o, err := tx.Object(oid)
				if err != nil {
					return err
				}
				if n == 1 {
					require.NoError(t, im.Update(ctx, func(tx2 *uvm.Tx) error {
						o2, err := tx2.Object(oid)
						if err != nil {
							return err
						}
						_, err = tx2.InstallMethod(o2, uvm.Method{Selector: sel, Source: "package m"})
						return err
					}))
				}
				_, err = tx.InstallMethod(o, uvm.Method{Selector: a, Source: "package m"})
				return err
			}))
			require.NoError(t, im.View(ctx, func(tx *uvm.Tx) error {
				o, err := tx.Object(oid)
				require.NoError(t, err)
				require.True(t, o.Has(a))
				require.True(t, o.Has(sel), "no lost install")
				return nil
			}))
			return n
		}
		require.Equal(t, 1, attempts(newObject(true), other), "different parts")
		require.Equal(t, 2, attempts(newObject(true), same), "one part")
		require.Equal(t, 2, attempts(newObject(false), other), "the first methods of an object")
	})
}
