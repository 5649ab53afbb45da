package method

import "batos"

// append_in_case appends inside a case expression: the budget check goes
// before the switch, never between its clauses.
func append_in_case(self batos.Self, args []any) (any, error) {
	all := []any{1}
	switch {
	case len(append(all, args...)) > 2:
		return "many", nil
	}
	return "few", nil
}

// verdict: pass
// want: __meter.Alloc(len(all) + len(args))
