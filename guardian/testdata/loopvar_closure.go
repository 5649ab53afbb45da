package method

import "batos"

// loopvar_closure builds closures that each remember their own element.
func loopvar_closure(self batos.Self, args []any) (any, error) {
	var fns []func() any
	for _, a := range args {
		fns = append(fns, func() any { return a })
	}
	for i := 0; i < 2; i++ {
		fns = append(fns, func() any { return i })
	}
	var out []any
	for _, f := range fns {
		out = append(out, f())
	}
	return out, nil
}

// verdict: pass
// rewrite: yaegi.loopvar
// want: a := a
// want: i := i
