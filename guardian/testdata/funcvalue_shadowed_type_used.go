package method

import "batos"

type word string

func funcvalue_shadowed_type(self batos.Self, args []any) (any, error) {
	word := 3
	_ = word
	f := shout
	return f("x"), nil
}

func shout(w word) word {
	for i := 0; i < 2; i++ {
		w += "!"
	}
	return w
}

// selector: funcvalue_shadowed_type
// verdict: reject instrument.funcvalue
