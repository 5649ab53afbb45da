package method

import "batos"

type word string

func funcvalue_shadowed_type(self batos.Self, args []any) (any, error) {
	word := 3
	f := shout
	return f("x"), nil
}

func shout(w word) word {
	for i := 0; i < 2; i++ {
		w += "!"
	}
	return w
}

// verdict: reject types.check
